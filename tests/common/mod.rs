//! Shared helpers of the CLI tests: a project-like temp directory with the shipped job file and
//! hierarchy, sample exports made by `anonymize sample`, and an independent Parquet reader
//! (arrow-rs, not polars) to read the output back.

#![allow(dead_code)]

pub mod adult;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::DataType;
use assert_cmd::Command;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub const KEY: &str = "test-key-0123456789abcdef0123456789abcdef";
pub const OTHER_KEY: &str = "another-key-0123456789abcdef0123456789abcd";
pub const RUN_DATE: &str = "2026-11-20";
pub const UNTIL: &str = "2026-11-20";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> Command {
    let mut c = Command::cargo_bin("anonymize").expect("binary built");
    c.env_remove("ANONYMIZE_KEY").env_remove("RUST_LOG");
    c
}

/// Whether `tool` is missing from this machine; says so (the test is then skipped).
pub fn missing(tool: &str) -> bool {
    let gone = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_err();
    if gone {
        eprintln!("`{tool}` is not installed: skipped");
    }
    gone
}

/// A temp directory laid out like the repository: `jobs/` (the shipped job and hierarchy) and
/// `sample_data/` (made by `anonymize sample`), so the job runs with its own relative paths.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(users: u64, events: u64, seed: u64) -> Project {
        Project::with_format(users, events, seed, "csv")
    }

    pub fn with_format(users: u64, events: u64, seed: u64, format: &str) -> Project {
        Project::with_job("jobs/marketing_research.toml", users, events, seed, format)
    }

    /// Like [`Project::new`], with `tests/jobs/unlinked.toml` (the shipped job before activity
    /// was linked: per-table k, events by day, URL, network, device and carrier) as the job.
    pub fn unlinked(users: u64, events: u64, seed: u64) -> Project {
        Project::with_job("tests/jobs/unlinked.toml", users, events, seed, "csv")
    }

    /// A project whose `jobs/marketing_research.toml` is a copy of `job` (relative to the
    /// repository).
    pub fn with_job(job: &str, users: u64, events: u64, seed: u64, format: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let jobs = dir.path().join("jobs");
        std::fs::create_dir_all(jobs.join("hierarchies")).unwrap();
        std::fs::copy(repo().join(job), jobs.join("marketing_research.toml")).unwrap();
        // The levels the job's search pinned (the shipped job has them), as the repository has.
        let lock = repo().join(job).with_extension("lock.toml");
        if lock.exists() {
            std::fs::copy(lock, jobs.join("marketing_research.lock.toml")).unwrap();
        }
        std::fs::copy(
            repo().join("jobs/hierarchies/kz_cities.csv"),
            jobs.join("hierarchies/kz_cities.csv"),
        )
        .unwrap();
        bin()
            .args([
                "sample",
                "--users",
                &users.to_string(),
                "--events",
                &events.to_string(),
            ])
            .args([
                "--seed",
                &seed.to_string(),
                "--until",
                UNTIL,
                "--format",
                format,
            ])
            .arg("--out")
            .arg(dir.path().join("sample_data"))
            .assert()
            .success();
        Project { dir }
    }

    /// The shipped job on a small sample, with k = 3 in every table and up to 30% suppressed
    /// (k^2 on activity suppresses 16% of its events at this size): small enough
    /// to be quick, large enough to meet k.
    pub fn small() -> Project {
        Project::new(1500, 6000, 11).shrunk()
    }

    /// [`Project::small`] with the unlinked job of [`Project::unlinked`].
    pub fn small_unlinked() -> Project {
        Project::unlinked(1500, 6000, 11).shrunk()
    }

    fn shrunk(self) -> Project {
        self.edit_job(|j| {
            j.replace("k = 10", "k = 3")
                .replace("k = 5\n", "k = 3\n")
                .replace("max_suppression = 0.05", "max_suppression = 0.3")
        });
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn job(&self) -> PathBuf {
        self.path().join("jobs/marketing_research.toml")
    }

    pub fn out(&self) -> PathBuf {
        self.path().join("out/marketing_research")
    }

    /// Rewrites the job file with `f`.
    pub fn edit_job(&self, f: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(self.job()).unwrap();
        std::fs::write(self.job(), f(text)).unwrap();
    }

    pub fn run(&self, key: &str) -> Command {
        self.run_on(key, RUN_DATE)
    }

    pub fn run_on(&self, key: &str, run_date: &str) -> Command {
        let mut c = bin();
        c.current_dir(self.path()).env("ANONYMIZE_KEY", key).args([
            "run",
            "jobs/marketing_research.toml",
            "--run-date",
            run_date,
        ]);
        c
    }

    /// `anonymize check` on the project's job, with the key.
    pub fn check(&self) -> Command {
        let mut c = bin();
        c.current_dir(self.path())
            .env("ANONYMIZE_KEY", KEY)
            .args(["check", "jobs/marketing_research.toml"]);
        c
    }

    /// `anonymize verify` on the project's output, against its job.
    pub fn verify(&self) -> Command {
        let mut c = bin();
        c.current_dir(self.path()).args([
            "verify",
            "out/marketing_research",
            "--job",
            "jobs/marketing_research.toml",
        ]);
        c
    }

    pub fn report(&self) -> serde_json::Value {
        let p = self
            .out()
            .join(format!("_reports/run_date={RUN_DATE}.json"));
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    }

    pub fn output_file(&self, table: &str) -> PathBuf {
        self.out()
            .join(table)
            .join(format!("run_date={RUN_DATE}"))
            .join("part-00000.parquet")
    }

    /// Every file below the output but a failed night's report (`….failed.json|html`), the
    /// one thing a failed run adds: what such a run must leave exactly as it was.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        let mut stack = vec![self.out()];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if !p.to_string_lossy().contains(".failed.") {
                    files.insert(p.clone(), std::fs::read(&p).unwrap());
                }
            }
        }
        files
    }

    /// Rows of an input CSV table (all files of the glob), as header → value maps.
    pub fn input_rows(&self, table: &str) -> Vec<BTreeMap<String, String>> {
        let mut rows = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(self.path().join("sample_data").join(table))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let mut r = csv::Reader::from_path(&f).unwrap();
            let header = r.headers().unwrap().clone();
            for rec in r.records() {
                let rec = rec.unwrap();
                rows.push(
                    header
                        .iter()
                        .zip(rec.iter())
                        .map(|(h, v)| (h.to_string(), v.to_string()))
                        .collect(),
                );
            }
        }
        rows
    }
}

/// `anonymize run job.toml` for `RUN_DATE` in `dir`, with the test key.
pub fn run_job(dir: &Path) -> assert_cmd::assert::Assert {
    bin()
        .current_dir(dir)
        .env("ANONYMIZE_KEY", KEY)
        .args(["run", "job.toml", "--run-date", RUN_DATE])
        .assert()
}

/// The run report of `RUN_DATE` under an output directory.
pub fn report_in(output: &Path) -> serde_json::Value {
    let p = output.join(format!("_reports/run_date={RUN_DATE}.json"));
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// A Parquet file read with arrow-rs: column name → arrow type and values rendered as text
/// (None for null).
pub struct Table {
    pub columns: Vec<(String, DataType)>,
    pub values: BTreeMap<String, Vec<Option<String>>>,
    pub rows: usize,
    pub metadata: BTreeMap<String, String>,
    /// Each field's metadata (from the Arrow schema the file embeds).
    pub field_metadata: BTreeMap<String, std::collections::HashMap<String, String>>,
}

impl Table {
    pub fn column(&self, name: &str) -> &Vec<Option<String>> {
        self.values
            .get(name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    pub fn dtype(&self, name: &str) -> &DataType {
        &self.columns.iter().find(|(n, _)| n == name).unwrap().1
    }
}

pub fn read_parquet(path: &Path) -> Table {
    let file = std::fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let metadata = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|e| (e.key.clone(), e.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let schema = builder.schema().clone();
    let field_metadata = schema
        .fields()
        .iter()
        .map(|f| {
            (
                f.name().clone(),
                f.metadata()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        })
        .collect();
    let columns: Vec<(String, DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let mut values: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    let mut rows = 0;
    for batch in builder.build().unwrap() {
        let batch: RecordBatch = batch.unwrap();
        rows += batch.num_rows();
        for (i, (name, _)) in columns.iter().enumerate() {
            let mut array = batch.column(i).clone();
            // arrow's display needs chrono-tz for named zones; our timestamps are UTC, so the
            // zone-less rendering of the same instants is the UTC wall time.
            if let DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some(_)) =
                array.data_type()
            {
                let ts = array
                    .as_any()
                    .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
                    .unwrap()
                    .clone()
                    .with_timezone_opt(None::<String>);
                array = std::sync::Arc::new(ts);
            }
            let formatter = arrow::util::display::ArrayFormatter::try_new(
                array.as_ref(),
                &arrow::util::display::FormatOptions::default(),
            )
            .unwrap();
            let v = values.entry(name.clone()).or_default();
            for r in 0..array.len() {
                v.push(if array.is_null(r) {
                    None
                } else {
                    Some(formatter.value(r).to_string())
                });
            }
        }
    }
    Table {
        columns,
        values,
        rows,
        metadata,
        field_metadata,
    }
}

/// HMAC-SHA256(key, value) as the first 32 hex characters, computed here, independently.
pub fn pseudonym(key: &str, value: &str) -> String {
    keyed(key.as_bytes(), value)
}

/// The pseudonym of a column with `scope = "table"`: under the table's key,
/// HMAC-SHA256(job key, "anonymize table key v1\0" + table), computed here, independently.
pub fn table_pseudonym(key: &str, table: &str, value: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(b"anonymize table key v1\0");
    mac.update(table.as_bytes());
    keyed(&mac.finalize().into_bytes(), value)
}

fn keyed(key: &[u8], value: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(value.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}
