//! The activity table: each user's events, day by day, with URLs, devices, networks and
//! amounts as the upstream exports have them.

use super::*;

#[derive(Clone, Copy)]
pub(super) enum EventType {
    PageView,
    Search,
    AddToCart,
    Login,
    Purchase,
}

impl EventType {
    pub(super) fn draw(rng: &mut Rng) -> Self {
        match rng.random_range(0..100) {
            0..62 => EventType::PageView,
            62..77 => EventType::Search,
            77..87 => EventType::AddToCart,
            87..95 => EventType::Login,
            _ => EventType::Purchase,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
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
pub(super) struct EventBufs {
    pub(super) event_id: String,
    pub(super) user_id: String,
    pub(super) ts: String,
    pub(super) url: String,
    pub(super) ip: String,
    pub(super) cookie_id: String,
    pub(super) amount: String,
    pub(super) email: String,
    pub(super) scratch: String,
}

pub(super) fn write_activity(
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

pub(super) struct DayContext<'a> {
    pub(super) opts: &'a SampleOptions,
    pub(super) t: &'a Tables,
    pub(super) profiles: &'a [Profile],
    pub(super) ranking: &'a [u32],
    pub(super) id_key: u64,
    pub(super) d: u64,
    pub(super) day: NaiveDate,
    pub(super) day_str: &'a str,
    pub(super) next_day_str: &'a str,
    /// A +06:00 rendering must not move a New Year's Eve event into the next year's file.
    pub(super) year_ends_today: bool,
}

impl DayContext<'_> {
    pub(super) fn event(
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
    pub(super) fn push_ip(
        &self,
        buf: &mut String,
        rng: &mut Rng,
        p: &Profile,
    ) -> Option<&'static str> {
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
pub(super) fn event_id_bits(counter: u64, key: u64) -> u64 {
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
pub(super) fn push_url(
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
pub(super) fn push_amount(buf: &mut String, rng: &mut Rng) {
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

pub(super) fn push_date(buf: &mut String, day: NaiveDate) {
    let _ = write!(buf, "{:04}-{:02}-{:02}", day.year(), day.month(), day.day());
}

pub(super) fn push_two_digits(buf: &mut String, v: u32) {
    buf.push(char::from(b'0' + (v / 10) as u8));
    buf.push(char::from(b'0' + (v % 10) as u8));
}

/// `THH:MM:SS+05:00`, by hand: this runs once per event and `write!` is comparatively slow.
pub(super) fn push_time(buf: &mut String, second: u32, offset: &str) {
    buf.push('T');
    push_two_digits(buf, second / 3600);
    buf.push(':');
    push_two_digits(buf, second / 60 % 60);
    buf.push(':');
    push_two_digits(buf, second % 60);
    buf.push_str(offset);
}

/// `day` and `second` are UTC+05:00 wall-clock; +06:00 shows the same instant an hour later.
pub(super) fn push_timestamp(buf: &mut String, day: NaiveDate, second: u32, plus_six: bool) {
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
