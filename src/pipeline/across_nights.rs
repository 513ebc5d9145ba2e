//! The check across nights (see [`protect::nights`]) on written releases: which tables it
//! applies to, the earlier nights of a table, and a night's people as the check reads them.
//! The run checks tonight against every earlier night it finds under the output; `verify
//! --across-nights` checks each night against those before it, from the files alone.
//!
//! It applies to a table whose subject is written (pseudonymized with a key that lasts across
//! nights, scope `job` or `table`, or kept; `run` pseudonyms never join another night), with quasi-identifiers
//! and k above 1, and one row a person. A table with several rows a person (events: a linking
//! or k^m table, or one found to repeat people) is not compared: its rows cannot be lined up
//! with last night's one by one, and what describes its person across nights is the table it
//! links to, which is. Its facts are its own quasi-identifiers, which stay put at fixed levels
//! (a linking table may not use Mondrian).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::job::{ColumnAction, KeyScope, Table};
use crate::protect::nights::{Check, Entry, History};

/// What the check compares in a table: output column names.
#[derive(Debug, Clone)]
pub struct Compared {
    pub pseudonym: String,
    pub quasi_identifiers: Vec<String>,
    pub k: u64,
}

/// The table's columns the check compares, when it applies to the table (see the module's
/// doc).
pub fn compared(t: &Table) -> Option<Compared> {
    // A linking or k^m table holds many rows a person by design.
    let privacy = t
        .privacy
        .as_ref()
        .filter(|p| p.k > 1 && p.known_events <= 1 && t.link.is_none())?;
    let subject = t.column(t.subject.as_deref()?)?;
    // What lines a person up across nights: a pseudonym under a key that lasts, or a subject
    // written as it is (or generalized).
    match &subject.action {
        ColumnAction::Pseudonymize { scope, .. } if *scope == KeyScope::Run => return None,
        ColumnAction::Drop => return None,
        ColumnAction::Pseudonymize { .. } | ColumnAction::Keep(_) | ColumnAction::Generalize(_) => {
        }
    }
    let quasi_identifiers: Vec<String> = t.quasi_identifiers().map(|c| c.output.clone()).collect();
    (!quasi_identifiers.is_empty()).then(|| Compared {
        pseudonym: subject.output.clone(),
        quasi_identifiers,
        k: u64::from(privacy.k),
    })
}

/// The check's figures for the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AcrossNights {
    /// Earlier nights read (every run date of the table before this one).
    pub nights_compared: u32,
    /// Tonight's people who were in an earlier night.
    pub people_compared: u64,
    /// Classes of the view the nights give together, over tonight's people.
    pub classes_checked: u64,
    /// The fewest people in one of them, after the check's suppression.
    pub smallest_class: Option<u64>,
    /// People the check suppressed (their values moved between nights) and their rows.
    pub subjects_suppressed: u64,
    pub rows_suppressed: u64,
    /// The columns whose values moved for the people suppressed.
    pub columns_moved: Vec<String>,
    /// Why the table was not compared, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_compared: Option<String>,
    pub seconds: f64,
}

/// The run dates written for `table` under `output`, before `before` when given, oldest first.
pub fn nights(output: &Path, table: &str, before: Option<NaiveDate>) -> Vec<(NaiveDate, PathBuf)> {
    let dir = output.join(table);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<(NaiveDate, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let date = name.to_str()?.strip_prefix("run_date=")?;
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
            let file = e.path().join(crate::write::PART_FILE);
            (before.is_none_or(|b| date < b) && file.is_file()).then_some((date, file))
        })
        .collect();
    found.sort();
    found
}

/// What the check read of a table's earlier nights: each night's date, file length and time of
/// change. Taken again once the output is locked: if it differs, another run (or the recovery
/// of a killed one) changed an earlier night after it was read, and this run stops rather than
/// commit a night checked against nights that are no longer there.
pub fn stamp(
    output: &Path,
    table: &str,
    before: NaiveDate,
) -> Vec<(NaiveDate, u64, Option<std::time::SystemTime>)> {
    nights(output, table, Some(before))
        .into_iter()
        .map(|(date, file)| {
            let meta = std::fs::metadata(&file).ok();
            (
                date,
                meta.as_ref().map_or(0, |m| m.len()),
                meta.and_then(|m| m.modified().ok()),
            )
        })
        .collect()
}

/// One night's people as the check reads them: the pseudonym and the quasi-identifiers as
/// text, a column the night lacks as `*` (it released nothing of it). `None` when the night
/// has no pseudonym column (it was written by another job) or holds several rows a person.
pub fn people(lf: LazyFrame, c: &Compared, what: &str) -> Result<Option<DataFrame>> {
    let schema = lf
        .clone()
        .collect_schema()
        .map_err(Error::engine(what.to_string()))?;
    if schema.get(&c.pseudonym).is_none() {
        return Ok(None);
    }
    let mut select = vec![col(c.pseudonym.as_str()).cast(DataType::String)];
    for q in &c.quasi_identifiers {
        select.push(match schema.get(q) {
            Some(_) => col(q.as_str()).cast(DataType::String),
            None => lit("*").alias(q.as_str()),
        });
    }
    let lf = lf
        .select(select)
        .filter(col(c.pseudonym.as_str()).is_not_null());
    // Counted before anything is collected: an events table is not read whole.
    let counts = lf
        .clone()
        .select([
            len().cast(DataType::UInt64).alias("rows"),
            col(c.pseudonym.as_str())
                .n_unique()
                .cast(DataType::UInt64)
                .alias("people"),
        ])
        .collect()
        .map_err(Error::engine(what.to_string()))?;
    let get = |name: &str| counts.column(name).ok().and_then(|c| c.u64().ok()?.get(0));
    if get("rows") != get("people") {
        return Ok(None);
    }
    lf.collect()
        .map(Some)
        .map_err(Error::engine(what.to_string()))
}

/// The rows of [`people`] as [`History`] takes them.
pub fn entries<'a>(df: &'a DataFrame, c: &Compared, what: &str) -> Result<Vec<Entry<'a>>> {
    let text = |name: &str| -> Result<&'a StringChunked> {
        df.column(name)
            .and_then(|s| s.str())
            .map_err(Error::engine(what.to_string()))
    };
    let people = text(&c.pseudonym)?;
    let columns: Vec<&StringChunked> = c
        .quasi_identifiers
        .iter()
        .map(|q| text(q))
        .collect::<Result<_>>()?;
    Ok((0..df.height())
        .filter_map(|i| {
            let p = people.get(i)?;
            Some((p, columns.iter().map(|c| c.get(i)).collect()))
        })
        .collect())
}

/// The history of the nights written before `before` (every night when `None`).
pub fn history(
    output: &Path,
    t: &Table,
    c: &Compared,
    before: Option<NaiveDate>,
) -> Result<History> {
    let mut h = History::new(c.quasi_identifiers.len());
    for (date, file) in nights(output, &t.name, before) {
        let what = format!(
            "tables.{}: reading the release of {} for the check across nights",
            t.name,
            date.format("%Y-%m-%d")
        );
        let lf = crate::read::scan_own(&file, what.clone())?;
        if let Some(df) = people(lf, c, &what)? {
            h.add(entries(&df, c, &what)?);
        }
    }
    Ok(h)
}

/// Checks a night's people against a history; what the check found, and the pseudonyms of the
/// people in classes under k.
pub fn check(
    h: &mut History,
    df: &DataFrame,
    c: &Compared,
    what: &str,
) -> Result<(Check, Vec<String>)> {
    let tonight = entries(df, c, what)?;
    let check = h.check(&tonight, c.k);
    let under_k = check
        .under_k
        .iter()
        .map(|&i| tonight[i].0.to_string())
        .collect();
    Ok((check, under_k))
}

/// The column of [`people_classes`] that names a person by their pseudonym.
const PERSON: &str = "__anonymize_person";

/// Every person the nights know, by pseudonym, with the class of the view under
/// [`protect::LINKED`](crate::protect::LINKED): tonight's people (`tonight`, as [`check`] saw
/// them) and those of earlier nights who are not in tonight's release (left out, or gone).
/// A table that links this one counts its rows' people by these classes: an analyst who kept
/// the nights joins a person's rows to what the nights say of them, not to tonight's row alone.
/// `None` when the nights say nothing tonight does not (nobody moved, nobody left out): the
/// link's own classes are then the same, and a re-run writes the same files.
pub fn people_classes(
    h: &History,
    tonight: &DataFrame,
    check: &Check,
    c: &Compared,
    what: &str,
) -> Result<Option<DataFrame>> {
    // In the order `check` saw them ([`people`] leaves no pseudonym null).
    let mut people: Vec<&str> = tonight
        .column(&c.pseudonym)
        .and_then(|s| s.str())
        .map_err(Error::engine(what.to_string()))?
        .iter()
        .flatten()
        .collect();
    let here: std::collections::HashSet<&str> = people.iter().copied().collect();
    let absent = h.absent(&here);
    if check.differing == 0 && absent.is_empty() {
        return Ok(None);
    }
    let mut prints: Vec<[u64; 2]> = check.fingerprints.clone();
    for (p, f) in absent {
        people.push(p);
        prints.push(f);
    }
    let [a, b] = crate::protect::LINKED;
    DataFrame::new(
        people.len(),
        vec![
            Column::new(PERSON.into(), people),
            Column::new(a.into(), prints.iter().map(|f| f[0]).collect::<Vec<u64>>()),
            Column::new(b.into(), prints.iter().map(|f| f[1]).collect::<Vec<u64>>()),
        ],
    )
    .map(Some)
    .map_err(Error::engine(what.to_string()))
}

/// The linking table's people (its staged rows' subjects) with their class of the view, as
/// [`crate::protect::link::people`] gives them: [`crate::protect::SUBJECT`] and the linked
/// class. `pseudonym` is the linking table's pseudonym column, the linked table's values.
pub fn linked_people(
    staged: LazyFrame,
    pseudonym: &str,
    classes: &DataFrame,
    what: &str,
) -> Result<DataFrame> {
    use crate::protect::{LINKED, SUBJECT};
    staged
        .select([
            col(SUBJECT),
            col(pseudonym).cast(DataType::String).alias(PERSON),
        ])
        .filter(col(SUBJECT).is_not_null().and(col(PERSON).is_not_null()))
        .unique(None, UniqueKeepStrategy::Any)
        .join(
            classes.clone().lazy(),
            [col(PERSON)],
            [col(PERSON)],
            JoinArgs::new(JoinType::Inner),
        )
        .select([col(SUBJECT), col(LINKED[0]), col(LINKED[1])])
        .collect()
        .map_err(Error::engine(what.to_string()))
}

/// The (class, person) pairs of the people `under_k` names (pseudonyms) among tonight's `kept`
/// rows, as [`crate::protect::known_events::without`] leaves them out, and their rows.
pub fn leaving(
    kept: LazyFrame,
    c: &Compared,
    under_k: Vec<String>,
    what: &str,
) -> Result<(DataFrame, u64)> {
    use crate::protect::{CLASS_KEYS, ROWS, SUBJECT};
    let leaving = Series::new(c.pseudonym.as_str().into(), under_k);
    let pairs = kept
        .filter(col(c.pseudonym.as_str()).is_in(lit(leaving).implode(false), false))
        .group_by([col(CLASS_KEYS[0]), col(CLASS_KEYS[1]), col(SUBJECT)])
        .agg([len().cast(DataType::UInt64).alias(ROWS)])
        .collect()
        .map_err(Error::engine(what.to_string()))?;
    let rows: u64 = pairs
        .column(ROWS)
        .ok()
        .and_then(|c| c.as_materialized_series().sum::<u64>().ok())
        .unwrap_or(0);
    let pairs = pairs.drop(ROWS).map_err(Error::engine(what.to_string()))?;
    Ok((pairs, rows))
}

/// The decision's refusal (`message`, exit 4) with what the check took out and why: the
/// columns that moved, never a value.
pub fn over_the_limit(
    message: &str,
    figures: &AcrossNights,
    moved: &std::collections::BTreeSet<String>,
) -> Error {
    let m = message.trim_end_matches(" Nothing was written.");
    Error::Privacy(format!(
        "{m} The earlier nights single out {} of its people: their values of {} moved between \
         nights (Mondrian's ranges, unpinned levels and ages move; pin the levels, use \
         birth_year, or give the pseudonyms scope = \"run\"). Nothing was written.",
        figures.subjects_suppressed,
        moved
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The names of the columns that moved, from [`Check::moved`].
pub fn moved(c: &Compared, check: &Check) -> Vec<String> {
    c.quasi_identifiers
        .iter()
        .zip(&check.moved)
        .filter(|(_, m)| **m)
        .map(|(q, _)| q.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_sees_an_earlier_night_rewritten_added_or_removed() {
        let dir = tempfile::tempdir().unwrap();
        let night = |date: &str, bytes: &[u8]| {
            let d = dir.path().join(format!("users/run_date={date}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(crate::write::PART_FILE), bytes).unwrap();
        };
        let tonight = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        night("2026-11-19", b"one");
        let read = stamp(dir.path(), "users", tonight);
        assert_eq!(read.len(), 1);
        assert_eq!(stamp(dir.path(), "users", tonight), read);
        // A later night, or tonight's own, is not an earlier night.
        night("2026-11-21", b"tonight");
        assert_eq!(stamp(dir.path(), "users", tonight), read);
        night("2026-11-20", b"two");
        assert_ne!(stamp(dir.path(), "users", tonight), read);
        std::fs::remove_dir_all(dir.path().join("users/run_date=2026-11-20")).unwrap();
        night("2026-11-19", b"one, re-written");
        assert_ne!(stamp(dir.path(), "users", tonight), read);
    }
}
