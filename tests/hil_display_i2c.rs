//! Hardware-in-the-loop: the OLED backend against a real `/dev/i2c-*`.
//!
//! Ignored by default. In the HIL VM (`modprobe i2c-stub chip_addr=0x3c`), run with
//!
//! ```text
//! HV_HIL_I2C_BUS=/dev/i2c-0 cargo test --test hil_display_i2c -- --ignored
//! ```
//!
//! i2c-stub is SMBus-only, so the backend must pick SMBus I2C block writes. The stub
//! keeps the bytes of each block write in its registers starting at the command byte,
//! so after drawing, registers 0x00.. hold the last command group and 0x40.. the last
//! data block: both are read back and compared with what the driver sent. The SH1106
//! driver addresses each changed page (`0xB0 | page`, column); the SSD1306 goes through
//! the `ssd1306` crate, whose last command group is the page range of the changed area
//! (`0x22 first last`) and whose last data block is the end of that area's last page.

use hematovision::hw::display::config::{DisplayConfig, DisplayDriver};
use hematovision::hw::display::framebuffer::{PAGES, WIDTH};
use hematovision::hw::display::linux_i2c::{LinuxI2c, TransferMode};
use hematovision::hw::display::sh1106::page_address_commands;
use hematovision::hw::display::{Display, Screen, Status, TallyView, open_oled};
use i2cdev::core::I2CDevice;
use i2cdev::linux::LinuxI2CDevice;

fn bus() -> String {
    std::env::var("HV_HIL_I2C_BUS")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("set HV_HIL_I2C_BUS"))
}

#[test]
#[ignore = "needs an I2C bus: set HV_HIL_I2C_BUS (i2c-stub at 0x3C)"]
fn oled_initialises_and_draws_through_the_stub() {
    let bus = bus();
    let t = LinuxI2c::open(bus.as_ref(), 0x3C).unwrap();
    assert_eq!(
        t.mode(),
        TransferMode::SmbusBlock,
        "i2c-stub has no raw I2C"
    );
    drop(t);
    for driver in [DisplayDriver::Ssd1306, DisplayDriver::Sh1106] {
        let config = DisplayConfig {
            driver,
            bus: bus.clone().into(),
            ..DisplayConfig::default()
        };
        let mut oled = open_oled(&config).unwrap();
        let screen = Screen::Result {
            label: "neutrophil".into(),
            confidence: 0.93,
            unsure: false,
            unfamiliar: false,
            cells_in_view: 1,
            tally: TallyView {
                labels: vec!["eosinophil".into(), "neutrophil".into()],
                outside_differential: Vec::new(),
                counts: vec![1, 9],
                unidentified: 0,
                target: 100,
            },
        };
        oled.show(&screen).unwrap();
        let fb = oled.framebuffer().clone();
        assert!(fb.dirty_pages().is_empty());
        // The last page sent is the highest page with content.
        let last = (0..PAGES)
            .rev()
            .find(|&p| fb.page(p).iter().any(|&b| b != 0))
            .unwrap();
        let mut stub = LinuxI2CDevice::new(&bus, 0x3C).unwrap();
        let commands = stub.smbus_read_i2c_block_data(0x00, 3).unwrap();
        if driver == DisplayDriver::Sh1106 {
            assert_eq!(commands, page_address_commands(last as u8));
            let data = stub.smbus_read_i2c_block_data(0x40, 32).unwrap();
            assert_eq!(data, fb.page(last)[WIDTH - 32..].to_vec());
        } else {
            // The changed area of a first screen is the bounding box of its lit pixels.
            let first = (0..PAGES)
                .find(|&p| fb.page(p).iter().any(|&b| b != 0))
                .unwrap();
            let lit = |x: usize| (0..PAGES).any(|p| fb.page(p)[x] != 0);
            let x0 = (0..WIDTH).find(|&x| lit(x)).unwrap();
            let x1 = (0..WIDTH).rev().find(|&x| lit(x)).unwrap();
            assert_eq!(commands, vec![0x22, first as u8, last as u8]);
            let area = &fb.page(last)[x0..=x1];
            let tail = area.chunks(32).last().unwrap();
            let data = stub
                .smbus_read_i2c_block_data(0x40, tail.len() as u8)
                .unwrap();
            assert_eq!(data, tail.to_vec());
        }
        // Nothing changed: nothing is sent.
        oled.show(&screen).unwrap();
        let again = Screen::Status {
            status: Status::Ready,
            tally: None,
        };
        oled.show(&again).unwrap();
    }
}

#[test]
#[ignore = "needs an I2C bus: set HV_HIL_I2C_BUS (i2c-stub at 0x3C)"]
fn wrong_address_is_an_error_not_a_panic() {
    let config = DisplayConfig {
        driver: DisplayDriver::Ssd1306,
        bus: bus().into(),
        address: 0x3D,
        ..DisplayConfig::default()
    };
    let e = open_oled(&config)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(!e.is_empty(), "nothing is at 0x3D on the stub");
}
