//! Log output: plain lines on a terminal, syslog level prefixes under systemd.

use std::io::Write;

/// Sets up `log` output on standard error; `RUST_LOG` overrides the level.
pub fn init(verbose: u8) {
    let level = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level));
    if under_journald {
        // journald reads "<N>" prefixes as the message's priority.
        builder.format(|buf, record| {
            let priority = match record.level() {
                log::Level::Error => 3,
                log::Level::Warn => 4,
                log::Level::Info => 6,
                log::Level::Debug | log::Level::Trace => 7,
            };
            writeln!(buf, "<{priority}>{}", record.args())
        });
    }
    builder.init();
}
