//! `Cluster`: the test-side handle of a world (the real control plane, kube-sim as its node). It spawns the `kube-sim` binary (`KUBE_SIM_BIN`, else the `kube-sim` next to
//! the test executable), waits for its `export KUBECONFIG=…` ready line (printed after the scenario settled),
//! and on drop — also while a test panics — sends SIGTERM, waits, then SIGKILLs. The binary owns every mount and
//! process of the cluster, so nothing outlives it.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::kubeconfig::{ADMIN_CONTEXT, RESTRICTED_CONTEXT};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The machine cannot host the cluster (not root, no `prometheus`): tests skip.
    #[error("kube-sim unavailable: {0}")]
    Unavailable(String),
    #[error("kube-sim failed to start: {0}")]
    Failed(String),
}

/// Knobs of one world (also the `kube-sim up` flags).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Scenario name (`scenarios/<name>.yaml`); None = `empty`.
    pub scenario: Option<String>,
    /// Fixed delay the knob proxy adds to every API request.
    pub latency: Option<Duration>,
    /// Injected faults, `ACTION:METHOD:PATH_SUBSTRING:TIMES` (see `FaultRule::parse`), served by the knob proxy.
    pub faults: Vec<String>,
    /// The knob proxy offers only HTTP/1.1 in TLS ALPN (a server or TLS-terminating proxy without HTTP/2), so
    /// clients fall back.
    pub http1_only: bool,
}

pub struct Cluster {
    child: Child,
    dir: PathBuf,
    kubeconfig: PathBuf,
    /// The kubectl the tests read back with: the world's own (1.36, the API server's release; kubectl supports one
    /// minor version of skew, kubernetes/website content/en/releases/version-skew-policy.md), else the machine's.
    kubectl: PathBuf,
}

/// Exit status the binary uses for "this machine cannot run the cluster".
pub const EXIT_UNAVAILABLE: i32 = 77;

/// `--scenario`, `--latency`, `--fault`, `--http1-only`.
fn scenario_and_knobs(cmd: &mut Command, opts: &Options) {
    if opts.http1_only {
        cmd.arg("--http1-only");
    }
    if let Some(s) = &opts.scenario {
        cmd.args(["--scenario", s]);
    }
    if let Some(l) = opts.latency {
        cmd.args(["--latency", &format!("{}ms", l.as_millis())]);
    }
    for f in &opts.faults {
        cmd.args(["--fault", f]);
    }
}

fn binary() -> Result<PathBuf, StartError> {
    if let Some(p) = std::env::var_os("KUBE_SIM_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()
        .map_err(|e| StartError::Failed(format!("cannot locate the test executable: {e}")))?;
    let candidates = [
        exe.parent()
            .and_then(Path::parent)
            .map(|d| d.join("kube-sim")),
        exe.parent().map(|d| d.join("kube-sim")),
    ];
    candidates.into_iter().flatten().find(|p| p.exists()).ok_or_else(|| {
        StartError::Failed("the kube-sim binary is not built next to the tests; run `cargo build -p kube-sim` or set KUBE_SIM_BIN".into())
    })
}

impl Cluster {
    /// A world with `opts` (the simulated API server this once started is gone: every world is real).
    pub fn start(opts: Options) -> Result<Cluster, StartError> {
        Self::start_real_opts(&opts)
    }

    /// The real control plane: `kube-sim up` — etcd, kube-apiserver, controller-manager, scheduler and kubectl built
    /// by `tools/world/build.sh`, kube-sim as the node. Unavailable (tests skip) when those binaries are not built.
    pub fn start_real() -> Result<Cluster, StartError> {
        Self::start_real_opts(&Options::default())
    }

    /// `start_real` with a scenario applied through the real API server (`node::scenario`).
    pub fn start_real_scenario(name: &str) -> Result<Cluster, StartError> {
        Self::start_real_opts(&Options {
            scenario: Some(name.into()),
            ..Options::default()
        })
    }

    /// `start_real` with a scenario, `--latency`, `--fault` rules and `--http1-only` (the knob proxy, `node::proxy`).
    pub fn start_real_opts(opts: &Options) -> Result<Cluster, StartError> {
        let bin = binary()?;
        let dir = std::env::temp_dir().join(format!(
            "kube-sim-real-{}-{}",
            std::process::id(),
            crate::ids::random_suffix(6)
        ));
        let mut cmd = Command::new(bin);
        cmd.args(["up", "--dir"]).arg(&dir);
        scenario_and_knobs(&mut cmd, opts);
        let kubectl = crate::control_plane::world_bin()
            .map(|d| d.join("kubectl"))
            .ok()
            .filter(|k| k.is_file())
            .unwrap_or_else(|| PathBuf::from("kubectl"));
        Self::launch(cmd, dir, kubectl)
    }

    /// The kubectl program `kubectl()` runs: the world's 1.36, else the machine's.
    pub fn kubectl_program(&self) -> &Path {
        &self.kubectl
    }

    /// Runs the prepared `kube-sim up` and waits for its ready line.
    fn launch(mut cmd: Command, dir: PathBuf, kubectl: PathBuf) -> Result<Cluster, StartError> {
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null());
        // A test binary killed by a signal (a CI timeout, Ctrl-C of `cargo test`) never runs Drop: the kernel sends
        // kube-sim SIGTERM instead, whose handler stops the world it started (etcd, the API server, the pods), so no
        // world outlives its test. PDEATHSIG follows the spawning thread: a Cluster is started and dropped on its
        // test's own thread (tokio tests block on the test thread too).
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| StartError::Failed(format!("cannot run kube-sim: {e}")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| StartError::Failed("no stdout from kube-sim".into()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Keep draining so the child never blocks on a full pipe.
                    continue;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut cluster = Cluster {
            child,
            dir: dir.clone(),
            kubeconfig: dir.join("kubeconfig"),
            kubectl,
        };
        loop {
            if let Ok(Some(status)) = cluster.child.try_wait() {
                let msg = format!(
                    "kube-sim exited with {status} before it was ready (its stderr is above)"
                );
                return Err(if status.code() == Some(EXIT_UNAVAILABLE) {
                    StartError::Unavailable(msg)
                } else {
                    StartError::Failed(msg)
                });
            }
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(path) = line.strip_prefix("export KUBECONFIG=") {
                        cluster.kubeconfig = PathBuf::from(path.trim());
                        return Ok(cluster);
                    }
                }
                Err(_) if Instant::now() > deadline => {
                    return Err(StartError::Failed(
                        "kube-sim was not ready within 180 s".into(),
                    ));
                }
                Err(_) => {}
            }
        }
    }

    /// Start, or print a skip notice and return None when the machine cannot run it — unless
    /// `KUBE_SIM_REQUIRE=1` (CI), where that is a failure.
    pub fn start_or_skip(opts: Options) -> Option<Cluster> {
        Self::or_skip(Cluster::start(opts))
    }

    /// `start_real`, skipping (None, with a notice) when the machine or the Go-built binaries are missing — unless
    /// `KUBE_SIM_REQUIRE=1`, where that is a failure.
    pub fn start_real_or_skip() -> Option<Cluster> {
        Self::or_skip(Cluster::start_real())
    }

    pub fn start_real_scenario_or_skip(name: &str) -> Option<Cluster> {
        Self::or_skip(Cluster::start_real_scenario(name))
    }

    pub fn start_real_opts_or_skip(opts: &Options) -> Option<Cluster> {
        Self::or_skip(Cluster::start_real_opts(opts))
    }

    fn or_skip(started: Result<Cluster, StartError>) -> Option<Cluster> {
        match started {
            Ok(c) => Some(c),
            Err(StartError::Unavailable(why))
                if std::env::var("KUBE_SIM_REQUIRE").as_deref() != Ok("1") =>
            {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("SKIP: {why}");
                }
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn admin_context(&self) -> &'static str {
        ADMIN_CONTEXT
    }

    pub fn restricted_context(&self) -> &'static str {
        RESTRICTED_CONTEXT
    }

    /// Request counts so far (`/kube-sim/stats`: `{"total": N, "requests": {"GET /api/v1/...": n, ...}}`),
    /// read with the real kubectl.
    pub fn stats(&self) -> Result<serde_json::Value, String> {
        self.raw_stats("/kube-sim/stats")
    }

    /// The stats with the timeline of the requests numbered `since` and later (read `stats()["total"]` before a
    /// run): `["since"]` holds `requests`, `bytes`, `open`, `serial_round_trips`, `critical_path`, `by_request`.
    pub fn stats_since(&self, since: u64) -> Result<serde_json::Value, String> {
        self.raw_stats(&format!("/kube-sim/stats?since={since}"))
    }

    fn raw_stats(&self, uri: &str) -> Result<serde_json::Value, String> {
        let out = self
            .kubectl()
            .args(["get", "--raw", uri])
            .output()
            .map_err(|e| format!("cannot run kubectl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "kubectl get --raw {uri} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("{uri} is not JSON: {e}"))
    }

    /// `kubectl --kubeconfig <ours>` (admin context), ready for more arguments. Its discovery cache is this cluster's
    /// own: kubectl keys `~/.kube/cache/discovery` by host and port, so a cluster started on a port an earlier one used
    /// would otherwise be answered from that cluster's cached discovery (fewer requests, another scenario's kinds).
    pub fn kubectl(&self) -> Command {
        let mut c = Command::new(&self.kubectl);
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.join("kubectl-cache"));
        c
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
