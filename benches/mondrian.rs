//! Mondrian partitioning ([`anonymize::protect::mondrian::partition`]) in base entries per
//! second (`Throughput::Elements`): on UCI Adult with ARX's hierarchies (8 quasi-identifiers,
//! salary-class sensitive; skipped when `../shared/external/adult` is not there) at k = 5 and
//! 10, plain and with distinct 2-diversity, and on a synthetic base of 1 M entries with
//! subjects (4 numeric and 2 hierarchical quasi-identifiers) at k = 5 and 10.
//!
//! ```sh
//! cargo bench --bench mondrian
//! cargo bench --bench mondrian -- synthetic
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};

use anonymize::job::MetricName;
use anonymize::protect::models::{Attribute, LDiversity, Models};
use anonymize::protect::mondrian::partition;
use anonymize::protect::search::{Base, Dimension, Goal, SensitiveCodes, dimension};

const QIS: [&str; 8] = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
];

/// Adult as a base (as in tests/mondrian.rs), or `None` without the shared data.
fn adult() -> Option<Base> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/external/adult");
    let text = std::fs::read_to_string(dir.join("adult.csv")).ok()?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split(';').collect();
    let records: Vec<Vec<&str>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(';').collect())
        .collect();
    let mut dims = Vec::new();
    let mut codes: Vec<Vec<u32>> = vec![Vec::new(); records.len()];
    for name in QIS {
        let c = header.iter().position(|h| *h == name)?;
        let h: HashMap<String, Vec<String>> =
            std::fs::read_to_string(dir.join(format!("adult_hierarchy_{name}.csv")))
                .ok()?
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let row: Vec<String> = l.split(';').map(str::to_string).collect();
                    (row[0].clone(), row)
                })
                .collect();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut values: Vec<Option<String>> = Vec::new();
        let value_of_record: Vec<usize> = records
            .iter()
            .map(|r| {
                let next = values.len();
                *index.entry(r[c]).or_insert_with(|| {
                    values.push(Some(r[c].to_string()));
                    next
                })
            })
            .collect();
        let levels = h.values().next()?.len();
        let (dim, code_of_value) = dimension(name, levels, &values, |v, level| {
            v.and_then(|v| h.get(v)).map(|row| row[level].clone())
        })
        .ok()?;
        for (r, &v) in value_of_record.iter().enumerate() {
            codes[r].push(code_of_value[v]);
        }
        dims.push(dim);
    }
    let s = header.iter().position(|h| *h == "salary-class")?;
    let mut salary: HashMap<&str, u32> = HashMap::new();
    let mut entries: HashMap<(Vec<u32>, u32), u64> = HashMap::new();
    for (r, rec) in records.iter().enumerate() {
        let next = salary.len() as u32;
        let code = *salary.entry(rec[s]).or_insert(next);
        *entries
            .entry((std::mem::take(&mut codes[r]), code))
            .or_default() += 1;
    }
    let mut entries: Vec<_> = entries.into_iter().collect();
    entries.sort();
    let mut people = vec![0u64; salary.len()];
    for ((_, s), rows) in &entries {
        people[*s as usize] += rows;
    }
    Some(Base {
        dims,
        codes: entries.iter().flat_map(|((c, _), _)| c.clone()).collect(),
        subjects: None,
        rows: entries.iter().map(|(_, r)| *r).collect(),
        sensitive: vec![SensitiveCodes {
            attr: Attribute::new("salary-class", false, &people),
            codes: entries.iter().map(|((_, s), _)| *s).collect(),
        }],
    })
}

/// Numbers 0..n, finest level only.
fn numeric(name: &str, n: u32) -> Dimension {
    let values: Vec<Option<String>> = (0..n).map(|v| Some(v.to_string())).collect();
    dimension(name, 1, &values, |v, _| v.map(str::to_string))
        .expect("a dimension")
        .0
}

/// n categories, in groups of `group`, under `*`.
fn categorical(name: &str, n: u32, group: u32) -> Dimension {
    let values: Vec<Option<String>> = (0..n).map(|v| Some(format!("c{v}"))).collect();
    dimension(name, 3, &values, |v, level| {
        let x: u32 = v?.trim_start_matches('c').parse().ok()?;
        Some(match level {
            0 => format!("c{x}"),
            1 => format!("g{}", x / group),
            _ => "*".into(),
        })
    })
    .expect("a dimension")
    .0
}

/// 1 M entries of 300,000 people (1–4 rows each), values skewed towards low codes.
fn synthetic(entries: usize) -> Base {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let dims = vec![
        numeric("age", 100),
        numeric("income", 1000),
        numeric("zip", 5000),
        numeric("hours", 80),
        categorical("country", 200, 10),
        categorical("job", 60, 6),
    ];
    let domains: Vec<u32> = dims.iter().map(|d| d.map[0].len() as u32).collect();
    let mut codes = Vec::with_capacity(entries * dims.len());
    for _ in 0..entries {
        for &n in &domains {
            // The smaller of two draws: denser at low codes, as real data is uneven.
            let a = rng.random_range(0..n);
            let b = rng.random_range(0..n);
            codes.push(a.min(b));
        }
    }
    Base {
        dims,
        codes,
        subjects: Some(
            (0..entries)
                .map(|_| rng.random_range(0..300_000u32))
                .collect(),
        ),
        rows: (0..entries).map(|_| rng.random_range(1..5u64)).collect(),
        sensitive: Vec::new(),
    }
}

fn goal(k: u32, models: Models) -> Goal {
    Goal {
        k,
        max_suppression: 0.0,
        metric: MetricName::Loss,
        models,
    }
}

fn bench(c: &mut Criterion) {
    let l2 = Models {
        l_diversity: Some(LDiversity::Distinct { l: 2 }),
        t_closeness: None,
    };
    if let Some(base) = adult() {
        let mut g = c.benchmark_group("mondrian_adult");
        g.throughput(Throughput::Elements(base.rows.len() as u64));
        for k in [5, 10] {
            g.bench_with_input(BenchmarkId::new("k", k), &k, |b, &k| {
                b.iter(|| partition(black_box(&base), &goal(k, Models::default())))
            });
            g.bench_with_input(BenchmarkId::new("k_l2", k), &k, |b, &k| {
                b.iter(|| partition(black_box(&base), &goal(k, l2)))
            });
        }
        g.finish();
    } else {
        eprintln!("../shared/external/adult is not there: Adult skipped");
    }
    let base = synthetic(1_000_000);
    let mut g = c.benchmark_group("mondrian_synthetic_1m");
    g.sample_size(10);
    g.throughput(Throughput::Elements(base.rows.len() as u64));
    for k in [5, 10] {
        g.bench_with_input(BenchmarkId::new("k", k), &k, |b, &k| {
            b.iter(|| partition(black_box(&base), &goal(k, Models::default())))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
