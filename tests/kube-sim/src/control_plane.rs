//! The real control plane (issue 16): etcd, kube-apiserver, kube-controller-manager and kube-scheduler as built by
//! `tools/world/build.sh`, started as child processes with certificates generated here, two bearer-token users
//! (admin in `system:masters`, `restricted` with no rights of its own) and their kubeconfig (`kubeconfig::render`). The launch follows kwok's local launcher
//! (sigs.k8s.io/kwok pkg/kwokctl/components/{etcd,kube_apiserver,kube_controller_manager,kube_scheduler}.go); where
//! this differs (separate identities per component, a Node client certificate, the kubelet client certificate) it
//! follows kubeadm's layout (kubernetes cmd/kubeadm/app/phases/certs/certlist.go: apiserver-kubelet-client in
//! `system:masters`; controller-manager and scheduler as `system:kube-controller-manager` / `system:kube-scheduler`,
//! the users the bootstrap RBAC policy binds in plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go).
use crate::api_client::{ApiClient, Credentials};
use crate::kubeconfig::{self, Tokens};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The node kube-sim registers on the real control plane.
pub const NODE_NAME: &str = "kube-sim-node";
/// Service IPs (the `kubernetes` Service gets the first: 10.96.0.1).
pub const SERVICE_CIDR: &str = "10.96.0.0/16";

/// Where the Go-built binaries are: `KUBE_SIM_WORLD_BIN`, else what `tools/world/build.sh --check` prints (the cache
/// directory of the current pins). Err says how to build them.
pub fn world_bin() -> Result<PathBuf, String> {
    if let Some(d) = std::env::var_os("KUBE_SIM_WORLD_BIN") {
        let d = PathBuf::from(d);
        let missing: Vec<&str> = [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
        ]
        .into_iter()
        .filter(|b| !d.join(b).is_file())
        .collect();
        if !missing.is_empty() {
            return Err(format!(
                "KUBE_SIM_WORLD_BIN={} lacks {}",
                d.display(),
                missing.join(", ")
            ));
        }
        return Ok(d);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/world/build.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg("--check")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "the real control plane is not built ({}); run tools/world/build.sh (tens of minutes the first time)",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// A certificate and its key, PEM.
#[derive(Clone)]
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Everything the cluster's parties need to trust and identify each other.
pub struct ClusterPki {
    pub ca: CertPair,
    pub apiserver: CertPair,
    pub apiserver_kubelet_client: CertPair,
    pub controller_manager: CertPair,
    pub scheduler: CertPair,
    /// `system:node:NODE_NAME` in `system:nodes` (the Node authorizer and NodeRestriction key on this).
    pub node_client: CertPair,
    /// The kubelet's serving certificate (the API server does not verify it without
    /// `--kubelet-certificate-authority`, but the kubectl-facing names are right).
    pub kubelet_serving: CertPair,
    /// The storage driver's controller sidecars (`node::csi::CONTROLLER_USER`, bound to their ClusterRole by
    /// `node::csi::install`).
    pub csi_controller: CertPair,
    /// Service-account token signing key (PKCS#8) and its public half (SPKI: client-go's keyutil.ParsePublicKeysPEM
    /// reads EC keys only as SEC1 or PKIX, not PKCS#8 — k8s.io/client-go/util/keyutil/key.go).
    pub sa_key_pem: String,
    pub sa_pub_pem: String,
}

fn rcgen_err(e: rcgen::Error) -> String {
    format!("could not generate the cluster certificates: {e}")
}

fn leaf(
    issuer: &Issuer<'_, KeyPair>,
    cn: &str,
    orgs: &[&str],
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> Result<CertPair, String> {
    let key = KeyPair::generate().map_err(rcgen_err)?;
    let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .map_err(rcgen_err)?;
    params.distinguished_name.push(DnType::CommonName, cn);
    for o in orgs {
        params.distinguished_name.push(DnType::OrganizationName, *o);
    }
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).map_err(rcgen_err)?;
    Ok(CertPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

impl ClusterPki {
    /// `node_ip`: the address the kubelet serves on (and the Node's InternalIP).
    pub fn generate(node_ip: &str) -> Result<Self, String> {
        let ca_key = KeyPair::generate().map_err(rcgen_err)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(rcgen_err)?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "kube-sim-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(rcgen_err)?;
        let ca = CertPair {
            cert_pem: ca_cert.pem(),
            key_pem: ca_key.serialize_pem(),
        };
        let issuer = Issuer::new(ca_params, ca_key);
        use ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
        // The API server's names as kubeadm lists them (certlist.go KubeadmCertAPIServer), plus the service IP.
        let apiserver = leaf(
            &issuer,
            "kube-apiserver",
            &[],
            &[
                "127.0.0.1",
                "localhost",
                node_ip,
                "10.96.0.1",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ],
            ServerAuth,
        )?;
        let sa = KeyPair::generate().map_err(rcgen_err)?;
        Ok(Self {
            apiserver,
            apiserver_kubelet_client: leaf(
                &issuer,
                "kube-apiserver-kubelet-client",
                &["system:masters"],
                &[],
                ClientAuth,
            )?,
            controller_manager: leaf(
                &issuer,
                "system:kube-controller-manager",
                &[],
                &[],
                ClientAuth,
            )?,
            scheduler: leaf(&issuer, "system:kube-scheduler", &[], &[], ClientAuth)?,
            node_client: leaf(
                &issuer,
                &format!("system:node:{NODE_NAME}"),
                &["system:nodes"],
                &[],
                ClientAuth,
            )?,
            kubelet_serving: leaf(
                &issuer,
                NODE_NAME,
                &[],
                &[node_ip, "127.0.0.1", "localhost", NODE_NAME],
                ServerAuth,
            )?,
            csi_controller: leaf(
                &issuer,
                crate::node::csi::CONTROLLER_USER,
                &[],
                &[],
                ClientAuth,
            )?,
            sa_pub_pem: sa.public_key_pem(),
            sa_key_pem: sa.serialize_pem(),
            ca,
        })
    }
}

/// A kubeconfig authenticating with a client certificate (for controller-manager, scheduler).
fn cert_kubeconfig(server: &str, ca_pem: &str, user: &str, pair: &CertPair) -> String {
    use base64::Engine;
    let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kube-sim", "cluster": {"server": server, "certificate-authority-data": b(ca_pem)}}],
        "users": [{"name": user, "user": {"client-certificate-data": b(&pair.cert_pem), "client-key-data": b(&pair.key_pem)}}],
        "contexts": [{"name": user, "context": {"cluster": "kube-sim", "user": user}}],
        "current-context": user,
    });
    serde_saphyr::to_string(&doc).unwrap_or_default()
}

/// A free TCP port on 127.0.0.1 (bound and released: the component binds it a moment later).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

/// Where a component's binary, arguments and log go.
struct Component {
    name: &'static str,
    child: tokio::process::Child,
}

/// The running control plane. Dropping it kills every component (SIGKILL); `stop` is the orderly way.
pub struct ControlPlane {
    pub dir: PathBuf,
    /// `https://NODE_IP:PORT`.
    pub server: String,
    /// The admin/restricted kubeconfig (contexts `kube-sim` and `kube-sim-restricted`).
    pub kubeconfig: PathBuf,
    pub pki: ClusterPki,
    pub tokens: Tokens,
    /// From the first process start to `/readyz` answering ok, the default namespace's ServiceAccount included.
    pub boot_time: Duration,
    components: Vec<Component>,
    /// etcd's data tmpfs, unmounted on stop (None when etcd runs on a plain directory).
    etcd_tmpfs: Option<PathBuf>,
}

/// Options of `ControlPlane::start`.
pub struct Options {
    /// The directory of the built binaries (`world_bin()`).
    pub bin: PathBuf,
    /// The directory for certificates, kubeconfigs, logs and etcd's data.
    pub dir: PathBuf,
    /// The node's address (its kubelet API, Node InternalIP).
    pub node_ip: String,
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

impl ControlPlane {
    /// Boots the control plane; a boot that lost a picked port to another process ("address already in use") is
    /// tried again, up to three times in all, with new ports (the failed one's processes die with its handle, its
    /// etcd tmpfs is covered by the next one's).
    pub async fn start(opts: Options) -> Result<Self, String> {
        let mut attempt = 1;
        loop {
            match Self::start_once(&opts).await {
                Err(e) if attempt < 3 && e.contains("address already in use") => attempt += 1,
                r => return r,
            }
        }
    }

    async fn start_once(opts: &Options) -> Result<Self, String> {
        let dir = opts.dir.clone();
        for sub in ["pki", "logs", "etcd"] {
            std::fs::create_dir_all(dir.join(sub))
                .map_err(|e| format!("creating {}: {e}", dir.join(sub).display()))?;
        }
        let pki = ClusterPki::generate(&opts.node_ip)?;
        let tokens = Tokens::generate();
        let p = |n: &str| dir.join("pki").join(n);
        let files: [(&str, &str); 16] = [
            ("ca.crt", &pki.ca.cert_pem),
            ("ca.key", &pki.ca.key_pem),
            ("apiserver.crt", &pki.apiserver.cert_pem),
            ("apiserver.key", &pki.apiserver.key_pem),
            (
                "apiserver-kubelet-client.crt",
                &pki.apiserver_kubelet_client.cert_pem,
            ),
            (
                "apiserver-kubelet-client.key",
                &pki.apiserver_kubelet_client.key_pem,
            ),
            ("sa.key", &pki.sa_key_pem),
            ("sa.pub", &pki.sa_pub_pem),
            ("node.crt", &pki.node_client.cert_pem),
            ("node.key", &pki.node_client.key_pem),
            ("kubelet.crt", &pki.kubelet_serving.cert_pem),
            ("kubelet.key", &pki.kubelet_serving.key_pem),
            ("controller-manager.crt", &pki.controller_manager.cert_pem),
            ("controller-manager.key", &pki.controller_manager.key_pem),
            ("scheduler.crt", &pki.scheduler.cert_pem),
            ("scheduler.key", &pki.scheduler.key_pem),
        ];
        for (name, text) in files {
            write(&p(name), text, 0o600)?;
        }
        // The static token file (kube-apiserver --token-auth-file: token,user,uid,"group1,group2").
        write(
            &p("tokens.csv"),
            &format!(
                "{},{},{},\"system:masters\"\n{},{},{}\n",
                tokens.admin,
                kubeconfig::ADMIN_USER,
                kubeconfig::ADMIN_USER,
                tokens.restricted,
                kubeconfig::RESTRICTED_USER,
                kubeconfig::RESTRICTED_USER
            ),
            0o600,
        )?;
        // Picked free and released, so another process may take one first; the controller-manager and the scheduler
        // serve no port at all (`--secure-port=0`: "If 0, don't serve HTTPS at all", their flag docs; nothing here
        // reads their healthz), which leaves three such races instead of five (a test run here lost one: "bind: address
        // already in use" from the controller-manager).
        let (etcd_port, etcd_peer, api_port) = (free_port()?, free_port()?, free_port()?);
        // On the node's address (not loopback), so pods reach it through their veth.
        let server = format!("https://{}:{api_port}", opts.node_ip);
        write(
            &dir.join("controller-manager.kubeconfig"),
            &cert_kubeconfig(
                &server,
                &pki.ca.cert_pem,
                "system:kube-controller-manager",
                &pki.controller_manager,
            ),
            0o600,
        )?;
        write(
            &dir.join("scheduler.kubeconfig"),
            &cert_kubeconfig(
                &server,
                &pki.ca.cert_pem,
                "system:kube-scheduler",
                &pki.scheduler,
            ),
            0o600,
        )?;
        let kubeconfig = dir.join("kubeconfig");
        write(
            &kubeconfig,
            &kubeconfig::render(&server, &pki.ca.cert_pem, &tokens),
            0o600,
        )?;

        // etcd's data on a tmpfs when we may mount (kube-sim's private mount namespace); else a plain directory.
        let etcd_data = dir.join("etcd");
        let etcd_tmpfs = crate::kubelet::isolate::is_isolated()
            .then(|| {
                nix::mount::mount(
                    Some("tmpfs"),
                    &etcd_data,
                    Some("tmpfs"),
                    nix::mount::MsFlags::empty(),
                    Some("mode=0700"),
                )
                .ok()
                .map(|_| etcd_data.clone())
            })
            .flatten();

        let started = Instant::now();
        let mut cp = ControlPlane {
            dir: dir.clone(),
            server: server.clone(),
            kubeconfig,
            pki,
            tokens,
            boot_time: Duration::ZERO,
            components: vec![],
            etcd_tmpfs,
        };
        let etcd_client = format!("http://127.0.0.1:{etcd_port}");
        let etcd_peer_url = format!("http://127.0.0.1:{etcd_peer}");
        cp.spawn(
            &opts.bin,
            "etcd",
            &[
                "--name=kube-sim".into(),
                format!("--data-dir={}", etcd_data.display()),
                format!("--listen-client-urls={etcd_client}"),
                format!("--advertise-client-urls={etcd_client}"),
                format!("--listen-peer-urls={etcd_peer_url}"),
                format!("--initial-advertise-peer-urls={etcd_peer_url}"),
                format!("--initial-cluster=kube-sim={etcd_peer_url}"),
                // kwok's settings: compaction keeps the store small; tmpfs makes fsync free anyway.
                "--auto-compaction-retention=1".into(),
                "--quota-backend-bytes=8589934592".into(),
                "--unsafe-no-fsync=true".into(),
                "--log-level=warn".into(),
            ],
        )?;
        let ps = |n: &str| p(n).display().to_string();
        cp.spawn(
            &opts.bin,
            "kube-apiserver",
            &[
                format!("--etcd-servers={etcd_client}"),
                format!("--bind-address={}", opts.node_ip),
                // The `kubernetes` Service's endpoint (loopback is refused), an address pods reach.
                format!("--advertise-address={}", opts.node_ip),
                format!("--secure-port={api_port}"),
                format!("--tls-cert-file={}", ps("apiserver.crt")),
                format!("--tls-private-key-file={}", ps("apiserver.key")),
                format!("--client-ca-file={}", ps("ca.crt")),
                format!("--token-auth-file={}", ps("tokens.csv")),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
                format!("--service-account-key-file={}", ps("sa.pub")),
                format!("--service-account-signing-key-file={}", ps("sa.key")),
                format!("--service-cluster-ip-range={SERVICE_CIDR}"),
                "--authorization-mode=Node,RBAC".into(),
                // The default admission set plus NodeRestriction, as kubeadm enables it
                // (cmd/kubeadm/app/phases/controlplane/manifests.go).
                "--enable-admission-plugins=NodeRestriction".into(),
                "--allow-privileged=true".into(),
                format!(
                    "--kubelet-client-certificate={}",
                    ps("apiserver-kubelet-client.crt")
                ),
                format!(
                    "--kubelet-client-key={}",
                    ps("apiserver-kubelet-client.key")
                ),
                "--kubelet-preferred-address-types=InternalIP".into(),
                // The default `--endpoint-reconciler-type=lease` (cmd/kube-apiserver/app/options/options.go
                // NewServerRunOptions) is kept: `default/kubernetes` gets the Endpoints/EndpointSlice of the advertise
                // address (pkg/controlplane/reconcilers/lease.go), as on a real cluster, so a chart's
                // `kubernetes-apiservers` scrape job discovers the API server.
            ],
        )?;
        cp.wait_ready(started).await?;
        let kcm_kubeconfig = dir
            .join("controller-manager.kubeconfig")
            .display()
            .to_string();
        cp.spawn(
            &opts.bin,
            "kube-controller-manager",
            &[
                format!("--kubeconfig={kcm_kubeconfig}"),
                format!("--authentication-kubeconfig={kcm_kubeconfig}"),
                format!("--authorization-kubeconfig={kcm_kubeconfig}"),
                "--leader-elect=false".into(),
                "--bind-address=127.0.0.1".into(),
                "--secure-port=0".into(),
                format!("--root-ca-file={}", ps("ca.crt")),
                format!("--service-account-private-key-file={}", ps("sa.key")),
                "--use-service-account-credentials=true".into(),
                format!("--cluster-signing-cert-file={}", ps("ca.crt")),
                format!("--cluster-signing-key-file={}", ps("ca.key")),
            ],
        )?;
        let sched_kubeconfig = dir.join("scheduler.kubeconfig").display().to_string();
        cp.spawn(
            &opts.bin,
            "kube-scheduler",
            &[
                format!("--kubeconfig={sched_kubeconfig}"),
                format!("--authentication-kubeconfig={sched_kubeconfig}"),
                format!("--authorization-kubeconfig={sched_kubeconfig}"),
                "--leader-elect=false".into(),
                "--bind-address=127.0.0.1".into(),
                "--secure-port=0".into(),
            ],
        )?;
        cp.wait_default_service_account(started).await?;
        cp.boot_time = started.elapsed();
        Ok(cp)
    }

    fn spawn(&mut self, bin: &Path, name: &'static str, args: &[String]) -> Result<(), String> {
        let log = std::fs::File::create(self.dir.join("logs").join(format!("{name}.log")))
            .map_err(|e| format!("creating the {name} log: {e}"))?;
        let err = log
            .try_clone()
            .map_err(|e| format!("the {name} log: {e}"))?;
        let path = bin.join(name);
        let mut cmd = tokio::process::Command::new(&path);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .kill_on_drop(true);
        // SAFETY: prctl is async-signal-safe; the child dies with the process that started it, even on SIGKILL.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", path.display()))?;
        self.components.push(Component { name, child });
        Ok(())
    }

    /// The last lines of a component's log (for an error message).
    pub fn log_tail(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join("logs").join(format!("{name}.log")))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }

    /// Err naming the first component that exited.
    fn check_alive(&mut self) -> Result<(), String> {
        let mut dead = None;
        for c in &mut self.components {
            if let Ok(Some(status)) = c.child.try_wait() {
                dead = Some((c.name, status));
                break;
            }
        }
        match dead {
            Some((name, status)) => Err(format!(
                "{name} exited ({status}); its log ends:\n{}",
                self.log_tail(name)
            )),
            None => Ok(()),
        }
    }

    /// A client with the admin token.
    pub fn admin_client(&self) -> Result<ApiClient, String> {
        ApiClient::new(
            &self.server,
            &self.pki.ca.cert_pem,
            Credentials::Token(self.tokens.admin.clone()),
        )
    }

    async fn poll(&mut self, started: Instant, what: &str, path: &str) -> Result<(), String> {
        let client = self.admin_client()?;
        let mut last = String::new();
        while started.elapsed() < Duration::from_secs(120) {
            self.check_alive()?;
            match client.get(path).await {
                Ok(r) if r.ok() => return Ok(()),
                Ok(r) => last = format!("{} {}", r.status, r.message()),
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(format!(
            "{what} not ready after 120 s (last answer: {last})"
        ))
    }

    async fn wait_ready(&mut self, started: Instant) -> Result<(), String> {
        self.poll(started, "kube-apiserver", "/readyz").await
    }

    /// The controller-manager's serviceaccount controller has run: pods can be created in `default`.
    async fn wait_default_service_account(&mut self, started: Instant) -> Result<(), String> {
        self.poll(
            started,
            "the default ServiceAccount",
            "/api/v1/namespaces/default/serviceaccounts/default",
        )
        .await
    }

    /// SIGTERM to every component (API server and controllers first, etcd last), up to 5 s each, then SIGKILL;
    /// etcd's tmpfs is unmounted.
    pub async fn stop(&mut self) {
        while let Some(mut c) = self.components.pop() {
            if let Some(pid) = c.child.id() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
            if tokio::time::timeout(Duration::from_secs(5), c.child.wait())
                .await
                .is_err()
            {
                let _ = c.child.kill().await;
            }
        }
        if let Some(p) = self.etcd_tmpfs.take() {
            let _ = nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}
