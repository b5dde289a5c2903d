//! The install scripts decide whether to install libclang-dev by looking for the library
//! the way bindgen (clang-sys) does: libclang-cpp is not libclang.

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `libclang_path ROOT` from cross/libclang.sh: the library found, or None.
fn detect(root: &Path, libclang_path: Option<&Path>) -> Option<String> {
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(". cross/libclang.sh && libclang_path \"$1\"")
        .arg("detect")
        .arg(root)
        .current_dir(repo())
        .env_remove("LIBCLANG_PATH");
    if let Some(p) = libclang_path {
        cmd.env("LIBCLANG_PATH", p);
    }
    let out = cmd.output().expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    out.status.success().then_some(stdout)
}

#[test]
fn libclang_cpp_alone_is_missing_and_libclang_is_found() {
    let root = tempfile::tempdir().unwrap();
    let lib = root.path().join("usr/lib/llvm-14/lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(lib.join("libclang-cpp.so.14"), b"").unwrap();
    assert_eq!(
        detect(root.path(), None),
        None,
        "libclang-cpp is not libclang"
    );

    std::fs::write(lib.join("libclang.so.1"), b"").unwrap();
    let found = detect(root.path(), None).expect("libclang.so.1 is what bindgen loads");
    assert!(
        found.ends_with("usr/lib/llvm-14/lib/libclang.so.1"),
        "{found}"
    );
}

#[test]
fn versioned_names_and_libclang_path_are_honoured() {
    let root = tempfile::tempdir().unwrap();
    let lib = root.path().join("usr/lib/x86_64-linux-gnu");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(lib.join("libclang-14.so.14.0.6"), b"").unwrap();
    assert!(detect(root.path(), None).is_some());

    let empty = tempfile::tempdir().unwrap();
    let custom = tempfile::tempdir().unwrap();
    std::fs::write(custom.path().join("libclang.so"), b"").unwrap();
    assert_eq!(detect(empty.path(), None), None);
    let found = detect(empty.path(), Some(custom.path())).expect("LIBCLANG_PATH is searched");
    assert!(found.ends_with("/libclang.so"), "{found}");
}

#[test]
fn every_install_script_uses_the_shared_detection() {
    for script in [".ci/run", "cross/package.sh", "cross/hil.sh"] {
        let text = std::fs::read_to_string(repo().join(script)).unwrap();
        assert!(
            text.contains("cross/libclang.sh") && text.contains("libclang_path"),
            "{script} must decide with cross/libclang.sh"
        );
        assert!(
            !text.contains("libclang*.so") && !text.contains("ls /usr/lib/llvm-"),
            "{script} still globs for libclang by hand"
        );
    }
}
