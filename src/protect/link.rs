//! Linked tables: k over the join an analyst makes on the pseudonym.
//!
//! A table that links another (`link = "users"`) counts each of its rows in a class made of
//! its own quasi-identifiers **and** its person's quasi-identifier values as the linked table
//! releases them. The linked table is decided first. Each person it writes carries their class's
//! fingerprint ([`people`]). The linking table's staged rows are then joined to that on the
//! person's fingerprint, and their class fingerprint is taken again over both
//! ([`join`]). The counts and the decision that follow are the usual ones, so every linked class
//! holds k people.
//!
//! A person the linked table does not write (suppressed, or never in it) joins nothing. Their
//! linked values are unknown, and their rows form classes of unknown linked values that must hold
//! k people like any other. The analyst's join sees the same thing: no `users` row for them.
//!
//! [`verify`] checks the written pair by value, from the two written files alone.

use polars::prelude::*;

use super::kanon::{ClassKey, Decision, join_args};
use super::{CLASS_KEYS, SUBJECT};
use crate::error::{Error, Result};
use crate::job::Table;

/// The linked table's class fingerprint of each row's person, staged beside the row.
pub const LINKED: [&str; 2] = ["__anonymize_linked_a", "__anonymize_linked_b"];

/// The people the linked table writes, one row each: [`SUBJECT`] and their class's fingerprint
/// under [`LINKED`]. `staged` is the linked table's staged rows (its subject fingerprints, and its
/// class fingerprints when it has quasi-identifiers). Fails when a person has several rows
/// there: one person, two classes, and the join would multiply their rows.
pub fn people(
    staged: LazyFrame,
    decision: &Decision,
    has_qis: bool,
    linked: &str,
    linking: &str,
) -> Result<DataFrame> {
    let what = format!("tables.{linked}: reading the people that tables.{linking} links to");
    let people = staged.filter(col(SUBJECT).is_not_null());
    let counts = people
        .clone()
        .select([
            len().cast(DataType::UInt64).alias("rows"),
            col(SUBJECT)
                .n_unique()
                .cast(DataType::UInt64)
                .alias("people"),
        ])
        .collect()
        .map_err(Error::engine(what.clone()))?;
    let get = |name: &str| {
        counts
            .column(name)
            .ok()
            .and_then(|c| c.u64().ok()?.get(0))
            .unwrap_or(0)
    };
    let (rows, distinct) = (get("rows"), get("people"));
    if rows > distinct {
        return Err(Error::Input(format!(
            "tables.{linked}: tables.{linking} links to it, so it must hold one row a person; \
             {} rows repeat a person already in it. Deduplicate the export, or link a table \
             that has one row a person",
            rows - distinct
        )));
    }
    let classes: Vec<Expr> = if has_qis {
        CLASS_KEYS
            .iter()
            .zip(LINKED)
            .map(|(c, l)| col(*c).alias(l))
            .collect()
    } else {
        // No quasi-identifiers: being in the table is all a join learns.
        LINKED.iter().map(|l| lit(0u64).alias(*l)).collect()
    };
    let mut select = vec![col(SUBJECT)];
    select.extend(classes);
    decision
        .kept(people)
        .select(select)
        .collect()
        .map_err(Error::engine(what))
}

/// The linking table's staged rows with their person's linked class under [`LINKED`] (null for
/// a person the linked table does not write), and their class fingerprint taken over `qis` and
/// the linked class. Returns the quasi-identifiers the counts then use: `qis` and [`LINKED`].
pub fn join(
    staged: LazyFrame,
    people: &DataFrame,
    key: ClassKey,
    qis: &[String],
) -> (LazyFrame, Vec<String>) {
    let mut linked_qis = qis.to_vec();
    linked_qis.extend(LINKED.iter().map(|l| l.to_string()));
    let mut args = join_args(JoinType::Left);
    // A row without a subject is nobody: it must not match another nobody's linked class.
    args.nulls_equal = false;
    let lf = staged
        .join(people.clone().lazy(), [col(SUBJECT)], [col(SUBJECT)], args)
        .with_columns(key.exprs(&linked_qis));
    (lf, linked_qis)
}

/// The smallest class of the written linking table joined to the written linked table on the
/// subject's output column, in people, by value: `None` when nothing is written.
pub fn smallest_class(
    linking: LazyFrame,
    linked: LazyFrame,
    subject: (&str, &str),
    qis: (&[String], &[String]),
) -> PolarsResult<Option<u64>> {
    const PERSON: &str = "__anonymize_person";
    let (subject_linking, subject_linked) = subject;
    let (qis_linking, qis_linked) = qis;
    let mut right = vec![col(subject_linked).alias(PERSON)];
    let mut keys: Vec<Expr> = qis_linking.iter().map(|q| col(q.as_str())).collect();
    for (i, q) in qis_linked.iter().enumerate() {
        let name = format!("__anonymize_linked_{i}");
        right.push(col(q.as_str()).alias(name.as_str()));
        keys.push(col(name.as_str()));
    }
    let mut left = vec![col(subject_linking).alias(PERSON)];
    left.extend(qis_linking.iter().map(|q| col(q.as_str())));
    let mut args = JoinArgs::new(JoinType::Left);
    args.nulls_equal = false;
    let joined =
        linking
            .select(left)
            .join(linked.select(right), [col(PERSON)], [col(PERSON)], args);
    let grouped = if keys.is_empty() {
        joined.select([col(PERSON).drop_nulls().n_unique().alias("people")])
    } else {
        joined
            .group_by(keys)
            .agg([col(PERSON).drop_nulls().n_unique().alias("people")])
    };
    let df = grouped
        .select([col("people").cast(DataType::UInt64).min()])
        .collect()?;
    Ok(df.columns().first().and_then(|c| c.u64().ok()?.get(0)))
}

/// [`smallest_class`] of two written tables of a job, `linking` (read from `linking_file`)
/// joined to `linked` (from `linked_file`) on their subjects' output columns; `context` names
/// the reading in an error.
pub fn smallest_written_class(
    linking: (&Table, &std::path::Path),
    linked: (&Table, &std::path::Path),
    context: &str,
) -> Result<Option<u64>> {
    let subject = |t: &Table| {
        t.subject
            .as_deref()
            .and_then(|s| t.column(s))
            .map(|c| c.output.clone())
            .unwrap_or_default()
    };
    let qis =
        |t: &Table| -> Vec<String> { t.quasi_identifiers().map(|c| c.output.clone()).collect() };
    let scan = |p: &std::path::Path| crate::read::scan_own(p, context.to_string());
    smallest_class(
        scan(linking.1)?,
        scan(linked.1)?,
        (&subject(linking.0), &subject(linked.0)),
        (&qis(linking.0), &qis(linked.0)),
    )
    .map_err(Error::engine(context.to_string()))
}
