//! Writing the output atomically: `<output>/<table>/run_date=YYYY-MM-DD/part-00000.parquet`
//! and `<output>/_reports/run_date=YYYY-MM-DD.json` (with its page, `….html`).
//!
//! Everything a run writes goes first into a staging directory beside the target
//! (`<output>/.anonymize-staging-<date>-<pid>-<random>`, on the same file system, so a rename
//! is atomic; the random part means it never clashes with a user's folder, and a marker file
//! inside says the run made it). Only when every
//! table and the report are written and synced does [`Staging::commit`] swap each partition
//! into place: the old partition is moved aside, the new one renamed in, and the old one deleted
//! at the end. A run that fails before the commit leaves the output as it was; one that fails
//! during it puts the moved-aside partitions back. Re-running a date replaces that date's
//! partitions and report, nothing else.
//!
//! Each run date is a whole snapshot, so reading every partition sums the nights. For readers
//! that want one night, `<output>/_latest/<table>.parquet` is the newest night of each table:
//! a hard link to its partition's file (no copy), swapped in by the same journaled commit, so
//! it is always one whole night. `keep_runs` prunes older nights after the commit.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;

use crate::error::{Error, Result};

pub const PART_FILE: &str = "part-00000.parquet";
pub const REPORTS_DIR: &str = "_reports";
/// `<output>/_latest/<table>.parquet`: the newest night of each table (see the module's notes).
/// Table names never begin with `_`, so it cannot clash with a table.
pub const LATEST_DIR: &str = "_latest";
/// The report's files in the staging directory: the JSON and its HTML page.
const REPORT_STAGED: [&str; 2] = ["report.json", "report.html"];

/// Rows per Parquet row group: large enough for good compression and statistics, small enough
/// that readers can skip by statistics.
const ROW_GROUP_ROWS: usize = 512 * 1024;

/// The partition directory name of a run date.
pub fn partition(run_date: NaiveDate) -> String {
    format!("run_date={}", run_date.format("%Y-%m-%d"))
}

/// How every output file is written: zstd level 3, full statistics, [`ROW_GROUP_ROWS`] rows a
/// group, and the given key-value metadata. (`examples/floor.rs` writes its baseline the same
/// way.)
pub fn parquet_options(metadata: Vec<(String, String)>) -> PolarsResult<ParquetWriteOptions> {
    Ok(ParquetWriteOptions {
        compression: ParquetCompression::Zstd(Some(polars_parquet::write::ZstdLevel::try_new(3)?)),
        statistics: StatisticsOptions::full(),
        row_group_size: Some(ROW_GROUP_ROWS),
        key_value_metadata: Some(KeyValueMetadata::from_static(metadata)),
        ..Default::default()
    })
}

/// The Arrow schema of `schema` as the writer would make it, with a `description` in the
/// metadata of each field `descriptions` names. Parquet keeps field metadata only in the Arrow
/// schema it embeds (`ARROW:schema`), which is what pyarrow, polars and arrow-rs read it from.
fn described(schema: &Schema, descriptions: &[(String, String)]) -> ArrowSchema {
    schema
        .iter_fields()
        .map(|f| {
            let field = f.to_arrow(CompatLevel::oldest());
            match descriptions
                .iter()
                .find(|(name, _)| name == f.name().as_str())
            {
                Some((_, d)) => {
                    let mut metadata = (*field.metadata.clone().unwrap_or_default()).clone();
                    metadata.insert("description".into(), d.as_str().into());
                    field.with_metadata(metadata)
                }
                None => field,
            }
        })
        .map(|f| (f.name.clone(), f))
        .collect()
}

/// How the first pass stages a table for the later passes (see [`crate::stage`]): LZ4, which
/// costs a fraction of zstd, and no statistics, since the file is only ever read whole.
pub fn scratch_options() -> ParquetWriteOptions {
    ParquetWriteOptions {
        compression: ParquetCompression::Lz4Raw,
        statistics: StatisticsOptions::empty(),
        row_group_size: Some(ROW_GROUP_ROWS),
        ..Default::default()
    }
}

/// Streams `lf` into one Parquet file.
pub fn sink_parquet(lf: LazyFrame, file: &Path, options: ParquetWriteOptions) -> PolarsResult<()> {
    parquet_sink(lf, file, options)
        .and_then(|lf| lf.collect_with_engine(Engine::Streaming))
        .map(|_| ())
}

/// `lf` ending in a sink into one Parquet file, not yet run: several run as one query with
/// [`run_sinks`].
pub fn parquet_sink(
    lf: LazyFrame,
    file: &Path,
    options: ParquetWriteOptions,
) -> PolarsResult<LazyFrame> {
    lf.sink(
        SinkDestination::File {
            target: SinkTarget::Path(PlRefPath::new(file.to_string_lossy().as_ref())),
        },
        FileWriteFormat::Parquet(Arc::new(options)),
        UnifiedSinkArgs {
            mkdir: true,
            ..Default::default()
        },
    )
}

/// Runs several sinks as one streaming query: the parts their plans share, such as the scan of
/// one input, run once for all of them.
pub fn run_sinks(sinks: Vec<LazyFrame>) -> PolarsResult<()> {
    let Some(opt) = sinks.first().map(LazyFrame::get_current_optimizations) else {
        return Ok(());
    };
    let plans = sinks.into_iter().map(|lf| lf.logical_plan).collect();
    LazyFrame::collect_all_with_engine(plans, Engine::Streaming, opt).map(|_| ())
}

pub struct Staging {
    root: PathBuf,
    output: PathBuf,
    run_date: NaiveDate,
    committed: bool,
    /// The output's lock, held from creation to the end of the commit. The operating system
    /// releases it when the process ends, however it ends, so a killed run never leaves it
    /// taken.
    _lock: fs::File,
}

/// The lock file in an output directory: one run writes an output at a time.
pub const LOCK_FILE: &str = ".anonymize.lock";

/// Takes the output's lock, or fails (exit code 1) when another run holds it.
fn lock_output(output: &Path) -> Result<fs::File> {
    let path = output.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(Error::io("cannot open the output's lock file", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Busy {
            context: "another run is writing this output (it holds the lock); try again when it \
                      has finished",
            path,
        }),
        Err(fs::TryLockError::Error(e)) => Err(Error::Io {
            context: "cannot lock the output",
            path,
            source: e,
        }),
    }
}

/// Whether a run may write into an existing folder that holds what anonymize did not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputClaim {
    /// The output is new, empty, or one anonymize wrote before (the default).
    #[default]
    Ours,
    /// `--output-is-new-dataset`: the operator says the non-empty folder is where the dataset
    /// goes. A run still only ever replaces its own partitions and removes what it made.
    NewDataset,
}

/// Folders an output may never be, nor lie inside (pseudo file systems).
const SYSTEM_FOLDERS: &[&str] = &[
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media",
    "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var",
    "/var/tmp",
];
const PSEUDO_FILE_SYSTEMS: &[&str] = &["/dev", "/proc", "/sys", "/run"];

/// `path` made absolute and resolved through every link of its existing part (the rest,
/// not yet created, is appended as written, minus `.` components).
fn resolved(path: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(path).map_err(Error::io("cannot resolve the output", path))?;
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        match fs::canonicalize(existing) {
            Ok(real) => {
                let mut out = real;
                for part in rest.iter().rev() {
                    out.push(part);
                }
                return Ok(out);
            }
            Err(_) => match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    existing = parent;
                }
                _ => return Ok(abs),
            },
        }
    }
}

/// Refuses outputs a run must never write into (exit 2): the file-system root, a system
/// folder, the home folder; and an existing folder with other things in it that anonymize did
/// not write (no `_reports/`, no lock file), unless `claim` says it is meant for the dataset.
/// Why: a run creates, replaces and removes folders in its output; pointed at the wrong folder by
/// a typo in a job file, it must stop before it touches anything.
pub fn check_output(output: &Path, claim: OutputClaim) -> Result<()> {
    let real = resolved(output)?;
    let shown = output.display();
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .and_then(|h| fs::canonicalize(h).ok());
    if real.parent().is_none()
        || SYSTEM_FOLDERS.iter().any(|f| real == Path::new(f))
        || PSEUDO_FILE_SYSTEMS.iter().any(|f| real.starts_with(f))
        || home.as_deref() == Some(real.as_path())
    {
        return Err(Error::Job(format!(
            "the output {shown} is the file-system root, a system folder or the home folder; \
             a run writes and replaces folders in its output: give it a folder of its own \
             (`output` in the job, or --output)"
        )));
    }
    let Ok(mut entries) = fs::read_dir(&real) else {
        return Ok(()); // Not there yet (or not a folder: creating it will say so).
    };
    let foreign = entries.next().is_some()
        && !real.join(REPORTS_DIR).is_dir()
        && !real.join(LOCK_FILE).is_file();
    if foreign && claim == OutputClaim::Ours {
        return Err(Error::Job(format!(
            "the output {shown} is not empty and was not written by anonymize (it has no \
             `{REPORTS_DIR}` folder): check `output` in the job or --output, or pass \
             --output-is-new-dataset if the dataset is to be written there"
        )));
    }
    Ok(())
}

/// Names of staging directories begin with this.
const STAGING_PREFIX: &str = ".anonymize-staging-";
/// The marker file in a staging directory: it holds the directory's own name, so that only
/// what a run made is ever recovered or removed (a user's folder of a similar name is not).
const STAGING_MARKER: &str = ".made-by-anonymize";

impl Staging {
    /// Creates `<output>/.anonymize-staging-<run date>-<pid>-<random>` with its marker (and the
    /// output directory if needed), after recovering what killed runs left.
    pub fn create(output: &Path, run_date: NaiveDate) -> Result<Staging> {
        crate::scratch::create_published_dirs(output, "cannot create the output directory")?;
        let lock = lock_output(output)?;
        recover(output)?;
        let name = format!(
            "{STAGING_PREFIX}{}-{}-{:016x}",
            run_date.format("%Y-%m-%d"),
            std::process::id(),
            rand::random::<u64>()
        );
        let root = output.join(&name);
        // `create_dir` fails if anything of that name exists: the run never adopts a folder.
        fs::create_dir(&root).map_err(Error::io("cannot create the staging directory", &root))?;
        let marker = root.join(STAGING_MARKER);
        fs::write(&marker, name.as_bytes())
            .map_err(Error::io("cannot create the staging directory", &marker))?;
        Ok(Staging {
            root,
            output: output.to_path_buf(),
            run_date,
            committed: false,
            _lock: lock,
        })
    }

    fn staged_partition(&self, table: &str) -> PathBuf {
        self.root.join(table).join(partition(self.run_date))
    }

    /// Streams `lf` into the table's staged partition, with the file's key-value `metadata`
    /// and a `description` in the metadata of each field `descriptions` names. Returns the
    /// file's path relative to the output directory (as it will be after the commit) and its
    /// staged path.
    pub fn write_table(
        &self,
        mut lf: LazyFrame,
        table: &str,
        metadata: Vec<(String, String)>,
        descriptions: &[(String, String)],
    ) -> Result<(String, PathBuf)> {
        let dir = self.staged_partition(table);
        fs::create_dir_all(&dir).map_err(Error::io("cannot create the staging directory", &dir))?;
        let file = dir.join(PART_FILE);
        let mut options =
            parquet_options(metadata).map_err(Error::engine("choosing the compression level"))?;
        if !descriptions.is_empty() {
            let schema = lf
                .collect_schema()
                .map_err(Error::engine(format!("tables.{table}: writing the output")))?;
            options.arrow_schema = Some(Arc::new(described(&schema, descriptions)));
        }
        sink_parquet(lf, &file, options)
            .map_err(Error::engine(format!("tables.{table}: writing the output")))?;
        sync_file(&file)?;
        Ok((
            format!("{table}/{}/{PART_FILE}", partition(self.run_date)),
            file,
        ))
    }

    /// Moves the staged partitions, the report (JSON, and its HTML page) and, when this is the
    /// newest night, each table's `_latest` link into place. On failure, what was already
    /// swapped is swapped back. Then removes the partitions `prune` names (see
    /// [`Staging::beyond_kept`] and [`prune`]).
    pub fn commit(
        mut self,
        tables: &[String],
        report: &[u8],
        page: &[u8],
        prune_these: &[String],
    ) -> Result<Pruned> {
        refuse_links(&self.output, tables)?;
        for (name, bytes) in [(REPORT_STAGED[0], report), (REPORT_STAGED[1], page)] {
            let staged = self.root.join(name);
            fs::write(&staged, bytes).map_err(Error::io("cannot write the report", &staged))?;
            sync_file(&staged)?;
            crate::scratch::publish(&staged)?;
        }
        // Written private (see `crate::scratch`), published with the operator's modes.
        for t in tables {
            crate::scratch::publish(&self.staged_partition(t))?;
        }
        // The newest night of a table is also its `_latest`: a second name of the same file,
        // made here so that the commit's journal moves it like the rest.
        let newest: Vec<String> = tables
            .iter()
            .filter(|t| self.is_newest(t))
            .cloned()
            .collect();
        if !newest.is_empty() {
            let dir = self.root.join(LATEST_DIR);
            fs::create_dir_all(&dir)
                .map_err(Error::io("cannot create the staging directory", &dir))?;
            for t in &newest {
                let link = dir.join(latest_file(t));
                fs::hard_link(self.staged_partition(t).join(PART_FILE), &link)
                    .map_err(Error::io("cannot link the latest night", &link))?;
            }
            crate::scratch::publish(&dir)?;
        }

        // Every move, written down before the first one: a run killed half-way through is
        // undone from this journal by the next run (see `recover`).
        let moves = plan_moves(&self.output, &self.root, tables, &newest, self.run_date);
        let journal = self.root.join(JOURNAL);
        let text = serde_json::to_vec(&moves).map_err(|e| Error::Io {
            context: "cannot write the commit journal",
            path: journal.clone(),
            source: e.into(),
        })?;
        fs::write(&journal, text)
            .map_err(Error::io("cannot write the commit journal", &journal))?;
        sync_file(&journal)?;
        sync_dir(&self.root);

        let result = (|| -> Result<()> {
            let previous = self.root.join(".previous").join(LATEST_DIR);
            fs::create_dir_all(&previous)
                .map_err(Error::io("cannot create the staging directory", &previous))?;
            for m in &moves {
                let target = self.output.join(&m.target);
                let parent = target.parent().unwrap_or(&self.output).to_path_buf();
                crate::scratch::create_published_dirs(
                    &parent,
                    "cannot create the output directory",
                )?;
                if m.had_previous {
                    // A file (a report, a `_latest` link) keeps its name throughout: the old
                    // one gets a second name aside, and the rename below replaces it in one
                    // step, so a reader never finds it missing. A partition (a folder) cannot
                    // be renamed over, so it is moved aside first.
                    let aside = self.output.join(&m.aside);
                    if fs::symlink_metadata(&target).is_ok_and(|t| t.is_file()) {
                        fs::hard_link(&target, &aside)
                    } else {
                        fs::rename(&target, &aside)
                    }
                    .map_err(Error::io("cannot move the old output aside", &target))?;
                }
                fs::rename(self.output.join(&m.staged), &target)
                    .map_err(Error::io("cannot move the new output into place", &target))?;
                sync_dir(&parent);
            }
            // Done: without its journal, what is left is only the old output, to delete.
            fs::remove_file(&journal).map_err(Error::io("cannot finish the commit", &journal))?;
            sync_dir(&self.root);
            Ok(())
        })();
        if let Err(e) = result {
            undo(&self.output, &moves);
            return Err(e);
        }
        self.committed = true;
        // Committed: a failure to prune leaves extra nights, never a broken one, so it is
        // reported and the run still succeeds.
        let pruned = prune(&self.output, &self.root, prune_these);
        let _ = fs::remove_dir_all(&self.root);
        Ok(pruned)
    }

    /// The partitions (`<table>/run_date=…`) beyond the newest `keep` nights of each table once
    /// this night is committed: what the commit will prune. Known before the commit, so the
    /// report can say it.
    pub fn beyond_kept(&self, tables: &[String], keep: Option<u32>) -> Vec<String> {
        let Some(keep) = keep else {
            return Vec::new();
        };
        let this = partition(self.run_date);
        let mut out = Vec::new();
        for t in tables {
            let mut all = nights(&self.output.join(t));
            if !all.contains(&this) {
                all.push(this.clone());
                all.sort();
            }
            let old = all.len().saturating_sub(keep as usize);
            out.extend(all[..old].iter().map(|n| format!("{t}/{n}")));
        }
        out
    }

    /// Whether this night becomes the `_latest` of every table in `tables`.
    pub fn becomes_latest(&self, tables: &[String]) -> bool {
        tables.iter().all(|t| self.is_newest(t))
    }

    /// Whether this run's night is the table's newest (a back-fill of an earlier night leaves
    /// `_latest` as it is).
    fn is_newest(&self, table: &str) -> bool {
        let this = partition(self.run_date);
        nights(&self.output.join(table))
            .iter()
            .all(|night| *night <= this)
    }
}

/// Whether `run_date` is older than the newest `keep` nights some table of `tables` already has
/// in `output`: its night would be pruned by its own commit.
pub fn older_than_kept(output: &Path, tables: &[String], run_date: NaiveDate, keep: u32) -> bool {
    let this = partition(run_date);
    tables.iter().any(|t| {
        let newer = nights(&output.join(t))
            .into_iter()
            .filter(|n| *n > this)
            .count();
        newer >= keep as usize
    })
}

/// Writes the report of a failed night (`_reports/run_date=….failed.json` and `.failed.html`),
/// each through a temporary file renamed into place. Only the failed report is written: the
/// data and the night's committed report, if any, are untouched. Returns `None`, writing
/// nothing, when the output does not exist yet (a first night that failed leaves no folder
/// behind) or another run holds its lock.
pub fn failed_report(
    output: &Path,
    run_date: NaiveDate,
    report: &[u8],
    page: &[u8],
) -> Result<Option<PathBuf>> {
    if !output.is_dir() {
        return Ok(None);
    }
    let _lock = match lock_output(output) {
        Ok(lock) => lock,
        Err(Error::Busy { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    refuse_links(output, &[])?;
    let dir = output.join(REPORTS_DIR);
    crate::scratch::create_published_dirs(&dir, "cannot create the reports folder")?;
    let date = partition(run_date);
    let mut json = None;
    for (bytes, ext) in [(report, "json"), (page, "html")] {
        let target = dir.join(format!("{date}.failed.{ext}"));
        // A new file of a name no one can guess: a link planted in the folder is never
        // followed, and a leftover of a killed run is removed by the next (see `recover`).
        let tmp = dir.join(format!("{FAILED_TMP_PREFIX}{:016x}", rand::random::<u64>()));
        let written = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .and_then(|mut f| std::io::Write::write_all(&mut f, bytes));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(Error::Io {
                context: "cannot write the report",
                path: tmp,
                source: e,
            });
        }
        sync_file(&tmp)?;
        crate::scratch::publish(&tmp)?;
        fs::rename(&tmp, &target).map_err(Error::io("cannot write the report", &target))?;
        json.get_or_insert(target);
    }
    sync_dir(&dir);
    Ok(json)
}

/// The temporary files of [`failed_report`] in `_reports/`.
const FAILED_TMP_PREFIX: &str = ".anonymize-failed-report-";

/// Refuses an output whose own folders (`_reports`, `_latest`, each table's) are symbolic
/// links, and each of `tables`' partitions too: a run moves and deletes inside them, and must
/// not do it somewhere else. (Recovery refuses such journals for the same reason.)
fn refuse_links(output: &Path, tables: &[String]) -> Result<()> {
    let is_link = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    let mut paths = vec![output.join(REPORTS_DIR), output.join(LATEST_DIR)];
    for t in tables {
        paths.push(output.join(t));
        for night in nights(&output.join(t)) {
            paths.push(output.join(t).join(night));
        }
    }
    match paths.into_iter().find(|p| is_link(p)) {
        Some(link) => Err(Error::Job(format!(
            "{} is a symbolic link; the folders of an output are its own (a run moves and \
             deletes in them): replace the link with the folder",
            link.display()
        ))),
        None => Ok(()),
    }
}

/// The `_latest` file of a table.
fn latest_file(table: &str) -> String {
    format!("{table}.parquet")
}

/// The partitions (`run_date=YYYY-MM-DD`) under a table's folder, oldest first. The names sort
/// as the dates do.
fn nights(table_dir: &Path) -> Vec<String> {
    let mut nights: Vec<String> = fs::read_dir(table_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            n.strip_prefix("run_date=")
                .is_some_and(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
        })
        .collect();
    nights.sort();
    nights
}

/// What [`prune`] removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// The partitions removed, as `<table>/run_date=YYYY-MM-DD`.
    pub partitions: Vec<String>,
    /// A partition that could not be removed, with why (the run has committed all the same).
    pub failed: Option<String>,
}

/// Removes the partitions `partitions` names (`<table>/run_date=…`, from
/// [`Staging::beyond_kept`]). Each is first renamed into the run's own staging directory (one
/// atomic step, so a reader never sees half a night), and deleted with it; a run killed in
/// between leaves it there for the next run's recovery to remove. Reports are kept: they hold
/// figures, not rows, and are the record of what each night released.
fn prune(output: &Path, root: &Path, partitions: &[String]) -> Pruned {
    let mut pruned = Pruned::default();
    let bin = root.join(".pruned");
    for p in partitions {
        let from = output.join(p);
        let to = bin.join(p);
        let moved = to
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|_| fs::rename(&from, &to));
        match moved {
            Ok(()) => {
                pruned.partitions.push(p.clone());
                if let Some(dir) = from.parent() {
                    sync_dir(dir);
                }
            }
            Err(e) => {
                pruned.failed = Some(format!("{}: {e}", from.display()));
                break;
            }
        }
    }
    pruned
}

/// The commit journal inside a staging directory; present only while a commit is under way.
const JOURNAL: &str = "COMMIT.json";

/// One rename of the commit, paths relative to the output directory (so that recovery works
/// from any working directory).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Move {
    staged: PathBuf,
    target: PathBuf,
    aside: PathBuf,
    had_previous: bool,
}

/// The renames that commit `tables` and the report from `root` into `output`.
fn plan_moves(
    output: &Path,
    root: &Path,
    tables: &[String],
    newest: &[String],
    run_date: NaiveDate,
) -> Vec<Move> {
    let root = rel(output, root);
    let date = partition(run_date);
    let mut moves: Vec<Move> = tables
        .iter()
        .map(|t| Move {
            staged: root.join(t).join(&date),
            target: PathBuf::from(t).join(&date),
            aside: root.join(".previous").join(t),
            had_previous: output.join(t).join(&date).exists(),
        })
        .collect();
    for (staged, ext) in REPORT_STAGED.iter().zip(["json", "html"]) {
        let target = PathBuf::from(REPORTS_DIR).join(format!("{date}.{ext}"));
        moves.push(Move {
            staged: root.join(staged),
            had_previous: output.join(&target).exists(),
            target,
            aside: root.join(".previous").join(staged),
        });
    }
    for t in newest {
        let file = PathBuf::from(LATEST_DIR).join(latest_file(t));
        moves.push(Move {
            staged: root.join(&file),
            had_previous: output.join(&file).exists(),
            aside: root.join(".previous").join(&file),
            target: file,
        });
    }
    moves
}

fn rel(output: &Path, p: &Path) -> PathBuf {
    p.strip_prefix(output)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| p.to_path_buf())
}

/// Puts back what a commit replaced, newest first, whatever step it reached.
fn undo(output: &Path, moves: &[Move]) {
    let remove = |p: &Path| {
        let _ = if p.is_dir() {
            fs::remove_dir_all(p)
        } else {
            fs::remove_file(p)
        };
    };
    for m in moves.iter().rev() {
        let (target, aside, staged) = (
            output.join(&m.target),
            output.join(&m.aside),
            output.join(&m.staged),
        );
        if m.had_previous {
            // The old output was moved aside only if it is there; the new one in only after.
            if aside.exists() {
                if target.exists() {
                    remove(&target);
                }
                let _ = fs::rename(&aside, &target);
            }
        } else if target.exists() && !staged.exists() {
            remove(&target);
        }
    }
}

/// Whether `dir` (an entry of the output) is a staging directory a run made: a real
/// directory (not a link) of our name whose marker holds that very name.
fn is_ours(dir: &Path) -> bool {
    let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    // Sizes are checked before reading: a planted marker may be any file.
    name.starts_with(STAGING_PREFIX)
        && fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir())
        && fs::symlink_metadata(dir.join(STAGING_MARKER))
            .is_ok_and(|m| m.is_file() && m.len() == name.len() as u64)
        && fs::read(dir.join(STAGING_MARKER)).is_ok_and(|m| m == name.as_bytes())
}

/// Checks every path of a journal found in `staging` before anything acts on it: each move
/// must be exactly one a commit of that staging directory makes (see [`plan_moves`]): its
/// target a partition of the staging directory's run date (`<table>/run_date=<date>`) or that
/// date's report, its staged and moved-aside paths the ones inside the staging directory that go
/// with that target, and no folder on the way a symbolic link. A journal that names anything
/// else was not written by a run (planted, or damaged), and nothing is done with it.
fn check_journal(output: &Path, staging: &Path, moves: &[Move]) -> Result<()> {
    let refused = || Error::Io {
        context: "a commit journal names a path that no run writes (outside the output, or not \
                  a partition or report of its run date); nothing was done with it: inspect the \
                  output by hand and remove that staging directory",
        path: staging.join(JOURNAL),
        source: std::io::Error::from(std::io::ErrorKind::InvalidData),
    };
    let name = staging
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(refused)?;
    // `.anonymize-staging-YYYY-MM-DD-…`: the run date a commit from here can only be for.
    let date = name
        .strip_prefix(STAGING_PREFIX)
        .and_then(|rest| rest.get(..10))
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(refused)?;
    let root = PathBuf::from(name);
    let part = partition(date);
    let no_links = |p: &Path| {
        // Every existing folder on the way from the output to the path is a real directory.
        let mut here = output.to_path_buf();
        let parts: Vec<_> = p.components().collect();
        parts[..parts.len().saturating_sub(1)].iter().all(|c| {
            here.push(c);
            fs::symlink_metadata(&here).map_or(true, |m| m.is_dir())
        })
    };
    for m in moves {
        let parts: Vec<&str> = m.target.iter().filter_map(|c| c.to_str()).collect();
        let expected = match parts.as_slice() {
            [LATEST_DIR, file] => file
                .strip_suffix(".parquet")
                .filter(|t| crate::job::validate::table_name_ok(t))
                .map(|_| {
                    let f = PathBuf::from(LATEST_DIR).join(file);
                    (root.join(&f), root.join(".previous").join(&f))
                }),
            [REPORTS_DIR, file] => REPORT_STAGED
                .iter()
                .zip(["json", "html"])
                .find(|(_, ext)| *file == format!("{part}.{ext}"))
                .map(|(staged, _)| (root.join(staged), root.join(".previous").join(staged))),
            [table, date_dir]
                if *date_dir == part && crate::job::validate::table_name_ok(table) =>
            {
                Some((
                    root.join(table).join(&part),
                    root.join(".previous").join(table),
                ))
            }
            _ => None,
        };
        let ok = m.target.iter().count() == 2
            && expected.is_some_and(|(staged, aside)| m.staged == staged && m.aside == aside)
            && no_links(&m.target)
            && no_links(&m.staged)
            && no_links(&m.aside);
        if !ok {
            return Err(refused());
        }
    }
    Ok(())
}

/// [`recover`] at the start of a run, under the output's lock, released at once: the run then
/// reads the earlier nights as recovery leaves them, rather than finding them changed when it
/// takes the lock to commit (exit 75 and a wasted pass). A held lock is exit 75 at once.
pub fn recover_before_reading(output: &Path) -> Result<()> {
    // An output no run has locked has no killed commit to recover (and a run that fails
    // before it writes must leave such a folder without even a lock file).
    if !fs::symlink_metadata(output.join(LOCK_FILE)).is_ok_and(|m| m.is_file()) {
        return Ok(());
    }
    let _lock = lock_output(output)?;
    recover(output)
}

/// Cleans up after runs that were killed: a staging directory with a commit journal is a
/// commit cut short, undone first; then the staging directory is removed. Only directories a
/// run made are touched (see [`is_ours`]), and only after their journal's every path is checked
/// (see [`check_journal`]). Only called with the output's lock held, so no live run owns them.
pub fn recover(output: &Path) -> Result<()> {
    // What a failed night's report left when killed before its rename: our name, a file.
    let reports = output.join(REPORTS_DIR);
    if fs::symlink_metadata(&reports).is_ok_and(|m| m.is_dir()) {
        for e in fs::read_dir(&reports).into_iter().flatten().flatten() {
            let stale = e
                .file_name()
                .to_string_lossy()
                .starts_with(FAILED_TMP_PREFIX)
                && e.file_type().is_ok_and(|t| t.is_file());
            if stale {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    let entries =
        fs::read_dir(output).map_err(Error::io("cannot read the output directory", output))?;
    for e in entries.flatten() {
        let dir = e.path();
        if !is_ours(&dir) {
            continue;
        }
        let journal = dir.join(JOURNAL);
        if fs::symlink_metadata(&journal).is_ok() {
            // A journal names a few moves a table: far below this, whatever was planted.
            const MAX_JOURNAL: u64 = 1 << 20;
            let moves = fs::symlink_metadata(&journal)
                .ok()
                .filter(|m| m.is_file() && m.len() <= MAX_JOURNAL)
                .and_then(|_| fs::read(&journal).ok())
                .and_then(|text| serde_json::from_slice::<Vec<Move>>(&text).ok())
                .ok_or_else(|| Error::Io {
                    context: "an interrupted commit left a journal that cannot be read; \
                              restore the output from a backup or inspect it by hand",
                    path: journal.clone(),
                    source: std::io::Error::from(std::io::ErrorKind::InvalidData),
                })?;
            check_journal(output, &dir, &moves)?;
            tracing::warn!(path = %dir.display(), "undoing a commit that an interrupted run left half done");
            undo(output, &moves);
        }
        tracing::warn!(path = %dir.display(), "removing what an interrupted run left");
        fs::remove_dir_all(&dir)
            .map_err(Error::io("cannot remove a stale staging directory", &dir))?;
    }
    Ok(())
}

impl Drop for Staging {
    /// A run that did not commit leaves nothing behind but its (removed) staging directory.
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

fn sync_file(path: &Path) -> Result<()> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(Error::io("cannot sync", path))
}

/// Best effort: directories cannot be opened for sync on every platform; where they can, a
/// rename is durable only once its directory is synced.
fn sync_dir(path: &Path) {
    if let Ok(f) = fs::File::open(path) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                let name = rel(dir, &p).display().to_string();
                if name == LOCK_FILE {
                    continue;
                }
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((name, fs::read_to_string(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    /// A commit killed after any of its renames is undone by the next run's recovery: the
    /// output is exactly the previous one, whether a table had a previous partition or not.
    #[test]
    fn a_commit_killed_at_any_step_is_undone() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let part = partition(date);
        // `a`, the report and `a`'s latest had previous versions (2 renames each), `b` and the
        // page did not (1).
        let steps_total = 8;
        for killed_after in 0..=steps_total {
            let out = tempfile::tempdir().unwrap();
            let o = out.path();
            for (p, text) in [
                (format!("a/{part}/part-00000.parquet"), "old a"),
                (format!("{REPORTS_DIR}/{part}.json"), "old report"),
                (format!("{LATEST_DIR}/a.parquet"), "old latest"),
                (
                    "a/run_date=2026-11-19/part-00000.parquet".to_string(),
                    "other date",
                ),
            ] {
                fs::create_dir_all(o.join(&p).parent().unwrap()).unwrap();
                fs::write(o.join(&p), text).unwrap();
            }
            let before = tree(o);
            let root = o.join(".anonymize-staging-2026-11-20-1-00");
            fs::create_dir_all(&root).unwrap();
            fs::write(
                root.join(STAGING_MARKER),
                ".anonymize-staging-2026-11-20-1-00",
            )
            .unwrap();
            for t in ["a", "b"] {
                fs::create_dir_all(root.join(t).join(&part)).unwrap();
                fs::write(
                    root.join(t).join(&part).join("part-00000.parquet"),
                    format!("new {t}"),
                )
                .unwrap();
            }
            fs::write(root.join("report.json"), "new report").unwrap();
            fs::write(root.join("report.html"), "new page").unwrap();
            fs::create_dir_all(root.join(LATEST_DIR)).unwrap();
            fs::write(root.join(LATEST_DIR).join("a.parquet"), "new a").unwrap();
            fs::create_dir_all(root.join(".previous").join(LATEST_DIR)).unwrap();
            let moves = plan_moves(o, &root, &["a".into(), "b".into()], &["a".into()], date);
            assert_eq!(moves.len(), 5);
            check_journal(o, &root, &moves).unwrap();
            fs::write(root.join(JOURNAL), serde_json::to_vec(&moves).unwrap()).unwrap();
            // Replay the commit's renames up to the kill.
            let mut done = 0;
            'replay: for m in &moves {
                let target = o.join(&m.target);
                fs::create_dir_all(target.parent().unwrap()).unwrap();
                if m.had_previous {
                    if done == killed_after {
                        break 'replay;
                    }
                    // As the commit does: a file gets a second name, a folder moves.
                    if target.is_file() {
                        fs::hard_link(&target, o.join(&m.aside)).unwrap();
                    } else {
                        fs::rename(&target, o.join(&m.aside)).unwrap();
                    }
                    done += 1;
                }
                if done == killed_after {
                    break 'replay;
                }
                fs::rename(o.join(&m.staged), &target).unwrap();
                done += 1;
            }
            recover(o).unwrap();
            let after: Vec<_> = tree(o)
                .into_iter()
                .filter(|(n, _)| !n.starts_with("b"))
                .collect();
            assert_eq!(after, before, "killed after {killed_after} renames");
            assert!(
                !o.join("b").join(&part).exists(),
                "killed after {killed_after}"
            );
            assert!(!root.exists());
        }
    }
}
