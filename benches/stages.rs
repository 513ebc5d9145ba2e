//! Micro-benchmarks, one group a stage, on values from `anonymize sample` (100,000 events of
//! 2,000 users): what each per-value method costs, in values per second
//! (`Throughput::Elements`), beside its baseline where it has one (raw HMAC-SHA256 for the
//! pseudonyms).
//!
//! ```sh
//! cargo bench --bench stages              # all
//! cargo bench --bench stages -- user_agent
//! ```

use std::collections::HashMap;
use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use polars::prelude::*;
use sha2::Sha256;

use anonymize::job::TruncateTo;
use anonymize::job::key::Key;
use anonymize::method::{age, hierarchy::Hierarchy, ip_prefix, parse, truncate};
use anonymize::transform::pseudonymize;

const KEY: &[u8] = b"bench-key-0123456789abcdef0123456789abcdef";

/// Columns of the sample exports, by name.
struct Sample {
    users: HashMap<String, Vec<String>>,
    activity: HashMap<String, Vec<String>>,
}

fn read_columns(files: &[std::path::PathBuf]) -> HashMap<String, Vec<String>> {
    let mut columns: HashMap<String, Vec<String>> = HashMap::new();
    for f in files {
        let mut r = csv::Reader::from_path(f).expect("sample CSV");
        let header = r.headers().expect("header").clone();
        for rec in r.records() {
            let rec = rec.expect("record");
            for (h, v) in header.iter().zip(rec.iter()) {
                columns
                    .entry(h.to_string())
                    .or_default()
                    .push(v.to_string());
            }
        }
    }
    columns
}

fn sample() -> Sample {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = anonymize::sample::SampleOptions {
        users: 2_000,
        events: 100_000,
        seed: 7,
        until: NaiveDate::from_ymd_opt(2026, 11, 26).expect("date"),
        format: anonymize::sample::SampleFormat::Csv,
    };
    let summary = anonymize::sample::generate(&opts, dir.path()).expect("sample");
    let (users, activity) = summary.files.split_at(1);
    Sample {
        users: read_columns(users),
        activity: read_columns(activity),
    }
}

fn bench(c: &mut Criterion) {
    let s = sample();
    let events = |name: &str| &s.activity[name];
    let run_date = NaiveDate::from_ymd_opt(2026, 11, 26).expect("date");

    let mut g = c.benchmark_group("pseudonymize");
    let ids = events("user_id");
    g.throughput(Throughput::Elements(ids.len() as u64));
    let keyed = Hmac::<Sha256>::new_from_slice(KEY).expect("any key length");
    g.bench_function("hmac_sha256_raw", |b| {
        b.iter(|| {
            for v in ids {
                let mut m = keyed.clone();
                m.update(v.as_bytes());
                black_box(m.finalize().into_bytes());
            }
        })
    });
    let key = Key::new(KEY.to_vec()).expect("key");
    for length in [32, 64] {
        let p = pseudonymize::Pseudonymizer::new(&key, length);
        let mut out = vec![0u8; length];
        g.bench_with_input(BenchmarkId::new("pseudonym_hex", length), &p, |b, p| {
            b.iter(|| {
                for v in ids {
                    p.write(v.as_bytes(), &mut out);
                    black_box(&out);
                }
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("age");
    let births = &s.users["birth_date"];
    g.throughput(Throughput::Elements(births.len() as u64));
    let mut out = String::new();
    g.bench_function("parse_and_band_10", |b| {
        b.iter(|| {
            for v in births {
                out.clear();
                if let Some(a) = parse::date(v).and_then(|d| age::years(d, run_date)) {
                    age::band_label(a, 10, Some(70), &mut out);
                }
                black_box(&out);
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("ip_prefix");
    let ips = events("ip");
    g.throughput(Throughput::Elements(ips.len() as u64));
    g.bench_function("v4_16_v6_32", |b| {
        b.iter(|| {
            for v in ips {
                out.clear();
                black_box(ip_prefix::network(v, 16, 32, &mut out));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("truncate");
    let ts = events("ts");
    g.throughput(Throughput::Elements(ts.len() as u64));
    g.bench_function("parse_and_day", |b| {
        b.iter(|| {
            for v in ts {
                let d = parse::timestamp_micros(v)
                    .and_then(chrono::DateTime::from_timestamp_micros)
                    .map(|t| truncate::truncate_date(t.date_naive(), TruncateTo::Day));
                black_box(d);
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("hierarchy");
    let cities = &s.users["city"];
    let h = Hierarchy::load(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("jobs/hierarchies/kz_cities.csv")
            .as_path(),
        b';',
    )
    .expect("hierarchy");
    g.throughput(Throughput::Elements(cities.len() as u64));
    g.bench_function("lookup_level_2", |b| {
        b.iter(|| {
            for v in cities {
                black_box(h.lookup(v, 2));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("url");
    let urls = events("url");
    g.throughput(Throughput::Elements(urls.len() as u64));
    g.bench_function("generalize", |b| {
        b.iter(|| {
            for v in urls {
                out.clear();
                black_box(anonymize::method::url::generalize(v, &mut out));
            }
        })
    });
    // As the method runs, in polars.
    let frame = df!("url" => urls.clone()).expect("frame");
    g.bench_function("method_every_value", |b| {
        b.iter(|| {
            let tally = anonymize::transform::Tally::default();
            let e = anonymize::transform::map_text(
                col("url"),
                tally,
                anonymize::method::url::generalize,
            );
            black_box(frame.clone().lazy().select([e]).collect().expect("urls"))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("user_agent");
    let uas = events("user_agent");
    g.throughput(Throughput::Elements(uas.len() as u64));
    g.bench_function("woothee_every_value", |b| {
        b.iter(|| {
            for v in uas {
                black_box(anonymize::method::user_agent::families(v));
            }
        })
    });
    // As the method runs: each distinct string parsed once per batch.
    g.bench_function("cached_per_batch", |b| {
        b.iter(|| {
            let mut cache: HashMap<&str, Option<String>> = HashMap::new();
            for v in uas {
                let r = cache
                    .entry(v.as_str())
                    .or_insert_with(|| anonymize::method::user_agent::families(v));
                black_box(r);
            }
        })
    });
    g.finish();

    // Class counting: pass 1's group-by over (state, quasi-identifiers, subject), in polars.
    let mut g = c.benchmark_group("class_counting");
    let n = ids.len();
    let df = df!(
        "__anonymize_state" => vec![0i32; n],
        "network" => ips.iter().map(|v| { let mut o = String::new(); ip_prefix::network(v, 16, 32, &mut o); o }).collect::<Vec<_>>(),
        "carrier" => events("carrier").clone(),
        "user_id" => ids.clone(),
    )
    .expect("frame");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("count_people_per_class", |b| {
        b.iter(|| {
            let qis = vec![
                ("network".to_string(), col("network")),
                ("carrier".to_string(), col("carrier")),
            ];
            black_box(
                anonymize::protect::kanon::count(
                    df.clone().lazy(),
                    &qis,
                    Some(col("user_id")),
                    &[],
                    "bench",
                )
                .expect("counts"),
            )
        })
    });
    // As the run counts: the class fingerprint computed in the first pass, then the (class,
    // person) pairs grouped as integers.
    let key = anonymize::protect::kanon::ClassKey::random();
    let qis = ["network".to_string(), "carrier".to_string()];
    g.bench_function("fingerprint_classes", |b| {
        b.iter(|| {
            black_box(
                df.clone()
                    .lazy()
                    .select(key.exprs(&qis))
                    .collect()
                    .expect("keys"),
            )
        })
    });
    let staged = df
        .clone()
        .lazy()
        .with_columns(key.exprs(&qis))
        .with_column(
            anonymize::protect::kanon::subject_key(col("user_id")).alias("__anonymize_subject"),
        )
        .collect()
        .expect("staged");
    g.bench_function("count_by_fingerprint", |b| {
        b.iter(|| {
            black_box(
                anonymize::protect::kanon::count_staged(
                    staged.clone().lazy(),
                    &qis,
                    &[],
                    key,
                    true,
                    &Default::default(),
                    "bench",
                )
                .expect("counts"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
