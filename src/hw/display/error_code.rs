//! The error codes the screen shows (`ERR J01`), each with the short meaning drawn under
//! it and the fix that `docs/INSTALL.md` (troubleshooting) gives for it.
//!
//! Imports nothing, so whatever raises a code (today only the event loop in `app`) and
//! the screen that draws it can both use it. A test checks that INSTALL.md's table has
//! a row for every code with exactly this text.

/// Something the technician must know failed; shown as `ERR <code>` over its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A count, undo or new slide could not be written to the journal, so it was not
    /// applied (the loop goes on).
    JournalWrite,
    /// The journal cannot be written at start-up; the daemon refuses to start.
    JournalUnwritable,
    /// The model or the counter failed on a cell; nothing was counted.
    CountFailed,
}

impl ErrorCode {
    /// Every code, in the order INSTALL.md lists them.
    pub const ALL: [ErrorCode; 3] = [
        ErrorCode::JournalWrite,
        ErrorCode::JournalUnwritable,
        ErrorCode::CountFailed,
    ];

    /// Longest meaning, in characters: the width of the panel in 6x10 type.
    pub const MEANING_MAX_CHARS: usize = 21;

    /// The code as shown after `ERR ` ("J01"): a letter for the part that failed
    /// (J journal, C count) and a number.
    pub fn code(self) -> &'static str {
        match self {
            ErrorCode::JournalWrite => "J01",
            ErrorCode::JournalUnwritable => "J02",
            ErrorCode::CountFailed => "C01",
        }
    }

    /// What it means, in upper case, at most [`Self::MEANING_MAX_CHARS`] characters, as
    /// drawn under the code.
    pub fn meaning(self) -> &'static str {
        match self {
            ErrorCode::JournalWrite => "LAST PRESS NOT SAVED",
            ErrorCode::JournalUnwritable => "DATA DIR NOT WRITABLE",
            ErrorCode::CountFailed => "CELL NOT COUNTED",
        }
    }

    /// What the technician or the administrator should do (Markdown, one line).
    pub fn fix(self) -> &'static str {
        match self {
            ErrorCode::JournalWrite => {
                "The last count, undo or new slide could not be written to the journal, so \
                 it was not applied; earlier counts are safe. Check free space \
                 (`df -h /var/lib/hematovision`) and the log \
                 (`journalctl -u hematovision -p err`); a full or failing SD card is the \
                 usual cause. Press again once fixed."
            }
            ErrorCode::JournalUnwritable => {
                "The daemon refused to start because the journal folder cannot be written. \
                 Make the data directory writable by the `hematovision` user, remount its \
                 file system read-write, or set `storage.data_dir`; `hematovision doctor` \
                 checks it. systemd retries every 5 s, so the counter comes back by itself."
            }
            ErrorCode::CountFailed => {
                "The model (or the counter) failed on this cell; nothing was counted. Press \
                 again; if it repeats, read the log (`journalctl -u hematovision -p err`) and \
                 run `hematovision doctor`, which runs a test inference."
            }
        }
    }

    /// What the technician at the microscope does about it, in plain words (one line of
    /// `docs/TECHNICIAN.md`; the administrator's fix is [`Self::fix`]).
    pub fn at_the_microscope(self) -> &'static str {
        match self {
            ErrorCode::JournalWrite => {
                "Press again. If it comes back, stop counting this slide by the daemon and \
                 call whoever looks after the counter: the memory card may be full. Counts \
                 shown before are saved."
            }
            ErrorCode::JournalUnwritable => {
                "The counter cannot save counts, so it did not start; it tries again every \
                 5 seconds by itself. If the screen still shows it after a minute, call \
                 whoever looks after the counter."
            }
            ErrorCode::CountFailed => {
                "Nothing was counted for this cell: press again. If it comes back, count by \
                 hand and call whoever looks after the counter."
            }
        }
    }

    /// The code shown as `code` (any case), if it is one of these.
    pub fn from_code(code: &str) -> Option<ErrorCode> {
        Self::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(c.code()), Some(c));
            assert_eq!(ErrorCode::from_code(&c.code().to_lowercase()), Some(c));
            let same = ErrorCode::ALL
                .iter()
                .filter(|o| o.code() == c.code())
                .count();
            assert_eq!(same, 1, "{c} used twice");
        }
        assert_eq!(ErrorCode::from_code("E12"), None);
    }

    #[test]
    fn meanings_fit_the_panel_and_fixes_are_one_line() {
        for c in ErrorCode::ALL {
            let m = c.meaning();
            assert!(
                m.chars().count() <= ErrorCode::MEANING_MAX_CHARS,
                "{c}: {m}"
            );
            assert_eq!(m, m.to_uppercase(), "{c}");
            assert!(!c.fix().contains('\n') && !c.fix().contains('|'), "{c}");
            let t = c.at_the_microscope();
            assert!(
                !t.contains('\n') && !t.contains('|') && !t.contains('`'),
                "{c}"
            );
        }
    }
}
