//! The one error type of the library and the exit code each kind of error maps to.
//!
//! A scheduler reads the exit code, a person reads the message. Messages name the file, the row
//! and the column; they never carry a cell value (a value of a protected column in a log is a
//! leak) and never the key.

use std::path::{Path, PathBuf};

/// Exit codes of the `anonymize` binary: part of its interface with schedulers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// The run succeeded.
    Ok = 0,
    /// Anything not covered below: an I/O failure, a bug.
    Other = 1,
    /// The command line, the job file, a hierarchy file or the key is wrong.
    Usage = 2,
    /// The input data is wrong: missing files, unexpected columns, malformed rows.
    Input = 3,
    /// A privacy constraint cannot be met (k-anonymity within the suppression limit).
    Privacy = 4,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The job file (or a file it points to, or the key) is wrong. Exit code 2.
    #[error("{0}")]
    Job(String),
    /// The input data does not match the job or is malformed. Exit code 3.
    #[error("{0}")]
    Input(String),
    /// k-anonymity (or a later privacy model) cannot be met within the limits. Exit code 4.
    #[error("{0}")]
    Privacy(String),
    /// Reading or writing a file failed.
    #[error("{context} ({path}): {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The engine failed. The message comes from polars; our own plans never put cell values
    /// of protected columns into expressions, so it names columns and operations only.
    #[error("{context}: {source}")]
    Engine {
        context: String,
        source: polars::error::PolarsError,
    },
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Job(_) => ExitCode::Usage,
            Error::Input(_) => ExitCode::Input,
            Error::Privacy(_) => ExitCode::Privacy,
            Error::Io { .. } | Error::Engine { .. } => ExitCode::Other,
        }
    }

    pub fn io(context: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Io {
            context,
            path,
            source,
        }
    }

    pub fn engine(context: impl Into<String>) -> impl FnOnce(polars::error::PolarsError) -> Error {
        let context = context.into();
        move |source| Error::Engine { context, source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
