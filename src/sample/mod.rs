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

mod names;
mod sink;

use std::fmt::Write as _;
use std::io;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Days, Months, NaiveDate};
use polars::prelude::PolarsError;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use names::{CARRIERS, CITIES, City, KAZAKHTELECOM};
use sink::RowSink;

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

// ---------------------------------------------------------------------------------------------
// Users

/// What the event generator needs to know about a user, kept compact (about 32 bytes) because
/// there is one per user for the whole run. Strings are re-rendered from indices on demand.
struct Profile {
    female: bool,
    kazakh: bool,
    first: u8,
    surname: u8,
    email_style: u8,
    domain: u8,
    /// Timestamps of western users are always +05:00.
    west: bool,
    carrier: u8,
    home_v4: u8,
    home_c: [u8; 2],
    /// Home broadband (Kazakhtelecom) for events with no carrier, i.e. Wi-Fi.
    wifi_v4: u8,
    wifi_c: u8,
    v6_subnet: u32,
    /// Home devices; both the same for one-device users.
    ua: [u8; 2],
    cookies: u8,
    /// Day indices (into the window) where the user's cookie changes; sorted.
    cookie_switch: [u16; 2],
}

impl Profile {
    fn first_names(kazakh: bool, female: bool) -> &'static [&'static str] {
        match (kazakh, female) {
            (true, false) => names::KAZAKH_MALE,
            (true, true) => names::KAZAKH_FEMALE,
            (false, false) => names::RUSSIAN_MALE,
            (false, true) => names::RUSSIAN_FEMALE,
        }
    }

    fn surnames(kazakh: bool) -> &'static [&'static str] {
        if kazakh {
            names::KAZAKH_SURNAMES
        } else {
            names::RUSSIAN_SURNAMES
        }
    }

    fn first_name(&self) -> &'static str {
        Self::first_names(self.kazakh, self.female)[usize::from(self.first)]
    }

    fn surname(&self) -> &'static str {
        Self::surnames(self.kazakh)[usize::from(self.surname)]
    }

    fn push_full_name(&self, buf: &mut String) {
        buf.push_str(self.first_name());
        buf.push(' ');
        names::push_surname(buf, self.surname(), self.female);
    }

    /// The user's e-mail. The user id is always its trailing digits and the name part has no
    /// digits, so two users can never share an address.
    fn push_email(&self, buf: &mut String, scratch: &mut String, user_id: u64) {
        scratch.clear();
        names::push_surname(scratch, self.surname(), self.female);
        let start = buf.len();
        let first = self.first_name();
        match self.email_style {
            0 => {
                names::push_translit(buf, first);
                buf.push('.');
                names::push_translit(buf, scratch);
            }
            1 => names::push_translit(buf, first),
            2 => {
                // "aigerim.zh": the first two Latin letters of the surname.
                names::push_translit(buf, first);
                buf.push('.');
                let mark = buf.len();
                names::push_translit(buf, scratch);
                let cut = buf[mark..]
                    .char_indices()
                    .nth(2)
                    .map_or(buf.len(), |(i, _)| mark + i);
                buf.truncate(cut);
            }
            3 => {
                names::push_translit(buf, scratch);
                buf.push('.');
                names::push_translit(buf, first);
            }
            4 => {
                let mark = buf.len();
                names::push_translit(buf, first);
                let cut = buf[mark..]
                    .char_indices()
                    .nth(1)
                    .map_or(buf.len(), |(i, _)| mark + i);
                buf.truncate(cut);
                names::push_translit(buf, scratch);
            }
            _ => {
                names::push_translit(buf, first);
                buf.push('_');
                names::push_translit(buf, scratch);
                buf.push('_');
            }
        }
        if buf.len() == start {
            buf.push_str("user");
        }
        let _ = write!(
            buf,
            "{user_id}@{}",
            names::EMAIL_DOMAINS[usize::from(self.domain)].0
        );
    }
}

#[derive(Default)]
struct UserBufs {
    user_id: String,
    full_name: String,
    email: String,
    phone: String,
    birth_date: String,
    city: String,
    registered_at: String,
    scratch: String,
}

fn write_users(
    opts: &SampleOptions,
    t: &Tables,
    start: NaiveDate,
    path: PathBuf,
) -> Result<(PathBuf, Vec<Profile>), SampleError> {
    let mut rng = stream_rng(opts.seed, STREAM_USERS, 0);
    let mut sink = RowSink::create(path, opts.format, USER_COLUMNS)?;
    // Safe: `generate` checked that the count fits in u32.
    let mut profiles = Vec::with_capacity(opts.users as usize);
    let mut b = UserBufs::default();
    for index in 0..opts.users {
        let user_id = FIRST_USER_ID + index;
        let city = &CITIES[t.cities.sample(&mut rng)];
        let profile = new_profile(&mut rng, t, city);

        b.user_id.clear();
        let _ = write!(b.user_id, "{user_id}");
        b.full_name.clear();
        profile.push_full_name(&mut b.full_name);
        b.email.clear();
        profile.push_email(&mut b.email, &mut b.scratch, user_id);
        b.phone.clear();
        push_phone(
            &mut b.phone,
            &mut rng,
            &CARRIERS[usize::from(profile.carrier)],
        );
        b.birth_date.clear();
        let has_birth_date = !rng.random_bool(0.03);
        if has_birth_date {
            push_birth_date(&mut b.birth_date, &mut rng, t, opts.until);
        }
        let gender = match rng.random_range(0..100) {
            0..2 => None,
            _ if profile.female => Some("F"),
            _ => Some("M"),
        };
        b.city.clear();
        push_city(&mut b.city, &mut rng, city);
        b.registered_at.clear();
        let day = start + Days::new(rng.random_range(0..WINDOW_DAYS));
        let second = t.second_of_day(&mut rng);
        let plus_six = t.plus_six(&mut rng, profile.west, day);
        push_timestamp(&mut b.registered_at, day, second, plus_six);

        sink.write_row(&[
            Some(b.user_id.as_str()),
            Some(b.full_name.as_str()),
            Some(b.email.as_str()),
            Some(b.phone.as_str()),
            has_birth_date.then_some(b.birth_date.as_str()),
            gender,
            (!b.city.is_empty()).then_some(b.city.as_str()),
            Some(b.registered_at.as_str()),
        ])?;
        profiles.push(profile);
    }
    Ok((sink.finish()?, profiles))
}

fn new_profile(rng: &mut Rng, t: &Tables, city: &City) -> Profile {
    let female = rng.random_bool(0.52);
    let kazakh = rng.random_bool(0.7);
    let carrier = t.carriers.sample(rng);
    let wifi_v4 = rng.random_range(0..CARRIERS[KAZAKHTELECOM].v4.len());
    let ua0 = t.user_agents.sample(rng);
    let ua1 = if rng.random_bool(0.4) {
        t.user_agents.sample(rng)
    } else {
        ua0
    };
    let cookies = match rng.random_range(0..10) {
        0..5 => 1,
        5..8 => 2,
        _ => 3,
    };
    let mut cookie_switch = [
        rng.random_range(0..WINDOW_DAYS as u16),
        rng.random_range(0..WINDOW_DAYS as u16),
    ];
    cookie_switch.sort_unstable();
    Profile {
        female,
        kazakh,
        first: rng.random_range(0..Profile::first_names(kazakh, female).len()) as u8,
        surname: rng.random_range(0..Profile::surnames(kazakh).len()) as u8,
        email_style: rng.random_range(0..6),
        domain: t.domains.sample(rng) as u8,
        west: city.west,
        carrier: carrier as u8,
        home_v4: rng.random_range(0..CARRIERS[carrier].v4.len()) as u8,
        home_c: [rng.random(), rng.random()],
        wifi_v4: wifi_v4 as u8,
        wifi_c: rng.random(),
        v6_subnet: rng.random(),
        ua: [ua0 as u8, ua1 as u8],
        cookies,
        cookie_switch,
    }
}

/// Kazakh mobile numbers in the formats people actually type into forms.
fn push_phone(buf: &mut String, rng: &mut Rng, carrier: &names::Carrier) {
    let code = carrier.phone_codes[rng.random_range(0..carrier.phone_codes.len())];
    let n: u32 = rng.random_range(0..10_000_000);
    let (a, b, c) = (n / 10_000, n / 100 % 100, n % 100);
    let _ = match rng.random_range(0..100) {
        0..35 => write!(buf, "+7{code}{n:07}"),
        35..60 => write!(buf, "8 ({code}) {a:03}-{b:02}-{c:02}"),
        60..75 => write!(buf, "+7 {code} {a:03} {:04}", n % 10_000),
        75..85 => write!(buf, "8{code}{n:07}"),
        85..95 => write!(buf, "+7 ({code}) {a:03}-{b:02}-{c:02}"),
        _ => write!(buf, "8-{code}-{a:03}-{b:02}-{c:02}"),
    };
}

fn push_birth_date(buf: &mut String, rng: &mut Rng, t: &Tables, until: NaiveDate) {
    let age = MIN_AGE + t.ages.sample(rng) as u32;
    // Born at most 364 days before the `age`-th birthday that falls on or before `until`, so
    // the age at `until` is exactly `age`.
    let birthday = until
        .checked_sub_months(Months::new(12 * age))
        .unwrap_or(until);
    let born = birthday - Days::new(rng.random_range(0..365));
    let _ = write!(
        buf,
        "{:04}-{:02}-{:02}",
        born.year(),
        born.month(),
        born.day()
    );
}

/// The city as users type it: mostly the Russian name, sometimes Kazakh or Latin spelling,
/// sometimes sloppy, sometimes missing, now and then a village the hierarchy does not know.
fn push_city(buf: &mut String, rng: &mut Rng, city: &City) {
    match rng.random_range(0..1000) {
        0..10 => {}
        10..13 => {
            buf.push_str(names::RARE_VILLAGES[rng.random_range(0..names::RARE_VILLAGES.len())])
        }
        13..33 => {
            // Every variant differs from the canonical spelling, so none is in the hierarchy.
            match rng.random_range(0..4) {
                0 => {
                    buf.push(' ');
                    buf.extend(city.name.chars().flat_map(char::to_lowercase));
                    buf.push(' ');
                }
                1 => buf.extend(city.name.chars().flat_map(char::to_uppercase)),
                2 => buf.extend(city.name.chars().flat_map(char::to_lowercase)),
                _ => {
                    buf.push_str(city.name);
                    buf.push_str("  ");
                }
            }
        }
        33..63 => buf.push_str(city.latin),
        _ => match city.kazakh {
            Some(kazakh) if rng.random_bool(0.05) => buf.push_str(kazakh),
            _ => buf.push_str(city.name),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Activity

#[derive(Clone, Copy)]
enum EventType {
    PageView,
    Search,
    AddToCart,
    Login,
    Purchase,
}

impl EventType {
    fn draw(rng: &mut Rng) -> Self {
        match rng.random_range(0..100) {
            0..62 => EventType::PageView,
            62..77 => EventType::Search,
            77..87 => EventType::AddToCart,
            87..95 => EventType::Login,
            _ => EventType::Purchase,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            EventType::PageView => "page_view",
            EventType::Search => "search",
            EventType::AddToCart => "add_to_cart",
            EventType::Login => "login",
            EventType::Purchase => "purchase",
        }
    }
}

#[derive(Default)]
struct EventBufs {
    event_id: String,
    user_id: String,
    ts: String,
    url: String,
    ip: String,
    cookie_id: String,
    amount: String,
    email: String,
    scratch: String,
}

fn write_activity(
    opts: &SampleOptions,
    t: &Tables,
    start: NaiveDate,
    profiles: &[Profile],
    dir: &Path,
) -> Result<Vec<PathBuf>, SampleError> {
    // Which users are the busy ones is itself random: rank r maps to user `ranking[r]`.
    let mut ranking: Vec<u32> = (0..profiles.len() as u32).collect();
    ranking.shuffle(&mut stream_rng(opts.seed, STREAM_RANKING, 0));
    let id_key = mix(opts.seed, STREAM_EVENT_IDS, 0);

    let mut files = Vec::new();
    let mut current: Option<(i32, RowSink)> = None;
    let mut seconds: Vec<u32> = Vec::new();
    let mut b = EventBufs::default();
    let mut day_str = String::new();
    let mut next_day_str = String::new();
    let mut counter: u64 = 0;

    for d in 0..WINDOW_DAYS {
        let day = start + Days::new(d);
        if current.as_ref().is_none_or(|(year, _)| *year != day.year()) {
            if let Some((_, sink)) = current.take() {
                files.push(sink.finish()?);
            }
            let path = dir.join(format!(
                "activity-{}.{}",
                day.year(),
                opts.format.extension()
            ));
            current = Some((
                day.year(),
                RowSink::create(path, opts.format, ACTIVITY_COLUMNS)?,
            ));
        }
        let Some((_, sink)) = current.as_mut() else {
            unreachable!("opened above")
        };

        // Spread events evenly: day d gets its share of the running total, so the counts add up
        // exactly to `events` whatever the ratio.
        let total = u128::from(opts.events);
        let count = (total * u128::from(d + 1) / u128::from(WINDOW_DAYS)
            - total * u128::from(d) / u128::from(WINDOW_DAYS)) as usize;
        if count == 0 {
            continue;
        }
        let mut rng = stream_rng(opts.seed, STREAM_EVENTS, d);
        seconds.clear();
        seconds.extend((0..count).map(|_| t.second_of_day(&mut rng)));
        seconds.sort_unstable();

        day_str.clear();
        push_date(&mut day_str, day);
        let next = day + Days::new(1);
        next_day_str.clear();
        push_date(&mut next_day_str, next);
        let ctx = DayContext {
            opts,
            t,
            profiles,
            ranking: &ranking,
            id_key,
            d,
            day,
            day_str: &day_str,
            next_day_str: &next_day_str,
            year_ends_today: next.year() != day.year(),
        };
        for &second in &seconds {
            ctx.event(&mut rng, &mut b, sink, counter, second)?;
            counter += 1;
        }
    }
    if let Some((_, sink)) = current.take() {
        files.push(sink.finish()?);
    }
    Ok(files)
}

struct DayContext<'a> {
    opts: &'a SampleOptions,
    t: &'a Tables,
    profiles: &'a [Profile],
    ranking: &'a [u32],
    id_key: u64,
    d: u64,
    day: NaiveDate,
    day_str: &'a str,
    next_day_str: &'a str,
    /// A +06:00 rendering must not move a New Year's Eve event into the next year's file.
    year_ends_today: bool,
}

impl DayContext<'_> {
    fn event(
        &self,
        rng: &mut Rng,
        b: &mut EventBufs,
        sink: &mut RowSink,
        counter: u64,
        second: u32,
    ) -> Result<(), SampleError> {
        let n = self.profiles.len();
        let rank = ((n as f64) * rng.random::<f64>().powf(ACTIVITY_SKEW)) as usize;
        let index = self.ranking[rank.min(n - 1)] as usize;
        let p = &self.profiles[index];
        let user_id = FIRST_USER_ID + index as u64;

        b.event_id.clear();
        let _ = write!(
            b.event_id,
            "ev-{:012x}",
            event_id_bits(counter, self.id_key)
        );
        b.user_id.clear();
        let _ = write!(b.user_id, "{user_id}");

        b.ts.clear();
        let plus_six = self.t.plus_six(rng, p.west, self.day);
        let (date, second, offset) = match second.checked_sub(86_400 - 3600) {
            _ if !plus_six => (self.day_str, second, "+05:00"),
            Some(_) if self.year_ends_today => (self.day_str, second, "+05:00"),
            Some(past_midnight) => (self.next_day_str, past_midnight, "+06:00"),
            None => (self.day_str, second + 3600, "+06:00"),
        };
        b.ts.push_str(date);
        push_time(&mut b.ts, second, offset);

        let event_type = EventType::draw(rng);
        b.url.clear();
        let mut email = |buf: &mut String| {
            b.email.clear();
            p.push_email(&mut b.email, &mut b.scratch, user_id);
            buf.push_str(&b.email);
        };
        push_url(&mut b.url, rng, event_type, &mut email);

        let carrier = self.push_ip(&mut b.ip, rng, p);
        let ip = if b.ip.is_empty() {
            None
        } else {
            Some(b.ip.as_str())
        };

        let period = p.cookie_switch[..usize::from(p.cookies - 1)]
            .iter()
            .filter(|&&s| u64::from(s) <= self.d)
            .count() as u64;
        let cookie = mix(
            self.opts.seed,
            STREAM_COOKIES,
            ((index as u64) << 2) | period,
        );
        b.cookie_id.clear();
        let _ = write!(b.cookie_id, "{cookie:016x}{:016x}", splitmix64(cookie));

        let user_agent = match rng.random_range(0..1000) {
            0..3 => names::BOT_AGENTS[rng.random_range(0..names::BOT_AGENTS.len())],
            3..700 => names::USER_AGENTS[usize::from(p.ua[0])].0,
            700..900 => names::USER_AGENTS[usize::from(p.ua[1])].0,
            _ => names::USER_AGENTS[self.t.user_agents.sample(rng)].0,
        };

        b.amount.clear();
        if let EventType::Purchase = event_type {
            push_amount(&mut b.amount, rng);
        }

        sink.write_row(&[
            Some(b.event_id.as_str()),
            Some(b.user_id.as_str()),
            Some(b.ts.as_str()),
            Some(event_type.as_str()),
            Some(b.url.as_str()),
            ip,
            Some(b.cookie_id.as_str()),
            Some(user_agent),
            carrier,
            (!b.amount.is_empty()).then_some(b.amount.as_str()),
        ])
    }

    /// Writes the event's IP address and returns its carrier: mostly the user's own carrier and
    /// home network, sometimes home Wi-Fi (no carrier), sometimes somewhere else entirely.
    fn push_ip(&self, buf: &mut String, rng: &mut Rng, p: &Profile) -> Option<&'static str> {
        buf.clear();
        let (carrier, reported, v4, c, own_network) = match rng.random_range(0..100) {
            0..10 => {
                let kt = &CARRIERS[KAZAKHTELECOM];
                (kt, None, kt.v4[usize::from(p.wifi_v4)], p.wifi_c, true)
            }
            10..88 => {
                let own = &CARRIERS[usize::from(p.carrier)];
                let c = match rng.random_range(0..4) {
                    0 => rng.random(),
                    _ => p.home_c[rng.random_range(0..2)],
                };
                (own, Some(own.name), own.v4[usize::from(p.home_v4)], c, true)
            }
            _ => {
                let other = &CARRIERS[self.t.carriers.sample(rng)];
                let v4 = other.v4[rng.random_range(0..other.v4.len())];
                (other, Some(other.name), v4, rng.random(), false)
            }
        };
        if rng.random_range(0..1000) < 5 {
            buf.push_str(names::INVALID_IPS[rng.random_range(0..names::INVALID_IPS.len())]);
        } else if rng.random_bool(0.15) {
            let subnet = if own_network {
                p.v6_subnet
            } else {
                rng.random()
            };
            // Interface ids with zero runs, as SLAAC-less routers hand out, so the text form
            // is compressed ("::") in varying places.
            let iid: [u16; 4] = match rng.random_range(0..10) {
                0..3 => [0, 0, 0, rng.random()],
                3..5 => [0, 0, rng.random(), rng.random()],
                _ => rng.random(),
            };
            let addr = Ipv6Addr::new(
                carrier.v6[0],
                carrier.v6[1],
                (subnet >> 16) as u16,
                subnet as u16,
                iid[0],
                iid[1],
                iid[2],
                iid[3],
            );
            let _ = write!(buf, "{addr}");
        } else {
            let host: u8 = rng.random_range(1..=254);
            let _ = write!(buf, "{}.{}.{}.{}", v4[0], v4[1], c, host);
        }
        reported
    }
}

/// A 48-bit bijection of the event counter keyed by the seed: ids look random but can never
/// collide (each step — xor, odd multiply, xor-shift — is invertible modulo 2^48).
fn event_id_bits(counter: u64, key: u64) -> u64 {
    const MASK: u64 = (1 << 48) - 1;
    let mut x = (counter ^ key) & MASK;
    x = x.wrapping_mul(0x9E37_79B9_7F4B) & MASK;
    x ^= x >> 23;
    x = x.wrapping_mul(0xD6E8_FEB8_6659) & MASK;
    x ^= x >> 26;
    x = x.wrapping_mul(0x2545_F491_4F6D) & MASK;
    x ^= x >> 21;
    x
}

/// `email` appends the user's e-mail; it is rendered only for the few URLs that carry it.
fn push_url(
    buf: &mut String,
    rng: &mut Rng,
    event_type: EventType,
    email: &mut dyn FnMut(&mut String),
) {
    buf.push_str("https://shop.kz");
    let category = names::CATEGORIES[rng.random_range(0..names::CATEGORIES.len())];
    let product: u32 = rng.random_range(100..100_000);
    let _ = match event_type {
        EventType::PageView => match rng.random_range(0..100) {
            0..15 => write!(buf, "/"),
            15..40 => write!(buf, "/catalog/{category}"),
            40..70 => write!(buf, "/catalog/{category}/{product}"),
            70..85 => write!(buf, "/product/{product}"),
            85..90 => write!(
                buf,
                "/promo/{}",
                names::PROMOS[rng.random_range(0..names::PROMOS.len())]
            ),
            90..95 => write!(buf, "/account/orders"),
            _ => write!(buf, "/cart"),
        },
        EventType::Search => {
            let query = names::SEARCH_QUERIES[rng.random_range(0..names::SEARCH_QUERIES.len())];
            buf.push_str("/search?q=");
            buf.extend(url::form_urlencoded::byte_serialize(query.as_bytes()));
            if rng.random_bool(0.2) {
                let _ = write!(buf, "&page={}", rng.random_range(2..6));
            }
            Ok(())
        }
        EventType::AddToCart => {
            write!(
                buf,
                "/cart/add?product_id={product}&qty={}",
                rng.random_range(1..4)
            )
        }
        EventType::Login if rng.random_bool(0.3) => {
            write!(buf, "/account/login?return_to=%2Fcheckout")
        }
        EventType::Login => write!(buf, "/account/login"),
        EventType::Purchase => write!(
            buf,
            "/checkout/success?order_id={}",
            rng.random_range(10_000_000u32..100_000_000)
        ),
    };
    let separator = |buf: &String| if buf.contains('?') { '&' } else { '?' };
    if rng.random_bool(0.15) {
        buf.push(separator(buf));
        buf.push_str(names::UTM_TAILS[rng.random_range(0..names::UTM_TAILS.len())]);
    }
    // The user's own e-mail, as newsletter links and form redirects leak it: the URL
    // generalisation must remove it.
    match rng.random_range(0..1000) {
        0..50 => {
            buf.push(separator(buf));
            buf.push_str("utm_source=email&utm_campaign=digest&email=");
            let mut plain = String::new();
            email(&mut plain);
            buf.extend(url::form_urlencoded::byte_serialize(plain.as_bytes()));
        }
        50..60 => {
            buf.push(separator(buf));
            buf.push_str("email=");
            email(buf);
        }
        _ => {}
    }
    if rng.random_bool(0.03) {
        buf.push_str(names::FRAGMENTS[rng.random_range(0..names::FRAGMENTS.len())]);
    }
}

/// A log-normal price around 15 000 ₸, mostly as shops price things ("12990.00").
fn push_amount(buf: &mut String, rng: &mut Rng) {
    // Box–Muller: one standard normal from two uniforms; 1 - u keeps the log away from zero.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    let amount = (15_000f64.ln() + 1.1 * z).exp().clamp(500.0, 2_000_000.0);
    if rng.random_bool(0.9) {
        let step = if amount < 10_000.0 { 100.0 } else { 1000.0 };
        let price = ((amount / step).ceil() * step - 10.0).max(590.0) as u64;
        let _ = write!(buf, "{price}.00");
    } else {
        let cents = (amount * 100.0).round() as u64;
        let _ = write!(buf, "{}.{:02}", cents / 100, cents % 100);
    }
}

// ---------------------------------------------------------------------------------------------
// Formatting

fn push_date(buf: &mut String, day: NaiveDate) {
    let _ = write!(buf, "{:04}-{:02}-{:02}", day.year(), day.month(), day.day());
}

fn push_two_digits(buf: &mut String, v: u32) {
    buf.push(char::from(b'0' + (v / 10) as u8));
    buf.push(char::from(b'0' + (v % 10) as u8));
}

/// `THH:MM:SS+05:00`, by hand: this runs once per event and `write!` is comparatively slow.
fn push_time(buf: &mut String, second: u32, offset: &str) {
    buf.push('T');
    push_two_digits(buf, second / 3600);
    buf.push(':');
    push_two_digits(buf, second / 60 % 60);
    buf.push(':');
    push_two_digits(buf, second % 60);
    buf.push_str(offset);
}

/// `day` and `second` are UTC+05:00 wall-clock; +06:00 shows the same instant an hour later.
fn push_timestamp(buf: &mut String, day: NaiveDate, second: u32, plus_six: bool) {
    let next = day + Days::new(1);
    match second.checked_sub(86_400 - 3600) {
        Some(past_midnight) if plus_six && next.year() == day.year() => {
            push_date(buf, next);
            push_time(buf, past_midnight, "+06:00");
        }
        None if plus_six => {
            push_date(buf, day);
            push_time(buf, second + 3600, "+06:00");
        }
        _ => {
            push_date(buf, day);
            push_time(buf, second, "+05:00");
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
