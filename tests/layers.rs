//! The import graph of `src/`, read from its `crate::` paths (issue 17): no cycle between modules (top-level modules,
//! each verb on its own; files inside one module may use each other), and nothing imports up a layer (a verb from a check, the app from a library module) nor one verb from another. A module new to
//! `src/` must be placed in a layer in [`LAYERS`] before this passes, so the rule stays written down.

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
