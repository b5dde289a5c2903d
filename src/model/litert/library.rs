//! Finding and loading `libLiteRt.so`.
//!
//! Search order (the first one that applies wins):
//! 1. an explicit path (the configuration key), which must then be usable;
//! 2. `$HEMATOVISION_LITERT_LIB`, which must then be usable;
//! 3. `libLiteRt.so` next to the running executable;
//! 4. `/usr/lib/hematovision/libLiteRt.so`;
//! 5. the copy fetched into the source checkout by `build.rs` (`.litert/<arch>/libLiteRt.so`,
//!    path fixed at compile time), so `cargo run` and `cargo test` work without installing.
//!
//! Candidates 3–5 are skipped when the file does not exist. A file that exists but is broken
//! (wrong architecture, not LiteRT) is an error rather than a reason to fall through to another
//! copy: the runtime that runs must be the one that was asked for.

// dlopen of the runtime library and resolution of its functions.
#![allow(unsafe_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::{LiteRtError, SearchAttempt};
use super::ffi::Api;

/// File name of the runtime library.
pub const LIBRARY_FILE: &str = "libLiteRt.so";
/// Environment variable that names the runtime library.
pub const LIBRARY_ENV: &str = "HEMATOVISION_LITERT_LIB";
/// System-wide install location.
pub const SYSTEM_LIBRARY: &str = "/usr/lib/hematovision/libLiteRt.so";

/// The library fetched into the source checkout at build time, if `build.rs` set it.
pub fn dev_library() -> Option<PathBuf> {
    option_env!("HEMATOVISION_LITERT_DEV_LIB").map(PathBuf::from)
}

/// A library that was found, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundLibrary {
    /// The file that was chosen.
    pub path: PathBuf,
    /// Which rule chose it.
    pub source: &'static str,
}

/// Chooses the library file, following the search order of this module.
pub fn find_library(explicit: Option<&Path>) -> Result<FoundLibrary, LiteRtError> {
    let env = std::env::var_os(LIBRARY_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(LIBRARY_FILE)));
    find_library_in(
        explicit,
        env.as_deref(),
        beside_exe.as_deref(),
        Path::new(SYSTEM_LIBRARY),
        dev_library().as_deref(),
    )
}

/// [`find_library`] with every location given (testable without touching the process).
pub fn find_library_in(
    explicit: Option<&Path>,
    env: Option<&Path>,
    beside_exe: Option<&Path>,
    system: &Path,
    dev: Option<&Path>,
) -> Result<FoundLibrary, LiteRtError> {
    let mut attempts = Vec::new();
    let required: [(&'static str, Option<&Path>); 2] = [
        ("configured runtime library path", explicit),
        ("$HEMATOVISION_LITERT_LIB", env),
    ];
    for (source, path) in required {
        match path {
            Some(path) if path.is_file() => {
                return Ok(FoundLibrary {
                    path: path.to_path_buf(),
                    source,
                });
            }
            Some(path) => {
                attempts.push(SearchAttempt {
                    source,
                    path: Some(path.to_path_buf()),
                    outcome: "no such file".into(),
                });
                return Err(LiteRtError::LibraryNotFound { attempts });
            }
            None => attempts.push(SearchAttempt {
                source,
                path: None,
                outcome: "not set".into(),
            }),
        }
    }
    let optional: [(&'static str, Option<&Path>); 3] = [
        ("next to the executable", beside_exe),
        ("system install", Some(system)),
        ("source checkout (fetched at build time)", dev),
    ];
    for (source, path) in optional {
        match path {
            Some(path) if path.is_file() => {
                return Ok(FoundLibrary {
                    path: path.to_path_buf(),
                    source,
                });
            }
            Some(path) => attempts.push(SearchAttempt {
                source,
                path: Some(path.to_path_buf()),
                outcome: "no such file".into(),
            }),
            None => attempts.push(SearchAttempt {
                source,
                path: None,
                outcome: "unknown".into(),
            }),
        }
    }
    Err(LiteRtError::LibraryNotFound { attempts })
}

/// The architecture this program was compiled for, as ELF names it.
fn expected_machine() -> (u16, &'static str) {
    if cfg!(target_arch = "x86_64") {
        (62, "x86_64")
    } else if cfg!(target_arch = "aarch64") {
        (183, "aarch64")
    } else {
        (0, std::env::consts::ARCH)
    }
}

fn machine_name(machine: u16) -> String {
    match machine {
        3 => "x86 (32-bit)".into(),
        40 => "arm (32-bit)".into(),
        62 => "x86_64".into(),
        183 => "aarch64".into(),
        243 => "riscv".into(),
        other => format!("ELF machine {other}"),
    }
}

/// Reads the ELF header, so that a library for another CPU gets a precise message instead of
/// the dynamic loader's terse one.
fn check_elf(path: &Path) -> Result<(), LiteRtError> {
    let mut header = [0u8; 20];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut header));
    if let Err(e) = read {
        return Err(LiteRtError::LibraryLoad {
            path: path.to_path_buf(),
            reason: format!("cannot read it: {e}"),
        });
    }
    if &header[..4] != b"\x7fELF" {
        return Err(LiteRtError::LibraryLoad {
            path: path.to_path_buf(),
            reason: "not an ELF shared library".into(),
        });
    }
    let (want, want_name) = expected_machine();
    let class_64 = header[4] == 2;
    let machine = if header[5] == 1 {
        u16::from_le_bytes([header[18], header[19]])
    } else {
        u16::from_be_bytes([header[18], header[19]])
    };
    if want != 0 && (machine != want || !class_64) {
        return Err(LiteRtError::WrongArchitecture {
            path: path.to_path_buf(),
            found: machine_name(machine),
            expected: want_name.into(),
        });
    }
    Ok(())
}

/// `RTLD_NODELETE` (glibc, same value on x86_64 and aarch64): keep the library mapped after
/// the last handle is closed. LiteRT starts worker threads and registers C++ static
/// destructors; unmapping its code under them would crash at exit.
const RTLD_NODELETE: std::ffi::c_int = 0x1000;

/// Opens the library at `path` and resolves every function the bindings use.
pub(crate) fn load(path: &Path) -> Result<Api, LiteRtError> {
    check_elf(path)?;
    let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL | RTLD_NODELETE;
    // SAFETY: loading a shared library runs its initialisers. The file passed the ELF check and
    // is the LiteRT runtime chosen by the search order above; its initialisers only set up
    // LiteRT's own state.
    let library =
        unsafe { libloading::os::unix::Library::open(Some(path), flags) }.map_err(|e| {
            LiteRtError::LibraryLoad {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
    // SAFETY: the declarations in `ffi` match the C API of the pinned LiteRT 2.3.0 library;
    // a library lacking any of them is rejected by `resolve`.
    unsafe { Api::resolve(library.into(), path) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_path_wins_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("libLiteRt.so");
        std::fs::write(&lib, b"x").unwrap();
        let missing = dir.path().join("nope.so");
        let found = find_library_in(Some(&lib), Some(&missing), None, &missing, None).unwrap();
        assert_eq!(found.path, lib);
        let err = find_library_in(Some(&missing), Some(&lib), None, &lib, Some(&lib)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("nope.so"), "{text}");
        assert!(text.contains("cross/fetch-litert.sh"), "{text}");
    }

    #[test]
    fn env_then_fallbacks_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.so");
        let b = dir.path().join("b.so");
        std::fs::write(&a, b"x").unwrap();
        std::fs::write(&b, b"x").unwrap();
        let missing = dir.path().join("missing.so");
        assert_eq!(
            find_library_in(None, Some(&a), Some(&b), &b, None)
                .unwrap()
                .path,
            a
        );
        assert_eq!(
            find_library_in(None, None, Some(&b), &a, None)
                .unwrap()
                .path,
            b
        );
        assert_eq!(
            find_library_in(None, None, Some(&missing), &a, Some(&b))
                .unwrap()
                .path,
            a
        );
        assert_eq!(
            find_library_in(None, None, Some(&missing), &missing, Some(&b))
                .unwrap()
                .path,
            b
        );
    }

    #[test]
    fn nothing_found_lists_every_place() {
        let dir = tempfile::tempdir().unwrap();
        let m1 = dir.path().join("m1.so");
        let m2 = dir.path().join("m2.so");
        let m3 = dir.path().join("m3.so");
        let err = find_library_in(None, None, Some(&m1), &m2, Some(&m3)).unwrap_err();
        let LiteRtError::LibraryNotFound { attempts } = &err else {
            panic!("unexpected {err:?}");
        };
        assert_eq!(attempts.len(), 5);
        let text = err.to_string();
        for p in [&m1, &m2, &m3] {
            assert!(text.contains(&p.display().to_string()), "{text}");
        }
        assert!(text.contains("HEMATOVISION_LITERT_LIB"), "{text}");
    }

    #[test]
    fn non_elf_and_foreign_libraries_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.so");
        std::fs::write(&junk, b"definitely not a shared library").unwrap();
        assert!(matches!(load(&junk), Err(LiteRtError::LibraryLoad { .. })));
        // A minimal ELF header for the other architecture.
        let other: u16 = if cfg!(target_arch = "x86_64") {
            183
        } else {
            62
        };
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 2;
        header[5] = 1;
        header[18..20].copy_from_slice(&other.to_le_bytes());
        let foreign = dir.path().join("foreign.so");
        std::fs::write(&foreign, &header).unwrap();
        let err = load(&foreign).err().unwrap();
        assert!(
            matches!(err, LiteRtError::WrongArchitecture { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("cross/fetch-litert.sh"));
    }
}
