//! The hardened systemd unit allows exactly what the review station needs when it is on,
//! and nothing when it is off: the base unit has no IP sockets, no host network and binds
//! no port; the station's drop-in (installed by the operator) opens the station's default
//! port on loopback and nothing else. `systemd-analyze` checks both when it is installed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hematovision::config::{Config, StationSection};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `[Service]` settings of a unit file: every value of each key, in order.
fn service(path: &Path) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut section = String::new();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("{line}"));
        if section == "[Service]" {
            out.entry(key.to_string())
                .or_default()
                .push(value.to_string());
        }
    }
    out
}

fn values<'a>(unit: &'a BTreeMap<String, Vec<String>>, key: &str) -> Vec<&'a str> {
    unit.get(key)
        .map(|v| v.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn the_base_unit_allows_no_network_and_the_drop_in_exactly_the_station() {
    let base = service(&root().join("systemd/hematovision.service"));
    assert_eq!(values(&base, "PrivateNetwork"), ["yes"]);
    assert_eq!(values(&base, "RestrictAddressFamilies"), ["AF_UNIX"]);
    assert_eq!(values(&base, "IPAddressDeny"), ["any"]);
    assert_eq!(values(&base, "SocketBindDeny"), ["any"]);
    // setpriority is in @resources, which the base unit denies.
    assert!(
        values(&base, "SystemCallFilter")
            .iter()
            .any(|f| f.starts_with('~') && f.contains("@resources"))
    );
    assert!(values(&base, "IPAddressAllow").is_empty());
    assert!(values(&base, "SocketBindAllow").is_empty());

    // The station is off in production, so the base unit is all it needs.
    let production = Config::load(&root().join("config/hematovision.toml")).unwrap();
    assert!(!production.station.enabled);

    let drop_in = service(&root().join("systemd/station.conf"));
    let port = production
        .station
        .listen
        .parse::<std::net::SocketAddr>()
        .unwrap()
        .port();
    let default_port = StationSection::default()
        .listen
        .parse::<std::net::SocketAddr>()
        .unwrap()
        .port();
    assert_eq!(port, default_port);
    let expected: BTreeMap<String, Vec<String>> = [
        ("PrivateNetwork", "no".to_string()),
        ("RestrictAddressFamilies", "AF_INET AF_INET6".to_string()),
        ("IPAddressAllow", "localhost".to_string()),
        ("SocketBindAllow", format!("tcp:{port}")),
        ("SystemCallFilter", "setpriority".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), vec![v]))
    .collect();
    assert_eq!(drop_in, expected, "the drop-in opens exactly this much");
    let listen = production
        .station
        .listen
        .parse::<std::net::SocketAddr>()
        .unwrap();
    assert!(
        listen.ip().is_loopback(),
        "IPAddressAllow=localhost covers it"
    );
}

/// `systemd-analyze` over the unit (with and without the drop-in), the daemon's path
/// replaced by this build's so that `verify` can find it.
#[test]
fn systemd_analyze_accepts_both_and_rates_them() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: systemd-analyze is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(root().join("systemd/hematovision.service"))
        .unwrap()
        .replace("/usr/bin/hematovision", env!("CARGO_BIN_EXE_hematovision"));
    let path = dir.path().join("hematovision.service");
    std::fs::write(&path, unit).unwrap();
    let analyze = |args: &[&str]| {
        let out = Command::new("systemd-analyze")
            .args(args)
            .arg(&path)
            .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.path().display()))
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("Unknown") && !stderr.contains("ignoring"),
            "{args:?}: {stderr}"
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let exposure = |report: &str| -> f64 {
        let last = report
            .lines()
            .rfind(|l| l.contains("Overall exposure"))
            .unwrap();
        last.split(": ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    analyze(&["verify"]);
    let off = analyze(&["security", "--offline=yes"]);
    assert!(off.contains("✓ PrivateNetwork="), "{off}");
    let off = exposure(&off);

    let drop_ins = dir.path().join("hematovision.service.d");
    std::fs::create_dir(&drop_ins).unwrap();
    std::fs::copy(
        root().join("systemd/station.conf"),
        drop_ins.join("station.conf"),
    )
    .unwrap();
    analyze(&["verify"]);
    let on = analyze(&["security", "--offline=yes"]);
    assert!(
        on.contains("✗ PrivateNetwork="),
        "the drop-in was not read: {on}"
    );
    let on = exposure(&on);
    println!("systemd-analyze security: station off {off}, station on {on}");
    assert!(off <= 1.0 && on <= 2.0 && on > off, "off {off}, on {on}");
}
