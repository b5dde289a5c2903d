//! Configuration errors name the key and the reason.

use std::path::Path;

use hematovision::config::{Config, ConfigError};

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("test.toml"))
}

#[test]
fn an_empty_file_gives_the_documented_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c.counting.target, 100);
    assert_eq!(c.counting.confidence_threshold, 0.6);
    assert!(c.storage.save_crops);
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let err = parse("[counting]\ntarget = 100\ntargte = 3\n").unwrap_err();
    match &err {
        ConfigError::Key { key, line, .. } => {
            assert_eq!(key, "counting.targte");
            assert_eq!(*line, 3);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("unknown field"), "{err}");
}

#[test]
fn an_unknown_section_is_named() {
    let err = parse("[camra]\nsource = \"replay\"\n").unwrap_err();
    assert!(err.to_string().contains("`camra`"), "{err}");
}

#[test]
fn a_wrong_type_names_the_key_and_the_expected_type() {
    let err = parse("[counting]\ntarget = \"many\"\n").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("counting.target"), "{msg}");
    assert!(msg.contains("expected u32"), "{msg}");
    let err = parse("[camera]\nsource = \"usb\"\n").unwrap_err();
    assert!(err.to_string().contains("camera.source"), "{err}");
}

#[test]
fn out_of_range_values_name_the_key_and_the_allowed_range() {
    let err = parse("[counting]\ntarget = 0\n").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ConfigError::Invalid { .. }));
    assert!(
        msg.contains("counting.target") && msg.contains("between 1 and 10000"),
        "{msg}"
    );
    let err = parse("[counting]\nconfidence_threshold = 1.5\n").unwrap_err();
    assert!(
        err.to_string().contains("counting.confidence_threshold"),
        "{err}"
    );
    let err = parse("[counting]\nconfidence_threshold = nan\n").unwrap_err();
    assert!(
        err.to_string().contains("counting.confidence_threshold"),
        "{err}"
    );
    let err = parse("[model]\nthreads = 65\n").unwrap_err();
    assert!(err.to_string().contains("model.threads"), "{err}");
    let err = parse("[model]\nviews = 3\n").unwrap_err();
    assert!(
        err.to_string().contains("model.views") && err.to_string().contains("1, 2, 4 or 8"),
        "{err}"
    );
    for views in [0, 1, 2, 4, 8] {
        assert!(parse(&format!("[model]\nviews = {views}\n")).is_ok());
    }
}

#[test]
fn broken_toml_is_a_syntax_error_with_the_position() {
    let err = parse("[counting\n").unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }));
    assert!(err.to_string().contains("line 1"), "{err}");
}

#[test]
fn a_missing_file_names_the_file() {
    let err = Config::load(Path::new("/nonexistent/hv.toml")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("/nonexistent/hv.toml"), "{err}");
}

#[test]
fn relative_paths_are_relative_to_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hv.toml");
    std::fs::write(
        &file,
        "[storage]\ndata_dir = \"data\"\n[model]\npath = \"/abs/m.tflite\"\n",
    )
    .unwrap();
    let c = Config::load(&file).unwrap();
    assert_eq!(c.storage.data_dir, dir.path().join("data"));
    assert_eq!(c.model.path, Path::new("/abs/m.tflite"));
}

#[test]
fn the_production_file_states_the_defaults() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/hematovision.toml");
    let c = Config::load(&file).unwrap();
    let d = Config::default();
    assert_eq!(c.counting, d.counting);
    assert_eq!(c.storage, d.storage);
    assert_eq!(c.model, d.model);
    assert_eq!(c.locator, d.locator);
    assert_eq!(c.camera.v4l2, d.camera.v4l2);
    assert_eq!(c.buttons.gpio, d.buttons.gpio);
    assert_eq!(c.display.bus, d.display.bus);
}

#[test]
fn check_range_refuses_nan() {
    use hematovision::invalid::check_range;
    assert!(check_range("k", f32::NAN, 0.0, 1.0).is_err());
    assert!(check_range("k", 0.5f32, 0.0, 1.0).is_ok());
    assert!(check_range("k", 1.0f32, 0.0, 1.0).is_ok());
    assert!(check_range("k", 0u32, 1, 3).is_err());
}

#[test]
fn the_production_file_states_the_live_defaults() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/hematovision.toml");
    let c = Config::load(&file).unwrap();
    assert_eq!(c.live, hematovision::live::LiveConfig::default());
    let err = parse("[live]\ngate = 9.0\n").unwrap_err();
    assert!(err.to_string().contains("live.gate"), "{err}");
}

// Issue 18, defect 9: check-config must refuse broken files, with the line.

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn a_scan_source_takes_a_known_scan() {
    let c = parse("[camera]\nsource = \"scan\"\nscan = \"back-and-forth\"\n").unwrap();
    assert_eq!(
        c.camera.source,
        hematovision::config::CameraSourceKind::Scan
    );
    let err = parse("[camera]\nsource = \"scan\"\nscan = \"zigzag\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("camera.scan") && err.contains("steady-pans"),
        "{err}"
    );
}

#[test]
fn a_reticle_must_have_exactly_two_numbers() {
    let err = parse("[camera]\nreticle = [1, 2, 3]\n").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("camera.reticle") && msg.contains(":2:"),
        "{msg}"
    );
    assert!(parse("[camera]\nreticle = [1]\n").is_err());
    let c = parse("[camera]\nreticle = [320, 240]\n").unwrap();
    assert_eq!(c.camera.reticle, Some([320, 240]));
}

#[test]
fn out_of_range_errors_carry_the_line() {
    let err = parse("# comment\n\n[counting]\ntarget = 0\n").unwrap_err();
    assert!(err.to_string().starts_with("test.toml:4: "), "{err}");
    let err = parse("[model]\nthreads = 2\nviews = 3\n").unwrap_err();
    assert!(err.to_string().starts_with("test.toml:3: "), "{err}");
}

#[test]
fn a_huge_value_is_not_echoed_whole() {
    let huge = "A".repeat(10 * 1024 * 1024);
    for text in [
        format!("[camera]\nsource = \"{huge}\"\n"),
        format!("[buttons.sim]\npresses = \"{huge}\"\n"),
        format!("[camera]\n{huge} = 1\n"),
        format!("[camera\n{huge}\n"),
    ] {
        let msg = parse(&text).unwrap_err().to_string();
        assert!(msg.len() < 2000, "{} bytes echoed", msg.len());
    }
}

#[test]
fn an_empty_file_and_non_regular_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for text in ["", "  \n\n"] {
        let file = write(dir.path(), "empty.toml", text);
        let err = Config::load(&file).unwrap_err();
        assert!(matches!(err, ConfigError::Empty { .. }), "{err}");
        assert!(
            err.to_string().contains("config/hematovision.toml"),
            "{err}"
        );
    }
    let err = Config::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("a folder"), "{err}");
}

#[test]
fn a_fifo_as_the_configuration_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("config.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // No writer ever opens the FIFO: a plain read would wait for ever.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Config::load(&fifo).map(|_| ()).map_err(|e| e.to_string()));
    });
    let result = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("loading a FIFO hangs");
    let err = result.unwrap_err();
    assert!(
        err.contains("FIFO") && err.contains("regular file"),
        "{err}"
    );
}

#[test]
fn referenced_paths_are_checked_unless_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "m.tflite", "x");
    std::fs::create_dir(dir.path().join("frames")).unwrap();
    let good = "[model]\npath = \"m.tflite\"\n[camera]\nreplay_dir = \"frames\"\n";
    let file = write(dir.path(), "good.toml", good);
    Config::check_file(&file, true).unwrap();
    let cases = [
        (
            "[model]\npath = \"missing.tflite\"\n",
            "model.path",
            2,
            "does not exist",
        ),
        (
            "[model]\npath = \"frames\"\n",
            "model.path",
            2,
            "is a folder",
        ),
        (
            "[model]\npath = \"m.tflite\"\nruntime_library = \"nolib.so\"\n[camera]\nreplay_dir = \"frames\"\n",
            "model.runtime_library",
            3,
            "does not exist",
        ),
        (
            "[model]\npath = \"m.tflite\"\n[camera]\nreplay_dir = \"nowhere\"\n",
            "camera.replay_dir",
            4,
            "does not exist",
        ),
        (
            "[model]\npath = \"m.tflite\"\n[camera]\nreplay_dir = \"m.tflite\"\n",
            "camera.replay_dir",
            4,
            "not a folder",
        ),
        (
            "[model]\npath = \"m.tflite\"\n[camera]\nreplay_dir = \"frames\"\n[storage]\ndata_dir = \"m.tflite\"\n",
            "storage.data_dir",
            6,
            "not a folder",
        ),
    ];
    for (text, key, line, problem) in cases {
        let file = write(dir.path(), "case.toml", text);
        let err = Config::check_file(&file, true).unwrap_err().to_string();
        assert!(
            err.contains(&format!(":{line}: key `{key}`")) && err.contains(problem),
            "{text}\n{err}"
        );
        // For another machine: the paths are not looked at.
        Config::check_file(&file, false).unwrap();
    }
    assert!(model.exists());
}

#[test]
fn classes_outside_the_differential_default_to_erythroblasts_and_are_checked() {
    assert_eq!(
        parse("").unwrap().counting.outside_differential,
        ["ERYTHROBLAST"]
    );
    let c = parse("[counting]\noutside_differential = []\n").unwrap();
    assert!(c.counting.outside_differential.is_empty());
    for bad in ["[\"\"]", "[\"IG\", \"ig\"]"] {
        let err = parse(&format!("[counting]\noutside_differential = {bad}\n")).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { .. }), "{err}");
        assert!(
            err.to_string().contains("counting.outside_differential"),
            "{err}"
        );
    }
    let err = parse("[counting]\noutside_differential = \"ERYTHROBLAST\"\n").unwrap_err();
    assert!(
        err.to_string().contains("counting.outside_differential"),
        "{err}"
    );
}

#[test]
fn missed_frames_are_off_by_default_and_their_limit_is_bounded() {
    let c = parse("").unwrap();
    assert!(!c.storage.keep_missed_frames);
    assert_eq!(c.storage.missed_frames_limit, 100);
    let c = parse("[storage]\nkeep_missed_frames = true\nmissed_frames_limit = 5\n").unwrap();
    assert!(c.storage.keep_missed_frames);
    assert_eq!(c.storage.missed_frames_limit, 5);
    for bad in ["0", "1001"] {
        let err = parse(&format!("[storage]\nmissed_frames_limit = {bad}\n")).unwrap_err();
        assert!(
            err.to_string().starts_with("test.toml:2: ")
                && err.to_string().contains("missed_frames_limit"),
            "{err}"
        );
    }
}
