//! `anonymize init --input TABLE=GLOB [--input …] [--out FILE]`: a first job file for new
//! exports. It reads each input's header and its first rows (`--sample`, 1000), and writes a
//! job where every column is `action = "drop"`, each with a comment: what its sampled values
//! look like, by pattern and counting only (never a value), and the action it probably needs.
//! The engineer then chooses each column's action; nothing leaves until they do.
//!
//! Example:
//! ```text
//! $ anonymize init --input users='exports/users/*.csv' --input activity='exports/activity/*.csv' --out jobs/exports.toml
//! INFO wrote jobs/exports.toml: 2 tables, 18 columns, every one dropped; choose each column's action, then run `anonymize check jobs/exports.toml`
//! $ cat jobs/exports.toml
//! …
//! [tables.users]
//! input = "../exports/users/*.csv"
//! format = "csv"
//! # subject = "user_id"   # who a row is about (k counts distinct people): an id, also in activity
//! unlisted = "error"   # an input column not named below stops the run
//! …
//! [tables.users.columns]
//! # looks like an id (unique in 1000 sampled values, integer-like): probably `pseudonymize` if it is
//! #   the person (the table's `subject`) or joins another table; else drop
//! user_id = { action = "drop" }
//! # looks like an e-mail address (100% of 1000 sampled values): probably a direct identifier: drop; or
//! #   `pseudonymize` with `normalize = "email"` if people must be counted or joined by it
//! email = { action = "drop" }
//! …
//! ```
//! Input paths are written relative to the job file with `--out`, and absolute on standard
//! output (where the file will be saved is not known). The job's `output` is `out/NAME` in the
//! current directory, written the same way. The result validates as it is (`anonymize
//! check` accepts it): no key is needed until a column is pseudonymized, and no privacy
//! settings until one is a quasi-identifier; both are there, commented, to fill in.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::Error;
use crate::job::validate::{clean, table_name_ok};
use crate::job::{BadRows, Format, Table, Unlisted};
use crate::read::profile::{Looks, Profile, profile};

/// Write a first job file from the inputs' headers: every column dropped, each with what it
/// looks like.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  anonymize init --input users='exports/users/*.csv' --input activity='exports/activity/*.csv' --out jobs/exports.toml\n  anonymize check jobs/exports.toml"
)]
pub struct Args {
    /// A table and its input files (repeatable): `--input users=exports/users/*.csv`. The
    /// table's name becomes its output folder; `{run_date}` in the pattern is read as today.
    #[arg(long, value_parser = super::parse_input, required = true)]
    pub input: Vec<(String, String)>,
    /// Write the job file here instead of standard output. An existing file is never
    /// overwritten.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The job's name (in the report and the Parquet metadata). Default: the name of `--out`
    /// without its extension, or `new_job`.
    #[arg(long)]
    pub name: Option<String>,
    /// Rows read from the start of each table to describe its columns.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub sample: u32,
    /// The CSV inputs' field delimiter, one ASCII character (written into the job). Default `,`.
    #[arg(long)]
    pub delimiter: Option<String>,
}

/// A table of the job to be written.
struct Draft {
    name: String,
    /// The input pattern as the job file gives it.
    input: String,
    format: Format,
    delimiter: u8,
    columns: Vec<(String, Profile)>,
}

pub fn execute(a: Args) -> Result<(), Error> {
    let delimiter = match &a.delimiter {
        None => b',',
        Some(d) => crate::method::parse::single_ascii(d).ok_or_else(|| {
            Error::Job("--delimiter: one ASCII character, not a quote or a line end".into())
        })?,
    };
    let mut seen = HashSet::new();
    for (table, _) in &a.input {
        if !table_name_ok(table) {
            // The name itself is not repeated: it may hold anything.
            return Err(Error::Job(
                "--input: a table name is a directory name of letters, digits, `_` and `-` (at \
                 most 64, starting with a letter or digit)"
                    .into(),
            ));
        }
        if !seen.insert(table.as_str()) {
            return Err(Error::Job(format!(
                "--input: table `{table}` is given twice; a table reads one pattern"
            )));
        }
    }
    let name = a
        .name
        .clone()
        .or_else(|| {
            a.out
                .as_ref()
                .and_then(|o| o.file_stem())
                .map(|s| s.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "new_job".to_string());
    if name.trim().is_empty() {
        return Err(Error::Job(
            "--name: the job's name must not be empty".into(),
        ));
    }
    let cwd = std::env::current_dir().map_err(Error::io(
        "cannot read the current directory",
        Path::new("."),
    ))?;
    // Paths in a job file are relative to the job file: with `--out` they are written so;
    // on standard output the file's place is unknown, and absolute paths are right anywhere.
    let job_dir = a
        .out
        .as_ref()
        .map(|o| clean(&cwd.join(o)).parent().map(Path::to_path_buf))
        .map(|d| d.unwrap_or_else(|| cwd.clone()));
    let place = |p: &Path| -> Result<String, Error> {
        let abs = clean(&cwd.join(p));
        let shown = match &job_dir {
            Some(dir) => relative(dir, &abs),
            None => abs,
        };
        shown.to_str().map(str::to_string).ok_or_else(|| {
            Error::Job(format!(
                "{}: the path is not UTF-8, which a job file cannot hold",
                p.display()
            ))
        })
    };

    let today = chrono::Local::now().date_naive();
    let mut drafts = Vec::with_capacity(a.input.len());
    for (table, pattern) in &a.input {
        let probe = Table {
            name: table.clone(),
            input: pattern.clone(),
            format: None,
            delimiter,
            subject: None,
            exclude_subjects: None,
            // Every column is welcome here: describing them is the point.
            unlisted: Unlisted::Drop,
            retention: None,
            bad_rows: BadRows::Error,
            privacy: None,
            link: None,
            columns: Vec::new(),
        };
        let source = crate::read::discover(&probe, &crate::read::substitute(pattern, today))?;
        header_is_names(&source.columns, &source.files[0])?;
        let sample = crate::read::scan(&source, &probe)?
            .limit(a.sample)
            .collect()
            .map_err(Error::engine(format!("tables.{table}: reading a sample")))?;
        let columns = source
            .columns
            .iter()
            .map(|c| (c.clone(), profile_column(&sample, c)))
            .collect();
        drafts.push(Draft {
            name: table.clone(),
            input: place(Path::new(pattern))?,
            format: source.format,
            delimiter,
            columns,
        });
    }
    let output = place(&Path::new("out").join(&name))?;
    let text = render(&name, &output, a.sample, &drafts);

    // The job must be valid as written: read it as `check` and `run` will.
    let as_if = a.out.clone().unwrap_or_else(|| cwd.join("init.toml"));
    crate::job::Job::parse(&as_if, text.as_bytes()).map_err(|e| {
        Error::Job(format!(
            "the job file init made does not validate (a bug in init): {e}"
        ))
    })?;
    let Some(out) = &a.out else {
        return crate::say!("{}", text.trim_end());
    };
    write_new(out, &text)?;
    let columns: usize = drafts.iter().map(|d| d.columns.len()).sum();
    tracing::info!(
        tables = drafts.len(),
        columns,
        "wrote {}: {} tables, {columns} columns, every one dropped; choose each column's action, \
         then run `anonymize check {}`",
        out.display(),
        drafts.len(),
        out.display()
    );
    Ok(())
}

/// A header whose names look like data (a file without a header row, or read with the wrong
/// delimiter) is refused: its names would be written into the job file.
fn header_is_names(columns: &[String], file: &Path) -> Result<(), Error> {
    let unsafe_names = columns
        .iter()
        .filter(|c| !crate::identifiers::safe_name(c))
        .count();
    let identifier = columns
        .iter()
        .any(|c| crate::identifiers::pattern(c).is_some());
    if identifier || unsafe_names * 2 > columns.len() {
        return Err(Error::Input(format!(
            "{}: the header row looks like data ({unsafe_names} of its {} names could be a \
             person's data): is the header row missing, or the format or delimiter (--delimiter) \
             wrong? init writes the header's names into the job file, so it stops here",
            file.display(),
            columns.len()
        )));
    }
    Ok(())
}

/// A column of the sample, counted; values that have no text form are said to be so.
fn profile_column(sample: &DataFrame, name: &str) -> Profile {
    let text = sample.column(name).and_then(|c| c.cast(&DataType::String));
    match &text {
        Ok(c) => match c.str() {
            Ok(s) => profile(s.iter()),
            Err(_) => Profile::not_text(sample.height()),
        },
        Err(_) => Profile::not_text(sample.height()),
    }
}

/// `to` relative to the folder `from` (both absolute and clean).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

/// A TOML key: bare when it can be, else a quoted string.
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare { name.to_string() } else { string(name) }
}

/// A TOML basic string.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` as comment lines of at most `WIDTH` characters, continuation lines indented.
fn comment(out: &mut String, text: &str) {
    const WIDTH: usize = 100;
    // Words, with a `code span` kept on one line.
    let mut words: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match words.last_mut() {
            Some(open) if open.matches('`').count() % 2 == 1 => {
                open.push(' ');
                open.push_str(word);
            }
            _ => words.push(word.to_string()),
        }
    }
    let mut line = String::from("#");
    for word in &words {
        if line.chars().count() + 1 + word.chars().count() > WIDTH && line.len() > 4 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#  ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

/// The column a table's rows are about, if one stands out, and why: an id column that another
/// table has too (they join on it), or the table's only id column.
fn subject<'a>(d: &'a Draft, all: &'a [Draft]) -> Option<(&'a str, String)> {
    let ids: Vec<&str> = d
        .columns
        .iter()
        .filter(|(_, p)| matches!(p.looks, Looks::Id { .. }))
        .map(|(c, _)| c.as_str())
        .collect();
    for id in &ids {
        let others: Vec<&str> = all
            .iter()
            .filter(|o| o.name != d.name)
            .filter(|o| {
                o.columns
                    .iter()
                    .any(|(c, p)| c == id && matches!(p.looks, Looks::Id { .. }))
            })
            .map(|o| o.name.as_str())
            .collect();
        if !others.is_empty() {
            return Some((id, format!("an id, also in {}", others.join(", "))));
        }
    }
    match ids.as_slice() {
        [only] => Some((only, "the table's only id".to_string())),
        _ => None,
    }
}

/// The job file's text.
fn render(name: &str, output: &str, sample: u32, drafts: &[Draft]) -> String {
    let mut out = String::new();
    let tables = drafts
        .iter()
        .map(|d| d.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        out,
        "# A first job for {tables}, written by `anonymize init` from the header and the first \
         {sample}\n# rows of each input. Every column is dropped: nothing leaves until you choose \
         its action.\n# Each comment says what the sampled values look like (counts only, never \
         a value) and\n# the action they probably need. Then: `anonymize check` on this file. \
         Reference: README.md,\n# \"Job file reference\". Relative paths are relative to this \
         file.\n"
    );
    let _ = writeln!(out, "name = {}", string(name));
    let _ = writeln!(
        out,
        "# purpose = \"why this processing is allowed (the policy clause)\""
    );
    let _ = writeln!(out, "output = {}   # --output overrides", string(output));
    out.push_str(
        "\n# The pseudonym key, once a column is pseudonymized: at least 32 bytes from an \
         environment\n# variable (or `file = \"...\"`). Make one with `anonymize keygen`.\n\
         # [key]\n# env = \"ANONYMIZE_KEY\"\n",
    );
    for d in drafts {
        let t = key(&d.name);
        let _ = writeln!(out, "\n# {}\n[tables.{t}]", "-".repeat(94));
        let _ = writeln!(out, "input = {}", string(&d.input));
        let _ = writeln!(out, "format = {}", string(d.format.name()));
        if d.format == Format::Csv && d.delimiter != b',' {
            let _ = writeln!(
                out,
                "delimiter = {}",
                string(&char::from(d.delimiter).to_string())
            );
        }
        match subject(d, drafts) {
            Some((c, why)) => {
                let _ = writeln!(
                    out,
                    "# subject = {}   # who a row is about (k counts distinct people): {why}",
                    string(c)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "# subject = \"...\"   # who a row is about (k counts distinct people)"
                );
            }
        }
        let _ = writeln!(
            out,
            "unlisted = \"error\"   # an input column not named below stops the run"
        );
        if let Some((c, _)) = d.columns.iter().find(|(_, p)| p.looks == Looks::Timestamp) {
            let _ = writeln!(
                out,
                "# retention = {{ column = {}, days = 1826 }}   # if it dates the row: older rows \
                 are removed first",
                string(c)
            );
        }
        let _ = writeln!(
            out,
            "\n# k-anonymity, once a column has `role = \"quasi\"`:\n# [tables.{t}.privacy]\n\
             # k = 10\n# max_suppression = 0.05"
        );
        let _ = writeln!(out, "\n[tables.{t}.columns]");
        for (c, p) in &d.columns {
            comment(
                &mut out,
                &format!("looks like {}: probably {}", p.describe(), p.suggestion()),
            );
            if let Some(holds) = p.holds() {
                comment(
                    &mut out,
                    &format!("of the sampled values, {holds}: not to be kept as they are"),
                );
            }
            let _ = writeln!(out, "{} = {{ action = \"drop\" }}", key(c));
        }
    }
    out
}

/// Writes the job file, never over an existing one.
fn write_new(path: &Path, text: &str) -> Result<(), Error> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Job(format!(
                    "{}: the file exists; init never overwrites a job file (choose another \
                     --out, or remove it first)",
                    path.display()
                ))
            } else {
                Error::Io {
                    context: "cannot create the job file",
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })?;
    if let Err(e) = f.write_all(text.as_bytes()).and_then(|()| f.sync_all()) {
        // Half a job file is worse than none: the next `init` would refuse to replace it.
        let _ = std::fs::remove_file(path);
        return Err(Error::Io {
            context: "cannot write the job file",
            path: path.to_path_buf(),
            source: e,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_relative_to_the_job_file() {
        let r = |a: &str, b: &str| relative(Path::new(a), Path::new(b)).display().to_string();
        assert_eq!(
            r("/p/jobs", "/p/exports/users/*.csv"),
            "../exports/users/*.csv"
        );
        assert_eq!(r("/p", "/p/exports/*.csv"), "exports/*.csv");
        assert_eq!(r("/p/jobs", "/p/jobs"), ".");
    }

    #[test]
    fn keys_and_strings_are_toml() {
        assert_eq!(key("user_id"), "user_id");
        assert_eq!(key("e-mail"), "e-mail");
        assert_eq!(key("birth date"), "\"birth date\"");
        assert_eq!(key("город"), "\"город\"");
        assert_eq!(string("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
        let parsed: toml::Table = format!("{} = 1", key("a.b \"c\"")).parse().unwrap();
        assert!(parsed.contains_key("a.b \"c\""));
    }

    #[test]
    fn comments_wrap_and_stay_comments() {
        let mut out = String::new();
        comment(&mut out, &"word ".repeat(60));
        assert!(out.lines().count() > 2);
        assert!(
            out.lines()
                .all(|l| l.starts_with('#') && l.chars().count() <= 100)
        );
    }
}
