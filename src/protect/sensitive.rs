//! The sensitive columns of a table, counted per class for the models of [`super::models`]:
//! per class and sensitive value, the distinct people who have it; per value, the distinct
//! people over the whole table (t-closeness's reference distribution). The counts are polars
//! group-bys over the rows; the models are then checked class by class in Rust.
//!
//! Used by the run's decision (classes named by fingerprint, over the staged rows) and by
//! `verify` (classes named by their values, over the written rows).

use polars::prelude::*;

use super::models::{Achieved, Attribute, Models};
use super::{SUBJECT, SUBJECTS};
use crate::error::{Error, Result};

/// The column of [`per_class`]'s result that says whether the class holds every model.
pub const MODELS_OK: &str = "__anonymize_models_ok";
const CODE: &str = "__anonymize_code";

/// One sensitive column's figures for one class: distinct values, exp(entropy), distance.
fn figure_columns(column: &str) -> [String; 3] {
    [
        format!("__anonymize_l_{column}"),
        format!("__anonymize_el_{column}"),
        format!("__anonymize_t_{column}"),
    ]
}

/// What the kept classes achieved on one sensitive column.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ColumnFigures {
    pub column: String,
    /// Numbers: t-closeness used the ordered distance.
    pub ordered: bool,
    #[serde(flatten)]
    pub achieved: Achieved,
}

fn engine(table: &str) -> impl Fn(PolarsError) -> Error + '_ {
    move |e| Error::Engine {
        context: format!("tables.{table}: counting sensitive values per class"),
        source: e,
    }
}

/// Whether a column of this type is compared in order (t-closeness's ordered distance).
pub fn is_ordered(dtype: &DataType) -> bool {
    dtype.is_primitive_numeric() || dtype.is_temporal()
}

/// One row per class (its `class` columns; one row for the whole table when `class` is empty)
/// with [`MODELS_OK`] and, per sensitive column, its figures. `rows` holds the class columns,
/// the sensitive columns and, when `subject`, the person under [`SUBJECT`].
pub fn per_class(
    rows: LazyFrame,
    class: &[String],
    sensitive: &[String],
    subject: bool,
    models: &Models,
    table: &str,
) -> Result<DataFrame> {
    let class_keys: Vec<Expr> = class.iter().map(|c| col(c.as_str())).collect();
    let mut result: Option<DataFrame> = None;
    for s in sensitive {
        let people = if subject {
            // One person with ten events of the same value is one person for that value; a
            // missing subject is nobody (as for k).
            col(SUBJECT).drop_nulls().n_unique().cast(DataType::UInt64)
        } else {
            len().cast(DataType::UInt64)
        };
        let mut keys = class_keys.clone();
        keys.push(col(s.as_str()));
        let hist = rows
            .clone()
            .group_by(keys)
            .agg([people.clone().alias(SUBJECTS)])
            .filter(col(SUBJECTS).gt(lit(0u64)));
        // The table's distribution over the same (class, value, person) triples' values.
        let overall = if subject {
            rows.clone()
                .select([col(s.as_str()), col(SUBJECT)])
                .group_by([col(s.as_str())])
                .agg([people.alias(SUBJECTS)])
        } else {
            rows.clone()
                .group_by([col(s.as_str())])
                .agg([people.alias(SUBJECTS)])
        }
        .filter(col(SUBJECTS).gt(lit(0u64)))
        .sort(
            [s.as_str()],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .with_row_index(CODE, None)
        .collect()
        .map_err(engine(table))?;
        let ordered = overall
            .column(s.as_str())
            .map(|c| is_ordered(c.dtype()))
            .unwrap_or(false);
        let people_per_code: Vec<u64> = overall
            .column(SUBJECTS)
            .and_then(|c| c.u64().cloned())
            .map_err(engine(table))?
            .into_no_null_iter()
            .collect();
        let attr = Attribute::new(s.as_str(), ordered, &people_per_code);
        let mut args = JoinArgs::new(JoinType::Inner);
        args.nulls_equal = true;
        let joined = hist.join(
            overall.lazy().select([col(s.as_str()), col(CODE)]),
            [col(s.as_str())],
            [col(s.as_str())],
            args,
        );
        // One row per class with its histogram as two lists (codes, people).
        let lists = [col(CODE).cast(DataType::UInt32), col(SUBJECTS)];
        let coded = if class.is_empty() {
            joined.select(lists.map(|e| e.implode(false)))
        } else {
            joined.group_by(class_keys.clone()).agg(lists)
        }
        .collect()
        .map_err(engine(table))?;
        let one = evaluate(coded, &attr, models, table)?;
        result = Some(match result {
            None => one,
            Some(prev) if class.is_empty() => {
                // One row each (the whole table): side by side, the flags combine.
                let flag = |df: &DataFrame| -> PolarsResult<BooleanChunked> {
                    Ok(df.column(MODELS_OK)?.bool()?.clone())
                };
                let ok = (flag(&prev).map_err(engine(table))?
                    & flag(&one).map_err(engine(table))?)
                .with_name(MODELS_OK.into());
                let mut merged = prev;
                for c in one.columns() {
                    if c.name().as_str() != MODELS_OK {
                        merged.with_column(c.clone()).map_err(engine(table))?;
                    }
                }
                merged
                    .with_column(ok.into_column())
                    .map_err(engine(table))?;
                merged
            }
            Some(prev) => {
                // The same classes: joined on their columns, the flags combine.
                const OTHER: &str = "__anonymize_models_ok_other";
                let mut args = JoinArgs::new(JoinType::Inner);
                args.nulls_equal = true;
                prev.lazy()
                    .join(
                        one.lazy().rename([MODELS_OK], [OTHER], true),
                        class_keys.clone(),
                        class_keys.clone(),
                        args,
                    )
                    .with_column((col(MODELS_OK).and(col(OTHER))).alias(MODELS_OK))
                    .drop(by_name([OTHER], true, false))
                    .collect()
                    .map_err(engine(table))?
            }
        });
    }
    result.ok_or_else(|| Error::Privacy(format!("tables.{table}: no sensitive column to count")))
}

/// Checks each class of `coded` (class columns, then the lists of codes and of people) against
/// the models: the class columns with [`MODELS_OK`] and the figures.
fn evaluate(coded: DataFrame, attr: &Attribute, models: &Models, table: &str) -> Result<DataFrame> {
    let lists = |name: &str| -> PolarsResult<Vec<Series>> {
        let ca = coded.column(name)?.list()?;
        Ok((0..ca.len())
            .map(|i| ca.get_as_series(i).unwrap_or_default())
            .collect())
    };
    let codes = lists(CODE).map_err(engine(table))?;
    let people = lists(SUBJECTS).map_err(engine(table))?;
    let [l_name, el_name, t_name] = figure_columns(&attr.name);
    let n = coded.height();
    let (mut ok, mut l, mut el, mut t) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (c, p) in codes.iter().zip(&people) {
        let hist: Vec<(u32, u64)> = match (c.u32(), p.u64()) {
            (Ok(c), Ok(p)) => c.into_no_null_iter().zip(p.into_no_null_iter()).collect(),
            _ => Vec::new(),
        };
        let mut one = Achieved::default();
        one.add(&hist, attr);
        ok.push(models.holds(&hist, attr));
        l.push(one.min_distinct.unwrap_or(0));
        el.push(one.min_entropy_l.unwrap_or(0.0));
        t.push(one.max_distance.unwrap_or(0.0));
    }
    let mut out = coded.drop_many([CODE, SUBJECTS]);
    for c in [
        Column::new(MODELS_OK.into(), ok),
        Column::new(l_name.into(), l),
        Column::new(el_name.into(), el),
        Column::new(t_name.into(), t),
    ] {
        out.with_column(c).map_err(engine(table))?;
    }
    Ok(out)
}

/// The kept classes' figures per sensitive column: `kept` holds the columns [`per_class`]
/// added, one row per kept class.
pub fn achieved(kept: &DataFrame, sensitive: &[String], ordered: &[bool]) -> Vec<ColumnFigures> {
    sensitive
        .iter()
        .zip(ordered)
        .map(|(s, &ordered)| {
            let [l, el, t] = figure_columns(s);
            let get = |name: &str| {
                kept.column(name)
                    .ok()
                    .map(|c| c.as_materialized_series().clone())
            };
            let min_u64 = get(&l).and_then(|c| c.min::<u64>().ok().flatten());
            let min_f64 = get(&el).and_then(|c| c.min::<f64>().ok().flatten());
            let max_f64 = get(&t).and_then(|c| c.max::<f64>().ok().flatten());
            ColumnFigures {
                column: s.clone(),
                ordered,
                achieved: Achieved {
                    min_distinct: min_u64,
                    min_entropy_l: min_f64,
                    max_distance: max_f64,
                },
            }
        })
        .collect()
}

/// Whether each sensitive column is compared in order, from the rows' schema.
pub fn ordered(rows: &LazyFrame, sensitive: &[String], table: &str) -> Result<Vec<bool>> {
    let schema = rows.clone().collect_schema().map_err(engine(table))?;
    Ok(sensitive
        .iter()
        .map(|s| schema.get(s.as_str()).is_some_and(is_ordered))
        .collect())
}
