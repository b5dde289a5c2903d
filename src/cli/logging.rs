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
    } else {
        // A screen redrawn in place in the terminal must not overwrite a log line.
        builder.target(env_logger::Target::Pipe(Box::new(NotingStderr)));
    }
    builder.init();
}

/// Standard error that tells the terminal display each time a log line is written.
struct NotingStderr;

impl Write for NotingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        hematovision::hw::display::sim::note_other_output();
        std::io::stderr().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
