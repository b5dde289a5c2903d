//! `hematovision doctor`: the model check with a real model and runtime, and the command's
//! lines and exit status.

use std::path::{Path, PathBuf};
use std::process::Command;

use hematovision::config::ModelSection;
use hematovision::doctor::{Status, inference};

fn tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/tiny")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn real_model_loads_and_classifies_the_test_image() {
    for model in [
        "tiny_f32.tflite",
        "tiny_int8.tflite",
        "tiny_logits_f32.tflite",
    ] {
        let section = ModelSection {
            path: tiny().join(model),
            runtime_library: None,
            threads: 1,
            views: 8,
            calibration: None,
            unfamiliar_gate: true,
        };
        let checks = inference::check_model(&section);
        let names: Vec<&str> = checks.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            ["runtime", "model", "calibration", "gate", "inference"]
        );
        for c in &checks {
            assert_eq!(c.status, Status::Ok, "{model}: {c}");
        }
        assert!(checks[4].detail.contains("ms"), "{}", checks[4]);
        assert!(checks[3].detail.contains("ships none"), "{}", checks[3]);
        assert!(checks[1].detail.contains("8 views"), "{}", checks[1]);
    }
}

#[test]
fn non_image_model_fails_the_model_line() {
    let section = ModelSection {
        path: tiny().join("non_image.tflite"),
        runtime_library: None,
        threads: 1,
        views: 0,
        calibration: None,
        unfamiliar_gate: true,
    };
    let checks = inference::check_model(&section);
    assert_eq!(checks[0].status, Status::Ok, "{}", checks[0]);
    assert_eq!(checks[1].status, Status::Fail, "{}", checks[1]);
    assert!(checks[1].detail.contains("not an image"), "{}", checks[1]);
    assert_eq!(checks[2].status, Status::Fail);
    assert_eq!(checks[3].status, Status::Fail);
    assert_eq!(checks[4].status, Status::Fail);
}

/// The gate line on the shipped model: in use, turned off by the configuration, or lost.
#[test]
fn the_gate_line_says_whether_unfamiliar_cells_are_kept_out() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let section = |path: PathBuf, on: bool| ModelSection {
        path,
        runtime_library: None,
        threads: 1,
        views: 1,
        calibration: None,
        unfamiliar_gate: on,
    };
    let gate_line = |s: &ModelSection| {
        let checks = inference::check_model(s);
        assert_eq!(checks[4].status, Status::Ok, "{}", checks[4]);
        checks[3].clone()
    };
    let model = shipped.join("hematovision-wbc4.tflite");
    let on = gate_line(&section(model.clone(), true));
    assert_eq!(on.status, Status::Ok, "{on}");
    assert!(on.detail.contains("in use"), "{on}");
    let off = gate_line(&section(model, false));
    assert_eq!(off.status, Status::Warn, "{off}");
    assert!(off.detail.contains("unfamiliar_gate = false"), "{off}");
    // The gate file lost from an installed model: a warning naming the fix.
    let dir = tempfile::tempdir().unwrap();
    for file in [
        "hematovision-wbc4.tflite",
        "labels.txt",
        "metadata.json",
        "head.json",
    ] {
        std::fs::copy(shipped.join(file), dir.path().join(file)).unwrap();
    }
    let lost = gate_line(&section(dir.path().join("hematovision-wbc4.tflite"), true));
    assert_eq!(lost.status, Status::Warn, "{lost}");
    let fix = lost.fix.clone().unwrap_or_default();
    assert!(
        lost.detail.contains("gate.json") && fix.contains("reinstall"),
        "{lost}"
    );
}

fn doctor(config: &Path) -> (i32, Vec<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_hematovision"))
        .args(["doctor", "--config"])
        .arg(config)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    (
        out.status.code().unwrap_or(-1),
        stdout.lines().map(String::from).collect(),
    )
}

/// Every line but the summary is `OK`, `WARN` or `FAIL`, and the exit status is 1 exactly
/// when one of them is `FAIL`.
fn assert_consistent(code: i32, lines: &[String]) {
    let (summary, checks) = lines.split_last().unwrap();
    assert!(summary.starts_with("doctor: "), "{summary}");
    for l in checks {
        assert!(
            l.starts_with("OK ") || l.starts_with("WARN ") || l.starts_with("FAIL "),
            "{l}"
        );
    }
    let failed = checks.iter().any(|l| l.starts_with("FAIL "));
    assert_eq!(code, i32::from(failed), "{lines:#?}");
}

#[test]
fn command_checks_a_simulated_setup_line_by_line() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("hv.toml");
    std::fs::write(
        &config,
        format!(
            "[camera]\nsource = \"replay\"\nreplay_dir = \"{}\"\n\n[model]\npath = \"{}\"\n\
             threads = 1\n\n[storage]\ndata_dir = \"{}\"\n",
            fixtures().join("bccd/JPEGImages").display(),
            tiny().join("tiny_f32.tflite").display(),
            tmp.path().join("data").display()
        ),
    )
    .unwrap();
    std::fs::create_dir(tmp.path().join("data")).unwrap();
    let (code, lines) = doctor(&config);
    assert_consistent(code, &lines);
    for expected in [
        "OK   config ",
        "OK   runtime ",
        "OK   model ",
        "OK   inference ",
        "OK   camera     replay: 12 images",
        "OK   buttons    simulated",
        "OK   display    simulated",
        "OK   data dir ",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "{expected:?} missing from {lines:#?}"
        );
    }
    for name in ["disk", "clock", "groups"] {
        assert!(
            lines.iter().any(|l| l[5..].starts_with(name)),
            "{name} missing from {lines:#?}"
        );
    }
}

#[test]
fn bad_config_and_missing_model_fail_with_exit_status_1() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("hv.toml");
    std::fs::write(&config, "[counting]\ntarget = 0\n").unwrap();
    let (code, lines) = doctor(&config);
    assert_eq!(code, 1);
    assert_consistent(code, &lines);
    assert!(lines[0].starts_with("FAIL config "), "{lines:#?}");
    assert!(lines[0].contains("counting.target"), "{lines:#?}");

    std::fs::write(
        &config,
        format!(
            "[model]\npath = \"{}\"\n",
            tmp.path().join("absent.tflite").display()
        ),
    )
    .unwrap();
    let (code, lines) = doctor(&config);
    assert_eq!(code, 1);
    assert!(
        lines.iter().any(|l| l.starts_with("FAIL model ")),
        "{lines:#?}"
    );
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// In the HIL VM: vivid is a capture device offering YUYV.
#[test]
#[ignore = "needs a V4L2 device: set HV_HIL_VIDEO_DEVICE (vivid in the HIL VM)"]
fn hil_camera_probe_reads_a_real_v4l2_device() {
    use hematovision::doctor::camera;
    let Some(dev) = env("HV_HIL_VIDEO_DEVICE") else {
        panic!("set HV_HIL_VIDEO_DEVICE, e.g. /dev/video0");
    };
    let probe = camera::probe(Path::new(&dev));
    let (caps, formats) = probe.result.clone().unwrap();
    assert!(caps.captures_video(), "{caps:?}");
    assert!(formats.iter().any(|f| f == "YUYV"), "{formats:?}");
    let c = camera::assess(&[probe]);
    assert_ne!(c.status, Status::Fail, "{c}");
}

/// In the HIL VM: a gpio-sim chip and an i2c-stub at 0x3C.
#[test]
#[ignore = "needs devices: set HV_HIL_GPIO_CHIP and HV_HIL_I2C_BUS (the HIL VM)"]
fn hil_buttons_and_display_checks_pass_on_real_devices() {
    use hematovision::config::{ButtonDriver, ButtonsSection};
    use hematovision::doctor::devices;
    use hematovision::hw::button::config::{GpioButtonsConfig, LineRef};
    use hematovision::hw::display::{DisplayConfig, DisplayDriver};
    let (Some(chip), Some(bus)) = (env("HV_HIL_GPIO_CHIP"), env("HV_HIL_I2C_BUS")) else {
        panic!("set HV_HIL_GPIO_CHIP and HV_HIL_I2C_BUS");
    };
    let line: u32 = env("HV_HIL_GPIO_LINE").map_or(0, |v| v.parse().unwrap());
    let buttons = ButtonsSection {
        driver: ButtonDriver::Gpio,
        gpio: GpioButtonsConfig {
            chip,
            line: LineRef::Offset(line),
            ..GpioButtonsConfig::default()
        },
        ..ButtonsSection::default()
    };
    let c = devices::check_buttons(&buttons);
    assert_eq!(c.status, Status::Ok, "{c}");
    let display = DisplayConfig {
        driver: DisplayDriver::Ssd1306,
        bus: PathBuf::from(bus),
        address: 0x3C,
        ..DisplayConfig::default()
    };
    let c = devices::check_display(&display);
    assert_eq!(c.status, Status::Ok, "{c}");
}

/// Issue 18, defect 8: a good installation of the shipped model with simulated devices
/// passes. The int8 model's probabilities sum to 1 only within quantisation steps, and
/// simulated buttons and display need no gpio or i2c group.
#[test]
fn shipped_models_with_simulated_devices_pass_every_check() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    for model in [
        "hematovision-wbc4.tflite",
        "hematovision-wbc4-float32.tflite",
    ] {
        let section = ModelSection {
            path: models.join(model),
            runtime_library: None,
            threads: 1,
            views: 0,
            calibration: None,
            unfamiliar_gate: true,
        };
        let checks = inference::check_model(&section);
        for c in &checks {
            assert_eq!(c.status, Status::Ok, "{model}: {c}");
        }

        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("hv.toml");
        std::fs::write(
            &config,
            format!(
                "[camera]\nsource = \"replay\"\nreplay_dir = \"{}\"\n\n[model]\npath = \"{}\"\n\
                 threads = 1\n\n[storage]\ndata_dir = \"{}\"\n\n[buttons]\ndriver = \"sim\"\n\n\
                 [display]\ndriver = \"sim\"\n",
                fixtures().join("bccd/JPEGImages").display(),
                models.join(model).display(),
                tmp.path().join("data").display()
            ),
        )
        .unwrap();
        std::fs::create_dir(tmp.path().join("data")).unwrap();
        let (code, lines) = doctor(&config);
        assert_consistent(code, &lines);
        for expected in ["OK   inference ", "OK   groups "] {
            assert!(
                lines.iter().any(|l| l.starts_with(expected)),
                "{model}: {expected:?} missing from {lines:#?}"
            );
        }
    }
}
