//! The simulated display: the real 128x64 screen, printed in the terminal and saved as
//! PNG snapshots.
//!
//! It draws with exactly the code the OLED uses ([`screens::draw`] into a
//! [`Framebuffer`]), so what the demo prints is what the panel would show.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::config::{DisplayConfig, TerminalStyle};
use super::error::DisplayError;
use super::framebuffer::{BUFFER_LEN, Framebuffer, WIDTH};
use super::{Display, Screen, screens};

/// Lines something else wrote to the terminal (log lines), counted so a screen redrawn in
/// place does not overwrite one: a display compares it with the value at its last screen.
static OTHER_OUTPUT: AtomicU64 = AtomicU64::new(0);

/// Tells the terminal display that something else was printed below its screen (the log
/// calls it for every line), so the next screen is printed below instead of over it.
pub fn note_other_output() {
    OTHER_OUTPUT.fetch_add(1, Ordering::Relaxed);
}

/// Scale factor of PNG snapshots (128x64 becomes 512x256).
pub const PNG_SCALE: u32 = 4;
/// File name of the most recent snapshot inside the PNG directory.
pub const LATEST_PNG: &str = "latest.png";

/// A display that renders into a framebuffer, optionally prints each screen to a writer
/// (framed Unicode half blocks) and optionally saves PNG snapshots.
///
/// Snapshots are named `screen-000001.png`, `screen-000002.png`, ... (numbering goes on
/// after the highest one already in the directory) and the last one is also written to
/// `latest.png`. Snapshots are never deleted: the PNG directory is for demos and tests.
pub struct SimDisplay {
    fb: Framebuffer,
    out: Option<Box<dyn Write + Send>>,
    png_dir: Option<PathBuf>,
    next_snapshot: u64,
    style: TerminalStyle,
    /// Compact style on a terminal: move up over the last screen and draw over it.
    in_place: bool,
    /// The picture last printed, so an unchanged one is not printed again (compact style).
    printed: Option<[u8; BUFFER_LEN]>,
    /// Lines the last printed screen took.
    printed_lines: usize,
    /// [`OTHER_OUTPUT`] when the last screen was printed.
    other_output_seen: u64,
}

impl std::fmt::Debug for SimDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimDisplay")
            .field("terminal", &self.out.is_some())
            .field("png_dir", &self.png_dir)
            .field("next_snapshot", &self.next_snapshot)
            .finish()
    }
}

impl SimDisplay {
    /// A simulated display printing to stdout when `terminal` is set (in the full style)
    /// and saving PNGs into `png_dir` when given (the directory is created).
    pub fn new(terminal: bool, png_dir: Option<PathBuf>) -> Result<Self, DisplayError> {
        let out: Option<Box<dyn Write + Send>> = if terminal {
            Some(Box::new(io::stdout()))
        } else {
            None
        };
        Self::build(out, png_dir)
    }

    /// A simulated display from the `[display]` section (`terminal`, `terminal_style`,
    /// `png_dir`); the compact style redraws in place when stdout is a terminal.
    pub fn from_config(config: &DisplayConfig) -> Result<Self, DisplayError> {
        let in_place = io::stdout().is_terminal();
        Ok(Self::new(config.terminal, config.png_dir.clone())?
            .styled(config.terminal_style, in_place))
    }

    /// Prints in `style`; `in_place` (compact style only) draws each screen over the last
    /// with terminal escape codes, for a terminal rather than a file.
    pub fn styled(mut self, style: TerminalStyle, in_place: bool) -> Self {
        self.style = style;
        self.in_place = in_place && style == TerminalStyle::Compact;
        self
    }

    /// A simulated display printing to `writer` (tests, or a log file) instead of stdout.
    pub fn with_writer(
        writer: Box<dyn Write + Send>,
        png_dir: Option<PathBuf>,
    ) -> Result<Self, DisplayError> {
        Self::build(Some(writer), png_dir)
    }

    fn build(
        out: Option<Box<dyn Write + Send>>,
        png_dir: Option<PathBuf>,
    ) -> Result<Self, DisplayError> {
        let mut next_snapshot = 1;
        if let Some(dir) = &png_dir {
            fs::create_dir_all(dir).map_err(|source| DisplayError::PngDir {
                dir: dir.clone(),
                source,
            })?;
            next_snapshot = highest_snapshot(dir) + 1;
        }
        Ok(Self {
            fb: Framebuffer::new(),
            out,
            png_dir,
            next_snapshot,
            style: TerminalStyle::Full,
            in_place: false,
            printed: None,
            printed_lines: 0,
            other_output_seen: 0,
        })
    }

    /// The frame currently shown.
    pub fn framebuffer(&self) -> &Framebuffer {
        &self.fb
    }

    /// Path the next numbered snapshot will be written to, if PNGs are enabled.
    pub fn next_snapshot_path(&self) -> Option<PathBuf> {
        self.png_dir
            .as_ref()
            .map(|d| d.join(snapshot_name(self.next_snapshot)))
    }

    fn print(&mut self) -> Result<(), DisplayError> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        let seen = OTHER_OUTPUT.load(Ordering::Relaxed);
        let other_output = std::mem::replace(&mut self.other_output_seen, seen) != seen;
        let mut text = String::new();
        match self.style {
            TerminalStyle::Full => text.push_str(&framed(&self.fb)),
            TerminalStyle::Compact => {
                // One refresh per change: a screen drawn again unchanged prints nothing.
                if self.printed.as_ref() == Some(self.fb.as_bytes()) {
                    return Ok(());
                }
                if self.in_place && self.printed_lines > 0 && !other_output {
                    // Up over the last screen and clear it (ANSI CUU and ED).
                    text.push_str(&format!("\x1b[{}A\x1b[J", self.printed_lines));
                }
                let screen = compact(&self.fb);
                self.printed_lines = screen.lines().count();
                text.push_str(&screen);
                self.printed = Some(*self.fb.as_bytes());
            }
        }
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(DisplayError::Print)
    }

    fn snapshot(&mut self) -> Result<(), DisplayError> {
        let Some(dir) = self.png_dir.clone() else {
            return Ok(());
        };
        let png = self.fb.to_png(PNG_SCALE).map_err(DisplayError::Encode)?;
        let numbered = dir.join(snapshot_name(self.next_snapshot));
        write_file(&numbered, &png)?;
        self.next_snapshot += 1;
        // Write-then-rename so a viewer polling latest.png never sees half a file.
        let tmp = dir.join(format!("{LATEST_PNG}.tmp"));
        write_file(&tmp, &png)?;
        let latest = dir.join(LATEST_PNG);
        fs::rename(&tmp, &latest).map_err(|source| DisplayError::Snapshot {
            path: latest,
            source,
        })
    }
}

impl Display for SimDisplay {
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        match screens::draw(&mut self.fb, screen) {
            Ok(()) => {}
            Err(never) => match never {},
        }
        self.fb.mark_all_flushed();
        // Both outputs are attempted even if the first fails; the first error is returned.
        let printed = self.print();
        let saved = self.snapshot();
        printed.and(saved)
    }
}

/// The frame as 34 text lines: half blocks inside a box-drawing frame.
pub fn framed(fb: &Framebuffer) -> String {
    boxed(&fb.to_half_blocks(), WIDTH)
}

/// The frame as 18 text lines of 66 columns: braille dots (every pixel) inside a
/// box-drawing frame, small enough for an 80-column terminal.
pub fn compact(fb: &Framebuffer) -> String {
    boxed(&fb.to_braille(), WIDTH / 2)
}

/// `lines` of `width` characters inside a box-drawing frame.
fn boxed(lines: &str, width: usize) -> String {
    let rule: String = "─".repeat(width);
    let mut text = format!("┌{rule}┐\n");
    for line in lines.lines() {
        text.push('│');
        text.push_str(line);
        text.push_str("│\n");
    }
    text.push_str(&format!("└{rule}┘\n"));
    text
}

fn snapshot_name(n: u64) -> String {
    format!("screen-{n:06}.png")
}

/// Highest `screen-NNNNNN.png` number already in `dir` (0 when none).
fn highest_snapshot(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix("screen-")?
                .strip_suffix(".png")?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap_or(0)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), DisplayError> {
    fs::write(path, bytes).map_err(|source| DisplayError::Snapshot {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::display::{Status, TallyView};
    use std::sync::{Arc, Mutex};

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn ready() -> Screen {
        Screen::Status {
            status: Status::Ready,
            tally: Some(TallyView {
                labels: vec!["eosinophil".into(), "lymphocyte".into()],
                outside_differential: Vec::new(),
                counts: vec![1, 2],
                unidentified: 0,
                target: 100,
            }),
        }
    }

    #[test]
    fn prints_a_framed_screen() {
        let out = Shared::default();
        let mut d = SimDisplay::with_writer(Box::new(out.clone()), None).unwrap();
        d.show(&ready()).unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 34);
        assert!(lines[0].starts_with('┌') && lines[33].starts_with('└'));
        assert!(lines[1..33].iter().all(|l| l.chars().count() == 130));
        assert!(text.contains('█') || text.contains('▀'));
        assert!(d.framebuffer().lit_pixels() > 100);
    }

    #[test]
    fn the_compact_style_fits_80_columns_and_prints_each_change_once() {
        let out = Shared::default();
        let mut d = SimDisplay::with_writer(Box::new(out.clone()), None)
            .unwrap()
            .styled(TerminalStyle::Compact, false);
        d.show(&ready()).unwrap();
        d.show(&ready()).unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 18, "the same screen twice is printed once");
        assert!(lines.iter().all(|l| l.chars().count() <= 80), "{text}");
        assert_eq!(lines[1].chars().count(), 66);
        // Every pixel is there: the dots lit are the pixels lit.
        let dots: u32 = text
            .chars()
            .filter(|c| ('\u{2800}'..='\u{28FF}').contains(c))
            .map(|c| (c as u32 - 0x2800).count_ones())
            .sum();
        assert_eq!(dots as usize, d.framebuffer().lit_pixels());
    }

    #[test]
    fn on_a_terminal_the_compact_style_redraws_in_place_unless_a_log_line_came_between() {
        let out = Shared::default();
        let mut d = SimDisplay::with_writer(Box::new(out.clone()), None)
            .unwrap()
            .styled(TerminalStyle::Compact, true);
        let stopped = Screen::Status {
            status: Status::Stopped,
            tally: None,
        };
        d.show(&ready()).unwrap();
        d.show(&stopped).unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(!text.starts_with('\x1b'), "nothing to draw over at first");
        assert_eq!(text.matches("\x1b[18A\x1b[J").count(), 1, "{text:?}");
        out.0.lock().unwrap().clear();
        note_other_output();
        d.show(&ready()).unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains('\x1b'), "a log line is not drawn over");
    }

    #[test]
    fn saves_numbered_snapshots_and_latest() {
        let dir = tempfile::tempdir().unwrap();
        let png_dir = dir.path().join("shots");
        let mut d = SimDisplay::new(false, Some(png_dir.clone())).unwrap();
        d.show(&ready()).unwrap();
        d.show(&Screen::Status {
            status: Status::NoCamera,
            tally: None,
        })
        .unwrap();
        assert!(png_dir.join("screen-000001.png").is_file());
        assert!(png_dir.join("screen-000002.png").is_file());
        let latest = fs::read(png_dir.join(LATEST_PNG)).unwrap();
        assert_eq!(latest, fs::read(png_dir.join("screen-000002.png")).unwrap());
        assert!(!png_dir.join("latest.png.tmp").exists());
        // A restarted display continues the numbering instead of overwriting.
        let d2 = SimDisplay::new(false, Some(png_dir.clone())).unwrap();
        assert_eq!(
            d2.next_snapshot_path(),
            Some(png_dir.join("screen-000003.png"))
        );
    }

    #[test]
    fn unwritable_png_dir_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        fs::write(&file, b"x").unwrap();
        let e = SimDisplay::new(false, Some(file)).unwrap_err().to_string();
        assert!(e.contains("display.png_dir"), "{e}");
    }
}
