//! The import graph of `src/`, read from its `crate::` paths (issue 17): no cycle between modules (top-level modules,
//! each verb on its own; files inside one module may use each other), and nothing imports up a layer (a verb from a
//! check, the app from a library module) nor one verb from another. A module new to `src/` must be placed in a layer
//! in [`LAYERS`] before this passes, so the rule stays written down. Below the graph, the rest of issue 17's done-when
//! as checks on the code: one definition per concept, sleeps only in the engine's waits and the retry layer, no verb
//! module reading the API itself, short entry modules; each is shown to fail on a planted violation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules by layer, lowest first; a module may use its own layer or lower ones, never a higher one.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundation (text, flags, errors, transport, one-shot I/O helpers)",
        &[
            "error",
            "escape",
            "yaml",
            "quantity",
            "interrupt",
            "cli",
            "ui",
            "output",
            "accounting",
            "retry",
            "transport",
            "credentials",
            "connect",
            "podexec",
            "images",
            "logscan",
            "promconfig",
            "podlogs",
        ],
    ),
    (
        "cluster access (clients, the model, discovery, inspection, the plan engine and its waits)",
        &[
            "context",
            "clients",
            "model",
            "discover",
            "inspect",
            "install",
            "prom_http",
            "progress",
            "engine",
            "access",
        ],
    ),
    (
        "shared parts of the verbs (reloading a Prometheus)",
        &["reloading"],
    ),
    (
        "per-verb logic (doctor's checks, resize and fix-perms planning)",
        &["doctor", "resize", "fix_perms"],
    ),
    ("verbs", &["commands", "verbs"]),
    ("the binary's entry", &["app"]),
];

/// Modules whose children are verbs: one verb never imports another (shared parts go one layer down).
const VERB_PARENTS: &[&str] = &["commands", "verbs"];

/// Per-verb logic that stays apart: doctor's checks do not borrow from resize's planning or the reverse (what two of
/// them need belongs a layer down, as `human_bytes` moved to `quantity`).
const APART: &[&str] = &["doctor", "resize", "fix_perms"];

fn module_files(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if path.is_dir() {
            let mut p = prefix.to_vec();
            p.push(stem);
            module_files(&path, &p, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut p = prefix.to_vec();
            if !matches!(stem.as_str(), "mod" | "lib" | "main") {
                p.push(stem);
            }
            out.insert(p.join("::"), path);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` modules (test code may reach anywhere).
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines.peek().is_some_and(|next| {
                next.trim_start().starts_with("mod ") || next.trim_start().starts_with("pub mod ")
            })
        {
            // Skip the module: to the line that closes it at the same indentation.
            let indent = line.len() - trimmed.len();
            let head = lines.next().unwrap_or_default();
            if head.trim_end().ends_with(';') {
                continue;
            }
            for l in lines.by_ref() {
                if l.len() - l.trim_start().len() == indent && l.trim() == "}" {
                    break;
                }
            }
            continue;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        // A trailing comment outside a string literal.
        let mut quotes = 0;
        let mut cut = line.len();
        let bytes = line.as_bytes();
        for i in 0..bytes.len() {
            match bytes[i] {
                b'"' if i == 0 || bytes[i - 1] != b'\\' => quotes += 1,
                b'/' if quotes % 2 == 0 && bytes.get(i + 1) == Some(&b'/') => {
                    cut = i;
                    break;
                }
                _ => {}
            }
        }
        out.push_str(&line[..cut]);
        out.push('\n');
    }
    out
}

fn ident_len(s: &str) -> usize {
    s.bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count()
}

/// Every path named after `crate::` (a `use crate::{a, b::c}` group gives `a` and `b::c`).
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        collect(rest, "", &mut out);
    }
    out
}

/// Read one path (or a brace group of paths) at the start of `s`, prefixed by `prefix`.
fn collect(s: &str, prefix: &str, out: &mut Vec<String>) {
    let s = s.trim_start();
    if let Some(group) = s.strip_prefix('{') {
        let mut depth = 1;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        collect(&group[start..i], prefix, out);
                        return;
                    }
                }
                ',' if depth == 1 => {
                    collect(&group[start..i], prefix, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let mut path = prefix.to_string();
    let mut s = s;
    loop {
        let n = ident_len(s);
        if n == 0 {
            break;
        }
        let segment = &s[..n];
        if segment != "self" {
            if !path.is_empty() {
                path.push_str("::");
            }
            path.push_str(segment);
        }
        s = &s[n..];
        match s.strip_prefix("::") {
            Some(after) if after.trim_start().starts_with('{') => {
                collect(after, &path, out);
                return;
            }
            Some(after) => s = after,
            None => break,
        }
    }
    if !path.is_empty() {
        out.push(path);
    }
}

/// The module a path lands in: its longest prefix that is a module file.
fn resolve<'a>(path: &str, modules: &'a BTreeMap<String, PathBuf>) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|candidate| modules.get_key_value(&candidate).map(|(k, _)| k.as_str()))
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

fn graph() -> (
    BTreeMap<String, PathBuf>,
    BTreeMap<String, BTreeSet<String>>,
) {
    // LAYERS_SRC points the check at another tree (e.g. an older commit's `src/`, to see it fail there).
    let src = std::env::var_os("LAYERS_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut modules = BTreeMap::new();
    module_files(&src, &[], &mut modules);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, path) in &modules {
        let text = std::fs::read_to_string(path).expect("read a source file");
        for p in crate_paths(&code_of(&text)) {
            if let Some(target) = resolve(&p, &modules)
                && target != module
                // A module naming an ancestor's item (a re-export) is not a dependency between files.
                && !module.starts_with(&format!("{target}::"))
                && !target.is_empty()
            {
                edges
                    .entry(module.clone())
                    .or_default()
                    .insert(target.to_string());
            }
        }
    }
    (modules, edges)
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, members)| members.contains(&top(module)))
}

#[test]
fn every_module_has_a_layer_and_nothing_imports_up() {
    let (modules, edges) = graph();
    let unplaced: BTreeSet<&str> = modules
        .keys()
        .map(|m| top(m))
        .filter(|m| !m.is_empty() && layer_of(m).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules in no layer (add them to LAYERS in tests/layers.rs): {unplaced:?}"
    );
    let mut up = Vec::new();
    for (from, targets) in &edges {
        let Some(from_layer) = layer_of(from) else {
            continue;
        };
        for to in targets {
            let Some(to_layer) = layer_of(to) else {
                continue;
            };
            if to_layer > from_layer {
                up.push(format!(
                    "{from} ({}) uses {to} ({})",
                    LAYERS[from_layer].0, LAYERS[to_layer].0
                ));
            }
            if top(from) != top(to) && APART.contains(&top(from)) && APART.contains(&top(to)) {
                up.push(format!("{from} uses {to}: per-verb logic of another verb"));
            }
            // One verb from another: commands::a → commands::b.
            let (a, b) = (
                from.split("::").collect::<Vec<_>>(),
                to.split("::").collect::<Vec<_>>(),
            );
            if a.len() >= 2
                && b.len() >= 2
                && a[0] == b[0]
                && VERB_PARENTS.contains(&a[0])
                && a[1] != b[1]
            {
                up.push(format!("verb {from} uses another verb, {to}"));
            }
        }
    }
    assert!(up.is_empty(), "imports up a layer:\n{}", up.join("\n"));
}

/// The node a module counts as for cycles: its top-level module (files of one module may use each other), except
/// that each verb is a node of its own.
fn node(module: &str) -> String {
    let parts: Vec<&str> = module.split("::").collect();
    if parts.len() >= 2 && VERB_PARENTS.contains(&parts[0]) {
        parts[..2].join("::")
    } else {
        parts[0].to_string()
    }
}

#[test]
fn the_import_graph_has_no_cycle() {
    let (files, file_edges) = graph();
    let modules: BTreeMap<String, ()> = files.keys().map(|m| (node(m), ())).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in &file_edges {
        for to in targets {
            if node(from) != node(to) {
                edges.entry(node(from)).or_default().insert(node(to));
            }
        }
    }
    // Depth-first search with colours; a grey node reached again closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    let mut colour: BTreeMap<&str, Colour> = modules
        .keys()
        .map(|m| (m.as_str(), Colour::White))
        .collect();
    let mut cycles = Vec::new();
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        colour: &mut BTreeMap<&'a str, Colour>,
        stack: &mut Vec<&'a str>,
        cycles: &mut Vec<String>,
    ) {
        colour.insert(node, Colour::Grey);
        stack.push(node);
        for next in edges.get(node).into_iter().flatten() {
            match colour.get(next.as_str()).copied().unwrap_or(Colour::White) {
                Colour::White => visit(next, edges, colour, stack, cycles),
                Colour::Grey => {
                    let from = stack.iter().position(|n| *n == next).unwrap_or(0);
                    let mut cycle: Vec<&str> = stack[from..].to_vec();
                    cycle.push(next);
                    cycles.push(cycle.join(" → "));
                }
                Colour::Black => {}
            }
        }
        stack.pop();
        colour.insert(node, Colour::Black);
    }
    let names: Vec<&str> = modules.keys().map(String::as_str).collect();
    for m in names {
        if colour.get(m) == Some(&Colour::White) {
            visit(m, &edges, &mut colour, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_reader_sees_groups_nested_paths_and_skips_comments_and_tests() {
    let code = code_of(
        "use crate::{a, b::{c, d::e}, f::self};\n// crate::commented\nlet x = crate::g::h(\"//\"); // crate::trailing\n#[cfg(test)]\nmod tests {\n    use crate::tested;\n}\nuse crate::after;\n",
    );
    assert_eq!(
        crate_paths(&code),
        ["a", "b::c", "b::d::e", "f", "g::h", "after"]
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Issue 17's done-when, checked on the code (each check also runs on a planted violation below, so it can fail).

/// Every file under `src/` as (module path, path relative to `src/`, code without comments and test modules).
fn sources() -> Vec<(String, String, String)> {
    let src = std::env::var_os("LAYERS_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut modules = BTreeMap::new();
    module_files(&src, &[], &mut modules);
    modules
        .into_iter()
        .map(|(module, path)| {
            let text = std::fs::read_to_string(&path).expect("read a source file");
            let rel = path
                .strip_prefix(&src)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            (module, rel, code_of(&text))
        })
        .collect()
}

/// The concepts issue 17 wants defined once, each with the one file that defines it: a definition anywhere else is
/// a second model of the same thing.
const DEFINED_ONCE: &[(&str, &str)] = &[
    ("Snapshot", "inspect/snapshot.rs"),
    ("Step", "engine/mod.rs"),
    ("Change", "engine/mod.rs"),
    ("WorkloadKind", "model/workload.rs"),
    ("DataVolume", "model/volume.rs"),
    ("Flavour", "model/install.rs"),
];

/// The type names a file defines (`struct`, `enum`, `type`, `trait`), in order.
fn defined_types(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for keyword in ["struct ", "enum ", "type ", "trait "] {
        let mut rest = code;
        while let Some(at) = rest.find(keyword) {
            // A keyword, not the end of a longer word (`substruct `).
            let before = rest[..at].chars().next_back();
            rest = &rest[at + keyword.len()..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let n = ident_len(rest);
            if n > 0 {
                out.push(rest[..n].to_string());
            }
        }
    }
    out
}

/// Which concept of [`DEFINED_ONCE`] a defined type is: the name itself, or any `…Snapshot` but the one snapshot's
/// per-instance part (a snapshot by another name, like fix-perms' old `PermsSnapshot`, is still a second snapshot).
fn concept_of(name: &str) -> Option<&'static str> {
    if let Some((c, _)) = DEFINED_ONCE.iter().find(|(c, _)| *c == name) {
        return Some(c);
    }
    (name.ends_with("Snapshot") && name != "InstanceSnapshot").then_some("Snapshot")
}

/// Definitions of the concepts outside their one file, as (file, `concept (name)`), and concepts whose file does not
/// define them (moved without saying so here).
fn defined_more_than_once(files: &[(String, String, String)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut at_home = BTreeSet::new();
    for (_, rel, code) in files {
        for name in defined_types(code) {
            let Some(concept) = concept_of(&name) else {
                continue;
            };
            let home = DEFINED_ONCE
                .iter()
                .find(|(c, _)| *c == concept)
                .map(|(_, h)| *h);
            if home == Some(rel.as_str()) && name == concept && at_home.insert(concept) {
                continue;
            }
            out.push((
                rel.clone(),
                format!("{concept} ({name}) is defined again in {rel}"),
            ));
        }
    }
    for (concept, home) in DEFINED_ONCE {
        if !at_home.contains(concept) {
            out.push((
                home.to_string(),
                format!("{concept} is not defined in {home}, its one place"),
            ));
        }
    }
    out
}

/// Where a task may sleep: the engine's waits (every wait after a change) and the retry layer (backoff). A sleep
/// anywhere else is a wait loop of its own. `accounting.rs` sleeps only in its tests (a slow fake service to measure
/// concurrency), which this check does not read: test code is no wait of the plugin.
const MAY_SLEEP: &[&str] = &["engine/wait.rs", "retry.rs"];

fn sleeps_elsewhere(files: &[(String, String, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(_, rel, _)| !MAY_SLEEP.contains(&rel.as_str()))
        .filter(|(_, _, code)| {
            ["time::sleep", "sleep(", "sleep_until(", "time::interval("]
                .iter()
                .any(|s| code.contains(s))
        })
        .map(|(_, rel, _)| format!("{rel} sleeps (only {} may)", MAY_SLEEP.join(" and ")))
        .collect()
}

/// The modules of the verbs: the commands, and the per-verb logic under them.
const VERB_MODULES: &[&str] = &["commands", "verbs", "resize", "fix_perms"];

/// What a file does to read the API itself: building a typed `Api` (or asking discovery for one) is the only way to
/// `get`/`list` with kube; the engine's `ObjectRef::get` and inspect's gathers are how a verb reads instead.
const OWN_READS: &[&str] = &[
    "Api::namespaced",
    "Api::all",
    "Api::default_namespaced",
    "Api::<",
    "Api<",
    "prometheus_api(",
];

fn verb_modules_reading_the_api(files: &[(String, String, String)]) -> BTreeMap<String, String> {
    files
        .iter()
        .filter(|(module, _, _)| VERB_MODULES.contains(&top(module)))
        .filter_map(|(_, rel, code)| {
            let found: Vec<&str> = OWN_READS
                .iter()
                .copied()
                .filter(|s| code.contains(s))
                .collect();
            (!found.is_empty()).then(|| (rel.clone(), found.join(", ")))
        })
        .collect()
}

/// Verb modules that still read the API themselves, each with what remains to do: this list may only shrink. A
/// file here that no longer reads fails the test until it is taken off, and any other file that reads fails it.
// Empty since F2 moved resize onto inspect and the engine (90e63f9); fix-perms left it in acbb488.
const STILL_READING: &[(&str, &str)] = &[];

/// How an install's flavour would be decided by its name as text (`plan.flavour == "operator"`, issue 17): the
/// flavour is `model::Flavour`, a type, matched as one.
const FLAVOUR_AS_TEXT: &[&str] = &[
    "== \"operator\"",
    "== \"chart\"",
    "== \"plain\"",
    "\"operator\" =>",
    "\"chart\" =>",
    "\"plain\" =>",
    "flavour.as_str()",
    "flavour.to_string()",
];

fn flavour_compared_as_text(files: &[(String, String, String)]) -> Vec<String> {
    files
        .iter()
        .filter_map(|(_, rel, code)| {
            let found: Vec<&str> = FLAVOUR_AS_TEXT
                .iter()
                .copied()
                .filter(|s| code.contains(s))
                .collect();
            (!found.is_empty())
                .then(|| format!("{rel} decides a flavour by its name: {}", found.join(", ")))
        })
        .collect()
}

/// A verb's entry module (`commands/X.rs` or `commands/X/mod.rs`) is the sequence of the verb, not its engine.
const ENTRY_LINES: usize = 300;

fn entry_modules_too_long(files: &[(String, String, String, usize)]) -> Vec<String> {
    files
        .iter()
        .filter(|(module, _, _, _)| {
            let parts: Vec<&str> = module.split("::").collect();
            parts.len() == 2 && VERB_PARENTS.contains(&parts[0])
        })
        .filter(|(_, _, _, lines)| *lines >= ENTRY_LINES)
        .map(|(_, rel, _, lines)| {
            format!("{rel} has {lines} lines (a verb's entry module stays under {ENTRY_LINES})")
        })
        .collect()
}

/// [`sources`] with each file's whole line count (tests included: the file a reader opens).
fn sources_with_lines() -> Vec<(String, String, String, usize)> {
    let src = std::env::var_os("LAYERS_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    sources()
        .into_iter()
        .map(|(module, rel, code)| {
            let lines = std::fs::read_to_string(src.join(&rel))
                .map(|t| t.lines().count())
                .unwrap_or_default();
            (module, rel, code, lines)
        })
        .collect()
}

/// Second definitions still in the code, each with what remains to do: this list may only shrink (a file here that
/// no longer defines its concept fails the test until it is taken off).
// Empty since resize::model::Snapshot (90e63f9) and fix-perms' PermsSnapshot (acbb488) went.
const STILL_DEFINED_AGAIN: &[(&str, &str)] = &[];

// What is still open is printed (stderr, shown with --nocapture or on failure), never silently allowed.
#[allow(clippy::print_stderr)]
#[test]
fn snapshot_step_change_workload_kind_data_volume_and_flavour_are_each_defined_once() {
    let again = defined_more_than_once(&sources());
    let mut wrong: Vec<String> = again
        .iter()
        .filter(|(file, _)| !STILL_DEFINED_AGAIN.iter().any(|(f, _)| f == file))
        .map(|(_, what)| what.clone())
        .collect();
    for (file, what) in STILL_DEFINED_AGAIN {
        eprintln!("issue 17 still open: {file} defines its own model — {what}");
        if !again.iter().any(|(f, _)| f == file) {
            wrong.push(format!(
                "{file} no longer defines a concept again: take it off STILL_DEFINED_AGAIN in tests/layers.rs ({what})"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn only_the_engines_waits_and_the_retry_layer_sleep() {
    let found = sleeps_elsewhere(&sources());
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[allow(clippy::print_stderr)]
#[test]
fn no_verb_module_reads_the_api_itself() {
    let reading = verb_modules_reading_the_api(&sources());
    let mut wrong = Vec::new();
    for (file, how) in &reading {
        if !STILL_READING.iter().any(|(f, _)| f == file) {
            wrong.push(format!(
                "{file} reads the API itself ({how}): read through inspect (a gather) or the engine (ObjectRef::get, \
                 engine::wait)"
            ));
        }
    }
    for (file, what) in STILL_READING {
        if !reading.contains_key(*file) {
            wrong.push(format!(
                "{file} no longer reads the API itself: take it off STILL_READING in tests/layers.rs ({what})"
            ));
        }
    }
    // What remains is said on every run, not hidden in a list: `cargo test --test layers -- --nocapture` shows it.
    for (file, what) in STILL_READING {
        eprintln!("issue 17 still open: {file} reads the API itself — {what}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_string_comparison_decides_a_flavour() {
    let found = flavour_compared_as_text(&sources());
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn every_verbs_entry_module_is_under_300_lines() {
    let long = entry_modules_too_long(&sources_with_lines());
    assert!(long.is_empty(), "{}", long.join("\n"));
}

/// Each check above, run on the code plus one planted file that breaks it: a check that cannot fail proves nothing.
#[test]
fn each_check_fails_on_a_planted_violation() {
    let planted = |module: &str, rel: &str, code: &str| {
        let mut files = sources();
        files.push((module.into(), rel.into(), code.into()));
        files
    };
    // A second snapshot, under its own name too; a second Step, WorkloadKind, DataVolume, Flavour.
    for (code, concept) in [
        ("pub struct Snapshot {\n}\n", "Snapshot"),
        ("pub struct PermsSnapshot { a: u8 }\n", "Snapshot"),
        ("pub(crate) struct Step<'a>(&'a str);\n", "Step"),
        ("pub enum Change { A }\n", "Change"),
        ("enum WorkloadKind { Deployment }\n", "WorkloadKind"),
        ("pub struct DataVolume;\n", "DataVolume"),
        ("pub type Flavour = String;\n", "Flavour"),
    ] {
        let found =
            defined_more_than_once(&planted("fix_perms::planted", "fix_perms/planted.rs", code));
        assert!(
            found
                .iter()
                .any(|(file, what)| file == "fix_perms/planted.rs" && what.starts_with(concept)),
            "planting `{code}` was not caught: {found:?}"
        );
    }
    // A comment or a test module naming one is not a definition.
    let quiet = planted(
        "fix_perms::planted",
        "fix_perms/planted.rs",
        &code_of("// pub struct Snapshot {}\n#[cfg(test)]\nmod tests {\n    struct Step;\n}\n"),
    );
    assert_eq!(
        defined_more_than_once(&quiet),
        defined_more_than_once(&sources())
    );

    // A sleep outside the engine's waits.
    let found = sleeps_elsewhere(&planted(
        "resize::planted",
        "resize/planted.rs",
        "async fn f() { tokio::time::sleep(std::time::Duration::from_secs(1)).await; }\n",
    ));
    assert!(
        found.iter().any(|f| f.starts_with("resize/planted.rs")),
        "{found:?}"
    );

    // A verb module reading the API itself.
    let reading = verb_modules_reading_the_api(&planted(
        "fix_perms::planted",
        "fix_perms/planted.rs",
        "async fn f(c: kube::Client) { let pods: Api<Pod> = Api::namespaced(c, \"m\"); pods.get(\"p\").await; }\n",
    ));
    assert!(reading.contains_key("fix_perms/planted.rs"), "{reading:?}");
    let reading = verb_modules_reading_the_api(&planted(
        "commands::planted",
        "commands/planted.rs",
        "async fn f(c: &kube::Client) { crate::discover::prometheus_api(c, \"m\").get(\"p\").await; }\n",
    ));
    assert!(reading.contains_key("commands/planted.rs"), "{reading:?}");
    // Below the verbs (inspect), reading is the job.
    let reading = verb_modules_reading_the_api(&planted(
        "inspect::planted",
        "inspect/planted.rs",
        "async fn f(c: kube::Client) { let pods: Api<Pod> = Api::namespaced(c, \"m\"); }\n",
    ));
    assert!(!reading.contains_key("inspect/planted.rs"), "{reading:?}");

    // A flavour decided by its name as text.
    let found = flavour_compared_as_text(&planted(
        "resize::planted",
        "resize/planted.rs",
        "fn f(p: &Plan) -> bool { p.flavour == \"operator\" }\n",
    ));
    assert!(
        found.iter().any(|f| f.starts_with("resize/planted.rs")),
        "{found:?}"
    );

    // A verb's entry module of 300 lines, as a file and as a directory's mod.rs; a file inside the verb may be longer.
    for (module, rel, caught) in [
        ("commands::planted", "commands/planted.rs", true),
        ("commands::planted", "commands/planted/mod.rs", true),
        (
            "commands::planted::decide",
            "commands/planted/decide.rs",
            false,
        ),
    ] {
        let mut files = sources_with_lines();
        files.push((module.into(), rel.into(), String::new(), ENTRY_LINES));
        let long = entry_modules_too_long(&files);
        assert_eq!(
            long.iter().any(|l| l.starts_with(rel)),
            caught,
            "{rel}: {long:?}"
        );
    }
}
