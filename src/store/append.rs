//! Appending one line so that it is either wholly durable or not there at all.
//!
//! Kept apart from the file handling so that tests can drive it with a writer that fails
//! the way a full disk does (part of the bytes written, then `ENOSPC`).

use std::fs::File;
use std::io::{self, Write};

/// What the journal needs from the file it appends to.
pub trait JournalFile {
    /// Appends all of `bytes` at the end of the file (may write part of them and fail).
    fn append_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Waits until everything appended is on the storage device.
    fn sync(&mut self) -> io::Result<()>;
    /// Cuts the file back to `len` bytes and waits until that is on the storage device.
    fn cut_back(&mut self, len: u64) -> io::Result<()>;
}

impl JournalFile for File {
    fn append_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }

    fn cut_back(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)?;
        self.sync_all()
    }
}

/// Why an append failed, and whether undoing it failed too.
#[derive(Debug)]
pub struct AppendFailure {
    /// `write` or `sync`.
    pub stage: &'static str,
    /// The error of the append.
    pub source: io::Error,
    /// The error of cutting the file back, if that failed too (the file may then end
    /// with a fragment of the line).
    pub rollback: Option<io::Error>,
}

/// Appends `line` (one complete line, ending in `\n`) to a file whose first `good_len`
/// bytes are complete lines, and makes it durable. Returns the new good length.
///
/// On failure the file is cut back to `good_len`, so nothing of the line stays behind to
/// be merged with the next one.
pub fn append_line(
    file: &mut impl JournalFile,
    good_len: u64,
    line: &[u8],
) -> Result<u64, AppendFailure> {
    let result = file
        .append_all(line)
        .map_err(|e| ("write", e))
        .and_then(|()| file.sync().map_err(|e| ("sync", e)));
    match result {
        Ok(()) => Ok(good_len + line.len() as u64),
        Err((stage, source)) => Err(AppendFailure {
            stage,
            source,
            rollback: file.cut_back(good_len).err(),
        }),
    }
}
