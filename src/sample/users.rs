//! The users table: one person a row, with a compact profile the event generator draws on.

use super::*;

/// What the event generator needs to know about a user, kept compact (about 32 bytes) because
/// there is one per user for the whole run. Strings are re-rendered from indices on demand.
pub(super) struct Profile {
    pub(super) female: bool,
    pub(super) kazakh: bool,
    pub(super) first: u8,
    pub(super) surname: u8,
    pub(super) email_style: u8,
    pub(super) domain: u8,
    /// Timestamps of western users are always +05:00.
    pub(super) west: bool,
    pub(super) carrier: u8,
    pub(super) home_v4: u8,
    pub(super) home_c: [u8; 2],
    /// Home broadband (Kazakhtelecom) for events with no carrier, i.e. Wi-Fi.
    pub(super) wifi_v4: u8,
    pub(super) wifi_c: u8,
    pub(super) v6_subnet: u32,
    /// Home devices; both the same for one-device users.
    pub(super) ua: [u8; 2],
    pub(super) cookies: u8,
    /// Day indices (into the window) where the user's cookie changes; sorted.
    pub(super) cookie_switch: [u16; 2],
}

impl Profile {
    pub(super) fn first_names(kazakh: bool, female: bool) -> &'static [&'static str] {
        match (kazakh, female) {
            (true, false) => names::KAZAKH_MALE,
            (true, true) => names::KAZAKH_FEMALE,
            (false, false) => names::RUSSIAN_MALE,
            (false, true) => names::RUSSIAN_FEMALE,
        }
    }

    pub(super) fn surnames(kazakh: bool) -> &'static [&'static str] {
        if kazakh {
            names::KAZAKH_SURNAMES
        } else {
            names::RUSSIAN_SURNAMES
        }
    }

    pub(super) fn first_name(&self) -> &'static str {
        Self::first_names(self.kazakh, self.female)[usize::from(self.first)]
    }

    pub(super) fn surname(&self) -> &'static str {
        Self::surnames(self.kazakh)[usize::from(self.surname)]
    }

    pub(super) fn push_full_name(&self, buf: &mut String) {
        buf.push_str(self.first_name());
        buf.push(' ');
        names::push_surname(buf, self.surname(), self.female);
    }

    /// The user's e-mail. The user id is always its trailing digits and the name part has no
    /// digits, so two users can never share an address.
    pub(super) fn push_email(&self, buf: &mut String, scratch: &mut String, user_id: u64) {
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
pub(super) struct UserBufs {
    pub(super) user_id: String,
    pub(super) full_name: String,
    pub(super) email: String,
    pub(super) phone: String,
    pub(super) birth_date: String,
    pub(super) city: String,
    pub(super) registered_at: String,
    pub(super) scratch: String,
}

pub(super) fn write_users(
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

pub(super) fn new_profile(rng: &mut Rng, t: &Tables, city: &City) -> Profile {
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
pub(super) fn push_phone(buf: &mut String, rng: &mut Rng, carrier: &names::Carrier) {
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

pub(super) fn push_birth_date(buf: &mut String, rng: &mut Rng, t: &Tables, until: NaiveDate) {
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
pub(super) fn push_city(buf: &mut String, rng: &mut Rng, city: &City) {
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
