//! The module tree of the library and the binary, read from their `mod` declarations, and
//! every reference in the code resolved to the file that defines it.
//!
//! A reference is a `use` leaf (groups and `self` included) or an inline path in code that
//! starts with `crate`, `self`, `super`, the library's name (in the binary), a child module
//! or a name brought in by `use`. It is resolved to the deepest module of its path; if the
//! next segment is a name that module itself imports (a re-export such as `pub use
//! child::X`, or a private `use` its children reach through `super::`), the import is
//! followed to where the name really lives, so a facade does not hide a loop between the
//! files behind it. Names a module glob-imports are not followed.

use std::collections::{BTreeMap, BTreeSet};

use super::lexer::{self, Token, matching};

/// The library's crate name, as the binary spells it.
pub const LIB_NAME: &str = "hematovision";

/// Which crate of the package: the library (`src/lib.rs`) or the binary (`src/main.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CrateKind {
    /// `src/lib.rs` and its modules.
    Lib,
    /// `src/main.rs` and its modules.
    Bin,
}

/// A module: its crate and path from the crate root.
pub type ModKey = (CrateKind, Vec<String>);

/// One `use` leaf: `alias` names `path` (relative, as written) in the module it sits in.
#[derive(Debug, Clone)]
struct Import {
    alias: String,
    path: Vec<String>,
    test: bool,
}

#[derive(Debug, Default)]
struct Module {
    file: String,
    test: bool,
    children: BTreeSet<String>,
    imports: Vec<Import>,
}

/// A reference found in a file, before resolution.
#[derive(Debug)]
struct Reference {
    scope: ModKey,
    path: Vec<String>,
    line: usize,
    test: bool,
}

/// One arrow between two files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    /// The file holding the reference.
    pub from: String,
    /// The file defining what it names.
    pub to: String,
    /// Line of the reference in `from`.
    pub line: usize,
    /// Only test code makes this reference.
    pub test: bool,
}

/// The parsed package: its modules and the references between them.
#[derive(Debug, Default)]
pub struct Tree {
    modules: BTreeMap<ModKey, Module>,
    /// The module each file holds at its top (not its inline modules).
    file_modules: BTreeMap<String, ModKey>,
    references: Vec<(String, Reference)>,
}

impl Tree {
    /// Reads the crates rooted at `src/lib.rs` and `src/main.rs` from `files` (path to
    /// source, paths relative to the package). A declared module whose file is missing is
    /// an error, so a typo in the test input cannot pass silently.
    pub fn read(files: &BTreeMap<String, String>) -> Result<Tree, String> {
        let mut tree = Tree::default();
        for (kind, root) in [
            (CrateKind::Lib, "src/lib.rs"),
            (CrateKind::Bin, "src/main.rs"),
        ] {
            if files.contains_key(root) {
                tree.read_file(files, root, (kind, Vec::new()), false)?;
            }
        }
        Ok(tree)
    }

    fn read_file(
        &mut self,
        files: &BTreeMap<String, String>,
        file: &str,
        key: ModKey,
        test: bool,
    ) -> Result<(), String> {
        let source = files
            .get(file)
            .ok_or_else(|| format!("module {:?} has no file {file}", key.1))?;
        let mut tokens = lexer::tokens(source);
        if test {
            tokens.iter_mut().for_each(|t| t.test = true);
        }
        self.file_modules.insert(file.to_string(), key.clone());
        self.modules.insert(
            key.clone(),
            Module {
                file: file.to_string(),
                test,
                ..Module::default()
            },
        );
        let dir = match file.rsplit_once('/') {
            Some((dir, "mod.rs" | "lib.rs" | "main.rs")) => dir.to_string(),
            _ => file.trim_end_matches(".rs").to_string(),
        };
        let mut children = Vec::new();
        self.walk(&tokens, file, &key, &mut children);
        for (child_key, test) in children {
            let rel = &child_key.1[key.1.len()..];
            let stem = format!("{dir}/{}", rel.join("/"));
            let flat = format!("{stem}.rs");
            let nested = format!("{stem}/mod.rs");
            let child_file = if files.contains_key(&flat) {
                flat
            } else {
                nested
            };
            self.read_file(files, &child_file, child_key, test)?;
        }
        Ok(())
    }

    /// Records the inline modules, imports and references of one file's tokens; returns the
    /// modules it declares in other files through `children`.
    fn walk(
        &mut self,
        tokens: &[Token],
        file: &str,
        top: &ModKey,
        children: &mut Vec<(ModKey, bool)>,
    ) {
        // Each open brace: the inline module it opens, if any.
        let mut braces: Vec<Option<String>> = Vec::new();
        let scope_of = |braces: &[Option<String>]| -> ModKey {
            let mut path = top.1.clone();
            path.extend(braces.iter().flatten().cloned());
            (top.0, path)
        };
        let mut i = 0;
        while i < tokens.len() {
            let t = &tokens[i];
            let next = tokens.get(i + 1).map(|t| t.text.as_str());
            match t.text.as_str() {
                "{" => braces.push(None),
                "}" => {
                    braces.pop();
                }
                "mod" if tokens.get(i + 1).is_some_and(Token::is_ident) => {
                    let name = tokens[i + 1].text.clone();
                    let mut key = scope_of(&braces);
                    key.1.push(name.clone());
                    let test =
                        t.test || self.modules.get(&scope_of(&braces)).is_some_and(|m| m.test);
                    if let Some(m) = self.modules.get_mut(&scope_of(&braces)) {
                        m.children.insert(name.clone());
                    }
                    match tokens.get(i + 2).map(|t| t.text.as_str()) {
                        Some(";") => children.push((key, test)),
                        Some("{") => {
                            self.modules.insert(
                                key,
                                Module {
                                    file: file.to_string(),
                                    test,
                                    ..Module::default()
                                },
                            );
                            braces.push(Some(name));
                            i += 3;
                            continue;
                        }
                        _ => {}
                    }
                    i += 2;
                    continue;
                }
                "use" if next != Some("<") => {
                    let scope = scope_of(&braces);
                    let mut leaves = Vec::new();
                    let end = use_tree(tokens, i + 1, Vec::new(), &mut leaves);
                    for (path, alias) in leaves {
                        if alias != "*"
                            && let Some(m) = self.modules.get_mut(&scope)
                        {
                            m.imports.push(Import {
                                alias,
                                path: path.clone(),
                                test: t.test,
                            });
                        }
                        let reference = Reference {
                            scope: scope.clone(),
                            path,
                            line: t.line,
                            test: t.test,
                        };
                        self.references.push((file.to_string(), reference));
                    }
                    i = end;
                    continue;
                }
                _ if t.is_ident()
                    && next == Some("::")
                    && !matches!(
                        i.checked_sub(1).map(|p| tokens[p].text.as_str()),
                        Some("::" | "$")
                    ) =>
                {
                    let mut path = vec![t.text.clone()];
                    let mut j = i + 1;
                    while tokens.get(j).is_some_and(|t| t.text == "::")
                        && tokens.get(j + 1).is_some_and(Token::is_ident)
                    {
                        path.push(tokens[j + 1].text.clone());
                        j += 2;
                    }
                    let reference = Reference {
                        scope: scope_of(&braces),
                        path,
                        line: t.line,
                        test: t.test,
                    };
                    self.references.push((file.to_string(), reference));
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }

    /// Every arrow between two different files.
    pub fn edges(&self) -> Vec<Edge> {
        let mut edges = BTreeSet::new();
        for (file, r) in &self.references {
            let test = r.test || self.modules.get(&r.scope).is_some_and(|m| m.test);
            let Some(abs) = self.absolute(&r.scope, &r.path, test, 0) else {
                continue;
            };
            for to in self.files_of(&abs, test, 0) {
                if &to != file {
                    edges.insert(Edge {
                        from: file.clone(),
                        to,
                        line: r.line,
                        test,
                    });
                }
            }
        }
        edges.into_iter().collect()
    }

    /// The module a file holds at its top.
    pub fn module_of(&self, file: &str) -> Option<&ModKey> {
        self.file_modules.get(file)
    }

    /// The top-level modules of a crate.
    pub fn rooms(&self, kind: CrateKind) -> BTreeSet<String> {
        self.modules
            .get(&(kind, Vec::new()))
            .map(|m| m.children.clone())
            .unwrap_or_default()
    }

    /// `path` as written in `scope`, made absolute; `None` if it leaves the package (or
    /// names an item of the scope itself).
    fn absolute(
        &self,
        scope: &ModKey,
        path: &[String],
        test: bool,
        depth: usize,
    ) -> Option<ModKey> {
        let (first, rest) = path.split_first()?;
        let (kind, mut base) = scope.clone();
        match first.as_str() {
            "crate" => Some((kind, rest.to_vec())),
            LIB_NAME if kind == CrateKind::Bin => Some((CrateKind::Lib, rest.to_vec())),
            "self" => {
                base.extend_from_slice(rest);
                Some((kind, base))
            }
            "super" => {
                let mut rest = path;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
                base.extend_from_slice(rest);
                Some((kind, base))
            }
            _ => {
                let module = self.modules.get(scope)?;
                if module.children.contains(first) {
                    base.extend_from_slice(path);
                    return Some((kind, base));
                }
                if depth > 8 {
                    return None;
                }
                // Several imports may share a name under different `cfg`s; the first that
                // leads into the package stands for all.
                module
                    .imports
                    .iter()
                    .filter(|imp| &imp.alias == first && (test || !imp.test) && imp.path != path)
                    .find_map(|imp| {
                        let mut full = imp.path.clone();
                        full.extend_from_slice(rest);
                        self.absolute(scope, &full, test, depth + 1)
                    })
            }
        }
    }

    /// The files defining what an absolute path names.
    fn files_of(&self, abs: &ModKey, test: bool, depth: usize) -> BTreeSet<String> {
        let (kind, path) = abs;
        let mut depth_in = 0;
        while depth_in < path.len()
            && self
                .modules
                .contains_key(&(*kind, path[..=depth_in].to_vec()))
        {
            depth_in += 1;
        }
        let key = (*kind, path[..depth_in].to_vec());
        let Some(module) = self.modules.get(&key) else {
            return BTreeSet::new();
        };
        let followed: BTreeSet<String> = match path.get(depth_in) {
            Some(name) if depth < 8 => module
                .imports
                .iter()
                .filter(|imp| &imp.alias == name && (test || !imp.test))
                .filter_map(|imp| {
                    let mut full = imp.path.clone();
                    full.extend_from_slice(&path[depth_in + 1..]);
                    self.absolute(&key, &full, test, 0)
                })
                .filter(|target| target != abs)
                .flat_map(|target| self.files_of(&target, test, depth + 1))
                .collect(),
            _ => BTreeSet::new(),
        };
        if followed.is_empty() {
            BTreeSet::from([module.file.clone()])
        } else {
            followed
        }
    }
}

/// Parses a use tree from `i`, pushing each leaf's full path and the name it binds;
/// returns the index after the tree (after the `;` for a whole declaration).
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, String)>,
) -> usize {
    while let Some(t) = tokens.get(i) {
        match t.text.as_str() {
            "::" => i += 1,
            "*" => {
                out.push((prefix, "*".into()));
                return skip_semicolon(tokens, i + 1);
            }
            "{" => {
                let close = matching(tokens, i);
                let mut j = i + 1;
                while j < close {
                    j = use_tree(tokens, j, prefix.clone(), out);
                    if tokens.get(j).is_some_and(|t| t.text == ",") {
                        j += 1;
                    }
                }
                return skip_semicolon(tokens, close + 1);
            }
            _ if t.is_ident() => {
                prefix.push(t.text.clone());
                i += 1;
                if tokens.get(i).is_some_and(|t| t.text == "::") {
                    continue;
                }
                let alias = if tokens.get(i).is_some_and(|t| t.text == "as") {
                    i += 2;
                    tokens
                        .get(i - 1)
                        .map(|t| t.text.clone())
                        .unwrap_or_default()
                } else if prefix.last().is_some_and(|s| s == "self") && prefix.len() > 1 {
                    prefix.pop();
                    prefix.last().cloned().unwrap_or_default()
                } else {
                    prefix.last().cloned().unwrap_or_default()
                };
                if prefix.last().is_some_and(|s| s == "self") && prefix.len() > 1 {
                    prefix.pop();
                }
                out.push((prefix, alias));
                return skip_semicolon(tokens, i);
            }
            _ => return i + 1,
        }
    }
    i
}

fn skip_semicolon(tokens: &[Token], i: usize) -> usize {
    if tokens.get(i).is_some_and(|t| t.text == ";") {
        i + 1
    } else {
        i
    }
}
