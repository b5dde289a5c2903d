//! Hardware-in-the-loop, end to end: the real `hematovision` daemon binary with its real
//! backends in the arm64 VM: the V4L2 camera on `vivid`, the GPIO button on `gpio-sim`,
//! the SSD1306 on `i2c-stub`, a real `.tflite` on the aarch64 LiteRT runtime. A press is
//! scripted on the simulated line; the test waits for a counted cell in the journal.
//! Ignored by default; `cross/hil.sh` runs it in the VM. Needs the `v4l2` feature.
#![cfg(feature = "v4l2")]

mod hil_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use hil_support::{device, env};

/// The shipped model if the image holds it, else the small test model (a real 4-class
/// `.tflite` with 32x32 input): both go through the same runtime and code.
fn model() -> PathBuf {
    let dir = device("HV_HIL_MODELS");
    let shipped = dir.join("hematovision-wbc4.tflite");
    if shipped.is_file() {
        return shipped;
    }
    let tiny = dir.join("fixture-tiny/tiny_f32.tflite");
    assert!(tiny.is_file(), "no model in {}", dir.display());
    eprintln!(
        "models/hematovision-wbc4.tflite is not there yet: using {}",
        tiny.display()
    );
    tiny
}

fn counted_cells(data: &Path) -> usize {
    let Ok(dir) = fs::read_dir(data.join("journal")) else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| fs::read_to_string(e.path()).ok())
        .map(|t| t.lines().filter(|l| l.contains("\"cell_counted\"")).count())
        .sum()
}

fn press(pull: &str) {
    fs::write(pull, "pull-down").expect("press");
    sleep(Duration::from_millis(200));
    fs::write(pull, "pull-up").expect("release");
}

#[test]
#[ignore = "needs the HIL VM (cross/hil.sh)"]
fn a_press_on_gpio_counts_a_cell_from_vivid_with_the_real_daemon() {
    let daemon = device("HV_HIL_DAEMON");
    let pull = env("HV_HIL_GPIO_PULL");
    let work = PathBuf::from("/tmp/hil-daemon");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).expect("work dir");
    let data = work.join("data");
    let config = work.join("hematovision.toml");
    // vivid shows colour bars: the cyan and blue bars look like stained nuclei to the
    // locator (bluer and less red than the field), but at 80x480 px they are longer than
    // the default shape limit allows, hence max_aspect.
    let text = format!(
        r#"
[camera]
source = "v4l2"
[camera.v4l2]
device = "{video}"

[model]
path = "{model}"
runtime_library = "{runtime}"
threads = 2

[storage]
data_dir = "{data}"

[buttons]
driver = "gpio"
[buttons.gpio]
chip = "{chip}"
line = 0
active_low = true
bias = "pull-up"

[display]
driver = "ssd1306"
bus = "{bus}"
address = 0x3c

[locator]
max_aspect = 8.0
"#,
        video = env("HV_HIL_VIDEO"),
        model = model().display(),
        runtime = env("HEMATOVISION_LITERT_LIB"),
        data = data.display(),
        chip = env("HV_HIL_GPIO_CHIP"),
        bus = env("HV_HIL_I2C_BUS"),
    );
    fs::write(&config, text).expect("config");
    fs::write(&pull, "pull-up").expect("idle level");
    let log = work.join("daemon.log");
    let mut child = Command::new(&daemon)
        .args(["-v", "run", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(fs::File::create(work.join("daemon.out")).expect("log file"))
        .stderr(fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start the daemon");
    // Press every few seconds until a cell is counted: a press made before the daemon
    // opened its button line is lost, as on a real device.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut presses = 0;
    while counted_cells(&data) == 0 && Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the daemon exited with {status}: {}",
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
        press(&pull);
        presses += 1;
        for _ in 0..30 {
            if counted_cells(&data) > 0 {
                break;
            }
            sleep(Duration::from_millis(100));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let daemon_log = fs::read_to_string(&log).unwrap_or_default();
    let tail: Vec<&str> = daemon_log.lines().rev().take(40).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    eprintln!(
        "{presses} press(es); daemon log (end):\n{}",
        tail.join("\n")
    );
    assert!(counted_cells(&data) >= 1, "no cell counted in the journal");

    let report = Command::new(&daemon)
        .args(["report", "--json", "--data-dir"])
        .arg(&data)
        .output()
        .expect("report");
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("report JSON");
    eprintln!("report: {report}");
}
