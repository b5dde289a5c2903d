//! The map in `src/lib.rs`'s doc comment, read as the rule itself so the two cannot drift:
//! its table `| floor | room | may import | holds |` and the files listed under its heading
//! on raw code.
//!
//! A room is the first `code` word of its row. It may import the `code` words of its
//! "may import" cell, every room of each floor named there in *italics*, or every room if
//! the cell says "every room". Floors stack in the order they first appear: no room may be
//! allowed a room on a higher floor, and no rooms may be allowed each other in a circle.

use std::collections::{BTreeMap, BTreeSet};

/// Heading of the section listing the files allowed raw code (it is not spelled with the
/// keyword itself, so the crate root stays clear of it).
pub const RAW_CODE_HEADING: &str = "Raw code";

/// What a room may import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// Any room.
    Everything,
    /// Only these rooms (its own is implied).
    Rooms(BTreeSet<String>),
}

/// The parsed map.
#[derive(Debug, Default)]
pub struct Map {
    /// Each room and what it may import.
    pub rooms: BTreeMap<String, Allowed>,
    /// Each room's floor, as an index from the ground up.
    pub floors: BTreeMap<String, usize>,
    /// The files listed as allowed raw code, relative to the package (`src/…`).
    pub raw_code_files: BTreeSet<String>,
}

/// The `code` words of a piece of markdown.
fn code_words(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The *italic* words of a piece of markdown.
fn italic_words(text: &str) -> Vec<String> {
    text.split('*')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

impl Map {
    /// Reads the map from the crate root's source.
    pub fn parse(lib_rs: &str) -> Result<Map, String> {
        let doc: Vec<&str> = lib_rs
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("//!"))
            .map(str::trim)
            .collect();
        let mut map = Map::default();
        let mut floor_names: Vec<String> = Vec::new();
        // Column of the floor, room and imports once inside a table with those headers.
        let mut columns: Option<(Option<usize>, usize, usize)> = None;
        let mut floor_imports: Vec<(String, Vec<String>)> = Vec::new();
        let mut section = "";
        for line in doc {
            if let Some(heading) = line.strip_prefix('#') {
                section = heading.trim_start_matches('#').trim();
                continue;
            }
            if section.starts_with(RAW_CODE_HEADING) {
                map.raw_code_files
                    .extend(code_words(line).into_iter().filter(|w| w.ends_with(".rs")));
            }
            if !line.starts_with('|') {
                columns = None;
                continue;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let find = |name: &str| cells.iter().position(|c| *c == name);
            if let (Some(room), Some(imports)) = (find("room"), find("may import")) {
                columns = Some((find("floor"), room, imports));
                continue;
            }
            let Some((floor_col, room_col, imports_col)) = columns else {
                continue;
            };
            if cells
                .iter()
                .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
            {
                continue;
            }
            let room = cells
                .get(room_col)
                .and_then(|c| code_words(c).into_iter().next());
            let (Some(room), Some(imports)) = (room, cells.get(imports_col)) else {
                return Err(format!("map row without a `room` or imports: {line}"));
            };
            let floor = floor_col
                .and_then(|c| cells.get(c))
                .unwrap_or(&"")
                .to_string();
            if !floor_names.contains(&floor) {
                floor_names.push(floor.clone());
            }
            let index = floor_names
                .iter()
                .position(|f| *f == floor)
                .unwrap_or_default();
            map.floors.insert(room.clone(), index);
            let allowed = if imports.contains("every room") {
                Allowed::Everything
            } else {
                floor_imports.push((room.clone(), italic_words(imports)));
                Allowed::Rooms(code_words(imports).into_iter().collect())
            };
            if map.rooms.insert(room.clone(), allowed).is_some() {
                return Err(format!("room `{room}` has two rows on the map"));
            }
        }
        if map.rooms.is_empty() {
            return Err("no `| room | may import | holds |` table in the doc comment".into());
        }
        for (room, floors) in floor_imports {
            for floor in floors {
                let index = floor_names
                    .iter()
                    .position(|f| *f == floor)
                    .ok_or_else(|| {
                        format!("`{room}` may import floor *{floor}*, which has no rooms")
                    })?;
                let on_floor: Vec<String> = map
                    .floors
                    .iter()
                    .filter(|(_, f)| **f == index)
                    .map(|(r, _)| r.clone())
                    .collect();
                if let Some(Allowed::Rooms(rooms)) = map.rooms.get_mut(&room) {
                    rooms.extend(on_floor.into_iter().filter(|r| *r != room));
                }
            }
        }
        Ok(map)
    }

    /// Whether room `from` may import room `to`; `None` if `from` has no row.
    pub fn may_import(&self, from: &str, to: &str) -> Option<bool> {
        Some(match self.rooms.get(from)? {
            Allowed::Everything => true,
            Allowed::Rooms(rooms) => from == to || rooms.contains(to),
        })
    }

    /// Problems with the table itself: a room allowed to import one with no row or one on
    /// a higher floor, and any circle of rooms (the table must stack, never loop).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (room, allowed) in &self.rooms {
            if let Allowed::Rooms(rooms) = allowed {
                for to in rooms {
                    match self.floors.get(to) {
                        None => {
                            problems.push(format!("`{room}` may import `{to}`, which has no row"))
                        }
                        Some(floor) if *floor > self.floors[room] => {
                            problems.push(format!("`{room}` may import `{to}` on a higher floor"))
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        for (room, allowed) in &self.rooms {
            if let Allowed::Rooms(rooms) = allowed {
                for to in rooms
                    .iter()
                    .filter(|r| self.rooms.get(*r) == Some(&Allowed::Everything))
                {
                    problems.push(format!(
                        "`{room}` may import `{to}`, which may import every room"
                    ));
                }
            }
            if self.reaches(room, room) {
                problems.push(format!("`{room}` may import itself through other rooms"));
            }
        }
        problems
    }

    /// Whether `from` reaches `target` through one or more allowed imports (rooms that may
    /// import everything are checked above never to be imported).
    fn reaches(&self, from: &str, target: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(room) = todo.pop() {
            if let Some(Allowed::Rooms(rooms)) = self.rooms.get(&room) {
                for next in rooms {
                    if next == target {
                        return true;
                    }
                    if seen.insert(next.clone()) {
                        todo.push(next.clone());
                    }
                }
            }
        }
        false
    }
}
