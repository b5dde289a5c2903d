//! The analyser on small made-up crates, so a rule that could never fail is caught.

use std::collections::BTreeMap;

use super::graph::{cycles, forbidden};
use super::map::Map;
use super::modules::{Edge, Tree};

fn tree(files: &[(&str, &str)]) -> Tree {
    let files: BTreeMap<String, String> = files
        .iter()
        .map(|(path, text)| (path.to_string(), text.to_string()))
        .collect();
    Tree::read(&files).unwrap()
}

/// The non-test arrows as `from -> to`.
fn arrows(tree: &Tree) -> Vec<String> {
    let mut arrows: Vec<String> = tree
        .edges()
        .into_iter()
        .filter(|e| !e.test)
        .map(|e| format!("{} -> {}", e.from, e.to))
        .collect();
    arrows.dedup();
    arrows
}

fn cycle_files(tree: &Tree) -> Vec<Vec<String>> {
    cycles(tree, &tree.edges())
        .into_iter()
        .map(|edges: Vec<Edge>| {
            let mut files: Vec<String> = edges.into_iter().map(|e| e.from).collect();
            files.sort();
            files.dedup();
            files
        })
        .collect()
}

const ROOMS: &str = "pub mod a;\npub mod b;\n";

#[test]
fn two_sibling_files_importing_each_other_are_a_cycle() {
    let t = tree(&[
        ("src/lib.rs", ROOMS),
        ("src/a.rs", "use crate::b::Y;\npub struct X;"),
        ("src/b.rs", "pub struct Y;\npub fn f(_: crate::a::X) {}"),
    ]);
    assert_eq!(cycle_files(&t), vec![vec!["src/a.rs", "src/b.rs"]]);
}

#[test]
fn a_longer_loop_through_a_facade_is_a_cycle() {
    // x uses y through the parent's re-export; y uses x directly.
    let t = tree(&[
        ("src/lib.rs", "pub mod a;\n"),
        (
            "src/a/mod.rs",
            "mod x;\nmod y;\npub use x::X;\npub use y::Y;",
        ),
        ("src/a/x.rs", "use super::Y;\npub struct X;"),
        ("src/a/y.rs", "use super::x::X;\npub struct Y;"),
    ]);
    assert_eq!(cycle_files(&t), vec![vec!["src/a/x.rs", "src/a/y.rs"]]);
}

#[test]
fn a_child_and_its_parent_may_use_each_other() {
    let t = tree(&[
        ("src/lib.rs", "pub mod a;\n"),
        (
            "src/a/mod.rs",
            "mod x;\npub use x::X;\npub struct Boxed;\nfn f() -> X { x::make() }",
        ),
        ("src/a/x.rs", "use super::Boxed;\npub struct X(Boxed);"),
    ]);
    assert!(arrows(&t).contains(&"src/a/x.rs -> src/a/mod.rs".to_string()));
    assert!(arrows(&t).contains(&"src/a/mod.rs -> src/a/x.rs".to_string()));
    assert!(cycle_files(&t).is_empty());
}

#[test]
fn test_code_does_not_make_a_cycle() {
    let t = tree(&[
        ("src/lib.rs", ROOMS),
        ("src/a.rs", "use crate::b::Y;\npub struct X;"),
        (
            "src/b.rs",
            "pub struct Y;\n#[cfg(test)]\nmod tests {\n    use crate::a::X;\n}",
        ),
    ]);
    assert!(cycle_files(&t).is_empty());
    assert!(t.edges().iter().any(|e| e.test && e.from == "src/b.rs"));
}

#[test]
fn grouped_and_nested_uses_reach_every_file() {
    let t = tree(&[
        ("src/lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("src/a.rs", "use crate::{b::Y, c::{self, deep::Z as Zed}};"),
        ("src/b.rs", "pub struct Y;"),
        ("src/c/mod.rs", "pub mod deep;"),
        ("src/c/deep.rs", "pub struct Z;"),
    ]);
    assert_eq!(
        arrows(&t),
        vec![
            "src/a.rs -> src/b.rs",
            "src/a.rs -> src/c/deep.rs",
            "src/a.rs -> src/c/mod.rs"
        ]
    );
}

#[test]
fn super_chains_and_inline_paths_resolve() {
    let t = tree(&[
        ("src/lib.rs", "pub mod a;\npub mod b;\n"),
        ("src/a/mod.rs", "pub mod inner;"),
        ("src/a/inner/mod.rs", "pub mod leaf;"),
        (
            "src/a/inner/leaf.rs",
            "fn f() { super::super::super::b::go(); }",
        ),
        ("src/b.rs", "pub fn go() {}"),
    ]);
    assert_eq!(arrows(&t), vec!["src/a/inner/leaf.rs -> src/b.rs"]);
}

#[test]
fn a_module_alias_leads_to_the_submodule_used() {
    let t = tree(&[
        ("src/lib.rs", ROOMS),
        ("src/a.rs", "use crate::b;\nfn f() { b::deep::go(); }"),
        ("src/b/mod.rs", "pub mod deep;"),
        ("src/b/deep.rs", "pub fn go() {}"),
    ]);
    assert!(arrows(&t).contains(&"src/a.rs -> src/b/deep.rs".to_string()));
}

#[test]
fn comments_and_strings_are_not_imports() {
    let t = tree(&[
        ("src/lib.rs", ROOMS),
        (
            "src/a.rs",
            "// use crate::b::Y;\n/// See [`crate::b::Y`].\nconst S: &str = \"crate::b::Y\";\n\
             /* use crate::b; */",
        ),
        ("src/b.rs", "pub struct Y;"),
    ]);
    assert!(arrows(&t).is_empty(), "{:?}", arrows(&t));
}

#[test]
fn the_binary_reaches_the_library_by_its_name() {
    let t = tree(&[
        ("src/lib.rs", ROOMS),
        ("src/a.rs", ""),
        ("src/b.rs", ""),
        ("src/main.rs", "mod cli;"),
        (
            "src/cli/mod.rs",
            "use hematovision::a;\nfn f() { crate::cli::g(); }",
        ),
    ]);
    assert_eq!(arrows(&t), vec!["src/cli/mod.rs -> src/a.rs"]);
}

const MAP: &str = "//! | floor | room | may import | holds |\n//! |---|---|---|---|\n\
                   //! | ground | [`a`] | nothing | the ground |\n\
                   //! | first | [`b`] | *ground* | above it |\n\
                   //! | top | `cli` | every room | the binary |\n//!\n//! # Raw code\n\
                   //! - `src/a.rs`: why\n";

#[test]
fn an_upward_arrow_is_reported_with_its_line() {
    let map = Map::parse(MAP).unwrap();
    let t = tree(&[
        ("src/lib.rs", ROOMS),
        ("src/a.rs", "\nuse crate::b::Y;"),
        ("src/b.rs", "use crate::a::X;\npub struct Y;"),
    ]);
    assert_eq!(
        forbidden(&t, &t.edges(), &map),
        vec!["src/a.rs:2: `a` may not import `b` (src/b.rs)"]
    );
}

#[test]
fn the_map_is_read_from_the_doc_comment() {
    let map = Map::parse(MAP).unwrap();
    assert_eq!(map.may_import("b", "a"), Some(true));
    assert_eq!(map.may_import("a", "b"), Some(false));
    assert_eq!(map.may_import("cli", "b"), Some(true));
    assert_eq!(map.may_import("c", "a"), None);
    assert!(map.raw_code_files.contains("src/a.rs"));
    assert!(map.problems().is_empty(), "{:?}", map.problems());
}

#[test]
fn a_circle_of_rooms_on_the_map_is_a_problem() {
    // `a` allowed `b`: upward, and a circle of `a` and `b`.
    let map = Map::parse(&MAP.replace("| [`a`] | nothing |", "| [`a`] | [`b`] |")).unwrap();
    assert_eq!(map.problems().len(), 3, "{:?}", map.problems());
}
