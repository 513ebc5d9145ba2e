//! Finding a table's input files and opening them as one lazy frame.
//!
//! Before any row is read, every file's header is checked against the job: a column the job
//! names but a file lacks, or a column a file has but the job does not name, stops the run with
//! the file and the column named. That is the "nothing passes through without an explicit
//! action" rule; it has to look at each file because a glob can match exports of different
//! vintages. CSV is read with every column as text: types are the job's business (see
//! [`crate::transform::keep`]), not the reader's guess.

pub mod csv_check;
pub mod profile;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::job::{BadRows, Format, Table, Unlisted};

/// A table's input files, checked against the job.
#[derive(Debug, Clone)]
pub struct Source {
    pub files: Vec<PathBuf>,
    /// What the engine reads, file for file: the input file itself, or a copy without its
    /// malformed rows when the table skips bad rows (see [`validate`]).
    pub read: Vec<PathBuf>,
    pub format: Format,
    /// The input's columns, in the first file's order.
    pub columns: Vec<String>,
    /// The private directory holding the copies, removed when the last clone goes.
    repaired: Option<Arc<tempfile::TempDir>>,
}

impl Source {
    /// The same source with one file only (the `i`-th).
    pub fn only(&self, i: usize) -> Source {
        Source {
            files: vec![self.files[i].clone()],
            read: vec![self.read[i].clone()],
            format: self.format,
            columns: self.columns.clone(),
            repaired: self.repaired.clone(),
        }
    }
}

/// `{run_date}` in an input pattern becomes the run date.
pub fn substitute(pattern: &str, run_date: chrono::NaiveDate) -> String {
    pattern.replace("{run_date}", &run_date.format("%Y-%m-%d").to_string())
}

/// What a glob's match is: a regular file with its identity (device, inode), or nothing to
/// read (a folder, a device). A link that leads nowhere (its target is gone, or it loops) is an
/// error, as is a path that goes through the same folder twice (a link to a folder above it,
/// which `**` would follow until the system's limit).
fn matched_file(table: &str, path: PathBuf) -> Result<Option<(PathBuf, (u64, u64))>> {
    use std::os::unix::fs::MetadataExt;
    let broken = |why: &str| {
        Error::Input(format!(
            "tables.{table}.input: {} is a link that {why}; remove it or fix the pattern",
            path.display()
        ))
    };
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(broken("loops")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(broken("leads to no file (its target is gone)"));
        }
        Err(e) => {
            return Err(Error::Input(format!(
                "tables.{table}.input: cannot read {}: {e}",
                path.display()
            )));
        }
    };
    if !meta.is_file() {
        return Ok(None);
    }
    let mut folders = HashSet::new();
    for dir in path.ancestors().skip(1) {
        if dir.as_os_str().is_empty() {
            break;
        }
        if let Ok(m) = std::fs::metadata(dir)
            && !folders.insert((m.dev(), m.ino()))
        {
            return Err(Error::Input(format!(
                "tables.{table}.input: {} goes through one folder twice (a link in it loops back \
                 to a folder above it); remove the link or fix the pattern",
                path.display()
            )));
        }
    }
    Ok(Some((path, (meta.dev(), meta.ino()))))
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
        if let Some(file) = matched_file(name, p)? {
            files.push(file);
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    // Every file once, whichever paths lead to it (a link beside its target, a glob that
    // matches both): a file read twice doubles its rows, and in a table whose rows are people
    // that doubles k.
    let mut seen = HashSet::new();
    let mut duplicates = 0usize;
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter_map(|(path, id)| {
            let first = seen.insert(id);
            duplicates += usize::from(!first);
            first.then_some(path)
        })
        .collect();
    if duplicates > 0 {
        tracing::warn!(
            table = %name,
            "`{pattern}` leads {duplicates} more times to files it already matched (through links); \
             each file is read once"
        );
    }
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
    // Every file's column problems, told together (files with the same problem in one line):
    // an engineer mends the job once, not once a file.
    let mut problems: Vec<(String, Vec<&Path>)> = Vec::new();
    for file in &files {
        let types = match format {
            Format::Parquet => Some(parquet_schema(file)?),
            Format::Csv | Format::Ndjson => None,
        };
        let columns = match &types {
            Some(t) => t.iter_names().map(|n| n.to_string()).collect(),
            None => header(
                file,
                format,
                table.delimiter,
                matches!(table.bad_rows, BadRows::Skip { .. }),
            )?,
        };
        if let Some(problem) = check_columns(table, &columns) {
            match problems.iter_mut().find(|(p, _)| *p == problem) {
                Some((_, files)) => files.push(file),
                None => problems.push((problem, vec![file])),
            }
            continue;
        }
        if let Some(types) = types {
            // Parquet columns carry types; files of one table must agree on them, or the engine
            // fails half-way through with a message that names neither file nor column.
            match &first_types {
                None => first_types = Some(types),
                Some(t0) => {
                    for (n, dt) in types.iter() {
                        if t0.get(n).is_some_and(|d0| d0 != dt) {
                            return Err(Error::Input(format!(
                                "{}: {} is {dt} where {} has {}",
                                file.display(),
                                crate::identifiers::quoted_name(n),
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
    if !problems.is_empty() {
        return Err(Error::Input(
            problems
                .iter()
                .map(|(problem, files)| format!("{}: {problem}", files_named(files)))
                .collect::<Vec<_>>()
                .join("\n"),
        ));
    }
    Ok(Source {
        columns: first.unwrap_or_default(),
        read: files.clone(),
        files,
        format,
        repaired: None,
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

/// Files with one problem, as a message names them: the first three, and how many more.
fn files_named(files: &[&Path]) -> String {
    const SHOWN: usize = 3;
    let mut out: Vec<String> = files
        .iter()
        .take(SHOWN)
        .map(|f| f.display().to_string())
        .collect();
    if files.len() > SHOWN {
        out.push(format!("{} more files", files.len() - SHOWN));
    }
    match out.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => out.concat(),
    }
}

/// Every input column must have an action, and every column the job names must be there: what
/// is wrong with a file's header, if anything (its name aside).
fn check_columns(table: &Table, columns: &[String]) -> Option<String> {
    let name = &table.name;
    // A header's names are safe to print, but a file without a header row (or read with the
    // wrong format or delimiter) has data where its names should be. Names are printed only
    // when the header is plausibly this table's: most of its names are in the job.
    let known = columns.iter().filter(|c| table.column(c).is_some()).count();
    let plausible = known > 0 && known * 2 >= columns.len();
    let show = |c: &str| {
        if plausible {
            crate::identifiers::quoted_name(c)
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
            return Some(format!(
                "{} uses a name reserved for the tool (`__anonymize…`)",
                show(c)
            ));
        }
        if !seen.insert(c.as_str()) {
            return Some(format!("{} appears twice in the header", show(c)));
        }
    }
    // Every unlisted and every missing column in one message: an engineer mends the job once.
    let unlisted: Vec<&String> = columns
        .iter()
        .filter(|c| table.unlisted == Unlisted::Error && table.column(c).is_none())
        .collect();
    let missing: Vec<&str> = table
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|c| !seen.contains(c))
        .collect();
    let mut problems = Vec::new();
    if !unlisted.is_empty() {
        let names = if plausible {
            unlisted
                .iter()
                .map(|c| crate::identifiers::quoted_name(c))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            show(unlisted[0])
        };
        problems.push(format!(
            "input {names} {} no action in the job; add {} under [tables.{name}.columns] (drop, \
             keep, pseudonymize or generalize), or set `unlisted = \"drop\"` for the table",
            if unlisted.len() == 1 || !plausible {
                "has"
            } else {
                "have"
            },
            if unlisted.len() == 1 { "it" } else { "them" },
        ));
    }
    if !missing.is_empty() {
        problems.push(format!(
            "{} named by the job ({}) {} not in the input",
            if missing.len() == 1 {
                "column"
            } else {
                "columns"
            },
            missing
                .iter()
                .map(|c| format!("`{c}` (tables.{name}.columns.{c})"))
                .collect::<Vec<_>>()
                .join(", "),
            if missing.len() == 1 { "is" } else { "are" },
        ));
    }
    (!problems.is_empty()).then(|| problems.join("; and "))
}

/// The column names of one file.
fn header(file: &Path, format: Format, delimiter: u8, skip: bool) -> Result<Vec<String>> {
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
        Format::Ndjson => ndjson_keys(open()?, skip)
            .map_err(|why| Error::Input(format!("{}: {why}", file.display()))),
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

/// A Parquet file the run wrote itself (a staged table, an output read back); `what` is the
/// error's context.
pub fn scan_own(file: &Path, what: String) -> Result<LazyFrame> {
    LazyFrame::scan_parquet(
        PlRefPath::new(file.to_string_lossy().as_ref()),
        ScanArgsParquet::default(),
    )
    .map_err(Error::engine(what))
}

/// Opens the files as one lazy frame. CSV columns are all text.
pub fn scan(source: &Source, table: &Table) -> Result<LazyFrame> {
    let paths: Vec<PlRefPath> = source
        .read
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

/// Malformed rows left out of a table's input (`on_bad_row = "skip"`).
#[derive(Debug, Clone, Default)]
pub struct Malformed {
    pub rows: u64,
    /// The first, as `file: line N: what`, for the log.
    pub first: Option<String>,
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
///
/// A table that skips bad rows gets, for each file with malformed rows, a copy without them
/// in a private directory, and the engine reads that instead. Only the rows are skippable: a
/// malformed header, an unreadable file or an unlisted key stops the run all the same.
pub fn validate(source: &mut Source, table: &Table) -> Result<Malformed> {
    if source.format == Format::Parquet {
        return Ok(Malformed::default());
    }
    let skip = matches!(table.bad_rows, BadRows::Skip { .. });
    let columns: HashSet<&str> = source.columns.iter().map(String::as_str).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(source.files.len());
    let files = &source.files;
    let format = source.format;
    let mut checked: Vec<(usize, FileFaults)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(i) else {
                            break;
                        };
                        let faults = match std::fs::File::open(file) {
                            Ok(f) if format == Format::Csv => csv_faults(f, table.delimiter, skip),
                            Ok(f) => ndjson_faults(f, unlisted_check(table, &columns), skip),
                            Err(e) => FileFaults::fatal(format!("cannot open: {e}")),
                        };
                        if faults.fatal.is_some() || !faults.skipped.is_empty() {
                            done.push((i, faults));
                        }
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    // Files in glob order, whichever thread checked them: the first fatal fault is the one
    // reported, and copies are made in a stable order.
    checked.sort_by_key(|(i, _)| *i);
    if let Some((i, f)) = checked.iter().find(|(_, f)| f.fatal.is_some()) {
        let what = f.fatal.as_deref().unwrap_or_default();
        return Err(Error::Input(format!("{}: {what}", files[*i].display())));
    }
    let mut malformed = Malformed::default();
    if checked.is_empty() {
        return Ok(malformed);
    }
    // The copies hold raw personal data: the directory is private.
    let dir = Arc::new(crate::scratch::private_dir(
        "anonymize-skip-",
        "cannot create a private directory for repaired inputs",
    )?);
    for (i, f) in &checked {
        let file = &source.files[*i];
        malformed.rows += f.skipped.len() as u64;
        if malformed.first.is_none() {
            malformed.first = f
                .skipped
                .first()
                .map(|(_, what)| format!("{}: {what}", file.display()));
        }
        let copy = dir.path().join(format!(
            "{i:05}-{}",
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let ranges: Vec<(u64, u64)> = f.skipped.iter().map(|(r, _)| *r).collect();
        copy_without(file, &copy, &ranges)?;
        source.read[*i] = copy;
    }
    source.repaired = Some(dir);
    Ok(malformed)
}

/// One file's faults: the first fatal one, and the byte ranges of skippable rows with what is
/// wrong with each.
#[derive(Debug, Default)]
struct FileFaults {
    fatal: Option<String>,
    skipped: Vec<((u64, u64), String)>,
}

impl FileFaults {
    fn fatal(what: String) -> FileFaults {
        FileFaults {
            fatal: Some(what),
            skipped: Vec::new(),
        }
    }
}

fn csv_faults(f: std::fs::File, delimiter: u8, skip: bool) -> FileFaults {
    let mut out = FileFaults::default();
    csv_check::faults(BufReader::with_capacity(1 << 20, f), delimiter, |fault| {
        if fault.header || !skip {
            out.fatal = Some(fault.what);
            return false;
        }
        out.skipped.push((fault.bytes, fault.what));
        true
    });
    out
}

/// Copies `from` to `to` without the given byte ranges (sorted, disjoint).
fn copy_without(from: &Path, to: &Path, ranges: &[(u64, u64)]) -> Result<()> {
    use std::io::{Read, Write};
    let src = std::fs::File::open(from).map_err(Error::io("cannot open input", from))?;
    let dst = std::fs::File::create(to).map_err(Error::io("cannot write a repaired copy", to))?;
    let mut r = BufReader::with_capacity(1 << 20, src);
    let mut w = std::io::BufWriter::with_capacity(1 << 20, dst);
    let mut at = 0u64;
    let copy = |r: &mut BufReader<std::fs::File>, w: &mut dyn Write, n: u64| {
        std::io::copy(&mut r.by_ref().take(n), w).map(|_| ())
    };
    let skip = |r: &mut BufReader<std::fs::File>, n: u64| {
        std::io::copy(&mut r.by_ref().take(n), &mut std::io::sink()).map(|_| ())
    };
    for &(start, end) in ranges {
        copy(&mut r, &mut w, start - at)
            .and_then(|_| skip(&mut r, end.saturating_sub(start)))
            .map_err(Error::io("cannot write a repaired copy", to))?;
        at = end;
    }
    copy(&mut r, &mut w, u64::MAX)
        .and_then(|_| w.flush())
        .map_err(Error::io("cannot write a repaired copy", to))
}

fn unlisted_check<'a>(
    table: &'a Table,
    columns: &'a HashSet<&'a str>,
) -> Option<(&'a str, &'a HashSet<&'a str>)> {
    (table.unlisted == Unlisted::Error).then_some((table.name.as_str(), columns))
}

/// Records whose keys make an NDJSON file's columns (the engine infers from as many).
const NDJSON_INFER_RECORDS: usize = 100;

/// An NDJSON file's columns: the keys of its first records, in order of first appearance. A
/// line that is not a JSON object is an error, or skipped when the table skips bad rows. Keys
/// first seen later are still found: [`validate`] reads every line.
fn ndjson_keys(f: std::fs::File, skip: bool) -> std::result::Result<Vec<String>, String> {
    let mut keys = indexmap::IndexSet::new();
    let mut records = 0;
    for (i, line) in BufReader::with_capacity(1 << 16, f)
        .split(b'\n')
        .enumerate()
    {
        let line = line.map_err(|e| format!("line {}: cannot read: {e}", i + 1))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<indexmap::IndexMap<String, serde::de::IgnoredAny>>(&line) {
            Ok(record) => keys.extend(record.into_keys()),
            Err(_) if skip => continue,
            Err(_) => return Err(format!("line {}: not a JSON object", i + 1)),
        }
        records += 1;
        if records == NDJSON_INFER_RECORDS {
            break;
        }
    }
    if keys.is_empty() {
        return Err("holds no JSON record".into());
    }
    Ok(keys.into_iter().collect())
}

/// NDJSON lines that are not JSON objects (skippable), and the first key outside `columns`
/// (never skippable: it is a column without an action).
fn ndjson_faults(
    f: std::fs::File,
    unlisted: Option<(&str, &HashSet<&str>)>,
    skip: bool,
) -> FileFaults {
    use serde::de::IgnoredAny;
    use std::borrow::Cow;
    let mut out = FileFaults::default();
    let mut reader = BufReader::with_capacity(1 << 20, f);
    let mut line = Vec::with_capacity(4096);
    let mut offset = 0u64;
    for line_no in 1usize.. {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return FileFaults::fatal(format!("line {line_no}: cannot read: {e}")),
        }
        let range = (offset, offset + line.len() as u64);
        offset = range.1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: std::collections::HashMap<Cow<'_, str>, IgnoredAny> =
            match serde_json::from_slice(&line) {
                Ok(r) => r,
                Err(_) => {
                    let what = format!("line {line_no}: not a JSON object");
                    if !skip {
                        return FileFaults::fatal(what);
                    }
                    out.skipped.push((range, what));
                    continue;
                }
            };
        if let Some((table, columns)) = unlisted
            && let Some(key) = record.keys().find(|k| !columns.contains(k.as_ref()))
        {
            return FileFaults::fatal(format!(
                "line {line_no}: {} has no action in the job; add it under \
                     [tables.{}.columns], or set `unlisted = \"drop\"` for the table",
                crate::identifiers::quoted_name(key).replacen("column", "key", 1),
                table
            ));
        }
    }
    out
}
