//! Makes the pinned LiteRT runtime library available to `cargo run` and `cargo test` on a fresh
//! checkout: if `.litert/<target arch>/libLiteRt.so` is missing, runs `cross/fetch-litert.sh`
//! (unless `HEMATOVISION_NO_FETCH` is set), and tells the crate where the library is, as the
//! last place it looks. A failed fetch is a warning, never a build failure: the program then
//! explains at run time how to install the library.
//!
//! It also records what `hematovision --version` and `doctor` report: the git commit
//! (`HEMATOVISION_GIT_COMMIT`, "unknown" outside a git checkout unless that variable is
//! set in the environment, e.g. by a distribution build), the commit's time
//! (`HEMATOVISION_BUILD_EPOCH`, else `SOURCE_DATE_EPOCH`, else now) and the pinned LiteRT
//! version from `cross/fetch-litert.sh` (`HEMATOVISION_LITERT_VERSION`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into());
    let script = root.join("cross").join("fetch-litert.sh");
    let library = root.join(".litert").join(&arch).join("libLiteRt.so");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-changed={}", library.display());
    println!("cargo:rerun-if-env-changed=HEMATOVISION_NO_FETCH");

    let wanted = matches!(arch.as_str(), "x86_64" | "aarch64");
    if wanted && !library.is_file() && std::env::var_os("HEMATOVISION_NO_FETCH").is_none() {
        let mut fetch = Command::new("sh");
        fetch.arg(&script).arg(&arch);
        // Offline machines should fail fast rather than stall every build on pip's retries.
        for (key, value) in [("PIP_DEFAULT_TIMEOUT", "20"), ("PIP_RETRIES", "1")] {
            if std::env::var_os(key).is_none() {
                fetch.env(key, value);
            }
        }
        match fetch.status() {
            Ok(status) if status.success() => {}
            Ok(status) => println!(
                "cargo:warning=cross/fetch-litert.sh {arch} failed ({status}); \
                 inference will need libLiteRt.so installed by hand (see its error message)"
            ),
            Err(e) => println!(
                "cargo:warning=cannot run cross/fetch-litert.sh {arch}: {e}; \
                 inference will need libLiteRt.so installed by hand"
            ),
        }
    }
    println!(
        "cargo:rustc-env=HEMATOVISION_LITERT_DEV_LIB={}",
        library.display()
    );
    version_info(&root, &script);
}

/// Output of `git ARGS` in `root`, trimmed; `None` when git or the checkout is missing.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Emits the commit, its time and the pinned runtime version for `--version`.
fn version_info(root: &Path, script: &Path) {
    println!("cargo:rerun-if-env-changed=HEMATOVISION_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // Rerun when HEAD moves: HEAD itself, the branch it points to, and packed refs. Only
    // existing files are watched (a missing one would rerun this script on every build).
    let mut watched = vec![git(root, &["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(root, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(root, &["rev-parse", "--git-path", &branch]));
    }
    watched.push(git(root, &["rev-parse", "--git-path", "packed-refs"]));
    for path in watched.into_iter().flatten() {
        let path = root.join(path);
        if path.is_file() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let commit = std::env::var("HEMATOVISION_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(root, &["rev-parse", "--short=10", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=HEMATOVISION_GIT_COMMIT={commit}");
    let epoch = git(root, &["log", "-1", "--format=%ct"])
        .or_else(|| std::env::var("SOURCE_DATE_EPOCH").ok())
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    println!("cargo:rustc-env=HEMATOVISION_BUILD_EPOCH={epoch}");
    let litert = std::fs::read_to_string(script)
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix("VERSION=").map(str::to_string))
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=HEMATOVISION_LITERT_VERSION={litert}");
}
