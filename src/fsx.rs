//! Files written whole or not at all: a temp file in the same directory,
//! written, synced, then renamed over the target, so a crash leaves either the
//! old file or the new one, never half of one.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{anyhow, Context, Result};

/// Writes `bytes` to `path` atomically with exactly `mode`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    write_atomic_owned(path, bytes, mode, None)
}

/// Like [`write_atomic`], and the file belongs to `owner` (uid, gid) from the
/// moment it appears under its name.
pub fn write_atomic_owned(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{}", crate::tr!("not-a-file-path", path.display())))?;
    // One fixed temp name per target: a writer killed mid-way leaves it
    // behind, and the next write of the same file clears it. (A concurrent
    // writer loses its rename, it never renames a half-written file.)
    let tmp = dir.join(format!(".{}.u7s-tmp", name.to_string_lossy()));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .with_context(|| crate::tr!("cannot-create", tmp.display()))?;
        // The umask may have narrowed the mode; set it exactly, through the
        // open file (fchmod), not the path another user could swap.
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
            .with_context(|| crate::tr!("cannot-chmod", tmp.display()))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))
                .with_context(|| crate::tr!("cannot-chown", tmp.display()))?;
        }
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .with_context(|| crate::tr!("cannot-write", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| crate::tr!("cannot-rename", tmp.display(), path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| crate::tr!("cannot-sync", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_whole_files_with_the_exact_mode() {
        let dir = std::env::temp_dir().join(format!("u7s-fsx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new contents", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new contents");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
        // A temp file of a killed writer is cleared by the next write.
        std::fs::write(dir.join(".f.u7s-tmp"), "half").unwrap();
        write_atomic(&path, b"again", 0o600).unwrap();
        assert!(!dir.join(".f.u7s-tmp").exists());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "again");
    }
}
