//! Writing a whole file durably: the crop a journal line names must be on the storage
//! device before that line is, or a power cut can leave a counted cell pointing at an
//! empty picture.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::error::StoreError;
use super::files::sync_dir;

/// Writes `bytes` to `path` so that, once this returns, the file and its name survive a
/// power cut: written to a temporary file beside it, fsync'd, renamed over `path`, and the
/// folder fsync'd. Creates missing folders (and makes their entries durable too). On
/// failure `path` is unchanged and no temporary file is left.
pub fn write_file_durably(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_dirs_durably(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .map_err(|e| StoreError::io("write", &tmp, e))
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| StoreError::io("rename", path, e)));
    if let Err(e) = written {
        if let Err(rm) = fs::remove_file(&tmp)
            && rm.kind() != std::io::ErrorKind::NotFound
        {
            log::warn!("cannot remove {}: {rm}", tmp.display());
        }
        return Err(e);
    }
    sync_dir(dir)
}

/// Creates `dir` and its missing parents, syncing each parent whose entries changed.
fn create_dirs_durably(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dirs_durably(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(StoreError::io("create", dir, e)),
    }
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_file_and_its_folders_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crops").join("s1").join("00001.jpg");
        write_file_durably(&path, b"abc").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"abc");
        write_file_durably(&path, b"defg").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"defg");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("00001.jpg")]);
    }
}
