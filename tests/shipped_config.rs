//! The production configuration the Debian package installs as a conffile must load, and
//! must point at the places the package and the systemd unit use.

use std::path::Path;

use hematovision::config::{ButtonDriver, CameraSourceKind, Config};
use hematovision::hw::display::DisplayDriver;

#[test]
fn production_config_loads_and_matches_the_package_layout() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/hematovision.toml");
    let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.camera.source, CameraSourceKind::V4l2);
    assert_eq!(
        c.model.path,
        Path::new("/usr/share/hematovision/models/hematovision-wbc4.tflite")
    );
    // StateDirectory=hematovision in systemd/hematovision.service.
    assert_eq!(c.storage.data_dir, Path::new("/var/lib/hematovision"));
    assert_eq!(c.buttons.driver, ButtonDriver::Gpio);
    assert_eq!(c.display.driver, DisplayDriver::Ssd1306);
    assert!(!c.display.terminal, "no terminal under systemd");
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/hematovision.service"),
    )
    .unwrap();
    assert!(unit.contains("StateDirectory=hematovision\n"));
    assert!(unit.contains("--config /etc/hematovision/hematovision.toml"));
}
