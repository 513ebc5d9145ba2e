//! Synthetic raw exports for `anonymize sample`: a made-up Kazakhstan e-commerce company's
//! registered users and their web activity, realistic enough to exercise every step of the
//! pipeline (Cyrillic names and cities, e-mails hidden in URLs, carrier-shaped IP addresses,
//! quoted user agents, dirty and missing values, several years of data split by year) and
//! large enough to measure it, without ever touching real personal data.
//!
//! Output is a pure function of [`SampleOptions`]: the same options give byte-identical files.
//! Rows are streamed to their files as they are generated, so memory depends on the number of
//! users (a few dozen bytes each), never on the number of events.
//!
//! Layout under `out`: `users/users.<ext>` and `activity/activity-YYYY.<ext>`, one activity file
//! per calendar year of the six-year window before [`SampleOptions::until`].

mod activity;
mod names;
mod sink;
mod users;

use std::fmt::Write as _;
use std::io;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Days, Months, NaiveDate};
use polars::prelude::PolarsError;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use activity::*;
use names::{CARRIERS, CITIES, City, KAZAKHTELECOM};
use sink::RowSink;
use users::*;

/// File format of the generated exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    Csv,
    Ndjson,
    Parquet,
}

impl SampleFormat {
    /// File extension used for this format (`csv`, `ndjson`, `parquet`).
    pub fn extension(self) -> &'static str {
        match self {
            SampleFormat::Csv => "csv",
            SampleFormat::Ndjson => "ndjson",
            SampleFormat::Parquet => "parquet",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOptions {
    pub users: u64,
    pub events: u64,
    pub seed: u64,
    /// Events and registrations fall in the [`WINDOW_DAYS`] days before this date (exclusive).
    pub until: NaiveDate,
    pub format: SampleFormat,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSummary {
    pub users: u64,
    pub events: u64,
    /// Every file written: the users file first, then the activity files by year.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("invalid sample options: {0}")]
    InvalidOptions(String),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {source}", path.display())]
    Polars { path: PathBuf, source: PolarsError },
}

/// Six years (including one or two leap days), so that about one sixth of the events is older
/// than five years — what a five-year retention rule has to drop.
const WINDOW_DAYS: u64 = 2191;
const FIRST_USER_ID: u64 = 1_000_001;

const USER_COLUMNS: &[&str] = &[
    "user_id",
    "full_name",
    "email",
    "phone",
    "birth_date",
    "gender",
    "city",
    "registered_at",
];
const ACTIVITY_COLUMNS: &[&str] = &[
    "event_id",
    "user_id",
    "ts",
    "event_type",
    "url",
    "ip",
    "cookie_id",
    "user_agent",
    "carrier",
    "amount_kzt",
];

/// Event ranks are drawn as `users * u^ACTIVITY_SKEW`: with 2.5 the busiest 1 % of users make
/// about a sixth of the events and the busiest 10 % about 40 %, like real shop traffic.
const ACTIVITY_SKEW: f64 = 2.5;

/// Independent random streams, so that e.g. adding a user column does not shift every event.
const STREAM_USERS: u64 = 1;
const STREAM_RANKING: u64 = 2;
const STREAM_EVENTS: u64 = 3;
const STREAM_COOKIES: u64 = 4;
const STREAM_EVENT_IDS: u64 = 5;

type Rng = Xoshiro256PlusPlus;

/// Writes the synthetic users and activity exports under `out` (see the module docs).
pub fn generate(opts: &SampleOptions, out: &Path) -> Result<SampleSummary, SampleError> {
    if opts.users == 0 && opts.events > 0 {
        return Err(SampleError::InvalidOptions(
            "events need at least one user".into(),
        ));
    }
    // Profiles are indexed with u32 to keep them small; four billion users is plenty.
    if opts.users > u64::from(u32::MAX) {
        return Err(SampleError::InvalidOptions(format!(
            "too many users: {}",
            opts.users
        )));
    }
    let start = opts
        .until
        .checked_sub_days(Days::new(WINDOW_DAYS))
        .ok_or_else(|| {
            SampleError::InvalidOptions(format!("until date {} is too early", opts.until))
        })?;

    let tables = Tables::new();
    let ext = opts.format.extension();
    let users_dir = out.join("users");
    let activity_dir = out.join("activity");
    for dir in [&users_dir, &activity_dir] {
        std::fs::create_dir_all(dir).map_err(|source| SampleError::Io {
            path: dir.clone(),
            source,
        })?;
    }

    let mut files = Vec::new();
    let (users_file, profiles) =
        write_users(opts, &tables, start, users_dir.join(format!("users.{ext}")))?;
    files.push(users_file);
    let activity_files = write_activity(opts, &tables, start, &profiles, &activity_dir)?;
    remove_stale_years(&activity_dir, ext, &activity_files)?;
    files.extend(activity_files);

    Ok(SampleSummary {
        users: opts.users,
        events: opts.events,
        files,
    })
}

// ---------------------------------------------------------------------------------------------
// Randomness

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn mix(seed: u64, stream: u64, index: u64) -> u64 {
    splitmix64(splitmix64(seed ^ splitmix64(stream)) ^ index)
}

/// Xoshiro rather than `StdRng`: it is documented as reproducible across platforms and rand
/// releases, and it is several times faster, which matters at 100 M events.
fn stream_rng(seed: u64, stream: u64, index: u64) -> Rng {
    Rng::seed_from_u64(mix(seed, stream, index))
}

/// Cumulative-weight table for drawing an index in proportion to integer weights.
struct Weighted {
    cumulative: Vec<u32>,
}

impl Weighted {
    fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let mut total = 0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Weighted { cumulative }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let x = rng.random_range(0..total.max(1));
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len() - 1)
    }
}

struct Tables {
    cities: Weighted,
    carriers: Weighted,
    user_agents: Weighted,
    domains: Weighted,
    ages: Weighted,
    /// Local hour of day (UTC+05:00): quiet nights, busy evenings.
    hours: Weighted,
    /// 2024-03-01, when all of Kazakhstan moved to UTC+05:00.
    single_zone_since: NaiveDate,
}

/// Ages 16..=85 at `until`, heavy in the 25–44 bracket that shops online most.
const MIN_AGE: u32 = 16;
const MAX_AGE: u32 = 85;

impl Tables {
    fn new() -> Self {
        let age_weight = |age: u32| match age {
            16..=17 => 2,
            18..=24 => 7,
            25..=44 => 9,
            45..=59 => 5,
            60..=69 => 2,
            _ => 1,
        };
        Tables {
            cities: Weighted::new(CITIES.iter().map(|c| c.weight)),
            carriers: Weighted::new(CARRIERS.iter().map(|c| c.weight)),
            user_agents: Weighted::new(names::USER_AGENTS.iter().map(|u| u.1)),
            domains: Weighted::new(names::EMAIL_DOMAINS.iter().map(|d| d.1)),
            ages: Weighted::new((MIN_AGE..=MAX_AGE).map(age_weight)),
            hours: Weighted::new([
                3, 2, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 10, 10, 9, 9, 9, 10, 11, 12, 13, 12, 9, 5,
            ]),
            single_zone_since: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap_or_default(),
        }
    }

    fn second_of_day(&self, rng: &mut Rng) -> u32 {
        self.hours.sample(rng) as u32 * 3600 + rng.random_range(0..3600)
    }

    /// Whether a timestamp on `day` is written with +06:00. The east used UTC+06:00 until
    /// 2024-03-01; afterwards a few devices with stale time-zone data keep reporting it.
    fn plus_six(&self, rng: &mut Rng, west: bool, day: NaiveDate) -> bool {
        if west {
            false
        } else if day < self.single_zone_since {
            true
        } else {
            rng.random_bool(0.08)
        }
    }
}

/// Removes `activity-YYYY.<ext>` files of years this run did not write (left by an earlier run
/// with another `until`): a reader globbing the directory would otherwise mix both runs.
fn remove_stale_years(dir: &Path, ext: &str, written: &[PathBuf]) -> Result<(), SampleError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SampleError::Io { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let is_year_file = name
            .strip_prefix("activity-")
            .and_then(|rest| rest.strip_suffix(ext))
            .and_then(|rest| rest.strip_suffix('.'))
            .is_some_and(|year| year.len() == 4 && year.bytes().all(|c| c.is_ascii_digit()));
        if is_year_file && !written.contains(&path) {
            std::fs::remove_file(&path).map_err(io_err(&path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
