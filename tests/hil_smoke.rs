//! Smoke test of the HIL guest: the virtual devices the other HIL tests drive exist and
//! open as character devices. Ignored by default; `cross/hil.sh` runs it in the VM.

mod hil_support;

use std::fs::OpenOptions;
use std::os::unix::fs::FileTypeExt;

use hil_support::device;

fn assert_opens_as_char_device(var: &str) {
    let path = device(var);
    let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        meta.file_type().is_char_device(),
        "{} is not a character device",
        path.display()
    );
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
}

#[test]
#[ignore = "needs the HIL VM (cross/hil.sh)"]
fn vivid_camera_node_opens() {
    assert_opens_as_char_device("HV_HIL_VIDEO");
}

#[test]
#[ignore = "needs the HIL VM (cross/hil.sh)"]
fn gpio_sim_chip_node_opens() {
    assert_opens_as_char_device("HV_HIL_GPIO_CHIP");
}

#[test]
#[ignore = "needs the HIL VM (cross/hil.sh)"]
fn i2c_stub_bus_node_opens() {
    assert_opens_as_char_device("HV_HIL_I2C_BUS");
}

#[test]
#[ignore = "needs the HIL VM (cross/hil.sh)"]
fn gpio_sim_pull_attribute_takes_both_levels() {
    let pull = device("HV_HIL_GPIO_PULL");
    for level in ["pull-down", "pull-up"] {
        std::fs::write(&pull, level).unwrap_or_else(|e| panic!("{}: {e}", pull.display()));
        let back = std::fs::read_to_string(&pull).unwrap_or_default();
        assert_eq!(back.trim(), level);
    }
}
