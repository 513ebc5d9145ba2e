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
    /// Try again later: another run holds the output, or changed it while this one read it
    /// (`EX_TEMPFAIL` of sysexits.h, which schedulers retry).
    TempFail = 75,
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
    /// The output is busy: another run holds its lock, or changed what this run read. Nothing
    /// was written; running again later succeeds. Exit code 75.
    #[error("{context} ({path})")]
    Busy {
        context: &'static str,
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{context} ({path}): {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The engine failed. Only the kind of failure is shown: the engine's own messages can
    /// quote a cell value (say, of a column whose type it inferred wrongly), and a value of a
    /// protected column must never reach a terminal or a log.
    #[error("{context}: {}", engine_message(.source))]
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
            Error::Busy { .. } => ExitCode::TempFail,
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

/// What may be said of an engine error: I/O failures and missing columns in full (they name
/// paths and columns), anything else by its kind alone.
pub fn engine_message(e: &polars::error::PolarsError) -> String {
    use polars::error::PolarsError as P;
    match e {
        P::IO { error, .. } => format!("I/O error: {error}"),
        P::Context { error, .. } | P::ExprContext { error, .. } => engine_message(error),
        P::ColumnNotFound(msg) => format!("column not found: {msg}"),
        P::NoData(_) => "no data".into(),
        P::SchemaMismatch(_) | P::SchemaFieldNotFound(_) | P::StructFieldNotFound(_) => {
            "the data does not match the expected schema (details withheld: they can quote cell values)".into()
        }
        P::ComputeError(msg) | P::InvalidOperation(msg) if os_error(msg).is_some() => {
            // The writer wraps I/O failures (a full disk) in text; the OS error's number is
            // all that is taken from it.
            let code = os_error(msg).unwrap_or_default();
            format!("I/O error: {}", std::io::Error::from_raw_os_error(code))
        }
        P::ComputeError(_) | P::InvalidOperation(_) | P::OutOfBounds(_) | P::ShapeMismatch(_) => {
            "a computation failed (details withheld: they can quote cell values)".into()
        }
        _ => "internal engine error (details withheld: they can quote cell values)".into(),
    }
}

/// `N` of the last `(os error N)` in an engine message.
fn os_error(msg: &str) -> Option<i32> {
    let (_, rest) = msg.rsplit_once("(os error ")?;
    rest.split_once(')')?.0.parse().ok()
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use polars::error::PolarsError as P;

    #[test]
    fn engine_errors_never_quote_values() {
        let e = Error::Engine {
            context: "tables.activity: writing the output".into(),
            source: P::ComputeError("got non-null value for NULL-typed column: 11450.93".into()),
        };
        let msg = e.to_string();
        assert!(msg.starts_with("tables.activity: writing the output: a computation failed"));
        assert!(!msg.contains("11450.93"), "{msg}");
        let nested = P::ExprContext {
            error: Box::new(P::SchemaMismatch("value 'a@b.kz'".into())),
            expr: "col(x)".into(),
        };
        assert!(!engine_message(&nested).contains("a@b.kz"));
        let io = P::IO {
            error: std::sync::Arc::new(std::io::Error::other("disk full")),
            msg: None,
        };
        assert!(engine_message(&io).contains("disk full"));
        // The writer's wrapped I/O error: the OS error by its number, nothing else of the text.
        let wrapped = P::ComputeError(
            "parquet: underlying IO error: a@b.kz No space left on device (os error 28)".into(),
        );
        let msg = engine_message(&wrapped);
        assert!(
            msg.starts_with("I/O error: No space left on device"),
            "{msg}"
        );
        assert!(!msg.contains("a@b.kz"), "{msg}");
    }
}
