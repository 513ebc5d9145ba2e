//! k^m over people's event histories (`known_events = m`): someone who knows m of a person's
//! facts must still find k people.
//!
//! A table's rows are classes; a person's **facts** are the distinct classes of their rows,
//! and in a linked table each class already carries the person's linked values (see
//! [`super::link`]). k on classes is k^1. With `known_events = m` above 1, every set of at most m
//! facts of a person must be shared by k people; [`sets`] reaches it by suppressing the
//! facts (a person's rows of one class) that remain too rare at the job's levels.
//!
//! The run calls [`enforce`] on the staged rows, before they are counted: the removed
//! (class, person) pairs leave the staged file, and the usual counts and decision follow, so a
//! class that fell under k with them is suppressed as any other. After the write, [`audit`]
//! counts the sets again, by value, from the written files alone: the run fails rather than
//! commit a set under k, `verify` does the same, and the report shows what it found.

pub mod sets;

use std::collections::HashMap;

use polars::prelude::*;
use serde::Serialize;

use super::kanon::join_args;
use super::{CLASS_KEYS, ROWS, SUBJECT};
use crate::error::{Error, Result};
use crate::job::Table;
use sets::{Entry, Histories, Shared, TooMany};

/// What enforcing k^m removed, for the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Suppressed {
    /// Facts removed: a person's rows of one class.
    pub facts: u64,
    pub rows: u64,
    /// People who lost at least one fact.
    pub people: u64,
    /// Rounds of counting until no set was under k.
    pub rounds: u32,
    pub seconds: f64,
}

/// The (class, person) pairs to leave out of the staged rows of `table`, so that every set of at
/// most `m` facts of a person is shared by `k` people; the staged rows carry the class under
/// [`CLASS_KEYS`] and the person under [`SUBJECT`]. Rows without a person are nobody's facts:
/// the class counts that follow deal with them. Fails when the facts' rows are more than
/// `max_suppression` of the people's rows; `facts` names the columns a fact is made of.
pub fn enforce(
    staged: LazyFrame,
    privacy: &crate::job::Privacy,
    facts: &[String],
    table: &str,
) -> Result<(DataFrame, Suppressed)> {
    let (k, m) = (privacy.k, privacy.known_events);
    let t0 = std::time::Instant::now();
    let what = format!("tables.{table}: gathering people's facts (known_events)");
    let pairs = staged
        .filter(col(SUBJECT).is_not_null())
        .group_by([col(CLASS_KEYS[0]), col(CLASS_KEYS[1]), col(SUBJECT)])
        .agg([len().cast(DataType::UInt64).alias(ROWS)])
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .map_err(Error::engine(what.clone()))?;
    let u64s = |name: &str| {
        pairs
            .column(name)
            .and_then(|c| c.u64().cloned())
            .map_err(Error::engine(what.clone()))
    };
    let (a, b, person, rows) = (
        u64s(CLASS_KEYS[0])?,
        u64s(CLASS_KEYS[1])?,
        u64s(SUBJECT)?,
        u64s(ROWS)?,
    );
    let mut entries = Vec::with_capacity(pairs.height());
    for (((a, b), person), rows) in a.iter().zip(b.iter()).zip(person.iter()).zip(rows.iter()) {
        // Class keys are never null (they are hashes); a null would be nobody's fact anyway.
        if let (Some(a), Some(b), Some(person), Some(rows)) = (a, b, person, rows) {
            entries.push(Entry {
                person,
                fact: (u128::from(a) << 64) | u128::from(b),
                rows,
            });
        }
    }
    drop(pairs);
    let histories = Histories::new(entries);
    let done = histories
        .enforce(k, m as usize)
        .map_err(|e| too_many(table, m, e))?;
    let limit = super::allowed_rows(privacy.max_suppression, done.rows_of_people);
    if done.rows > limit {
        let pct = |n: u64| {
            format!(
                "{:.2}%",
                100.0 * n as f64 / done.rows_of_people.max(1) as f64
            )
        };
        return Err(Error::Privacy(format!(
            "tables.{table}: known_events = {m} (k = {k}) would suppress {} of {} rows ({}) as \
             facts too rare, over the limit of {:.2}% (max_suppression = {}). A person's facts are \
             their rows' values of {}, and {} people hold sets of up to {m} of them that fewer \
             than {k} people share. Coarsen those columns (a year rather than a month, wider bands, \
             a higher level), leave one out, lower known_events, or raise max_suppression. \
             Nothing was written.",
            done.rows,
            done.rows_of_people,
            pct(done.rows),
            // The share the job allows, not the rows it rounds down to (29.99% of 4,998).
            100.0 * privacy.max_suppression,
            privacy.max_suppression,
            facts
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", "),
            done.people,
        )));
    }
    let mut ca = Vec::with_capacity(done.removed.len());
    let mut cb = Vec::with_capacity(done.removed.len());
    let mut cp = Vec::with_capacity(done.removed.len());
    for e in &done.removed {
        ca.push((e.fact >> 64) as u64);
        cb.push(e.fact as u64);
        cp.push(e.person);
    }
    let removed = DataFrame::new_infer_height(vec![
        Column::new(CLASS_KEYS[0].into(), ca),
        Column::new(CLASS_KEYS[1].into(), cb),
        Column::new(SUBJECT.into(), cp),
    ])
    .map_err(Error::engine(what))?;
    Ok((
        removed,
        Suppressed {
            facts: done.removed.len() as u64,
            rows: done.rows,
            people: done.people,
            rounds: done.rounds,
            seconds: t0.elapsed().as_secs_f64(),
        },
    ))
}

/// The staged rows without the removed (class, person) pairs of [`enforce`].
pub fn without(staged: LazyFrame, removed: &DataFrame) -> LazyFrame {
    if removed.height() == 0 {
        return staged;
    }
    let on = [col(CLASS_KEYS[0]), col(CLASS_KEYS[1]), col(SUBJECT)];
    staged.join(
        removed.clone().lazy(),
        on.clone(),
        on,
        join_args(JoinType::Anti),
    )
}

fn too_many(table: &str, m: u32, e: TooMany) -> Error {
    Error::Privacy(format!(
        "tables.{table}: known_events = {m} would count {} sets of {} facts, more than \
         anonymize enumerates ({}): people hold too many distinct facts. Coarsen the table's \
         quasi-identifiers (a month rather than a day, a region rather than a city), or lower \
         known_events. Nothing was written.",
        e.sets,
        e.known_facts,
        sets::MAX_SETS
    ))
}

/// The written output of a table, counted for k^m by value: the people's facts are the
/// distinct values of the table's quasi-identifiers over their rows, together with their row's
/// quasi-identifier values in the linked table (joined on the pseudonym; null when the linked
/// table does not hold the person). Returns the counts for sets of 1 to `m` facts.
pub fn audit(
    table: (&Table, &std::path::Path),
    linked: Option<(&Table, &std::path::Path)>,
    k: u32,
    m: u32,
    context: &str,
) -> Result<Vec<Shared>> {
    let engine = Error::engine(context.to_string());
    let entries = written_entries(table, linked, context)?.map_err(engine)?;
    Histories::new(entries)
        .audit(k, m as usize)
        .map_err(|e| too_many(&table.0.name, m, e))
}

/// (person, fact) entries of a written table, by value: each distinct person text and each
/// distinct combination of value texts (null apart from every text) gets its own number, in the
/// order met.
fn written_entries(
    table: (&Table, &std::path::Path),
    linked: Option<(&Table, &std::path::Path)>,
    context: &str,
) -> Result<PolarsResult<Vec<Entry>>> {
    const PERSON: &str = "__anonymize_person";
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
    let text = |name: &str| col(name).cast(DataType::String);
    let (t, path) = table;
    let mut values: Vec<String> = qis(t);
    let mut lf = scan(path)?.select(
        std::iter::once(text(&subject(t)).alias(PERSON))
            .chain(qis(t).iter().map(|q| text(q)))
            .collect::<Vec<_>>(),
    );
    if let Some((lt, lpath)) = linked {
        let mut right = vec![text(&subject(lt)).alias(PERSON)];
        for (i, q) in qis(lt).iter().enumerate() {
            let name = format!("__anonymize_linked_{i}");
            right.push(text(q).alias(name.as_str()));
            values.push(name);
        }
        // A linked table without quasi-identifiers still tells who is in it.
        right.push(lit("in").alias("__anonymize_in_linked"));
        values.push("__anonymize_in_linked".into());
        let mut args = JoinArgs::new(JoinType::Left);
        args.nulls_equal = false;
        lf = lf.join(
            scan(lpath)?.select(right),
            [col(PERSON)],
            [col(PERSON)],
            args,
        );
    }
    let rows = lf
        .filter(col(PERSON).is_not_null())
        .unique(None, UniqueKeepStrategy::Any)
        .collect_with_engine(Engine::Streaming);
    Ok(rows.and_then(|df| {
        let df = df.unwrap_single();
        let people = df.column(PERSON)?.str()?.clone();
        let columns = values
            .iter()
            .map(|v| Ok(df.column(v.as_str())?.str()?.clone()))
            .collect::<PolarsResult<Vec<_>>>()?;
        // Each column's values as numbers, then each row's numbers as its fact.
        let mut value_ids: Vec<HashMap<Option<&str>, u32>> = vec![HashMap::new(); columns.len()];
        let mut fact_ids: HashMap<Vec<u32>, u128> = HashMap::new();
        let mut person_ids: HashMap<&str, u64> = HashMap::new();
        let mut iters: Vec<_> = columns.iter().map(|c| c.iter()).collect();
        let mut entries = Vec::with_capacity(df.height());
        let mut fact = Vec::with_capacity(columns.len());
        for p in people.iter() {
            fact.clear();
            for (it, ids) in iters.iter_mut().zip(value_ids.iter_mut()) {
                let v = it.next().flatten();
                let next = ids.len() as u32;
                fact.push(*ids.entry(v).or_insert(next));
            }
            let Some(p) = p else { continue };
            let next = person_ids.len() as u64;
            let person = *person_ids.entry(p).or_insert(next);
            let next = fact_ids.len() as u128;
            let fact = match fact_ids.get(&fact) {
                Some(id) => *id,
                None => {
                    fact_ids.insert(fact.clone(), next);
                    next
                }
            };
            entries.push(Entry {
                person,
                fact,
                rows: 1,
            });
        }
        Ok(entries)
    }))
}

/// The release's figures of a written table that links another or holds k^m (`None` for any
/// other table): [`audit`] over its `known_events` (at least 1), with the linked table when it
/// links one.
pub fn audit_release(
    table: (&Table, &std::path::Path),
    linked: Option<(&Table, &std::path::Path)>,
    context: &str,
) -> Result<Option<Vec<Shared>>> {
    let Some(privacy) = table.0.privacy else {
        return Ok(None);
    };
    if table.0.link.is_none() && privacy.known_events <= 1 {
        return Ok(None);
    }
    audit(table, linked, privacy.k, privacy.known_events, context).map(Some)
}

/// The first size of set with people under k, said for a message: what broke, never which
/// values. `linked` names the linked table, if any.
pub fn broken(shared: &[Shared], k: u32, linked: Option<&str>) -> Option<String> {
    let s = shared.iter().find(|s| s.people_under_k > 0)?;
    let smallest = s.smallest.unwrap_or(0);
    let joined = linked
        .map(|l| format!(" joined to {l} on the pseudonym,"))
        .unwrap_or_default();
    Some(if s.known_facts == 1 {
        format!(
            "{joined} {} people are in a class of fewer than k = {k} people (the smallest \
             holds {smallest})",
            s.people_under_k
        )
    } else {
        format!(
            "{joined} {} people hold {} facts that fewer than k = {k} people share (the \
             fewest: {smallest})",
            s.people_under_k, s.known_facts
        )
    })
}
