//! Makes the pinned LiteRT runtime library available to `cargo run` and `cargo test` on a fresh
//! checkout: if `.litert/<target arch>/libLiteRt.so` is missing, runs `cross/fetch-litert.sh`
//! (unless `HEMATOVISION_NO_FETCH` is set), and tells the crate where the library is, as the
//! last place it looks. A failed fetch is a warning, never a build failure: the program then
//! explains at run time how to install the library.

use std::path::PathBuf;
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
}
