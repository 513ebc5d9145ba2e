//! `anonymize sample`: writes synthetic `users` and `activity` exports in the upstream
//! contract, for trying jobs, tests and benchmarks. Deterministic for a seed and end date.
//!
//! Example:
//! ```text
//! $ anonymize sample --users 3000 --events 30000 --seed 7 --until 2026-11-01 --out sample_data
//! ```

use std::path::PathBuf;

use clap::ValueEnum;

use crate::error::Error;
use crate::sample::{SampleError, SampleFormat, SampleOptions};

/// Write synthetic users and activity exports.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  anonymize sample --users 3000 --events 30000 --seed 7 --out sample_data"
)]
pub struct Args {
    /// Number of users.
    #[arg(long)]
    pub users: u64,
    /// Number of activity events.
    #[arg(long)]
    pub events: u64,
    /// Random seed: the same seed, counts and end date give the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Last day of the six years of events (YYYY-MM-DD). Default: today.
    #[arg(long, value_parser = super::parse_date)]
    pub until: Option<chrono::NaiveDate>,
    /// File format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Output directory; `users/` and `activity/` are created in it.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Ndjson,
    Parquet,
}

pub fn execute(a: Args) -> Result<(), Error> {
    let opts = SampleOptions {
        users: a.users,
        events: a.events,
        seed: a.seed,
        until: a.until.unwrap_or_else(|| chrono::Local::now().date_naive()),
        format: match a.format {
            Format::Csv => SampleFormat::Csv,
            Format::Ndjson => SampleFormat::Ndjson,
            Format::Parquet => SampleFormat::Parquet,
        },
    };
    let summary = crate::sample::generate(&opts, &a.out).map_err(|e| match e {
        SampleError::InvalidOptions(msg) => Error::Job(format!("sample: {msg}")),
        SampleError::Io { path, source } => Error::Io {
            context: "cannot write the sample",
            path,
            source,
        },
        SampleError::Polars { path, source } => Error::Engine {
            context: format!("cannot write the sample {}", path.display()),
            source,
        },
    })?;
    tracing::info!(
        users = summary.users,
        events = summary.events,
        files = summary.files.len(),
        out = %a.out.display(),
        "wrote sample exports"
    );
    Ok(())
}
