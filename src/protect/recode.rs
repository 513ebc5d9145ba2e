//! Applying a Mondrian partitioning ([`super::mondrian`]) to a table's rows: each row's
//! quasi-identifiers become the labels of the partition its finest values fall in (ranges
//! such as `"31-35"`, or the hierarchy level the partition needs).
//!
//! The partitioning is computed on the search's base, which names values by integer codes.
//! The first pass stages each quasi-identifier's finest value beside the output columns
//! ([`finest_column`]); here the staged rows are joined, per quasi-identifier, from that value
//! to its code, then from the codes to their partition's labels, and written back as the
//! table's staged rows with new class fingerprints. From there on the table is counted,
//! checked (k and the models again, as a safety net), written and read back like any other.
//! Rows of suppressed entries get no labels: their quasi-identifiers are null, and the
//! decision suppresses them (the class of everything suppressed is under k, or it would not
//! have been suppressed).

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;

use super::CLASS_KEYS;
use super::kanon::ClassKey;
use super::mondrian::{MISSING, Partitioning, SUPPRESSED};
use super::optimize::FinestValues;
use super::search::Base;
use crate::error::{Error, Result};
use crate::write;

/// The staged column holding quasi-identifier `d`'s finest value (as text).
pub fn finest_column(d: usize) -> String {
    format!("__anonymize_finest_{d}")
}

fn code_column(d: usize) -> String {
    format!("__anonymize_code_{d}")
}

fn label_column(d: usize) -> String {
    format!("__anonymize_label_{d}")
}

/// The look-ups from finest values to partition labels.
pub struct Recoding {
    qis: Vec<String>,
    /// Per quasi-identifier: (finest value, code).
    value_codes: Vec<DataFrame>,
    /// One row per distinct code combination of kept entries: the codes, then the labels.
    labels: DataFrame,
}

impl Recoding {
    /// From the base the partitioning was computed on, the finest values behind its codes,
    /// and the partitioning. `qis` are the output names, in the base's dimension order.
    pub fn new(
        qis: &[String],
        base: &Base,
        finest: &FinestValues,
        part: &Partitioning,
        table: &str,
    ) -> Result<Recoding> {
        let engine = |source| Error::Engine {
            context: format!("tables.{table}: mapping rows to their partitions"),
            source,
        };
        let n_dims = qis.len();
        let mut value_codes = Vec::with_capacity(n_dims);
        for (d, values) in finest.iter().enumerate() {
            let text: Vec<Option<&str>> = values.iter().map(|(v, _)| v.as_deref()).collect();
            let codes: Vec<u32> = values.iter().map(|(_, c)| *c).collect();
            value_codes.push(
                DataFrame::new_infer_height(vec![
                    Column::new(finest_column(d).into(), text),
                    Column::new(code_column(d).into(), codes),
                ])
                .map_err(engine)?,
            );
        }
        // Entries with the same codes always share a partition (splits go by value); a
        // difference would be a defect of the partitioning, and is refused.
        let mut seen: HashMap<&[u32], u32> = HashMap::new();
        let mut order: Vec<(&[u32], u32)> = Vec::new();
        for (i, &p) in part.entry_partition.iter().enumerate() {
            let codes = &base.codes[i * n_dims..(i + 1) * n_dims];
            match seen.get(codes) {
                Some(&q) if q != p => {
                    return Err(Error::Privacy(format!(
                        "tables.{table}: Mondrian put one combination of values in two \
                         partitions (a defect)"
                    )));
                }
                Some(_) => {}
                None => {
                    seen.insert(codes, p);
                    if p != SUPPRESSED {
                        order.push((codes, p));
                    }
                }
            }
        }
        let mut columns = Vec::with_capacity(2 * n_dims);
        for d in 0..n_dims {
            let codes: Vec<u32> = order.iter().map(|(c, _)| c[d]).collect();
            columns.push(Column::new(code_column(d).into(), codes));
        }
        for d in 0..n_dims {
            let labels: Vec<Option<&str>> = order
                .iter()
                .map(|(_, p)| {
                    let l = part.partitions[*p as usize].labels[d].as_str();
                    (l != MISSING).then_some(l)
                })
                .collect();
            columns.push(Column::new(label_column(d).into(), labels));
        }
        let labels = if order.is_empty() {
            DataFrame::new_infer_height(
                (0..n_dims)
                    .map(|d| Column::new_empty(code_column(d).into(), &DataType::UInt32))
                    .chain(
                        (0..n_dims)
                            .map(|d| Column::new_empty(label_column(d).into(), &DataType::String)),
                    )
                    .collect(),
            )
        } else {
            DataFrame::new_infer_height(columns)
        }
        .map_err(engine)?;
        Ok(Recoding {
            qis: qis.to_vec(),
            value_codes,
            labels,
        })
    }

    /// Rewrites the staged rows in `from` into `to`: quasi-identifiers replaced by their
    /// partition's labels, the finest values gone, class fingerprints made anew with `key`.
    pub fn apply(&self, from: LazyFrame, to: &Path, key: ClassKey, table: &str) -> Result<()> {
        let mut args = JoinArgs::new(JoinType::Left);
        args.nulls_equal = true;
        args.maintain_order = MaintainOrderJoin::Left;
        let mut lf = from;
        for (d, vc) in self.value_codes.iter().enumerate() {
            let on = [col(finest_column(d).as_str())];
            lf = lf.join(vc.clone().lazy(), on.clone(), on, args.clone());
        }
        let on: Vec<Expr> = (0..self.qis.len())
            .map(|d| col(code_column(d).as_str()))
            .collect();
        lf = lf.join(self.labels.clone().lazy(), on.clone(), on, args);
        let relabel: Vec<Expr> = self
            .qis
            .iter()
            .enumerate()
            .map(|(d, q)| col(label_column(d).as_str()).alias(q.as_str()))
            .collect();
        let mut internal: Vec<String> = Vec::new();
        for d in 0..self.qis.len() {
            internal.extend([finest_column(d), code_column(d), label_column(d)]);
        }
        internal.extend(CLASS_KEYS.iter().map(|k| k.to_string()));
        lf = lf
            .with_columns(relabel)
            .drop(by_name(internal.iter().map(String::as_str), false, false))
            .with_columns(key.exprs(&self.qis));
        write::sink_parquet(lf, to, write::scratch_options()).map_err(|source| Error::Engine {
            context: format!("tables.{table}: mapping rows to their partitions"),
            source,
        })
    }
}
