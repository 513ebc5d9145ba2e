//! Private scratch directories under `$TMPDIR`: the repaired copies of inputs with skipped rows
//! (see [`crate::read`]) and the first pass's staged tables (see [`crate::stage`]). Neither may
//! outlive the run: a directory is private (mode 0700), removed when its owner is dropped, and
//! one left by a killed run is removed by the next run that makes one of the same kind.
//!
//! Files are private from the start, too: [`private_by_default`] sets the process's umask to
//! 0077 before anything is written, so that whatever writes a scratch file (polars' sink, a CSV
//! writer, a library we do not control) makes it 0600 and every folder 0700. What is
//! published (the output's partitions and reports, a pinned lock file) is then given the modes
//! the operator's own umask would have given it, with [`publish`].

use std::path::Path;
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The umask the process was started with, before [`private_by_default`].
static OPERATOR_UMASK: OnceLock<u32> = OnceLock::new();

/// Makes every file and folder the process creates private (umask 0077), remembering the
/// operator's umask for [`publish`]. Called first thing in `main`, before any thread starts
/// (the umask belongs to the whole process).
pub fn private_by_default() {
    #[cfg(unix)]
    {
        // SAFETY: umask only swaps the process's file-creation mask.
        let old = unsafe { libc::umask(0o077) };
        let _ = OPERATOR_UMASK.set(old as u32);
    }
}

/// Gives `path` (a file, or a folder and everything in it) the modes the operator's umask
/// gives new files (0666 minus the umask) and folders (0777 minus the umask).
pub fn publish(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        if OPERATOR_UMASK.get().is_none() {
            return Ok(()); // The umask was never changed: modes are already the operator's.
        }
        let meta =
            std::fs::symlink_metadata(path).map_err(Error::io("cannot set the mode of", path))?;
        if !meta.file_type().is_symlink() {
            publish_one(path, meta.is_dir())?;
        }
        if meta.is_dir() {
            let entries =
                std::fs::read_dir(path).map_err(Error::io("cannot set the mode of", path))?;
            for e in entries {
                let e = e.map_err(Error::io("cannot set the mode of", path))?;
                publish(&e.path())?;
            }
        }
    }
    Ok(())
}

/// Creates `dir` and its missing parents, each published (see [`publish`]); returns nothing
/// about those that existed, which are left as they are.
pub fn create_published_dirs(dir: &Path, what: &'static str) -> Result<()> {
    if dir.as_os_str().is_empty() || std::fs::symlink_metadata(dir).is_ok() {
        return std::fs::create_dir_all(dir).map_err(Error::io(what, dir));
    }
    if let Some(parent) = dir.parent() {
        create_published_dirs(parent, what)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => publish_one(dir, true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(Error::Io {
            context: what,
            path: dir.to_path_buf(),
            source: e,
        }),
    }
}

/// Gives one file or folder (not its content) the mode the operator's umask gives new ones.
fn publish_one(path: &Path, is_dir: bool) -> Result<()> {
    #[cfg(unix)]
    if let Some(umask) = OPERATOR_UMASK.get().copied() {
        use std::os::unix::fs::PermissionsExt;
        let mode = if is_dir { 0o777 } else { 0o666 } & !umask;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(Error::io("cannot set the mode of", path))?;
    }
    Ok(())
}

/// A new private directory `$TMPDIR/<prefix><pid>-…`, after removing those of the same prefix
/// whose process is gone. `what` is the error's context.
pub fn private_dir(prefix: &str, what: &'static str) -> Result<tempfile::TempDir> {
    let tmp = std::env::temp_dir();
    remove_orphans(&tmp, prefix);
    // 0700 whatever the umask (tempfile's default mode is 0777 minus the umask).
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(0o700)
    };
    tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .permissions(mode)
        .tempdir_in(&tmp)
        .map_err(Error::io(what, &tmp))
}

/// Removes `<dir>/<prefix><pid>-…` directories whose process is gone (Linux: no `/proc/<pid>`)
/// and that are ours (see [`ours`]).
fn remove_orphans(dir: &Path, prefix: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() && ours(&e.path()) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A real folder (not a link) of this process's user. In a shared `/tmp`, a folder of that
/// name that someone else made is not ours to remove. (Its mode is not asked: folders left by
/// versions before 0700 hold raw input too, and are removed all the same.)
fn ours(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid only reads the process's user id.
        let uid = unsafe { libc::geteuid() };
        std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir() && m.uid() == uid)
    }
    #[cfg(not(unix))]
    {
        std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
    }
}
