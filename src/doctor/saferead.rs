//! Reading a file by absolute path without following a symlink anywhere in
//! it (`ns::nofollow`, the walk every no-follow open of root's shares), so a
//! link planted by u7s-admin (it owns parts of /etc/kubernetes and
//! /etc/podsec on hosts that ran podsec-k8s) makes the read fail instead of
//! reading what it points at. The file must be regular and small.

use std::io::{Error, ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::ns::nofollow::{self, Meta, OpenError};

/// The largest file read this way.
pub const MAX: u64 = 1 << 20;

fn io_error(e: OpenError) -> Error {
    match e {
        OpenError::Missing(_) => Error::new(ErrorKind::NotFound, e.to_string()),
        OpenError::Other(_, err) => err,
        other => Error::new(ErrorKind::InvalidInput, other.to_string()),
    }
}

/// The text of the regular file at `path`; `Ok(None)` when it does not exist.
pub fn read(path: &Path) -> std::io::Result<Option<String>> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io_error(OpenError::NotPlain(path.to_path_buf())));
    };
    let opened = nofollow::open_dir(parent)
        .map_err(io_error)
        .and_then(|dir| nofollow::open_file_in(&dir, name));
    let fd = match opened {
        Ok(fd) => fd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = Meta::of(fd.as_raw_fd())?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidData, "not a regular file"));
    }
    if meta.size > MAX {
        return Err(Error::new(ErrorKind::InvalidData, "too large"));
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(MAX + 1)
        .read_to_end(&mut bytes)?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Error::new(ErrorKind::InvalidData, "not UTF-8"))
}

/// The names in the directory at `path` (no symlink followed on the way).
pub fn list(path: &Path) -> std::io::Result<Vec<String>> {
    let fd = nofollow::open_dir(path).map_err(io_error)?;
    // The fd's own directory, whatever its path has become meanwhile.
    let mut names = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/self/fd/{}", fd.as_raw_fd()))?.flatten() {
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_anywhere_in_the_path_are_refused() {
        let dir = std::env::temp_dir().join(format!("u7s-saferead-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real")).unwrap();
        std::fs::write(dir.join("real/f"), "data").unwrap();
        std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
        std::os::unix::fs::symlink(dir.join("real/f"), dir.join("real/g")).unwrap();
        assert_eq!(read(&dir.join("real/f")).unwrap().as_deref(), Some("data"));
        assert_eq!(read(&dir.join("real/none")).unwrap(), None);
        assert!(read(&dir.join("link/f")).is_err(), "a linked directory");
        assert!(read(&dir.join("real/g")).is_err(), "a linked file");
        assert!(read(&dir.join("real")).is_err(), "a directory");
        assert!(read(Path::new("real/f")).is_err(), "relative");
        assert!(read(&dir.join("real/../real/f")).is_err(), "..");
        assert_eq!(list(&dir.join("real")).unwrap(), ["f", "g"]);
        assert!(list(&dir.join("link")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
