//! Reading the files a job names — the job file itself, its lock, hierarchies, erasure lists and
//! the key file — with a bound on how much is read.
//!
//! Why: `std::fs::read` reads until the end, and some paths have none. A hierarchy set to
//! `/dev/zero` (a typo, or a hostile job) exhausted the machine's memory before any check could
//! run. Every job-referenced file is now read through [`read`]: at most its kind's limit, and
//! data files (hierarchies, erasure lists) only when they are regular files. The key file and the
//! job file may come through a pipe (`--key-file <(vault read …)`), so they are only bounded.

use std::io::Read;
use std::path::Path;

/// What may stand at the path besides a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// A regular file (after following links), nothing else: data the job is built from.
    RegularOnly,
    /// Also a pipe or a device: secrets and job files handed over by a process.
    Streams,
}

/// The kinds of file a job reads, with their limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    JobFile,
    Lock,
    Hierarchy,
    ErasureList,
    Key,
}

impl Kind {
    /// The most bytes read. Generous for real files (a hierarchy of every town in the country
    /// is a few megabytes; ten million erased ids are ~200 MB), small where the content is
    /// small by nature (a key is 32 bytes).
    pub fn limit(self) -> u64 {
        const MIB: u64 = 1 << 20;
        match self {
            Kind::JobFile | Kind::Lock => 16 * MIB,
            Kind::Hierarchy => 256 * MIB,
            Kind::ErasureList => 1024 * MIB,
            Kind::Key => 4096,
        }
    }

    fn accept(self) -> Accept {
        match self {
            Kind::JobFile | Kind::Key => Accept::Streams,
            Kind::Lock | Kind::Hierarchy | Kind::ErasureList => Accept::RegularOnly,
        }
    }
}

/// Reads the file at `path`, refusing one that is not of an accepted type for its kind or is
/// longer than the kind's limit. The error is an ordinary I/O error (its message says which
/// rule failed), so callers keep naming the file as they did.
pub fn read(path: &Path, kind: Kind) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "it is a directory",
        ));
    }
    if kind.accept() == Accept::RegularOnly && !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a device, pipe or socket is not read)",
        ));
    }
    let limit = kind.limit();
    let too_long = || {
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("longer than the {} allowed", human(limit)),
        )
    };
    if meta.is_file() && meta.len() > limit {
        return Err(too_long());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_long());
    }
    Ok(bytes)
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_refused_for_data_and_bounded_for_streams() {
        let zero = Path::new("/dev/zero");
        if !zero.exists() {
            return;
        }
        let e = read(zero, Kind::Hierarchy).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("not a regular file"), "{e}");
        // A stream is read up to its limit, then refused: never to the end of /dev/zero.
        let e = read(zero, Kind::Key).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("4096 bytes"), "{e}");
    }

    #[test]
    fn regular_files_are_read_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("key");
        std::fs::write(&ok, vec![b'a'; 4096]).unwrap();
        assert_eq!(read(&ok, Kind::Key).unwrap().len(), 4096);
        std::fs::write(&ok, vec![b'a'; 4097]).unwrap();
        assert_eq!(
            read(&ok, Kind::Key).unwrap_err().kind(),
            std::io::ErrorKind::FileTooLarge
        );
        assert_eq!(
            read(dir.path(), Kind::Hierarchy).unwrap_err().kind(),
            std::io::ErrorKind::IsADirectory
        );
    }
}
