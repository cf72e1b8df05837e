//! The layers point down: web → services → (domain, db, email); jobs → services. Read off
//! the source tree, so a new import that breaks the shape fails here, with its file.
//!
//! A service is a top-level module of `src/services` (a file, or a folder with its
//! submodules, which may use their parent's helpers). Every `crate::…` path in code (not
//! comments) is an import of the module it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The unit a source file belongs to: `services::intake`, `state`, `web`, `domain`, …
fn unit_of(relative: &Path) -> String {
    let parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [first, second, ..] if first == "services" && second != "mod" => {
            format!("services::{second}")
        }
        [first, ..] => first.clone(),
        [] => String::new(),
    }
}

/// The unit a `crate::a::b::…` path names.
fn unit_of_path(path: &str) -> String {
    let mut segments = path.split("::");
    let first = segments.next().unwrap_or_default();
    match (first, segments.next()) {
        ("services", Some(service)) => format!("services::{service}"),
        _ => first.to_string(),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Code without comments and without its `#[cfg(test)] mod tests` (tests may reach
/// anywhere).
fn code_of(source: &str) -> String {
    let without_tests = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    without_tests
        .lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string literal (a URL) is rare in paths we look for.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module path named in `code`: `crate::a::b`, and each member of a group as in
/// `use crate::a::{b, c::{d, e}}` (`a::b`, `a::c::d`, `a::c::e`).
fn paths_in(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let (tree, used) = use_tree(rest);
        rest = &rest[used..];
        expand("", &tree, &mut paths);
    }
    paths
}

/// The path or group at the start of `text` (up to where it ends), and its length.
fn use_tree(text: &str) -> (String, usize) {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            c if depth == 0 && !(c.is_ascii_alphanumeric() || c == '_' || c == ':') => {
                return (text[..i].to_string(), i);
            }
            _ => {}
        }
    }
    (text.to_string(), text.len())
}

/// `prefix` + each path of `tree` (a path, or `a::{b, c}` with groups inside).
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        if !tree.is_empty() {
            out.push(format!("{prefix}{tree}"));
        }
        return;
    };
    let head = format!("{prefix}{}", &tree[..open]);
    let inner = tree[open + 1..]
        .strip_suffix('}')
        .unwrap_or(&tree[open + 1..]);
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                expand(&head, &inner[start..i], out);
                start = i + 1;
            }
            _ => {}
        }
    }
    expand(&head, &inner[start..], out);
}

/// unit → (unit it imports → a file that does)
fn imports() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        let unit = unit_of(relative);
        let code = code_of(&std::fs::read_to_string(&file).expect("read a source file"));
        let entry = graph.entry(unit.clone()).or_default();
        for path in paths_in(&code) {
            let target = unit_of_path(&path);
            if !target.is_empty() && target != unit {
                entry
                    .entry(target)
                    .or_insert_with(|| relative.display().to_string());
            }
        }
    }
    graph
}

fn violations(
    graph: &BTreeMap<String, BTreeMap<String, String>>,
    from: impl Fn(&str) -> bool,
    to: impl Fn(&str) -> bool,
) -> Vec<String> {
    graph
        .iter()
        .filter(|(unit, _)| from(unit))
        .flat_map(|(unit, targets)| {
            targets
                .iter()
                .filter(|(target, _)| to(target))
                .map(move |(target, file)| format!("{unit} → {target} (in src/{file})"))
        })
        .collect()
}

#[test]
fn layers_point_down() {
    let graph = imports();
    assert!(
        graph.contains_key("services::triage") && graph.contains_key("state"),
        "the walk found no services: {:?}",
        graph.keys().collect::<Vec<_>>()
    );
    let service = |u: &str| u.starts_with("services::");
    let above_services = |u: &str| matches!(u, "web" | "jobs" | "cli" | "startup" | "demo");
    let mut wrong = violations(&graph, service, above_services);
    wrong.extend(violations(
        &graph,
        |u| matches!(u, "state" | "domain" | "db" | "email"),
        |u| service(u) || above_services(u),
    ));
    wrong.extend(violations(&graph, |u| u == "web", |u| u == "jobs"));
    // The bottom service every use-case shares imports none of them.
    wrong.extend(violations(
        &graph,
        |u| u == "services::ticket_changes",
        service,
    ));
    assert!(
        wrong.is_empty(),
        "imports that point up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn services_import_each_other_without_cycles() {
    let graph = imports();
    let services: BTreeMap<&str, BTreeSet<&str>> = graph
        .iter()
        .filter(|(unit, _)| unit.starts_with("services::"))
        .map(|(unit, targets)| {
            let deps = targets
                .keys()
                .filter(|t| t.starts_with("services::"))
                .map(String::as_str)
                .collect();
            (unit.as_str(), deps)
        })
        .collect();
    // Depth-first search from every service; a service met again on the current path
    // closes a cycle.
    fn visit<'a>(
        at: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(start) = path.iter().position(|p| *p == at) {
            let mut cycle = path[start..].to_vec();
            cycle.push(at);
            return Some(cycle);
        }
        if !done.insert(at) {
            return None;
        }
        path.push(at);
        for next in graph.get(at).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for service in services.keys() {
        if let Some(cycle) = visit(service, &services, &mut Vec::new(), &mut done) {
            panic!(
                "services import each other in a circle: {}",
                cycle.join(" → ")
            );
        }
    }
}

#[test]
fn the_domain_imports_no_framework_and_services_start_no_threads() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src").to_path_buf();
        let code = code_of(&std::fs::read_to_string(&file).expect("read"));
        let unit = unit_of(&relative);
        if unit == "domain" {
            for framework in ["actix_web", "diesel"] {
                if code.contains(&format!("{framework}::")) {
                    wrong.push(format!("src/{} uses {framework}", relative.display()));
                }
            }
        }
        if unit.starts_with("services::") {
            for start in ["thread::spawn", "thread::Builder", "tokio::spawn"] {
                if code.contains(start) {
                    wrong.push(format!(
                        "src/{} starts a thread ({start})",
                        relative.display()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_walk_reads_paths_as_the_compiler_does() {
    let code = code_of(
        "use crate::services::{intake, triage::{self, Who}};\n\
         // crate::web::pages in a comment\n\
         let x = crate::db::models::ticket::Ticket::find(c, 1);\n",
    );
    let paths = paths_in(&code);
    assert!(
        paths.contains(&"services::triage::Who".to_string()),
        "{paths:?}"
    );
    let units: BTreeSet<String> = paths.iter().map(|p| unit_of_path(p)).collect();
    assert!(units.contains("services::intake"), "{units:?}");
    assert!(units.contains("db"));
    assert!(!units.contains("web"), "{units:?}");
    assert_eq!(
        unit_of(Path::new("services/monitor/incident.rs")),
        "services::monitor"
    );
    assert_eq!(unit_of(Path::new("services/mod.rs")), "services");
    assert_eq!(unit_of(Path::new("state/after_ingest.rs")), "state");
}
