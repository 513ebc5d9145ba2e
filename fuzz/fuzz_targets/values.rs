//! Every per-value method on any text (the input as UTF-8, invalid bytes replaced): never a
//! panic. Parameters are the ones job validation admits (prefix lengths 0–32 and 0–128, bands
//! and tops of at least 1, non-empty strictly increasing edges).
//!
//! Invariant: a URL that `url::generalize` accepts comes out without a query (`?`), a fragment
//! (`#`) or user info (`@` before the host). An `@` in the *path* (`https://x.kz/@name`,
//! `/unsubscribe/a@b.kz`) is kept by design and not asserted by default; set
//! `FUZZ_URL_NO_AT_ANYWHERE=1` to assert that the whole output holds no `@`.
#![no_main]

use std::sync::LazyLock;

use anonymize::job::TruncateTo;
use anonymize::method::{age, bins, ip_prefix, parse, truncate, url, user_agent};
use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;

/// (v4, v6) prefix lengths, every one of each list at least once.
const PREFIXES: [(u8, u8); 7] = [(0, 0), (1, 1), (8, 32), (16, 48), (24, 64), (31, 127), (32, 128)];

const BANDS: [(u32, Option<u32>); 7] = [
    (1, None),
    (5, None),
    (10, Some(80)),
    (10, Some(75)),
    (7, Some(1)),
    (200, None),
    (u32::MAX, Some(u32::MAX)),
];

const TRUNCATE: [TruncateTo; 5] = [
    TruncateTo::Hour,
    TruncateTo::Day,
    TruncateTo::Week,
    TruncateTo::Month,
    TruncateTo::Year,
];

const EDGES: [&[f64]; 5] = [
    &[0.0],
    &[0.0, 5000.0, 20000.0],
    &[0.5, 1.5],
    &[-1e300, -1.0, 0.0, 1e15, 1e16, 1e300],
    &[f64::MIN, f64::MAX],
];

static URL_NO_AT_ANYWHERE: LazyLock<bool> =
    LazyLock::new(|| std::env::var_os("FUZZ_URL_NO_AT_ANYWHERE").is_some_and(|v| v == "1"));

fn run_dates(birth: NaiveDate) -> [NaiveDate; 5] {
    [
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        NaiveDate::from_ymd_opt(2000, 2, 29).unwrap(),
        birth,
        NaiveDate::MIN,
        NaiveDate::MAX,
    ]
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let s: &str = &text;
    let mut out = String::new();

    for (v4, v6) in PREFIXES {
        out.clear();
        ip_prefix::network(s, v4, v6, &mut out);
    }

    let _ = parse::timestamp_micros(s);
    if let Some(d) = parse::date(s) {
        let _ = parse::epoch_days(d);
        for on in run_dates(d) {
            if let Some(years) = age::years(d, on) {
                for (band, top) in BANDS {
                    out.clear();
                    age::band_label(years, band, top, &mut out);
                }
            }
        }
        for to in TRUNCATE {
            let t = truncate::truncate_date(d, to);
            let _ = parse::epoch_days(t);
        }
    }

    out.clear();
    if url::generalize(s, &mut out) {
        assert!(
            !out.contains(['?', '#']),
            "url::generalize({s:?}) kept a query or fragment: {out:?}"
        );
        let authority = out.split_once("://").map_or(&out[..], |(_, rest)| {
            rest.split_once('/').map_or(rest, |(host, _)| host)
        });
        assert!(
            !authority.contains('@'),
            "url::generalize({s:?}) kept user info: {out:?}"
        );
        if *URL_NO_AT_ANYWHERE {
            assert!(!out.contains('@'), "url::generalize({s:?}) kept an '@': {out:?}");
        }
    }

    let _ = user_agent::families(s);

    if let Ok(x) = s.trim().parse::<f64>() {
        for edges in EDGES {
            out.clear();
            bins::label(x, edges, &mut out);
        }
    }
});
