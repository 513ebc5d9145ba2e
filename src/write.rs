//! Writing the output atomically: `<output>/<table>/run_date=YYYY-MM-DD/part-00000.parquet`
//! and `<output>/_reports/run_date=YYYY-MM-DD.json`.
//!
//! Everything a run writes goes first into a staging directory beside the target
//! (`<output>/.staging-…`, on the same file system, so a rename is atomic). Only when every
//! table and the report are written and synced does [`Staging::commit`] swap each partition
//! into place: the old partition is moved aside, the new one renamed in, and the old one deleted
//! at the end. A run that fails before the commit leaves the output as it was; one that fails
//! during it puts the moved-aside partitions back. Re-running a date replaces that date's
//! partitions and report, nothing else.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;

use crate::error::{Error, Result};

pub const PART_FILE: &str = "part-00000.parquet";
pub const REPORTS_DIR: &str = "_reports";

/// Rows per Parquet row group: large enough for good compression and statistics, small enough
/// that readers can skip by statistics.
const ROW_GROUP_ROWS: usize = 512 * 1024;

/// The partition directory name of a run date.
pub fn partition(run_date: NaiveDate) -> String {
    format!("run_date={}", run_date.format("%Y-%m-%d"))
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
        Err(fs::TryLockError::WouldBlock) => Err(Error::Io {
            context: "another run is writing this output (it holds the lock); try again when it \
                      has finished",
            path,
            source: std::io::Error::from(std::io::ErrorKind::WouldBlock),
        }),
        Err(fs::TryLockError::Error(e)) => Err(Error::Io {
            context: "cannot lock the output",
            path,
            source: e,
        }),
    }
}

/// Removes what killed runs left: their staging directories. Only called with the lock held,
/// so no live run owns them.
fn clean_leftovers(output: &Path) -> Result<()> {
    let entries =
        fs::read_dir(output).map_err(Error::io("cannot read the output directory", output))?;
    for e in entries.flatten() {
        let name = e.file_name();
        if name.to_string_lossy().starts_with(".staging-") {
            let p = e.path();
            tracing::warn!(path = %p.display(), "removing what an interrupted run left");
            fs::remove_dir_all(&p)
                .map_err(Error::io("cannot remove a stale staging directory", &p))?;
        }
    }
    Ok(())
}

impl Staging {
    /// Creates `<output>/.staging-<run date>-<pid>` (and the output directory if needed).
    pub fn create(output: &Path, run_date: NaiveDate) -> Result<Staging> {
        fs::create_dir_all(output)
            .map_err(Error::io("cannot create the output directory", output))?;
        let lock = lock_output(output)?;
        clean_leftovers(output)?;
        let root = output.join(format!(
            ".staging-{}-{}",
            run_date.format("%Y-%m-%d"),
            std::process::id()
        ));
        fs::create_dir(&root).map_err(Error::io("cannot create the staging directory", &root))?;
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

    /// Streams `lf` into the table's staged partition. Returns the file's path relative to the
    /// output directory (as it will be after the commit) and its staged path.
    pub fn write_table(
        &self,
        lf: LazyFrame,
        table: &str,
        metadata: Vec<(String, String)>,
    ) -> Result<(String, PathBuf)> {
        let dir = self.staged_partition(table);
        fs::create_dir_all(&dir).map_err(Error::io("cannot create the staging directory", &dir))?;
        let file = dir.join(PART_FILE);
        let zstd = polars_parquet::write::ZstdLevel::try_new(3)
            .map_err(Error::engine("choosing the compression level"))?;
        let options = ParquetWriteOptions {
            compression: ParquetCompression::Zstd(Some(zstd)),
            statistics: StatisticsOptions::full(),
            row_group_size: Some(ROW_GROUP_ROWS),
            key_value_metadata: Some(KeyValueMetadata::from_static(metadata)),
            ..Default::default()
        };
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
        .and_then(|lf| lf.collect_with_engine(Engine::Streaming))
        .map_err(Error::engine(format!("tables.{table}: writing the output")))?;
        sync_file(&file)?;
        Ok((
            format!("{table}/{}/{PART_FILE}", partition(self.run_date)),
            file,
        ))
    }

    /// Moves the staged partitions and the report into place. On failure, what was already
    /// swapped is swapped back.
    pub fn commit(mut self, tables: &[String], report: &[u8]) -> Result<()> {
        let report_staged = self.root.join("report.json");
        fs::write(&report_staged, report)
            .map_err(Error::io("cannot write the report", &report_staged))?;
        sync_file(&report_staged)?;
        let reports = self.output.join(REPORTS_DIR);
        fs::create_dir_all(&reports)
            .map_err(Error::io("cannot create the reports directory", &reports))?;

        let previous = self.root.join(".previous");
        fs::create_dir(&previous)
            .map_err(Error::io("cannot create the staging directory", &previous))?;
        let mut done: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
        let result = (|| -> Result<()> {
            for table in tables {
                let parent = self.output.join(table);
                fs::create_dir_all(&parent)
                    .map_err(Error::io("cannot create the table directory", &parent))?;
                let target = parent.join(partition(self.run_date));
                let aside = if target.exists() {
                    let aside = previous.join(table);
                    fs::rename(&target, &aside)
                        .map_err(Error::io("cannot move the old partition aside", &target))?;
                    Some(aside)
                } else {
                    None
                };
                done.push((target.clone(), aside));
                fs::rename(self.staged_partition(table), &target).map_err(Error::io(
                    "cannot move the new partition into place",
                    &target,
                ))?;
                sync_dir(&parent)?;
            }
            let report_target = reports.join(format!("{}.json", partition(self.run_date)));
            fs::rename(&report_staged, &report_target).map_err(Error::io(
                "cannot move the report into place",
                &report_target,
            ))?;
            sync_dir(&reports)
        })();
        if let Err(e) = result {
            // Put back what was there before, newest first.
            for (target, aside) in done.into_iter().rev() {
                let _ = fs::remove_dir_all(&target);
                if let Some(aside) = aside {
                    let _ = fs::rename(&aside, &target);
                }
            }
            return Err(e);
        }
        self.committed = true;
        let _ = fs::remove_dir_all(&self.root);
        Ok(())
    }
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

fn sync_dir(path: &Path) -> Result<()> {
    // Directories cannot be opened for sync on every platform; where they can, a rename is
    // durable only once its directory is synced.
    if let Ok(f) = fs::File::open(path) {
        let _ = f.sync_all();
    }
    Ok(())
}
