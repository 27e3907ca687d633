//! The kubectl-prom binary: parse flags, hand over to the library, exit with its code.

use clap::Parser;

#[tokio::main]
async fn main() {
    // kubectl's completion protocol passes half-typed words clap must not parse (see commands::completion).
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = kubectl_prom::commands::completion::intercept(&argv).await {
        std::process::exit(code);
    }
    let cli = kubectl_prom::cli::Cli::parse();
    let code = kubectl_prom::app::run(cli).await;
    std::process::exit(code as i32);
}
