//! The crate's structure, drawn from its imports, against the map in `src/lib.rs`.
//!
//! Every `src/**/*.rs` file is read along the `mod` declarations of `src/lib.rs` and
//! `src/main.rs`; comments and string literals are dropped, and every reference (each leaf
//! of a `use` tree, `super::`/`self::`/`crate::` paths and paths through a module brought in
//! by `use`, anywhere in the code) is resolved to the file that defines what it names,
//! following re-exports. The rules:
//!
//! - no circle between files in the code the daemon is built from: `#[cfg(test)]` items and
//!   files are left out, and so are arrows between a module's file and its own submodules'
//!   files (the facade rule: a parent declares and re-exports its children, a child uses
//!   what its parent defines); siblings and cousins count, directly or through a loop;
//! - no arrow from a room (a top-level module; the binary is the room `cli`) to one its row
//!   of the map does not allow, test code included; the map itself must stack its floors
//!   without a circle and name exactly the crate's rooms;
//! - the word `unsafe` only in files that say `#![allow(unsafe_code)]` (besides the two
//!   crate roots' `deny`), each of them using it, and those files exactly the map's list.
//!
//! Not followed: names a module re-exports with a glob, and paths that macros build.

/// The analyser, in `tests/architecture/` (an inline module, so its files sit there).
mod architecture {
    pub mod graph;
    pub mod lexer;
    pub mod map;
    pub mod modules;

    #[cfg(test)]
    mod examples;
}

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use architecture::map::{Map, RAW_CODE_HEADING};
use architecture::modules::{CrateKind, Tree};
use architecture::{graph, lexer};

/// Every `src/**/*.rs` file, by its path relative to the package.
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = BTreeMap::new();
    walk(&root.join("src"), root, &mut out);
    out
}

/// The library's crate root, which holds the map.
fn lib_rs(files: &BTreeMap<String, String>) -> &str {
    &files["src/lib.rs"]
}

fn tree(files: &BTreeMap<String, String>) -> Tree {
    Tree::read(files).unwrap_or_else(|e| panic!("reading the module tree: {e}"))
}

fn the_map(files: &BTreeMap<String, String>) -> Map {
    Map::parse(lib_rs(files)).unwrap_or_else(|e| panic!("reading the map in src/lib.rs: {e}"))
}

#[test]
fn every_source_file_is_a_module() {
    let files = sources();
    let tree = tree(&files);
    let stray: Vec<&String> = files
        .keys()
        .filter(|f| tree.module_of(f).is_none())
        .collect();
    assert!(
        stray.is_empty(),
        "files no `mod` declares (never compiled, never checked): {stray:?}"
    );
}

/// Test code may reach sideways for fixtures, so only the arrows of code the daemon is
/// built from count here; a module's file and its own submodules' files may use each
/// other (the parent declares and re-exports, the child uses what the parent defines).
#[test]
fn no_circle_between_files() {
    let files = sources();
    let tree = tree(&files);
    let circles = graph::cycles(&tree, &tree.edges());
    let text: Vec<String> = circles
        .iter()
        .map(|edges| {
            let arrows: Vec<String> = edges
                .iter()
                .map(|e| format!("{}:{} -> {}", e.from, e.line, e.to))
                .collect();
            arrows.join("\n  ")
        })
        .collect();
    assert!(
        circles.is_empty(),
        "files importing each other in a circle:\n  {}",
        text.join("\n\n  ")
    );
}

#[test]
fn the_map_stacks_without_circles() {
    let problems = the_map(&sources()).problems();
    assert!(problems.is_empty(), "the map in src/lib.rs: {problems:#?}");
}

#[test]
fn every_room_has_a_row_and_every_row_a_room() {
    let files = sources();
    let mut rooms = tree(&files).rooms(CrateKind::Lib);
    rooms.insert(graph::BINARY_ROOM.to_string());
    let rows: BTreeSet<String> = the_map(&files).rooms.keys().cloned().collect();
    assert_eq!(
        rooms, rows,
        "the rooms of src/lib.rs (and the binary's) against the map's rows"
    );
}

/// Test code counts too: a test in a low room must not reach up either.
#[test]
fn no_arrow_to_a_room_the_map_does_not_allow() {
    let files = sources();
    let tree = tree(&files);
    let problems = graph::forbidden(&tree, &tree.edges(), &the_map(&files));
    assert!(
        problems.is_empty(),
        "arrows the map in src/lib.rs does not allow: {problems:#?}"
    );
}

const DENY: &str = "#![deny(unsafe_code)]";
const ALLOW: &str = "#![allow(unsafe_code)]";

/// What `grep -rn unsafe src` finds must be a file the map lists and that opts out of the
/// crate-wide ban, and every such file must need it.
#[test]
fn raw_code_only_in_the_files_the_map_lists() {
    let files = sources();
    for root in ["src/lib.rs", "src/main.rs"] {
        assert!(
            files[root].lines().any(|l| l.trim() == DENY),
            "{root} must say {DENY}"
        );
    }
    let mut allowed = BTreeSet::new();
    for (file, text) in &files {
        let allows = text.lines().any(|l| l.trim() == ALLOW);
        if allows {
            allowed.insert(file.clone());
            let uses = lexer::tokens(text).iter().any(|t| t.text == "unsafe");
            assert!(
                uses,
                "{file} allows raw code but has none: drop its `allow`"
            );
        } else {
            let mentions: Vec<usize> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| l.contains("unsafe") && l.trim() != DENY)
                .map(|(n, _)| n + 1)
                .collect();
            assert!(
                mentions.is_empty(),
                "{file}: `unsafe` on lines {mentions:?} without {ALLOW}"
            );
        }
    }
    let listed = the_map(&files).raw_code_files;
    assert_eq!(
        allowed, listed,
        "files with {ALLOW} against the map's list under \"{RAW_CODE_HEADING}\""
    );
}
