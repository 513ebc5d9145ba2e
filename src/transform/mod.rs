//! Column actions on polars: each input column becomes zero or one output column by an explicit
//! action.
//!
//! One file an action: `keep` and `pseudonymize` here, and every generalizing method through
//! one adapter ([`generalize`]) that runs the engine-free methods of [`crate::method`] in an
//! elementwise polars UDF, so they run inside the streaming engine. A value an action cannot
//! read becomes null and is counted in the column's [`Tally`]; the value itself is never
//! logged. Inputs of any type are read as text, so `"123"` from CSV and `123` from Parquet give
//! the same pseudonym.

pub mod generalize;
pub mod keep;
pub mod levels;
pub mod lower_bound;
pub mod pseudonymize;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use polars::prelude::*;

use crate::job::key::Key;
use crate::job::{Column as JobColumn, ColumnAction};
use crate::method::Env;

/// What every method may need besides its own parameters.
#[derive(Debug, Clone)]
pub struct Context {
    /// The pseudonym key; present whenever a column is pseudonymized (validation sees to it).
    pub key: Option<Key>,
    pub run_date: NaiveDate,
}

impl Context {
    /// What a generalizing method may need.
    pub fn env(&self) -> Env {
        Env {
            run_date: self.run_date,
        }
    }
}

/// A counter shared by the copies of a UDF that polars runs on several threads.
#[derive(Debug, Clone, Default)]
pub struct Tally(Arc<AtomicU64>);

impl Tally {
    pub fn add(&self, n: u64) {
        if n > 0 {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Per output column: values a method could not read (made null), and values a hierarchy did
/// not contain (sent to its top level).
#[derive(Debug, Clone, Default)]
pub struct ColumnTallies {
    pub invalid: Tally,
    pub unmapped: Tally,
    /// Pseudonymized values that their canonical form changed (blanks around them, case, a
    /// phone's spelling).
    pub normalized: Tally,
}

/// The output expression of a column at its lowest allowed level (its level, when pinned),
/// aliased to its output name; `None` when dropped.
pub fn column_expr(column: &JobColumn, ctx: &Context, tallies: &ColumnTallies) -> Option<Expr> {
    column_expr_at(column, column.levels.min, ctx, tallies)
}

/// The output expression of a column at generalization level `level`.
pub fn column_expr_at(
    column: &JobColumn,
    level: usize,
    ctx: &Context,
    tallies: &ColumnTallies,
) -> Option<Expr> {
    let input = col(column.name.as_str());
    let invalid = || tallies.invalid.clone();
    let out = match &column.action {
        ColumnAction::Drop => return None,
        ColumnAction::Keep(ty) => keep::expr(input, *ty, invalid()),
        ColumnAction::Pseudonymize {
            length,
            normalize,
            scope,
        } => match &ctx.key {
            Some(key) => pseudonymize::expr(
                input,
                &key.for_scope(scope, ctx.run_date),
                *length,
                *normalize,
                tallies.normalized.clone(),
            ),
            None => unreachable!("validation requires a key for pseudonymized columns"),
        },
        ColumnAction::Generalize(g) => generalize::expr(g, level, input, ctx.env(), tallies),
    };
    Some(out.alias(column.output.as_str()))
}

/// The values of a column as text, whatever its type.
pub fn as_text(c: &Column) -> PolarsResult<StringChunked> {
    match c.dtype() {
        DataType::String => Ok(c.str()?.clone()),
        _ => Ok(c.cast(&DataType::String)?.str()?.clone()),
    }
}

/// Wraps a text → text function as an elementwise UDF. `f` writes the output into the buffer
/// it is given and returns `false` when it cannot read the value: the output is then null and
/// the value is counted in `tally`. Null, empty and blank values are missing, not malformed:
/// they stay null without reaching `f` and are not counted.
pub fn map_text<F>(input: Expr, tally: Tally, f: F) -> Expr
where
    F: Fn(&str, &mut String) -> bool + Send + Sync + 'static,
{
    map_text_with(input, tally, move |_: &mut (), v, out| f(v, out))
}

/// [`map_text`] with a state that lives for one batch of values (a cache, say), made fresh by
/// `S::default()` for each batch so that threads never share it.
pub(crate) fn map_text_with<S, F>(input: Expr, tally: Tally, f: F) -> Expr
where
    S: Default,
    F: Fn(&mut S, &str, &mut String) -> bool + Send + Sync + 'static,
{
    input.map(
        move |c: Column| {
            let text = as_text(&c)?;
            let mut state = S::default();
            let mut buf = String::new();
            let mut bad = 0u64;
            let mut builder = StringChunkedBuilder::new(c.name().clone(), text.len());
            for v in text.iter() {
                match v {
                    None => builder.append_null(),
                    Some(v) if v.trim().is_empty() => builder.append_null(),
                    Some(v) => {
                        buf.clear();
                        if f(&mut state, v, &mut buf) {
                            builder.append_value(&buf);
                        } else {
                            bad += 1;
                            builder.append_null();
                        }
                    }
                }
            }
            tally.add(bad);
            Ok(builder.finish().into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
}

/// Wraps a text → number function as an elementwise UDF whose physical values are `T` and whose
/// output type is `dtype` (e.g. `Int32` physical values as `Date`). `None` from `f` is a value
/// it could not read: null, and counted. Blank values are missing, as in [`map_text`].
pub(crate) fn map_physical<T, F>(input: Expr, dtype: DataType, tally: Tally, f: F) -> Expr
where
    T: PolarsNumericType,
    F: Fn(&str) -> Option<T::Native> + Send + Sync + 'static,
{
    let out = dtype.clone();
    input.map(
        move |c: Column| {
            let text = as_text(&c)?;
            let mut bad = 0u64;
            let values: ChunkedArray<T> = text
                .iter()
                .map(|v| {
                    let v = v.filter(|v| !v.trim().is_empty())?;
                    let r = f(v);
                    bad += r.is_none() as u64;
                    r
                })
                .collect();
            tally.add(bad);
            values
                .with_name(c.name().clone())
                .into_series()
                .cast(&dtype)
                .map(Series::into_column)
        },
        move |_, f| Ok(Field::new(f.name().clone(), out.clone())),
    )
}

/// Whether each value is present: neither null nor blank. Methods read present values only;
/// a present value that comes out null is one they could not read.
pub fn present(input: Expr) -> Expr {
    input.map(
        |c: Column| {
            let text = as_text(&c)?;
            let out: BooleanChunked = text
                .iter()
                .map(|v| Some(v.is_some_and(|v| !v.trim().is_empty())))
                .collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
    )
}

/// Whether each value of the column is present but unreadable by its method (at its finest
/// level: what a level cannot read, no level can).
pub fn unreadable(column: &JobColumn, ctx: &Context) -> Option<Expr> {
    let input = col(column.name.as_str());
    if let ColumnAction::Generalize(g) = &column.action {
        return Some(generalize::unreadable(g, input, ctx.env()));
    }
    let mut finest = column.clone();
    finest.levels = crate::job::LevelRange::pinned(0);
    let out = column_expr_at(&finest, 0, ctx, &ColumnTallies::default())?;
    Some(present(input).and(out.is_null()))
}

/// The column as text (a no-op for text columns).
pub(crate) fn as_text_expr(input: Expr) -> Expr {
    input.cast(DataType::String)
}
