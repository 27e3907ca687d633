//! Volume backing on the node: the kubelet's atomic writer for ConfigMap/Secret/projected volumes (the `..data`
//! symlink swap, k8s.io/kubernetes pkg/volume/util/atomic_writer.go), PV filesystems (a tmpfs of the PV's capacity,
//! root-owned 0755 like a fresh disk, grown in place by remount), fsGroup ownership (pkg/volume/volume_linux.go
//! SetVolumeOwnership) and filesystem usage for the stats summary.
use nix::mount::{MsFlags, mount};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

/// One file of an atomically written volume: its bytes and mode (defaultMode/items[].mode, 0644 by default).
pub type Payload = BTreeMap<String, (Vec<u8>, u32)>;

/// Writes `payload` into `dir` the way the kubelet's AtomicWriter does; returns whether anything changed.
/// Layout: `..<timestamp>/` holds the files, `..data` points at it, and each top-level entry is a symlink through
/// `..data`, so an update is a single rename of `..data` (readers never see half a ConfigMap).
pub fn write_atomic(dir: &Path, payload: &Payload) -> std::io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    let data_link = dir.join("..data");
    let old_ts = std::fs::read_link(&data_link).ok();
    if let Some(old) = &old_ts
        && payload_matches(&dir.join(old), payload)
    {
        return Ok(false);
    }
    let ts_name = timestamp_dir_name();
    let ts_dir = dir.join(&ts_name);
    std::fs::create_dir(&ts_dir)?;
    std::fs::set_permissions(&ts_dir, std::fs::Permissions::from_mode(0o755))?;
    for (rel, (bytes, mode)) in payload {
        let path = ts_dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))?;
    }
    let tmp_link = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp_link);
    symlink(&ts_name, &tmp_link)?;
    std::fs::rename(&tmp_link, &data_link)?;
    let top_level: std::collections::BTreeSet<String> = payload
        .keys()
        .map(|k| k.split('/').next().unwrap_or(k).to_string())
        .collect();
    for name in &top_level {
        let link = dir.join(name);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(Path::new("..data").join(name), &link)?;
        }
    }
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with("..") && !top_level.contains(&name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if let Some(old) = old_ts {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    Ok(true)
}

fn payload_matches(ts_dir: &Path, payload: &Payload) -> bool {
    let mut count = 0;
    for (rel, (bytes, _)) in payload {
        match std::fs::read(ts_dir.join(rel)) {
            Ok(b) if &b == bytes => count += 1,
            _ => return false,
        }
    }
    count == payload.len() && count_files(ts_dir) == payload.len()
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        count_files(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// `..2006_01_02_15_04_05.<random>` as atomic_writer.go names its payload directories.
fn timestamp_dir_name() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let rfc = crate::clock::format_rfc3339(now.as_secs() as i64);
    let stamp: String = rfc
        .trim_end_matches('Z')
        .chars()
        .map(|c| if c.is_ascii_digit() { c } else { '_' })
        .collect();
    format!("..{stamp}.{:09}", now.subsec_nanos())
}

/// The inode count mke2fs gives a filesystem of `bytes` (mke2fs.conf: inode_ratio 4096 below 512 MiB, "small",
/// else 16384), so a small volume can run out of inodes like a real one (ENOSPC on create), and grows with it.
pub fn inodes_for(bytes: u64) -> u64 {
    let ratio = if bytes < 512 << 20 { 4096 } else { 16384 };
    (bytes / ratio).max(64)
}

/// Mounts a tmpfs of `bytes` at `dir`, root-owned 0755: a freshly formatted disk.
pub fn mount_tmpfs(dir: &Path, bytes: u64) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let opts = format!(
        "size={bytes},nr_inodes={},mode=0755,uid=0,gid=0",
        inodes_for(bytes)
    );
    mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(opts.as_str()),
    )
    .map_err(|e| format!("mounting a {bytes}-byte tmpfs at {}: {e}", dir.display()))
}

/// Grows (or shrinks) a mounted tmpfs in place; the data stays, every bind of it sees the new size at once.
pub fn resize_tmpfs(dir: &Path, bytes: u64) -> Result<(), String> {
    let opts = format!("size={bytes},nr_inodes={}", inodes_for(bytes));
    mount(
        None::<&str>,
        dir,
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(opts.as_str()),
    )
    .map_err(|e| {
        format!(
            "resizing the tmpfs at {} to {bytes} bytes: {e}",
            dir.display()
        )
    })
}

/// Filesystem usage as the stats summary reports it (statvfs: capacity, available, used; inodes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FsUsage {
    pub capacity_bytes: u64,
    pub available_bytes: u64,
    pub used_bytes: u64,
    pub inodes: u64,
    pub inodes_free: u64,
}

pub fn fs_usage(dir: &Path) -> Option<FsUsage> {
    let s = nix::sys::statvfs::statvfs(dir).ok()?;
    let frag = s.fragment_size();
    let capacity = s.blocks() * frag;
    let free = s.blocks_free() * frag;
    Some(FsUsage {
        capacity_bytes: capacity,
        available_bytes: s.blocks_available() * frag,
        used_bytes: capacity.saturating_sub(free),
        inodes: s.files(),
        inodes_free: s.files_free(),
    })
}

/// The kubelet's fsGroup rule (volume_linux.go): group := fsGroup on every file (owner unchanged), files |= 0660
/// (0440 read-only), directories additionally |= 0110 and setgid; symlinks untouched. With `on_root_mismatch` the
/// walk is skipped when the root already has the group and bits (fsGroupChangePolicy: OnRootMismatch).
pub fn apply_fs_group(
    root: &Path,
    gid: u32,
    read_only: bool,
    on_root_mismatch: bool,
) -> std::io::Result<()> {
    if on_root_mismatch && !needs_ownership_change(root, gid, read_only) {
        return Ok(());
    }
    let mut paths = Vec::new();
    collect_paths(root, &mut paths)?;
    // The root last, so an interrupted walk is retried under OnRootMismatch (as the kubelet does).
    paths.retain(|p| p != root);
    paths.push(root.to_path_buf());
    for path in paths {
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.file_type().is_symlink() {
            continue;
        }
        std::os::unix::fs::lchown(&path, None, Some(gid))?;
        let mut mask = if read_only { 0o440 } else { 0o660 };
        if meta.is_dir() {
            mask |= 0o2000 | 0o110;
        }
        let mode = meta.mode() & 0o7777;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode | mask))?;
    }
    Ok(())
}

fn needs_ownership_change(root: &Path, gid: u32, read_only: bool) -> bool {
    let Ok(meta) = std::fs::metadata(root) else {
        return true;
    };
    let mut mask = if read_only { 0o440 } else { 0o660 };
    if meta.is_dir() {
        mask |= 0o2000 | 0o110;
    }
    meta.gid() != gid || meta.mode() & mask != mask
}

fn collect_paths(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    out.push(dir.to_path_buf());
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            collect_paths(&entry?.path(), out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writer_swaps_data_link_and_keeps_key_links() {
        let dir = std::env::temp_dir().join(format!("kube-sim-aw-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut payload = Payload::new();
        payload.insert("prometheus.yml".into(), (b"global: {}\n".to_vec(), 0o644));
        assert!(write_atomic(&dir, &payload).unwrap());
        let first = std::fs::read_link(dir.join("..data")).unwrap();
        assert_eq!(
            std::fs::read_link(dir.join("prometheus.yml")).unwrap(),
            Path::new("..data/prometheus.yml")
        );
        assert!(
            !write_atomic(&dir, &payload).unwrap(),
            "unchanged payload must not swap"
        );
        payload.insert(
            "prometheus.yml".into(),
            (b"global: {scrape_interval: 5s}\n".to_vec(), 0o644),
        );
        assert!(write_atomic(&dir, &payload).unwrap());
        let second = std::fs::read_link(dir.join("..data")).unwrap();
        assert_ne!(first, second);
        assert!(
            !dir.join(&first).exists(),
            "the old payload directory is removed"
        );
        assert_eq!(
            std::fs::read(dir.join("prometheus.yml")).unwrap(),
            b"global: {scrape_interval: 5s}\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
