//! The kubectl-prom binary: parse flags, hand over to the library, exit with its code.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = kubectl_prom::cli::Cli::parse();
    let code = kubectl_prom::app::run(cli).await;
    std::process::exit(code as i32);
}
