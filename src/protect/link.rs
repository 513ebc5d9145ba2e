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
//! The written pair is checked by value, from the two written files alone, by
//! [`super::known_events::audit`].

use polars::prelude::*;

use super::kanon::{ClassKey, Decision, join_args};
use super::{CLASS_KEYS, LINKED, SUBJECT};
use crate::error::{Error, Result};

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
