//! Release artefacts: the man pages are current, scripts/package.sh builds the archives krew installs, and the
//! manifest scripts/render-krew.sh renders from them passes the checks krew's validate-krew-manifest makes
//! (sigs.k8s.io/krew cmd/validate-krew-manifest and internal/index/validation), including an install of every
//! platform's archive: bin present, LICENSE extracted.

use clap::CommandFactory;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn regenerating() -> bool {
    std::env::var_os("KUBECTL_PROM_REGENERATE").is_some_and(|v| v == "1")
}

#[test]
fn generated_man_pages_are_current() {
    let fresh = tempfile::tempdir().expect("temp dir");
    clap_mangen::generate_to(kubectl_prom::cli::Cli::command(), fresh.path())
        .expect("render man pages");
    let man = repo().join("man");
    let names = |dir: &Path| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let generated = names(fresh.path());
    assert!(
        generated.contains("kubectl-prom.1") && generated.contains("kubectl-prom-resize.1"),
        "{generated:?}"
    );
    assert!(
        !generated.iter().any(|n| n.contains("__complete")),
        "hidden protocol has no man page: {generated:?}"
    );
    if regenerating() {
        std::fs::create_dir_all(&man).expect("man dir");
        for stale in names(&man).difference(&generated) {
            std::fs::remove_file(man.join(stale)).expect("remove stale page");
        }
        for name in &generated {
            std::fs::copy(fresh.path().join(name), man.join(name)).expect("copy page");
        }
        return;
    }
    assert_eq!(
        names(&man),
        generated,
        "man/ lists other pages: run scripts/regenerate.sh"
    );
    for name in &generated {
        let committed = std::fs::read(man.join(name)).expect("committed page");
        let fresh_page = std::fs::read(fresh.path().join(name)).expect("fresh page");
        assert!(
            committed == fresh_page,
            "man/{name} is stale: run scripts/regenerate.sh and commit it"
        );
    }
}

/// The platforms krew itself ships for (krew cmd/validate-krew-manifest/main.go `allPlatforms`).
const KREW_PLATFORMS: [(&str, &str); 11] = [
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

/// The platforms we release for (issue 8): linux and darwin on amd64 and arm64, and windows on amd64.
const RELEASED: [(&str, &str); 5] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

/// File names krew accepts as the license it must extract (krew internal/installation `isLicenseFile`-style list).
const LICENSE_NAMES: [&str; 7] = [
    "license",
    "license.txt",
    "license.md",
    "licenses",
    "licenses.txt",
    "licenses.md",
    "copying",
];

const WINDOWS_RESERVED: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

fn sh(script: &Path, args: &[&str]) -> String {
    let out = Command::new(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {script:?}: {e}"));
    assert!(
        out.status.success(),
        "{script:?} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Package every released platform into `work/dist` with scripts/package.sh, the host's archive holding
/// `host_binary`, the others a stand-in (see the caller); returns the dist directory.
fn package_release(work: &Path, host_binary: &Path) -> PathBuf {
    let dist = work.join("dist");
    let version = env!("CARGO_PKG_VERSION");
    let stand_in = work.join("stand-in");
    std::fs::write(
        &stand_in,
        "#!/bin/sh\necho stand-in for a cross-built kubectl-prom\n",
    )
    .expect("stand-in");
    let package = repo().join("scripts/package.sh");
    let dist_arg = dist.to_str().expect("utf-8 temp path");
    for (os, arch) in RELEASED {
        let binary = if (os, arch) == ("linux", "amd64") {
            host_binary
        } else {
            &stand_in
        };
        let archive = sh(
            &package,
            &[
                "--binary",
                binary.to_str().expect("utf-8"),
                "--os",
                os,
                "--arch",
                arch,
                "--out",
                dist_arg,
            ],
        );
        let file = format!("kubectl-prom_v{version}_{os}_{arch}.tar.gz");
        assert_eq!(
            Path::new(&archive).file_name().and_then(|n| n.to_str()),
            Some(file.as_str())
        );
        let sum_line =
            std::fs::read_to_string(format!("{archive}.sha256")).expect(".sha256 written");
        assert_eq!(
            sum_line,
            format!("{}  {file}\n", sha256_of(Path::new(&archive)))
        );
    }
    dist
}

#[test]
fn krew_manifest_rendered_from_packaged_archives_validates_and_installs() {
    let work = tempfile::tempdir().expect("temp dir");
    let version = env!("CARGO_PKG_VERSION");
    // The host platform's archive holds the real plugin binary (stripped when `strip` exists, to keep this fast;
    // the release profile strips too). The other platforms cannot be cross-built here (rustup has only the host
    // target), so their archives hold a stand-in executable: they exercise the layout and the manifest, not the code.
    let real = work.path().join("kubectl-prom");
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&real)
        .arg(env!("CARGO_BIN_EXE_kubectl-prom"))
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(env!("CARGO_BIN_EXE_kubectl-prom"), &real).expect("copy plugin");
    }
    let dist = package_release(work.path(), &real);
    let dist_arg = dist.to_str().expect("utf-8 temp path");

    let manifest_path = PathBuf::from(sh(
        &repo().join("scripts/render-krew.sh"),
        &[version, "--dist", dist_arg],
    ));
    assert_eq!(manifest_path, dist.join("prom.yaml"));
    let problems = validate_manifest(&manifest_path, &dist, work.path());
    assert!(
        problems.is_empty(),
        "krew would reject {manifest_path:?}:\n{}",
        problems.join("\n")
    );

    // The archive the host installs runs: the real binary answers `version` from where krew put it.
    let installed = work.path().join("install-linux-amd64").join("kubectl-prom");
    let out = Command::new(&installed)
        .arg("version")
        .output()
        .expect("run installed plugin");
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.starts_with(&format!("kubectl-prom {version} (commit ")),
        "{line}"
    );
}

#[test]
fn render_refuses_a_release_with_a_missing_platform() {
    let work = tempfile::tempdir().expect("temp dir");
    let stand_in = work.path().join("stand-in");
    std::fs::write(&stand_in, "#!/bin/sh\n").expect("stand-in");
    let dist = work.path().join("dist");
    let dist_arg = dist.to_str().expect("utf-8");
    sh(
        &repo().join("scripts/package.sh"),
        &[
            "--binary",
            stand_in.to_str().expect("utf-8"),
            "--os",
            "linux",
            "--arch",
            "amd64",
            "--out",
            dist_arg,
        ],
    );
    let out = Command::new(repo().join("scripts/render-krew.sh"))
        .args(["v9.9.9", "--dist", dist_arg])
        .output()
        .expect("run render-krew.sh");
    assert!(
        !out.status.success(),
        "rendered without the other platforms' archives"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("kubectl-prom_v9.9.9_linux_amd64.tar.gz.sha256 is missing")
    );
    assert!(
        !dist.join("prom.yaml").exists(),
        "no half-rendered manifest is left behind"
    );
}

/// A manifest file name, a change to the rendered manifest, and the words the resulting problem must contain.
type Mutation = (&'static str, fn(&str) -> String, &'static str);

#[test]
fn the_validator_rejects_what_krew_rejects() {
    let work = tempfile::tempdir().expect("temp dir");
    let stand_in = work.path().join("plugin");
    std::fs::write(&stand_in, "#!/bin/sh\n").expect("stand-in");
    let dist = package_release(work.path(), &stand_in);
    let good = PathBuf::from(sh(
        &repo().join("scripts/render-krew.sh"),
        &[
            env!("CARGO_PKG_VERSION"),
            "--dist",
            dist.to_str().expect("utf-8"),
        ],
    ));
    assert_eq!(
        validate_manifest(&good, &dist, work.path()),
        Vec::<String>::new()
    );
    let template = std::fs::read_to_string(&good).expect("rendered manifest");
    // Each mutation is a manifest krew's validator (or its install check) refuses; ours must say why.
    let cases: [Mutation; 5] = [
        (
            "prom.yaml",
            (|m: &str| {
                m.replacen(
                    "os: linux\n        arch: arm64",
                    "os: linux\n        arch: amd64",
                    1,
                )
            }),
            "matched by two selectors",
        ),
        (
            "prom.yaml",
            (|m: &str| m.replace("    - from: LICENSE\n      to: .\n", "")),
            "extracts no LICENSE",
        ),
        (
            "prometheus.yaml",
            (|m: &str| m.to_string()),
            "differs from the file name",
        ),
        (
            "prom.yaml",
            (|m: &str| m.replacen("sha256: ", "sha256: 0", 1)),
            "does not match ^[a-f0-9]{64}$",
        ),
        (
            "prom.yaml",
            (|m: &str| m.replace("bin: kubectl-prom.exe", "bin: kubectl-prom")),
            "windows needs an .exe bin",
        ),
    ];
    for (i, (file, mutate, expected)) in cases.iter().enumerate() {
        let dir = work.path().join(format!("case-{i}"));
        std::fs::create_dir_all(&dir).expect("case dir");
        let path = dir.join(file);
        let mutated = mutate(&template);
        assert!(
            *file != "prom.yaml" || mutated != template,
            "case {i} changed nothing"
        );
        std::fs::write(&path, mutated).expect("write mutated manifest");
        let problems = validate_manifest(&path, &dist, &dir);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "case {i}: expected `{expected}` in {problems:?}"
        );
    }
}

/// The checks of krew's validator, each problem as a sentence; installs each platform under `scratch`.
fn validate_manifest(path: &Path, dist: &Path, scratch: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let text = std::fs::read_to_string(path).expect("manifest readable");
    let m: Value = match serde_saphyr::from_str(&text) {
        Ok(v) => v,
        Err(e) => return vec![format!("not YAML: {e}")],
    };
    let field = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };

    if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
        problems.push("the manifest file must end in .yaml".into());
    }
    if field(&m, "apiVersion") != "krew.googlecontainertools.github.com/v1alpha2" {
        problems.push(format!("apiVersion is {:?}", m["apiVersion"]));
    }
    if field(&m, "kind") != "Plugin" {
        problems.push(format!("kind is {:?}", m["kind"]));
    }
    let name = field(&m["metadata"], "name");
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        problems.push(format!("name {name:?} does not match ^[\\w-]+$"));
    }
    if WINDOWS_RESERVED.contains(&name.to_lowercase().as_str()) {
        problems.push(format!("name {name:?} is a reserved Windows file name"));
    }
    if path.file_stem().and_then(|s| s.to_str()) != Some(name.as_str()) {
        problems.push(format!("name {name:?} differs from the file name {path:?}"));
    }
    let spec = &m["spec"];
    let short = field(spec, "shortDescription");
    if short.is_empty() || short.contains('\n') {
        problems.push(format!(
            "shortDescription {short:?} must be one non-empty line"
        ));
    }
    if field(spec, "description").trim().is_empty() {
        problems.push("description is empty".into());
    }
    let version = field(spec, "version");
    if !is_krew_semver(&version) {
        problems.push(format!(
            "version {version:?} is not semver with a leading v"
        ));
    }
    if version != format!("v{}", env!("CARGO_PKG_VERSION")) {
        problems.push(format!("version {version:?} is not this crate's version"));
    }

    let platforms = spec["platforms"].as_array().cloned().unwrap_or_default();
    if platforms.is_empty() {
        problems.push("no platforms".into());
    }
    let mut covered: Vec<(String, String)> = Vec::new();
    for (i, p) in platforms.iter().enumerate() {
        let at = format!("platform {i}");
        let (uri, sha, bin) = (field(p, "uri"), field(p, "sha256"), field(p, "bin"));
        if uri.is_empty() || bin.is_empty() {
            problems.push(format!("{at}: uri and bin are required"));
        }
        if sha.len() != 64
            || !sha
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        {
            problems.push(format!(
                "{at}: sha256 {sha:?} does not match ^[a-f0-9]{{64}}$"
            ));
        }
        let files = p
            .get("files")
            .map(|f| f.as_array().cloned().unwrap_or_default());
        if let Some(files) = &files {
            if files.is_empty() {
                problems.push(format!("{at}: files is present but empty"));
            }
            for f in files {
                if field(f, "from").is_empty() || field(f, "to").is_empty() {
                    problems.push(format!("{at}: a files entry lacks from or to"));
                }
            }
        }
        let selector = &p["selector"];
        let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) else {
            problems.push(format!(
                "{at}: selector needs matchLabels (matchExpressions are not used by us)"
            ));
            continue;
        };
        if selector
            .as_object()
            .is_some_and(|s| s.keys().any(|k| k != "matchLabels"))
            || labels.is_empty()
        {
            problems.push(format!("{at}: selector must be non-empty matchLabels"));
        }
        if labels.keys().any(|k| k != "os" && k != "arch") {
            problems.push(format!(
                "{at}: selector keys other than os/arch: {labels:?}"
            ));
        }
        let matched: Vec<(String, String)> = KREW_PLATFORMS
            .iter()
            .filter(|(os, arch)| {
                labels.get("os").is_none_or(|v| v == os)
                    && labels.get("arch").is_none_or(|v| v == arch)
            })
            .map(|(os, arch)| (os.to_string(), arch.to_string()))
            .collect();
        if matched.is_empty() {
            problems.push(format!(
                "{at}: selector {labels:?} matches no platform krew supports"
            ));
        }
        for platform in &matched {
            if covered.contains(platform) {
                problems.push(format!("{at}: {platform:?} is matched by two selectors"));
            }
            covered.push(platform.clone());
        }
        let label = |key: &str| {
            labels
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (os, arch) = (label("os"), label("arch"));
        let expected_file = format!("kubectl-prom_{version}_{os}_{arch}.tar.gz");
        if !uri.ends_with(&format!("/{version}/{expected_file}")) {
            problems.push(format!(
                "{at}: uri {uri} is not the release asset {expected_file} of tag {version}"
            ));
        }
        if os == "windows" && !bin.ends_with(".exe") {
            problems.push(format!("{at}: windows needs an .exe bin, not {bin}"));
        }
        // Install as krew does: verify the sum, extract, apply `files`, then bin and a license must be there.
        let archive = dist.join(&expected_file);
        if sha256_of(&archive) != sha {
            problems.push(format!("{at}: sha256 differs from {archive:?}"));
            continue;
        }
        let install = scratch.join(format!("install-{os}-{arch}"));
        problems.extend(
            install_like_krew(&archive, files.as_deref(), &install)
                .into_iter()
                .map(|e| format!("{at}: {e}")),
        );
        let bin_path = install.join(&bin);
        if !bin_path.is_file() {
            problems.push(format!("{at}: bin {bin} is not in the installed files"));
        } else if std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&bin_path).expect("stat").permissions(),
        ) & 0o111
            == 0
        {
            problems.push(format!("{at}: bin {bin} is not executable"));
        }
        let has_license = std::fs::read_dir(&install)
            .map(|d| {
                d.filter_map(|e| e.ok()).any(|e| {
                    LICENSE_NAMES.contains(&e.file_name().to_string_lossy().to_lowercase().as_str())
                })
            })
            .unwrap_or(false);
        if !has_license {
            problems.push(format!("{at}: installing extracts no LICENSE file"));
        }
        if !install
            .join("completions")
            .join("kubectl_complete-prom")
            .is_file()
        {
            problems.push(format!(
                "{at}: completions/kubectl_complete-prom is not installed"
            ));
        }
    }
    for (os, arch) in RELEASED {
        if !covered.contains(&(os.to_string(), arch.to_string())) {
            problems.push(format!("no platform for {os}/{arch}"));
        }
    }
    problems
}

/// `vMAJOR.MINOR.PATCH` with an optional `-pre`/`+build` suffix.
fn is_krew_semver(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let core = rest.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// Extract `archive` and copy what each `files` rule selects (`from` may end in `*`) to `to` under `install`.
fn install_like_krew(archive: &Path, files: Option<&[Value]>, install: &Path) -> Vec<String> {
    let extracted = install.with_extension("extracted");
    std::fs::create_dir_all(&extracted).expect("extract dir");
    std::fs::create_dir_all(install).expect("install dir");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(&extracted)
        .status()
        .expect("tar");
    if !status.success() {
        return vec![format!("{archive:?} does not extract")];
    }
    let default_rule = [serde_json::json!({"from": "*", "to": "."})];
    let mut problems = Vec::new();
    for rule in files.unwrap_or(&default_rule) {
        let from = rule["from"].as_str().unwrap_or_default();
        let to = install.join(rule["to"].as_str().unwrap_or_default());
        std::fs::create_dir_all(&to).expect("rule target dir");
        let sources: Vec<PathBuf> = match from.strip_suffix('*') {
            Some(dir_prefix) => {
                let dir = extracted.join(dir_prefix);
                std::fs::read_dir(&dir)
                    .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                    .unwrap_or_default()
            }
            None => vec![extracted.join(from)]
                .into_iter()
                .filter(|p| p.exists())
                .collect(),
        };
        if sources.is_empty() {
            problems.push(format!(
                "files rule {from:?} selects nothing in the archive"
            ));
        }
        for source in sources {
            let target = to.join(source.file_name().expect("file name"));
            let status = Command::new("cp")
                .arg("-a")
                .arg(&source)
                .arg(&target)
                .status()
                .expect("cp");
            assert!(status.success(), "copy {source:?}");
        }
    }
    problems
}
