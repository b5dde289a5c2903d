//! The Debian packages built by `cross/package.sh`: contents, conffile, maintainer scripts,
//! architecture of the binary and the runtime library, and (on a matching host) that the
//! packaged binary, library and model classify a picture together.
//!
//! Ignored by default. Point `HV_DEB` at one or more built packages (separated by `:`):
//!
//! ```text
//! cross/package.sh amd64 arm64
//! HV_DEB=$(ls target/*/debian/hematovision_*.deb | paste -sd:) \
//!     cargo test --test package_contents -- --ignored
//! ```
//!
//! A package of another architecture is run through `HV_DEB_RUNNER` when set, e.g.
//! `HV_DEB_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"`.

use std::path::{Path, PathBuf};
use std::process::Command;

use hematovision::config::Config;

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let out = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .unwrap_or_else(|e| panic!("dpkg-deb (apt-get install dpkg): {e}"));
    assert!(
        out.status.success(),
        "dpkg-deb {args:?} {}: {}",
        deb.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The ELF machine of a file: 62 = x86-64, 183 = AArch64.
fn elf_machine(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF", "{} is not ELF", path.display());
    assert_eq!(bytes[4], 2, "{} is not 64-bit", path.display());
    u16::from_le_bytes([bytes[18], bytes[19]])
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn check_package(deb: &Path) {
    let field = |name: &str| {
        dpkg_deb(&["-f"], deb)
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
    };
    assert_eq!(field("Package").as_deref(), Some("hematovision"));
    let arch = field("Architecture").unwrap();
    let machine = match arch.as_str() {
        "amd64" => 62,
        "arm64" => 183,
        other => panic!("unexpected architecture {other}"),
    };
    let depends = field("Depends").unwrap_or_default();
    for dep in ["libc6", "libstdc++6", "adduser"] {
        assert!(depends.contains(dep), "Depends lacks {dep}: {depends}");
    }

    // Contents, with modes.
    let listing = dpkg_deb(&["-c"], deb);
    let entry = |path: &str| {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" .{path}")))
            .unwrap_or_else(|| panic!("{path} missing from {}:\n{listing}", deb.display()))
            .to_string()
    };
    assert!(entry("/usr/bin/hematovision").starts_with("-rwxr-xr-x"));
    for file in [
        "/usr/share/hematovision/models/hematovision-wbc4.tflite",
        "/usr/share/hematovision/models/labels.txt",
        "/usr/share/hematovision/models/metadata.json",
        "/usr/share/hematovision/models/head.json",
        "/usr/share/hematovision/models/gate.json",
        "/usr/lib/hematovision/libLiteRt.so",
        "/etc/hematovision/hematovision.toml",
        "/lib/udev/rules.d/60-hematovision.rules",
        "/usr/share/hematovision/systemd/station.conf",
    ] {
        assert!(entry(file).starts_with("-rw-r--r--"), "{}", entry(file));
    }
    let unit = [
        "/usr/lib/systemd/system/hematovision.service",
        "/lib/systemd/system/hematovision.service",
    ]
    .into_iter()
    .find(|p| listing.lines().any(|l| l.ends_with(&format!(" .{p}"))))
    .unwrap_or_else(|| panic!("no systemd unit in:\n{listing}"));

    // Control files: the configuration is a conffile; the scripts create the user and groups
    // and enable the unit.
    let info = dpkg_deb(&["-I"], deb);
    for member in ["conffiles", "postinst", "prerm", "postrm"] {
        assert!(
            info.contains(member),
            "dpkg-deb -I lists no {member}:\n{info}"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let control = tmp.path().join("control");
    let out = Command::new("dpkg-deb")
        .arg("-e")
        .arg(deb)
        .arg(&control)
        .status()
        .unwrap();
    assert!(out.success());
    let read = |name: &str| std::fs::read_to_string(control.join(name)).unwrap_or_default();
    assert!(
        read("conffiles")
            .lines()
            .any(|l| l.trim() == "/etc/hematovision/hematovision.toml"),
        "conffiles: {:?}",
        read("conffiles")
    );
    let postinst = read("postinst");
    for needle in [
        "adduser",
        "addgroup",
        "gpio",
        "i2c",
        "video",
        "hematovision.service",
    ] {
        assert!(
            postinst.contains(needle),
            "postinst lacks {needle}:\n{postinst}"
        );
    }
    assert!(!postinst.contains("#DEBHELPER#"), "{postinst}");
    // The unit is enabled exactly once, after the user and groups exist.
    let enable = "deb-systemd-helper enable hematovision.service";
    assert_eq!(postinst.matches(enable).count(), 1, "{postinst}");
    let user_created = postinst.find("adduser --quiet --system").unwrap();
    assert!(user_created < postinst.find(enable).unwrap(), "{postinst}");
    assert!(
        read("prerm").contains("hematovision.service"),
        "{}",
        read("prerm")
    );
    assert!(read("postrm").contains("purge"), "{}", read("postrm"));

    // Files: architecture, configuration, unit, model.
    let root = tmp.path().join("root");
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(&root)
        .status()
        .unwrap();
    assert!(out.success());
    let bin = root.join("usr/bin/hematovision");
    let lib = root.join("usr/lib/hematovision/libLiteRt.so");
    assert_eq!(elf_machine(&bin), machine, "binary of {}", deb.display());
    assert_eq!(
        elf_machine(&lib),
        machine,
        "libLiteRt.so of {}",
        deb.display()
    );
    let conf = root.join("etc/hematovision/hematovision.toml");
    let text = std::fs::read_to_string(&conf).unwrap();
    Config::parse(&text, &conf).unwrap_or_else(|e| panic!("shipped configuration: {e}"));
    let unit_text = std::fs::read_to_string(root.join(unit.trim_start_matches('/'))).unwrap();
    for needle in [
        "Type=notify",
        "WatchdogSec=",
        "User=hematovision",
        "ExecStart=/usr/bin/hematovision run",
    ] {
        assert!(unit_text.contains(needle), "unit lacks {needle}");
    }
    let models = root.join("usr/share/hematovision/models");
    let labels = hematovision::model::metadata::read_labels(&models.join("labels.txt")).unwrap();
    let meta = hematovision::model::metadata::ModelMetadata::parse(
        &std::fs::read_to_string(models.join("metadata.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta.labels, labels);

    // The packaged binary, runtime and model classify a real picture together.
    let runner: Vec<String> = if arch == host_arch() {
        Vec::new()
    } else {
        std::env::var("HV_DEB_RUNNER")
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    if arch != host_arch() && runner.is_empty() {
        eprintln!(
            "{}: {arch} package not run on this {} host (set HV_DEB_RUNNER)",
            deb.display(),
            host_arch()
        );
        return;
    }
    let picture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bccd/JPEGImages/BloodImage_00000.jpg");
    let mut cmd = match runner.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(&bin);
            c
        }
        None => Command::new(&bin),
    };
    let out = cmd
        .arg("classify")
        .arg("--json")
        .arg("--model")
        .arg(models.join("hematovision-wbc4.tflite"))
        .arg("--runtime-library")
        .arg(&lib)
        .arg(&picture)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "packaged classify failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert!(
        labels
            .iter()
            .any(|l| Some(l.as_str()) == line["label"].as_str()),
        "{line}"
    );

    // The packaged daemon drives a real USB camera (the production configuration's source).
    let mut cmd = match runner.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(&bin);
            c
        }
        None => Command::new(&bin),
    };
    let version = cmd.arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.contains("camera:  V4L2"),
        "package built without the v4l2 feature: {version}"
    );
}

#[test]
#[ignore = "needs built packages: set HV_DEB (see the file's doc)"]
fn built_packages_have_everything_the_appliance_needs() {
    let Ok(list) = std::env::var("HV_DEB") else {
        panic!("set HV_DEB to the .deb file(s) built by cross/package.sh");
    };
    let debs: Vec<PathBuf> = list
        .split(':')
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect();
    assert!(!debs.is_empty(), "HV_DEB names no file");
    for deb in debs {
        check_package(&deb);
        println!("{}: OK", deb.display());
    }
}
