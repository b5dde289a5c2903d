//! `hematovision doctor [--config FILE]`: one line per check, exit status 1 on any FAIL.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use hematovision::config::Config;
use hematovision::doctor::{self, Check, Status, camera, devices, inference, system};

/// Unix time of the commit this binary was built from (see build.rs).
const BUILD_EPOCH: &str = env!("HEMATOVISION_BUILD_EPOCH");

/// Runs every check against the real machine and prints the lines as they come.
pub fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let mut checks: Vec<Check> = Vec::new();
    let mut emit = |c: Check| {
        println!("{c}");
        checks.push(c);
    };
    let config = match Config::load(config_path) {
        Ok(config) => {
            emit(Check::ok(
                "config",
                format!("{} is valid", config_path.display()),
            ));
            config
        }
        Err(e) => {
            emit(Check::fail(
                "config",
                format!("{e} (the checks below use the built-in defaults)"),
                format!(
                    "edit the file, then `hematovision check-config {}`",
                    config_path.display()
                ),
            ));
            Config::default()
        }
    };
    for c in inference::check_model(&config.model) {
        emit(c);
    }
    emit(camera::check(&config.camera, Path::new("/dev")));
    emit(devices::check_buttons(&config.buttons));
    emit(devices::check_display(&config.display));
    emit(system::check_data_dir(&config.storage.data_dir));
    emit(system::check_free_space(&config.storage.data_dir));
    emit(system::assess_clock(
        SystemTime::now(),
        BUILD_EPOCH.parse().unwrap_or(0),
        system::time_synchronized(&PathBuf::from("/run/systemd")),
    ));
    emit(system::check_groups(
        Path::new("/etc"),
        &system::needed_groups(&config),
    ));

    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    println!(
        "doctor: {} OK, {} WARN, {} FAIL",
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail)
    );
    Ok(if doctor::worst(&checks) == Status::Fail {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
