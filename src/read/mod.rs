//! Finding a table's input files and opening them as one lazy frame.
//!
//! Before any row is read, every file's header is checked against the job: a column the job
//! names but a file lacks, or a column a file has but the job does not name, stops the run with
//! the file and the column named. That is the "nothing passes through without an explicit
//! action" rule; it has to look at each file because a glob can match exports of different
//! vintages. CSV is read with every column as text: types are the job's business (see
//! [`crate::transform::keep`]), not the reader's guess.

pub mod csv_check;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::job::{Format, Table, Unlisted};

/// A table's input files, checked against the job.
#[derive(Debug, Clone)]
pub struct Source {
    pub files: Vec<PathBuf>,
    pub format: Format,
    /// The input's columns, in the first file's order.
    pub columns: Vec<String>,
}

/// `{run_date}` in an input pattern becomes the run date.
pub fn substitute(pattern: &str, run_date: chrono::NaiveDate) -> String {
    pattern.replace("{run_date}", &run_date.format("%Y-%m-%d").to_string())
}

/// Expands the table's input pattern and checks every file's columns against the job.
pub fn discover(table: &Table, pattern: &str) -> Result<Source> {
    let name = &table.name;
    let paths = glob::glob(pattern).map_err(|e| {
        Error::Job(format!(
            "tables.{name}.input: `{pattern}` is not a valid glob: {e}"
        ))
    })?;
    let mut files = Vec::new();
    for p in paths {
        let p = p.map_err(|e| {
            Error::Input(format!(
                "tables.{name}.input: cannot read {}: {}",
                e.path().display(),
                e.error()
            ))
        })?;
        if p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::Input(format!(
            "tables.{name}.input: `{pattern}` matches no file"
        )));
    }
    let format = match table.format {
        Some(f) => f,
        None => format_of(&files[0]).ok_or_else(|| {
            Error::Job(format!(
                "tables.{name}: cannot tell the format of {} from its extension; set `format`",
                files[0].display()
            ))
        })?,
    };

    let mut first: Option<Vec<String>> = None;
    let mut first_types: Option<Schema> = None;
    for file in &files {
        let types = match format {
            Format::Parquet => Some(parquet_schema(file)?),
            Format::Csv | Format::Ndjson => None,
        };
        let columns = match &types {
            Some(t) => t.iter_names().map(|n| n.to_string()).collect(),
            None => header(file, format, table.delimiter)?,
        };
        check_columns(table, file, &columns)?;
        if let Some(types) = types {
            // Parquet columns carry types; files of one table must agree on them, or the engine
            // fails half-way through with a message that names neither file nor column.
            match &first_types {
                None => first_types = Some(types),
                Some(t0) => {
                    for (n, dt) in types.iter() {
                        if t0.get(n).is_some_and(|d0| d0 != dt) {
                            return Err(Error::Input(format!(
                                "{}: column `{n}` is {dt} where {} has {}",
                                file.display(),
                                files[0].display(),
                                t0.get(n).map(|d| d.to_string()).unwrap_or_default()
                            )));
                        }
                    }
                }
            }
        }
        match &first {
            None => first = Some(columns),
            Some(cols) => {
                // CSV columns are matched by position once the schema is fixed, so every
                // file must have the same header in the same order.
                let same = if format == Format::Csv {
                    *cols == columns
                } else {
                    cols.iter().collect::<HashSet<_>>() == columns.iter().collect::<HashSet<_>>()
                };
                if !same {
                    return Err(Error::Input(format!(
                        "{}: its columns differ from those of {} (every file of table `{name}` \
                         needs the same header)",
                        file.display(),
                        files[0].display()
                    )));
                }
            }
        }
    }
    Ok(Source {
        columns: first.unwrap_or_default(),
        files,
        format,
    })
}

fn format_of(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "tsv" | "txt" => Some(Format::Csv),
        "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
        "parquet" | "pq" => Some(Format::Parquet),
        _ => None,
    }
}

/// Every input column must have an action, and every column the job names must be there.
fn check_columns(table: &Table, file: &Path, columns: &[String]) -> Result<()> {
    let name = &table.name;
    // A header's names are safe to print, but a file without a header row (or read with the
    // wrong format or delimiter) has data where its names should be. Names are printed only
    // when the header is plausibly this table's: most of its names are in the job.
    let known = columns.iter().filter(|c| table.column(c).is_some()).count();
    let plausible = known > 0 && known * 2 >= columns.len();
    let show = |c: &str| {
        if plausible {
            format!("column `{}`", c.chars().take(64).collect::<String>())
        } else {
            format!(
                "a column (names withheld: only {known} of the header's {} names are in the \
                 job, so the first row may be data: is the header row missing, or the format \
                 or delimiter wrong?)",
                columns.len()
            )
        }
    };
    let mut seen = HashSet::new();
    for c in columns {
        if c.starts_with("__anonymize") {
            return Err(Error::Input(format!(
                "{}: {} uses a name reserved for the tool (`__anonymize…`)",
                file.display(),
                show(c)
            )));
        }
        if !seen.insert(c.as_str()) {
            return Err(Error::Input(format!(
                "{}: {} appears twice in the header",
                file.display(),
                show(c)
            )));
        }
        if table.unlisted == Unlisted::Error && table.column(c).is_none() {
            return Err(Error::Input(format!(
                "{}: input {} has no action in the job; add it under \
                 [tables.{name}.columns] (drop, keep, pseudonymize or generalize), or set \
                 `unlisted = \"drop\"` for the table",
                file.display(),
                show(c)
            )));
        }
    }
    for c in &table.columns {
        if !seen.contains(c.name.as_str()) {
            return Err(Error::Input(format!(
                "{}: column `{}` named by the job (tables.{name}.columns.{}) is not in the input",
                file.display(),
                c.name,
                c.name
            )));
        }
    }
    Ok(())
}

/// The column names of one file.
fn header(file: &Path, format: Format, delimiter: u8) -> Result<Vec<String>> {
    let open = || std::fs::File::open(file).map_err(Error::io("cannot open input", file));
    match format {
        Format::Csv => {
            let mut r = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .from_reader(open()?);
            let h = r.headers().map_err(|e| {
                Error::Input(format!(
                    "{}: cannot read the header row: {}",
                    file.display(),
                    csv_error(&e)
                ))
            })?;
            if h.is_empty() || (h.len() == 1 && h[0].is_empty()) {
                return Err(Error::Input(format!(
                    "{}: the file is empty (no header row)",
                    file.display()
                )));
            }
            Ok(h.iter()
                .map(|s| s.trim_start_matches('\u{feff}').to_string())
                .collect())
        }
        Format::Ndjson => {
            // The engine's own schema inference, so that a key that first appears a few records
            // in is a column here too (and so an unlisted column), not silently ignored.
            let schema = LazyJsonLineReader::new(PlRefPath::new(file.to_string_lossy().as_ref()))
                .finish()
                .and_then(|mut lf| lf.collect_schema());
            match schema {
                Ok(schema) if !schema.is_empty() => {
                    Ok(schema.iter_names().map(|n| n.to_string()).collect())
                }
                _ => {
                    let why = open()
                        .ok()
                        .and_then(|f| ndjson_fault(f, None))
                        .unwrap_or_else(|| "holds no JSON record".into());
                    Err(Error::Input(format!("{}: {why}", file.display())))
                }
            }
        }
        Format::Parquet => Ok(parquet_schema(file)?
            .iter_names()
            .map(|n| n.to_string())
            .collect()),
    }
}

fn parquet_schema(file: &Path) -> Result<Schema> {
    let unreadable = |e: PolarsError| {
        Error::Input(format!(
            "{}: not a readable Parquet file ({})",
            file.display(),
            crate::error::engine_message(&e)
        ))
    };
    let mut lf = LazyFrame::scan_parquet(
        PlRefPath::new(file.to_string_lossy().as_ref()),
        ScanArgsParquet::default(),
    )
    .map_err(unreadable)?;
    Ok(lf.collect_schema().map_err(unreadable)?.as_ref().clone())
}

/// A CSV error without the record's content: position and kind only.
pub fn csv_error(e: &csv::Error) -> String {
    let at = e
        .position()
        .map(|p| format!("line {}", p.line()))
        .unwrap_or_else(|| "unknown position".into());
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => format!("{at}: not valid UTF-8"),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{at}: {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Io(io) => format!("{at}: {io}"),
        _ => format!("{at}: malformed CSV"),
    }
}

/// Opens the files as one lazy frame. CSV columns are all text.
pub fn scan(source: &Source, table: &Table) -> Result<LazyFrame> {
    let paths: Vec<PlRefPath> = source
        .files
        .iter()
        .map(|p| PlRefPath::new(p.to_string_lossy().as_ref()))
        .collect();
    let text_schema = || {
        Arc::new(Schema::from_iter(
            source
                .columns
                .iter()
                .map(|c| Field::new(c.as_str().into(), DataType::String)),
        ))
    };
    let context = format!("tables.{}: cannot open the input", table.name);
    match source.format {
        Format::Csv => LazyCsvReader::new_paths(paths.into())
            .with_has_header(true)
            .with_separator(table.delimiter)
            .with_schema(Some(text_schema()))
            .with_missing_is_null(true)
            .finish()
            .map_err(Error::engine(context)),
        // Text too: inference from the first records would type a column that starts empty
        // as null and then fail on its first value.
        Format::Ndjson => LazyJsonLineReader::new_paths(paths.into())
            .with_schema(Some(text_schema()))
            .finish()
            .map_err(Error::engine(context)),
        Format::Parquet => LazyFrame::scan_parquet_files(paths.into(), ScanArgsParquet::default())
            .map_err(Error::engine(context)),
    }
}

/// Checks every row of every file before the engine reads any, files in parallel (one thread
/// a core). Parquet carries its own structure and needs nothing here.
///
/// - CSV must be well-formed RFC 4180 in UTF-8 with the header's number of fields on every row
///   (see [`csv_check`]). The engine's CSV reader fills short rows with nulls, ignores surplus
///   fields and reads malformed quoting its own way, all without a word, which would shift or
///   lose data silently; a nightly job must stop instead, naming the file and line.
/// - NDJSON must be one JSON object a line, and a key that is not a column of the table is an
///   unlisted column (the engine infers columns from the first records only and would ignore
///   a key that first appears later).
pub fn validate(source: &Source, table: &Table) -> Result<()> {
    if source.format == Format::Parquet {
        return Ok(());
    }
    let columns: HashSet<&str> = source.columns.iter().map(String::as_str).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(source.files.len());
    let faults: Vec<(usize, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut faults = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = source.files.get(i) else {
                            break;
                        };
                        let fault = match std::fs::File::open(file) {
                            Ok(f) if source.format == Format::Csv => csv_fault(f, table.delimiter),
                            Ok(f) => ndjson_fault(f, unlisted_check(table, &columns)),
                            Err(e) => Some(format!("cannot open: {e}")),
                        };
                        if let Some(fault) = fault {
                            faults.push((i, format!("{}: {fault}", file.display())));
                        }
                    }
                    faults
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    // Report the first file in glob order, whichever thread found it.
    match faults.into_iter().min_by_key(|(i, _)| *i) {
        Some((_, fault)) => Err(Error::Input(fault)),
        None => Ok(()),
    }
}

fn csv_fault(f: std::fs::File, delimiter: u8) -> Option<String> {
    csv_check::first_fault(BufReader::with_capacity(1 << 20, f), delimiter)
}

fn unlisted_check<'a>(
    table: &'a Table,
    columns: &'a HashSet<&'a str>,
) -> Option<(&'a str, &'a HashSet<&'a str>)> {
    (table.unlisted == Unlisted::Error).then_some((table.name.as_str(), columns))
}

/// The first NDJSON line that is not a JSON object, or, given `(table, columns)` (for
/// `unlisted = "error"`), that has a key outside `columns`.
fn ndjson_fault(f: std::fs::File, unlisted: Option<(&str, &HashSet<&str>)>) -> Option<String> {
    use serde::de::IgnoredAny;
    use std::borrow::Cow;
    let reader = BufReader::with_capacity(1 << 20, f);
    for (i, line) in reader.split(b'\n').enumerate() {
        let line_no = i + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => return Some(format!("line {line_no}: cannot read: {e}")),
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: std::collections::HashMap<Cow<'_, str>, IgnoredAny> =
            match serde_json::from_slice(&line) {
                Ok(r) => r,
                Err(_) => return Some(format!("line {line_no}: not a JSON object")),
            };
        if let Some((table, columns)) = unlisted
            && let Some(key) = record.keys().find(|k| !columns.contains(k.as_ref()))
        {
            return Some(format!(
                "line {line_no}: key `{}` has no action in the job; add it under \
                     [tables.{}.columns], or set `unlisted = \"drop\"` for the table",
                key.chars().take(64).collect::<String>(),
                table
            ));
        }
    }
    None
}
