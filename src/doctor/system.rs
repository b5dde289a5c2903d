//! Checks of the machine itself: the data directory, free disk space, the clock and the
//! groups that give the service its devices.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Check;
use crate::config::{ButtonDriver, CameraSourceKind, Config};
use crate::hw::display::DisplayDriver;
use crate::sys::disk_space;

// The journal's space thresholds, owned by the store and judged here too.
pub use crate::store::{DISK_FAIL_BYTES, DISK_WARN_BYTES};

/// Groups whose devices the service may use: camera, GPIO chips, I2C buses (the systemd
/// unit's `SupplementaryGroups=`).
pub const DEVICE_GROUPS: [&str; 3] = ["video", "gpio", "i2c"];
/// The system user the service runs as.
pub const SERVICE_USER: &str = "hematovision";

/// The data directory exists and a file can be created, written, synced and removed in it.
pub fn check_data_dir(dir: &Path) -> Check {
    const NAME: &str = "data dir";
    let fix_owner = format!(
        "make it writable by the service user: sudo chown -R {SERVICE_USER}: {}, or set \
         storage.data_dir (run doctor as that user: sudo -u {SERVICE_USER} hematovision doctor)",
        dir.display()
    );
    match fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Check::warn(
                NAME,
                format!("{} does not exist yet", dir.display()),
                "systemd creates /var/lib/hematovision when the service starts \
                 (StateDirectory=); elsewhere create it or fix storage.data_dir",
            );
        }
        Err(e) => {
            return Check::fail(
                NAME,
                format!("cannot read {}: {e}", dir.display()),
                fix_owner,
            );
        }
        Ok(m) if !m.is_dir() => {
            return Check::fail(
                NAME,
                format!("{} is not a directory", dir.display()),
                "point storage.data_dir at a directory",
            );
        }
        Ok(_) => {}
    }
    let probe = dir.join(format!(".doctor-probe-{}", std::process::id()));
    let result = fs::File::create(&probe).and_then(|mut f| {
        f.write_all(b"hematovision doctor\n")?;
        f.sync_all()
    });
    let _ = fs::remove_file(&probe);
    match result {
        Ok(()) => Check::ok(NAME, format!("{} is writable", dir.display())),
        Err(e) => Check::fail(
            NAME,
            format!("cannot write in {}: {e}", dir.display()),
            fix_owner,
        ),
    }
}

/// Judges free space against [`DISK_FAIL_BYTES`] and [`DISK_WARN_BYTES`].
pub fn assess_free_space(path: &Path, available: u64, total: u64) -> Check {
    const NAME: &str = "disk";
    let mib = |b: u64| b / (1024 * 1024);
    let detail = format!(
        "{} MiB free of {} MiB on the file system of {}",
        mib(available),
        mib(total),
        path.display()
    );
    let fix = "free space: sudo journalctl --vacuum-size=50M, remove old crops from the data \
               directory's crops/ folder after exporting the reports, or use a larger SD card";
    if available < DISK_FAIL_BYTES {
        Check::fail(NAME, detail, fix)
    } else if available < DISK_WARN_BYTES {
        Check::warn(NAME, detail, fix)
    } else {
        Check::ok(NAME, detail)
    }
}

/// Free space where the journal is written.
pub fn check_free_space(path: &Path) -> Check {
    match disk_space(path) {
        Ok((available, total)) => assess_free_space(path, available, total),
        Err(e) => Check::fail(
            "disk",
            format!("cannot measure free space at {}: {e}", path.display()),
            "check that storage.data_dir is on a mounted file system",
        ),
    }
}

/// Calendar year of a Unix time (UTC).
pub fn year_of(unix_seconds: u64) -> i64 {
    // Days since 1970-01-01 to civil year (Howard Hinnant's algorithm).
    let days = (unix_seconds / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

/// The clock against the time the software was built. A Raspberry Pi has no battery clock
/// (the Pi 5 only with a battery fitted): offline, it resumes from the last saved time after
/// a power cut, so wall-clock timestamps in the journal may be wrong.
///
/// `synchronized` is whether the system reports network time sync (`None`: unknown).
pub fn assess_clock(now: SystemTime, build_unix: u64, synchronized: Option<bool>) -> Check {
    const NAME: &str = "clock";
    let set_fix = "set the date (sudo date -s '2026-01-31 14:00'), then keep it: a battery \
                   on the Pi 5's RTC connector, an RTC module, or network time when available";
    let now_unix = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let (now_year, build_year) = (year_of(now_unix), year_of(build_unix));
    let detail = format!("system time is {} UTC", format_utc(now_unix));
    if now_year < build_year {
        return Check::fail(
            NAME,
            format!("{detail}, before this software was built ({build_year})"),
            set_fix,
        );
    }
    if now_unix + 86_400 < build_unix {
        return Check::warn(
            NAME,
            format!("{detail}, earlier than this software's build date"),
            set_fix,
        );
    }
    match synchronized {
        Some(false) => Check::warn(
            NAME,
            format!("{detail}; not synchronised with network time"),
            "check the date once a week against a watch: journal times come from this clock",
        ),
        _ => Check::ok(NAME, detail),
    }
}

/// `YYYY-MM-DD HH:MM` of a Unix time.
pub fn format_utc(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        year_of(unix_seconds),
        month,
        day,
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// Whether systemd-timesyncd reports the clock synchronised (`None` when it does not run).
pub fn time_synchronized(run_dir: &Path) -> Option<bool> {
    if !run_dir.join("timesync").exists() {
        return None;
    }
    Some(run_dir.join("timesync/synchronized").exists())
}

/// One entry of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
    /// Users listed as members.
    pub members: Vec<String>,
}

/// Parses `/etc/group` text; malformed lines are skipped.
pub fn parse_groups(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let mut f = line.split(':');
            let name = f.next()?.trim();
            let _password = f.next()?;
            let gid = f.next()?.trim().parse().ok()?;
            let members = f
                .next()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(String::from)
                .collect();
            (!name.is_empty()).then(|| GroupEntry {
                name: name.to_string(),
                gid,
                members,
            })
        })
        .collect()
}

/// Primary group id of `user` in `/etc/passwd` text, if the user exists.
pub fn passwd_primary_gid(text: &str, user: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 4 && f[0] == user)
            .then(|| f[3].parse().ok())
            .flatten()
    })
}

/// The device groups the configured hardware needs: `video` for a V4L2 camera, `gpio` for
/// GPIO buttons, `i2c` for an OLED display. Simulated devices and replayed frames need none.
pub fn needed_groups(config: &Config) -> Vec<&'static str> {
    let mut needed = Vec::new();
    if config.camera.source == CameraSourceKind::V4l2 {
        needed.push("video");
    }
    if config.buttons.driver != ButtonDriver::Sim {
        needed.push("gpio");
    }
    if config.display.driver != DisplayDriver::Sim {
        needed.push("i2c");
    }
    needed
}

/// The groups of the configured devices (`needed`, see [`needed_groups`]) exist, and the
/// service user (when present) is in them.
///
/// `systemd` refuses to start a unit whose `SupplementaryGroups=` names a missing group, so
/// a missing group is a failure; a service user outside the groups only matters when doctor
/// or the daemon are run by hand as that user, so it is a warning.
pub fn assess_groups(
    groups: &[GroupEntry],
    needed: &[&str],
    service_user_gid: Option<u32>,
) -> Check {
    const NAME: &str = "groups";
    if needed.is_empty() {
        return Check::ok(
            NAME,
            "none needed: the camera, buttons and display are replayed or simulated",
        );
    }
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|g| !groups.iter().any(|e| e.name == *g))
        .collect();
    if !missing.is_empty() {
        return Check::fail(
            NAME,
            format!("missing group(s): {}", missing.join(", ")),
            format!(
                "sudo groupadd --system {} (the Debian package's postinst does this), then add \
                 the udev rules from the package",
                missing.join(" && sudo groupadd --system ")
            ),
        );
    }
    let Some(primary) = service_user_gid else {
        return Check::warn(
            NAME,
            format!(
                "groups {} exist; no `{SERVICE_USER}` user",
                needed.join(", ")
            ),
            "install the Debian package (it creates the user), or run the daemon as a user \
             in those groups",
        );
    };
    let outside: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|g| {
            groups
                .iter()
                .find(|e| e.name == *g)
                .is_some_and(|e| e.gid != primary && !e.members.iter().any(|m| m == SERVICE_USER))
        })
        .collect();
    if outside.is_empty() {
        Check::ok(NAME, format!("{SERVICE_USER} is in {}", needed.join(", ")))
    } else {
        Check::warn(
            NAME,
            format!(
                "{SERVICE_USER} is not in {} (the service still gets them from \
                 SupplementaryGroups=)",
                outside.join(", ")
            ),
            format!("sudo usermod -aG {} {SERVICE_USER}", needed.join(",")),
        )
    }
}

/// Reads `/etc/group` and `/etc/passwd` under `etc` and runs [`assess_groups`] for the
/// `needed` groups.
pub fn check_groups(etc: &Path, needed: &[&str]) -> Check {
    let groups = match fs::read_to_string(etc.join("group")) {
        Ok(text) => parse_groups(&text),
        Err(e) => {
            return Check::fail(
                "groups",
                format!("cannot read {}: {e}", etc.join("group").display()),
                "check the system's user database",
            );
        }
    };
    let gid = fs::read_to_string(etc.join("passwd"))
        .ok()
        .and_then(|text| passwd_primary_gid(&text, SERVICE_USER));
    assess_groups(&groups, needed, gid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn data_dir_writable_missing_and_not_a_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let c = check_data_dir(tmp.path());
        assert_eq!(c.status, Status::Ok, "{c}");
        // No probe file is left behind.
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);

        let c = check_data_dir(&tmp.path().join("absent"));
        assert_eq!(c.status, Status::Warn, "{c}");

        let file = tmp.path().join("file");
        fs::write(&file, b"x").unwrap();
        let c = check_data_dir(&file);
        assert_eq!(c.status, Status::Fail, "{c}");
        assert!(c.detail.contains("not a directory"), "{c}");
    }

    #[test]
    fn read_only_data_dir_fails_with_the_chown_fix() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ro");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
        let c = check_data_dir(&dir);
        // root ignores permission bits; everyone else must get the failure.
        if !crate::sys::is_root() {
            assert_eq!(c.status, Status::Fail, "{c}");
            assert!(c.fix.as_deref().unwrap_or("").contains("chown"), "{c}");
        } else {
            assert_eq!(c.status, Status::Ok, "{c}");
        }
    }

    #[test]
    fn free_space_thresholds() {
        let p = Path::new("/var/lib/hematovision");
        assert_eq!(assess_free_space(p, 0, 1 << 30).status, Status::Fail);
        assert_eq!(
            assess_free_space(p, DISK_FAIL_BYTES, 1 << 30).status,
            Status::Warn
        );
        assert_eq!(
            assess_free_space(p, DISK_WARN_BYTES, 1 << 32).status,
            Status::Ok
        );
    }

    #[test]
    fn years_and_dates_are_civil_utc() {
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(951_782_400), 2000); // 2000-02-29
        assert_eq!(format_utc(951_782_400 + 3600 + 120), "2000-02-29 01:02");
        assert_eq!(format_utc(1_767_225_599), "2025-12-31 23:59");
        assert_eq!(year_of(1_767_225_600), 2026);
    }

    #[test]
    fn clock_before_the_build_year_fails() {
        let build = 1_767_225_600 + 100 * 86_400; // April 2026
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        // A Pi that booted without an RTC and network: 1970 or last year.
        assert_eq!(assess_clock(at(0), build, None).status, Status::Fail);
        assert_eq!(
            assess_clock(at(1_767_225_599), build, None).status,
            Status::Fail
        );
        // Same year but weeks before the build: suspicious.
        assert_eq!(
            assess_clock(at(1_767_225_600), build, None).status,
            Status::Warn
        );
        assert_eq!(
            assess_clock(at(build + 86_400 * 30), build, Some(true)).status,
            Status::Ok
        );
        let c = assess_clock(at(build + 86_400 * 30), build, Some(false));
        assert_eq!(c.status, Status::Warn, "{c}");
    }

    #[test]
    fn timesync_state_from_run_dir() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(time_synchronized(tmp.path()), None);
        fs::create_dir(tmp.path().join("timesync")).unwrap();
        assert_eq!(time_synchronized(tmp.path()), Some(false));
        fs::write(tmp.path().join("timesync/synchronized"), b"").unwrap();
        assert_eq!(time_synchronized(tmp.path()), Some(true));
    }

    const GROUPS: &str = "root:x:0:\nvideo:x:44:pi,hematovision\ngpio:x:997:hematovision\n\
                          i2c:x:998:\nhematovision:x:990:\nbroken line\n";

    #[test]
    fn group_file_parsing() {
        let g = parse_groups(GROUPS);
        assert_eq!(g.len(), 5);
        assert_eq!(g[1].members, vec!["pi", "hematovision"]);
        assert_eq!(g[3].members, Vec::<String>::new());
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      hematovision:x:990:990::/var/lib/hematovision:/usr/sbin/nologin\n";
        assert_eq!(passwd_primary_gid(passwd, "hematovision"), Some(990));
        assert_eq!(passwd_primary_gid(passwd, "pi"), None);
    }

    #[test]
    fn groups_missing_user_outside_and_complete() {
        let mut g = parse_groups(GROUPS);
        let c = assess_groups(&g, &DEVICE_GROUPS, Some(990));
        assert_eq!(c.status, Status::Warn, "{c}");
        assert!(c.detail.contains("i2c"), "{c}");
        g[3].members.push("hematovision".into());
        assert_eq!(
            assess_groups(&g, &DEVICE_GROUPS, Some(990)).status,
            Status::Ok
        );
        assert_eq!(assess_groups(&g, &DEVICE_GROUPS, None).status, Status::Warn);
        g.retain(|e| e.name != "gpio");
        let c = assess_groups(&g, &DEVICE_GROUPS, Some(990));
        assert_eq!(c.status, Status::Fail, "{c}");
        assert!(c.fix.unwrap().contains("groupadd --system gpio"));
    }

    #[test]
    fn groups_from_fake_etc() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(
            check_groups(tmp.path(), &DEVICE_GROUPS).status,
            Status::Fail
        );
        fs::write(tmp.path().join("group"), GROUPS).unwrap();
        let c = check_groups(tmp.path(), &DEVICE_GROUPS);
        assert_eq!(c.status, Status::Warn, "{c}");
    }

    #[test]
    fn only_the_configured_devices_need_their_groups() {
        let mut config = Config::default();
        config.camera.source = CameraSourceKind::Replay;
        config.buttons.driver = ButtonDriver::Sim;
        config.display.driver = DisplayDriver::Sim;
        assert!(needed_groups(&config).is_empty());
        // Issue 18, defect 8: a simulated setup on a machine with no gpio or i2c group.
        let g = parse_groups("root:x:0:\nvideo:x:44:\n");
        let c = assess_groups(&g, &needed_groups(&config), None);
        assert_eq!(c.status, Status::Ok, "{c}");
        config.buttons.driver = ButtonDriver::Gpio;
        assert_eq!(needed_groups(&config), ["gpio"]);
        let c = assess_groups(&g, &needed_groups(&config), None);
        assert_eq!(c.status, Status::Fail, "{c}");
        assert!(
            c.detail.contains("gpio") && !c.detail.contains("i2c"),
            "{c}"
        );
        config.camera.source = CameraSourceKind::V4l2;
        config.display.driver = DisplayDriver::Ssd1306;
        assert_eq!(needed_groups(&config), DEVICE_GROUPS);
    }
}
