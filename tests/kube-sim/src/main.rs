//! The `kube-sim` binary, which *is* the cluster: `list` (scenarios), `up` (serve until SIGTERM/SIGINT and print
//! `export KUBECONFIG=…` once ready), `run [--scenario N] -- CMD…` (serve, run CMD against it, exit with its
//! status). Before any thread exists it enters a private mount namespace, so every mount it makes vanishes with
//! it, even on SIGKILL.
use kube_sim::bootstrap::{self, Options};
use kube_sim::cluster::EXIT_UNAVAILABLE;
use std::path::PathBuf;
use std::time::Duration;

const USAGE: &str = "usage: kube-sim list
       kube-sim up  [--scenario NAME] [--dir DIR] [--port N] [--latency 50ms] [--fault ACTION:METHOD:PATH:TIMES]... [--scale N] [--http1-only]
       kube-sim run [same options] -- COMMAND [ARGS...]
       kube-sim up|run --control-plane real [--scenario NAME] [--dir DIR] [--latency 50ms] [--fault …]... [--http1-only]   (in progress: the Go-built control plane of tools/world/build.sh)";

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
    /// `--control-plane real`: etcd, kube-apiserver, controller-manager and scheduler built from Go (issue 16).
    real: bool,
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_else(|| fail(2, USAGE));
    let mut a = Args {
        cmd,
        opts: Options::default(),
        dir: None,
        command: vec![],
        real: false,
    };
    while let Some(arg) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .unwrap_or_else(|| fail(2, &format!("{name} needs a value\n{USAGE}")))
        };
        match arg.as_str() {
            "--scenario" => a.opts.scenario = Some(val("--scenario")),
            "--dir" => a.dir = Some(PathBuf::from(val("--dir"))),
            "--port" => {
                a.opts.port = val("--port")
                    .parse()
                    .unwrap_or_else(|_| fail(2, "--port needs a number"))
            }
            "--latency" => {
                a.opts.latency = Some(
                    parse_duration(&val("--latency"))
                        .unwrap_or_else(|| fail(2, "--latency needs a duration like 50ms")),
                )
            }
            "--fault" => a.opts.faults.push(val("--fault")),
            "--control-plane" => match val("--control-plane").as_str() {
                "real" => a.real = true,
                "sim" => a.real = false,
                _ => fail(2, "--control-plane is `sim` (default) or `real`"),
            },
            "--http1-only" => a.opts.http1_only = true,
            "--scale" => {
                a.opts.scale = Some(
                    val("--scale")
                        .parse()
                        .unwrap_or_else(|_| fail(2, "--scale needs a number")),
                )
            }
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
    let dir = bootstrap::scenarios_dir();
    let mut names: Vec<(String, String)> = vec![("empty".into(), "one node, the system namespaces and `monitoring`, default expandable StorageClass `standard`".into())];
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let desc = bootstrap::parse_documents(&text)
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

/// `up --control-plane real`: the Go-built control plane and kube-sim's node on it, until SIGTERM/SIGINT.
#[allow(clippy::print_stdout, clippy::print_stderr)]
async fn real_world(args: Args, dir: PathBuf) -> i32 {
    let Some((prog, rest)) = (match args.cmd.as_str() {
        "up" => Some(("", &[][..])),
        _ => args.command.split_first().map(|(p, r)| (p.as_str(), r)),
    }) else {
        fail(2, USAGE)
    };
    // --scale has no real-mode counterpart yet: refused, not silently ignored.
    if args.opts.scale.is_some() {
        fail(2, "--scale is not available with --control-plane real yet");
    }
    // The latency and fault knobs act in the proxy in front of the real API server (node::proxy).
    let mut faults = vec![];
    for f in &args.opts.faults {
        faults.push(kube_sim::server::FaultRule::parse(f).unwrap_or_else(|e| fail(2, &e)));
    }
    let knobs = kube_sim::server::Knobs {
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
    if let Some(name) = &args.opts.scenario {
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
        // As in the simulated world: the command runs against the cluster, its status is ours.
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
    if args.real {
        let code = rt.block_on(real_world(args, dir));
        rt.shutdown_timeout(Duration::from_secs(2));
        if args_dir_is_temporary {
            let _ = std::fs::remove_dir_all(&dir_to_remove);
        }
        std::process::exit(code);
    }
    let code = rt.block_on(async move {
        let kubelet = kube_sim::kubelet::KubeletSlot::default();
        // Installed before booting: as the PID namespace's init this process ignores SIGTERM without a handler, and
        // a test that gives up while the scenario settles must still get a prompt, clean exit.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .unwrap_or_else(|e| fail(1, &e.to_string()));
        let booted = tokio::select! {
            r = bootstrap::boot(&args.opts, &dir, Some(kube_sim::kubelet::agent_factory(kubelet.clone()))) => Some(r),
            _ = term.recv() => None,
            _ = tokio::signal::ctrl_c() => None,
        };
        let code = match booted {
            None => 143,
            Some(Err(e)) => fail(1, &e),
            Some(Ok(running)) => {
                let kubeconfig = running.kubeconfig.display().to_string();
                if args.cmd == "up" {
                    println!("export KUBECONFIG={kubeconfig}");
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                    0
                } else {
                    let Some((prog, rest)) = args.command.split_first() else {
                        fail(2, USAGE)
                    };
                    let status = tokio::process::Command::new(prog)
                        .args(rest)
                        .env("KUBECONFIG", &kubeconfig)
                        .status()
                        .await;
                    match status {
                        Ok(s) => s.code().unwrap_or(1),
                        Err(e) => fail(1, &format!("cannot run `{prog}`: {e}")),
                    }
                }
            }
        };
        // Pods get SIGTERM (Prometheus logs "See you next time!"), then every mount and state dir goes.
        if let Some(k) = kubelet.get() {
            k.shutdown().await;
        }
        code
    });
    rt.shutdown_timeout(Duration::from_secs(2));
    if args_dir_is_temporary {
        let _ = std::fs::remove_dir_all(&dir_to_remove);
    }
    std::process::exit(code);
}
