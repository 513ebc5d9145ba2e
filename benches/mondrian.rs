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

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};

use anonymize::job::MetricName;
use anonymize::protect::models::{LDiversity, Models};
use anonymize::protect::mondrian::partition;
use anonymize::protect::search::{Base, Dimension, Goal, dimension};

/// UCI Adult as the tests use it (the job file, counted the way a run counts it).
#[path = "../tests/common/adult.rs"]
mod adult;

/// Adult as a base, salary-class sensitive, or `None` without the shared data.
fn adult_base() -> Option<Base> {
    if !adult::available() {
        return None;
    }
    let dir = adult::project();
    // A model makes the run count the sensitive column; each bench chooses its own models.
    adult::with_models(&dir, "l_diversity = { l = 2 }");
    Some(adult::base(&dir).1)
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
    if let Some(base) = adult_base() {
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
