//! Private scratch directories under `$TMPDIR`: the repaired copies of inputs with skipped rows
//! (see [`crate::read`]) and the first pass's staged tables (see [`crate::stage`]). Neither may
//! outlive the run: a directory is private (mode 0700), removed when its owner is dropped, and
//! one left by a killed run is removed by the next run that makes one of the same kind.

use std::path::Path;

use crate::error::{Error, Result};

/// A new private directory `$TMPDIR/<prefix><pid>-…`, after removing those of the same prefix
/// whose process is gone. `what` is the error's context.
pub fn private_dir(prefix: &str, what: &'static str) -> Result<tempfile::TempDir> {
    let tmp = std::env::temp_dir();
    remove_orphans(&tmp, prefix);
    // tempfile creates directories with mode 0700.
    tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .tempdir_in(&tmp)
        .map_err(Error::io(what, &tmp))
}

/// Removes `<dir>/<prefix><pid>-…` directories whose process is gone (Linux: no `/proc/<pid>`).
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
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
