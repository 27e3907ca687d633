//! The `kube-sim` binary, which starts a test world: `list` (scenarios), `up` (the real control plane of
//! tools/world/build.sh with kube-sim as its node, until SIGTERM/SIGINT; prints `export KUBECONFIG=…` once ready),
//! `run [--scenario N] -- CMD…` (the same, runs CMD against it, exits with its status). Before any thread exists it
//! enters a private mount namespace, so every mount it makes vanishes with it, even on SIGKILL.
use kube_sim::cluster::{EXIT_UNAVAILABLE, Options};
use kube_sim::node::scenario;
use std::path::PathBuf;
use std::time::Duration;

const USAGE: &str = "usage: kube-sim list
       kube-sim up  [--scenario NAME] [--dir DIR] [--latency 50ms] [--fault ACTION:METHOD:PATH:TIMES]... [--http1-only]
       kube-sim run [same options] -- COMMAND [ARGS...]";

#[allow(clippy::print_stderr)]
fn fail(code: i32, msg: &str) -> ! {
    eprintln!("kube-sim: {msg}");
    std::process::exit(code)
}

fn parse_duration(s: &str) -> Option<Duration> {
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    s.strip_suffix('s')
        .and_then(|x| x.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
}

struct Args {
    cmd: String,
    opts: Options,
    dir: Option<PathBuf>,
    command: Vec<String>,
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_else(|| fail(2, USAGE));
    let mut a = Args {
        cmd,
        opts: Options::default(),
        dir: None,
        command: vec![],
    };
    while let Some(arg) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .unwrap_or_else(|| fail(2, &format!("{name} needs a value\n{USAGE}")))
        };
        match arg.as_str() {
            "--scenario" => a.opts.scenario = Some(val("--scenario")),
            "--dir" => a.dir = Some(PathBuf::from(val("--dir"))),
            "--latency" => {
                a.opts.latency = Some(
                    parse_duration(&val("--latency"))
                        .unwrap_or_else(|| fail(2, "--latency needs a duration like 50ms")),
                )
            }
            "--fault" => a.opts.faults.push(val("--fault")),
            // The only control plane since the simulated API server was deleted (issue 16): still accepted, so
            // commands written while both existed keep working.
            "--control-plane" => {
                if val("--control-plane") != "real" {
                    fail(
                        2,
                        "--control-plane is `real` (the simulated API server is gone)",
                    )
                }
            }
            "--http1-only" => a.opts.http1_only = true,
            "--" => {
                a.command = it.by_ref().collect();
                break;
            }
            other => fail(2, &format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    a
}

/// The machine must let us create namespaces (root) and run Prometheus.
fn check_host() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("needs root (it creates network and mount namespaces for pods)".into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if !std::env::split_paths(&path).any(|d| d.join("prometheus").is_file()) {
        return Err("no `prometheus` binary on PATH (install Debian's prometheus package)".into());
    }
    Ok(())
}

/// A private mount namespace and a PID namespace for the whole cluster, entered while single-threaded (the kubelet's
/// `isolate_process`: the process forks, the child runs the cluster as the namespace's init, the parent relays
/// signals and the exit status), so no mount and no pod process outlives the simulator, even on SIGKILL.
fn enter_private_mount_namespace() -> Result<(), String> {
    kube_sim::kubelet::isolate_process()
}

#[allow(clippy::print_stdout)]
fn list_scenarios() {
    let dir = scenario::scenarios_dir();
    let mut names: Vec<(String, String)> = vec![("empty".into(), "one node, the system namespaces and `monitoring`, default expandable StorageClass `standard`".into())];
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let desc = scenario::parse_documents(&text)
                .ok()
                .and_then(|d| d.into_iter().find(|d| d["kind"] == "SimScenario"))
                .and_then(|h| h["description"].as_str().map(String::from))
                .unwrap_or_default();
            names.retain(|(n, _)| *n != name);
            names.push((name, desc));
        }
    }
    names.sort();
    for (n, d) in names {
        println!("{n:<24} {}", d.lines().next().unwrap_or(""));
    }
}

/// `up`/`run`: the Go-built control plane and kube-sim's node on it, until SIGTERM/SIGINT (or the command's end).
#[allow(clippy::print_stdout, clippy::print_stderr)]
async fn world(args: Args, dir: PathBuf) -> i32 {
    let Some((prog, rest)) = (match args.cmd.as_str() {
        "up" => Some(("", &[][..])),
        _ => args.command.split_first().map(|(p, r)| (p.as_str(), r)),
    }) else {
        fail(2, USAGE)
    };
    // The latency and fault knobs act in the proxy in front of the real API server (node::proxy).
    let mut faults = vec![];
    for f in &args.opts.faults {
        faults.push(kube_sim::node::knobs::FaultRule::parse(f).unwrap_or_else(|e| fail(2, &e)));
    }
    let knobs = kube_sim::node::knobs::Knobs {
        latency: args.opts.latency.unwrap_or_default(),
        faults: std::sync::Mutex::new(faults),
        counts: Default::default(),
        http1_only: args.opts.http1_only,
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .unwrap_or_else(|e| fail(1, &e.to_string()));
    let bin = kube_sim::control_plane::world_bin().unwrap_or_else(|e| fail(EXIT_UNAVAILABLE, &e));
    let booted = tokio::select! {
        r = kube_sim::node::World::start(&bin, &dir, knobs) => r,
        _ = term.recv() => return 143,
        _ = tokio::signal::ctrl_c() => return 130,
    };
    let mut world = match booted {
        Ok(w) => w,
        Err(e) => fail(1, &e),
    };
    // No scenario is `empty`: still the `monitoring` namespace every world has (`scenario::apply`).
    {
        let name = args.opts.scenario.as_deref().unwrap_or("empty");
        let applied = match world.control_plane.admin_client() {
            Ok(admin) => {
                // Straight to the API server: `--fault` rules and request counts are for the tests' clients.
                let direct = world.direct_kubeconfig();
                tokio::select! {
                    r = kube_sim::node::scenario::apply(name, &bin, &dir, &direct, &admin) => r,
                    _ = term.recv() => { world.stop().await; return 143; }
                }
            }
            Err(e) => Err(e),
        };
        if let Err(e) = applied {
            world.stop().await;
            fail(1, &e);
        }
    }
    eprintln!(
        "kube-sim: the real control plane is up in {:.1} s",
        world.boot_time().as_secs_f64()
    );
    if args.cmd == "run" {
        // The command runs against the world; its status is ours.
        let status = tokio::process::Command::new(prog)
            .args(rest)
            .env("KUBECONFIG", world.kubeconfig())
            .status()
            .await;
        world.stop().await;
        return match status {
            Ok(s) => s.code().unwrap_or(1),
            Err(e) => fail(1, &format!("cannot run `{prog}`: {e}")),
        };
    }
    println!("export KUBECONFIG={}", world.kubeconfig().display());
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    world.stop().await;
    0
}

#[allow(clippy::print_stdout)]
fn main() {
    let args = parse_args();
    if args.cmd == "list" {
        list_scenarios();
        return;
    }
    if args.cmd != "up" && args.cmd != "run" {
        fail(2, USAGE);
    }
    if let Err(why) = check_host() {
        fail(EXIT_UNAVAILABLE, &why);
    }
    if let Err(why) = enter_private_mount_namespace() {
        fail(EXIT_UNAVAILABLE, &why);
    }
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("kube-sim-{}", kube_sim::kubelet::node_pid()))
    });
    // A directory we made (no --dir) goes with us.
    let (args_dir_is_temporary, dir_to_remove) = (args.dir.is_none(), dir.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(1, &format!("cannot start the runtime: {e}")));
    let code = rt.block_on(world(args, dir));
    rt.shutdown_timeout(Duration::from_secs(2));
    if args_dir_is_temporary {
        let _ = std::fs::remove_dir_all(&dir_to_remove);
    }
    std::process::exit(code);
}
