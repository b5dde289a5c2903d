//! The two rules over the arrows between files: no circle of files, and no arrow from a
//! room to one it may not import.

use std::collections::{BTreeMap, BTreeSet};

use super::map::Map;
use super::modules::{CrateKind, Edge, Tree};

/// Name of the binary's room (`src/main.rs` and `src/cli/`).
pub const BINARY_ROOM: &str = "cli";

/// Whether one file's module contains the other's: a module's file and the files of its
/// own submodules may use each other both ways (the parent declares and re-exports its
/// children; a child may use what the parent defines), so arrows between them are not
/// part of any circle. Siblings, cousins and everything else are.
pub fn same_lineage(tree: &Tree, a: &str, b: &str) -> bool {
    match (tree.module_of(a), tree.module_of(b)) {
        (Some((ka, pa)), Some((kb, pb))) => ka == kb && (pa.starts_with(pb) || pb.starts_with(pa)),
        _ => false,
    }
}

/// The circles of files: each strongly connected set of two or more files, over the arrows
/// of non-test code outside a lineage, with the arrows that close it.
pub fn cycles(tree: &Tree, edges: &[Edge]) -> Vec<Vec<Edge>> {
    let kept: Vec<&Edge> = edges
        .iter()
        .filter(|e| !e.test && !same_lineage(tree, &e.from, &e.to))
        .collect();
    let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &kept {
        next.entry(&e.from).or_default().insert(&e.to);
        next.entry(&e.to).or_default();
    }
    strongly_connected(&next)
        .into_iter()
        .filter(|set| set.len() > 1)
        .map(|set| {
            kept.iter()
                .filter(|e| set.contains(e.from.as_str()) && set.contains(e.to.as_str()))
                .map(|e| (*e).clone())
                .collect()
        })
        .collect()
}

/// Tarjan's algorithm: the strongly connected sets of a directed graph.
fn strongly_connected<'a>(next: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<BTreeSet<&'a str>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        sets: Vec<BTreeSet<&'a str>>,
    }
    fn visit<'a>(v: &'a str, next: &BTreeMap<&'a str, BTreeSet<&'a str>>, s: &mut State<'a>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in next.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, next, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut set = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                set.insert(w);
                if w == v {
                    break;
                }
            }
            s.sets.push(set);
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        sets: Vec::new(),
    };
    for &v in next.keys() {
        if !s.index.contains_key(v) {
            visit(v, next, &mut s);
        }
    }
    s.sets
}

/// The room of a file: its top-level module in the library, [`BINARY_ROOM`] for the
/// binary, `None` for the library's root.
pub fn room_of(tree: &Tree, file: &str) -> Option<String> {
    match tree.module_of(file)? {
        (CrateKind::Bin, _) => Some(BINARY_ROOM.to_string()),
        (CrateKind::Lib, path) => path.first().cloned(),
    }
}

/// Every arrow (test code included) from a room to another that its row of the map does
/// not list, and every room missing from the map.
pub fn forbidden(tree: &Tree, edges: &[Edge], map: &Map) -> Vec<String> {
    let mut problems = BTreeSet::new();
    for e in edges {
        let (Some(from), Some(to)) = (room_of(tree, &e.from), room_of(tree, &e.to)) else {
            continue;
        };
        if from == to {
            continue;
        }
        match map.may_import(&from, &to) {
            Some(true) => {}
            Some(false) => {
                let kind = if e.test { " (test code)" } else { "" };
                problems.insert(format!(
                    "{}:{}: `{from}` may not import `{to}` ({}){kind}",
                    e.from, e.line, e.to
                ));
            }
            None => {
                problems.insert(format!("room `{from}` ({}) is not on the map", e.from));
            }
        }
    }
    problems.into_iter().collect()
}
