//! A container's filesystem and process: an overlay of the node's `/` (the "image": the Debian prometheus package,
//! coreutils, wget, sh) with a private writable layer on tmpfs, the pod's volumes bound at the container's
//! mountPaths (created inside the overlay, never on the host), then the process chrooted into it, inside the pod's
//! network namespace and its own UTS namespace, as the container's uid/gid/supplementary groups.
use super::netns::PodNetwork;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::unistd::{Gid, Uid, chdir, chroot, setgid, setgroups, sethostname, setuid};
use std::ffi::CString;
use std::os::fd::BorrowedFd;
use std::path::{Component, Path, PathBuf};

/// One bind mount into the container: a node path (volume dir, PV mount, file for subPath) at `target`.
#[derive(Debug, Clone)]
pub struct MountSpec {
    pub source: PathBuf,
    pub target: String,
    pub read_only: bool,
}

/// A directory the image ships with a given owner (e.g. prom/prometheus's `/prometheus` owned by nobody).
#[derive(Debug, Clone)]
pub struct ImageDir {
    pub path: String,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

/// The mounted root of one container instance; unmounted (lazily, whole tree) on `teardown` or drop.
#[derive(Debug)]
pub struct ContainerRoot {
    base: PathBuf,
    pub root: PathBuf,
    mounted: bool,
}

const HOST_BINDS: [&str; 3] = ["proc", "dev", "sys"];

impl ContainerRoot {
    pub fn build(
        base: &Path,
        mounts: &[MountSpec],
        image_dirs: &[ImageDir],
        workdir: &str,
    ) -> Result<Self, String> {
        let layer = base.join("layer");
        let root = base.join("root");
        for d in [&layer, &root] {
            std::fs::create_dir_all(d).map_err(|e| format!("creating {}: {e}", d.display()))?;
        }
        let mut this = Self {
            base: base.to_path_buf(),
            root: root.clone(),
            mounted: false,
        };
        // The upper layer must not live on the filesystem of the lower one (`/`): overlayfs refuses overlapping layers.
        mount(
            Some("tmpfs"),
            &layer,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("mode=0755"),
        )
        .map_err(|e| format!("mounting the container layer tmpfs: {e}"))?;
        this.mounted = true;
        for d in ["upper", "work"] {
            std::fs::create_dir_all(layer.join(d)).map_err(|e| e.to_string())?;
        }
        let opts = format!(
            "lowerdir=/,upperdir={},workdir={}",
            layer.join("upper").display(),
            layer.join("work").display()
        );
        mount(
            Some("overlay"),
            &root,
            Some("overlay"),
            MsFlags::empty(),
            Some(opts.as_str()),
        )
        .map_err(|e| format!("mounting the container root overlay: {e}"))?;
        for name in HOST_BINDS {
            let target = root.join(name);
            let _ = std::fs::create_dir_all(&target);
            mount(
                Some(Path::new("/").join(name).as_path()),
                &target,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| format!("binding /{name} into the container: {e}"))?;
        }
        mount(
            Some("tmpfs"),
            &root.join("tmp"),
            Some("tmpfs"),
            MsFlags::empty(),
            Some("mode=1777,size=64m"),
        )
        .map_err(|e| format!("mounting the container /tmp: {e}"))?;
        for dir in image_dirs {
            let path = resolve_in_root(&root, &dir.path)?;
            std::fs::create_dir_all(&path)
                .map_err(|e| format!("creating image dir {}: {e}", dir.path))?;
            let _ = std::os::unix::fs::chown(&path, Some(dir.uid), Some(dir.gid));
            let _ = std::fs::set_permissions(
                &path,
                std::os::unix::fs::PermissionsExt::from_mode(dir.mode),
            );
        }
        for m in mounts {
            let target = resolve_in_root(&root, &m.target)?;
            let source_is_dir = m.source.is_dir();
            if source_is_dir {
                std::fs::create_dir_all(&target)
                    .map_err(|e| format!("creating mount point {}: {e}", m.target))?;
            } else {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("creating mount point {}: {e}", m.target))?;
                }
                if !target.exists() {
                    std::fs::write(&target, b"")
                        .map_err(|e| format!("creating mount point {}: {e}", m.target))?;
                }
            }
            mount(
                Some(m.source.as_path()),
                &target,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| format!("mounting {} at {}: {e}", m.source.display(), m.target))?;
            if m.read_only {
                mount(
                    None::<&str>,
                    &target,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                    None::<&str>,
                )
                .map_err(|e| format!("making {} read-only: {e}", m.target))?;
            }
        }
        let wd = resolve_in_root(&root, workdir)?;
        let _ = std::fs::create_dir_all(wd);
        Ok(this)
    }

    pub fn teardown(&mut self) {
        if self.mounted {
            let _ = umount2(&self.root, MntFlags::MNT_DETACH);
            let _ = umount2(&self.base.join("layer"), MntFlags::MNT_DETACH);
            self.mounted = false;
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }

    /// A path inside the container as seen from the node.
    pub fn host_path(&self, container_path: &str) -> Result<PathBuf, String> {
        resolve_in_root(&self.root, container_path)
    }
}

impl Drop for ContainerRoot {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Resolves `path` as the container would (symlinks relative to its root, e.g. Debian's `/var/run -> /run`), so a
/// mount point never lands outside the container root.
pub fn resolve_in_root(root: &Path, path: &str) -> Result<PathBuf, String> {
    let mut pending: Vec<String> = components(path);
    pending.reverse();
    let mut current = PathBuf::new();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            current.pop();
            continue;
        }
        let candidate = current.join(&part);
        match std::fs::symlink_metadata(root.join(&candidate)) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return Err(format!(
                        "too many symlinks resolving {path} in the container"
                    ));
                }
                let link = std::fs::read_link(root.join(&candidate)).map_err(|e| e.to_string())?;
                let link = link.to_string_lossy().to_string();
                if link.starts_with('/') {
                    current = PathBuf::new();
                }
                let mut parts = components(&link);
                parts.reverse();
                pending.extend(parts);
            }
            _ => current = candidate,
        }
    }
    Ok(root.join(current))
}

fn components(path: &str) -> Vec<String> {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().to_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

/// What runs in a container (or an exec): program and args as the container will see them, identity, environment.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub workdir: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub hostname: String,
}

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Finds `program` the way the runtime does (PATH inside the container root).
pub fn resolve_program(root: &Path, program: &str, env: &[(String, String)]) -> Option<String> {
    if program.contains('/') {
        return Some(program.to_string());
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())
        .unwrap_or(DEFAULT_PATH);
    path.split(':')
        .map(|dir| format!("{}/{program}", dir.trim_end_matches('/')))
        .find(|candidate| {
            resolve_in_root(root, candidate)
                .map(|p| p.is_file())
                .unwrap_or(false)
        })
}

/// Starts `spec` inside `root` and the pod's network. stdout/stderr are piped; stdin piped when `stdin`.
/// The process leads its own process group so the whole container (e.g. `sh -c` children) can be signalled.
pub fn spawn(
    root: &Path,
    net: &PodNetwork,
    spec: &ProcessSpec,
    stdin: bool,
) -> Result<tokio::process::Child, String> {
    let program = spec.argv.first().ok_or("container has no command")?;
    let resolved = resolve_program(root, program, &spec.env)
        .ok_or_else(|| format!("exec: \"{program}\": executable file not found in $PATH"))?;
    let root_c = CString::new(root.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    let workdir_c = CString::new(if spec.workdir.is_empty() {
        "/"
    } else {
        spec.workdir.as_str()
    })
    .map_err(|e| e.to_string())?;
    let hostname = spec.hostname.clone();
    let groups: Vec<Gid> = spec.groups.iter().map(|g| Gid::from_raw(*g)).collect();
    let (uid, gid) = (Uid::from_raw(spec.uid), Gid::from_raw(spec.gid));
    let net_fd = net.raw_fd();
    let mut cmd = tokio::process::Command::new(&resolved);
    cmd.arg0(program)
        .args(&spec.argv[1..])
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(if stdin {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // SAFETY: the closure only makes syscalls on data prepared before fork (no allocation, no locks).
    unsafe {
        cmd.pre_exec(move || {
            setns(BorrowedFd::borrow_raw(net_fd), CloneFlags::CLONE_NEWNET)?;
            unshare(CloneFlags::CLONE_NEWUTS)?;
            sethostname(&hostname)?;
            chroot(root_c.as_c_str())?;
            if chdir(workdir_c.as_c_str()).is_err() {
                chdir("/")?;
            }
            setgroups(&groups)?;
            setgid(gid)?;
            setuid(uid)?;
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| format!("starting {program}: {e}"))
}

/// SIGTERM to the container's process group, SIGKILL after `grace`; returns when the leader has exited.
pub async fn stop(child: &mut tokio::process::Child, grace: std::time::Duration) {
    use nix::sys::signal::{Signal, killpg};
    let Some(pid) = child.id() else { return };
    let pgid = nix::unistd::Pid::from_raw(pid as i32);
    let _ = killpg(pgid, Signal::SIGTERM);
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = child.wait().await;
    }
    let _ = killpg(pgid, Signal::SIGKILL);
}

/// SIGKILL to a container's process group (children of `sh -c` that outlived their leader).
pub fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
