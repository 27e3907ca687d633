//! Pod IPs the real API server can reach (pods/proxy dials the pod IP itself): one veth pair per pod, routed
//! point-to-point as Calico does — the pod's `eth0` holds IP/32 with a default route via the link-local 169.254.1.1,
//! a permanent neighbour entry maps that gateway to the host end's MAC, and the host routes IP/32 to its end. No bridge and no host address, so
//! nothing outlives the pod: the pair goes when the pod's network namespace does (even when kube-sim is SIGKILLed,
//! its PID namespace takes the pods and their namespaces with it). Uses iproute2's `ip` and util-linux's `nsenter`.
use crate::kubelet::netns::PodNetwork;
use std::process::Command;

/// The pod network of one node: 10.244.SUBNET.0/24, SUBNET the first free one from the process id on (the routes
/// are host-wide, so two worlds on one host must not share it). The node's own address is 10.244.SUBNET.1, on the host end of a veth
/// whose peer sits in a namespace only we hold (so it too goes with us): the API server refuses to proxy to
/// loopback (`address not allowed`, k8s.io/apimachinery pkg/util/proxy), so the kubelet API cannot live there.
pub struct PodNet {
    subnet: u8,
    pub node_ip: String,
    /// Keeps the namespace of the node address's peer alive.
    _anchor: PodNetwork,
}

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("running {}: {e}", args[0]))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

impl PodNet {
    pub fn new() -> Result<Self, String> {
        // The subnet is claimed by creating the host end `ksim<subnet>n`: link creation is atomic host-wide, so
        // when another world on this host holds that subnet ("File exists"), the next one is tried. Starting at the
        // pid keeps concurrent worlds apart in the common case; a pid that agrees mod 250 with a running world's
        // (seen: 3 of ~35 starts in one afternoon of parallel tests) no longer fails the start.
        let anchor = PodNetwork::create()?;
        let ns_path = format!(
            "/proc/{}/fd/{}",
            crate::kubelet::node_pid(),
            anchor.raw_fd()
        );
        let our_pid = std::process::id().to_string();
        let flag = format!("--net={ns_path}");
        let first = (crate::kubelet::node_pid() % 250) as u8;
        let mut last_err = String::new();
        for step in 0..250u16 {
            let subnet = ((u16::from(first) + step) % 250) as u8;
            let node_ip = format!("10.244.{subnet}.1");
            let host = format!("ksim{subnet}n");
            if let Err(e) = run(&[
                "nsenter", &flag, "ip", "link", "add", "eth0", "type", "veth", "peer", "name",
                &host, "netns", &our_pid,
            ]) {
                if e.contains("File exists") {
                    last_err = e;
                    continue;
                }
                return Err(e);
            }
            let setup = run(&["ip", "addr", "add", &format!("{node_ip}/32"), "dev", &host])
                .and_then(|_| run(&["ip", "link", "set", &host, "up"]));
            if let Err(e) = setup {
                let _ = run(&["ip", "link", "del", &host]);
                return Err(e);
            }
            return Ok(Self {
                subnet,
                node_ip,
                _anchor: anchor,
            });
        }
        Err(format!(
            "no free pod subnet 10.244.0-249.0/24 on this host (every ksim<N>n link exists): {last_err}"
        ))
    }

    /// Gives the pod whose namespace is `net` the address of pod number `n` on this node.
    pub fn attach(&self, net: &PodNetwork, n: u32) -> Result<String, String> {
        let ip = format!("10.244.{}.{}", self.subnet, n % 250 + 2);
        let host = format!("ksim{}x{}", self.subnet, n % 10000);
        // /proc is the host's (kube-sim has its own PID namespace, not its own /proc): our pid as the host sees it.
        let ns_path = format!("/proc/{}/fd/{}", crate::kubelet::node_pid(), net.raw_fd());
        let flag = format!("--net={ns_path}");
        let nsenter = |args: &[&str]| {
            let mut all: Vec<&str> = vec!["nsenter", &flag];
            all.extend_from_slice(args);
            run(&all)
        };
        // Made inside the pod's namespace with the host end moved out to ours (`netns PID`: iproute2 takes a pid or
        // a name under /var/run/netns, not a path; the kernel reads the pid in the caller's PID namespace, ours).
        let our_pid = std::process::id().to_string();
        nsenter(&[
            "ip", "link", "add", "eth0", "type", "veth", "peer", "name", &host, "netns", &our_pid,
        ])?;
        let setup = (|| {
            nsenter(&["ip", "addr", "add", &format!("{ip}/32"), "dev", "eth0"])?;
            nsenter(&["ip", "link", "set", "eth0", "up"])?;
            nsenter(&[
                "ip",
                "route",
                "add",
                "169.254.1.1",
                "dev",
                "eth0",
                "scope",
                "link",
            ])?;
            nsenter(&[
                "ip",
                "route",
                "add",
                "default",
                "via",
                "169.254.1.1",
                "dev",
                "eth0",
            ])?;
            // The gateway's address resolves to the host end's MAC for good (proxy ARP would need the host to
            // forward, a host-wide switch; the host only ever talks to its pods, it does not route for them).
            let mac = std::fs::read_to_string(format!("/sys/class/net/{host}/address"))
                .map_err(|e| format!("reading {host}'s MAC: {e}"))?;
            nsenter(&[
                "ip",
                "neigh",
                "replace",
                "169.254.1.1",
                "lladdr",
                mac.trim(),
                "dev",
                "eth0",
                "nud",
                "permanent",
            ])?;
            run(&["ip", "link", "set", &host, "up"])?;
            run(&["ip", "route", "replace", &format!("{ip}/32"), "dev", &host])
        })();
        if let Err(e) = setup {
            let _ = run(&["ip", "link", "del", &host]);
            return Err(e);
        }
        Ok(ip)
    }
}
