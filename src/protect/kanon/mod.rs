//! k-anonymity counted in people: every equivalence class (rows sharing all quasi-identifier
//! values) must hold at least k distinct subjects. Ten events of one person are one person.
//!
//! [`count`] is the first pass: it streams the row state, the quasi-identifiers and the subject
//! into (state, class, subject) → rows, which is all the later decisions need (and what a
//! search for generalization levels will roll up). [`Counts::decide`] picks the classes to
//! suppress and checks the suppression limit; when the limit is exceeded it says which
//! quasi-identifiers drive it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use super::retention::{ERASED, EXPIRED, KEPT, UNDATED};
use super::sensitive::{self, MODELS_OK};
use super::{CLASS_KEYS, ROWS, STATE, SUBJECT, SUBJECTS};
use crate::error::{Error, Result};
use crate::job::Privacy;

// The parts of k-anonymity, one file each; they share this module's imports (`use super::*`).
mod decide;
mod fingerprint;
mod verify;

#[allow(unused_imports)]
use decide::*;
pub use decide::{Decision, SizeBucket, SuppressedBucket};
pub use fingerprint::ClassKey;
#[allow(unused_imports)]
use fingerprint::*;
pub use verify::{Subject, verify};

/// The first pass's result for one table.
pub struct Counts {
    /// The kept rows, counted.
    kept: Kept,
    /// Output names of the quasi-identifiers.
    qis: Vec<String>,
    /// Output names of the sensitive columns (staged counts only): what the models watch.
    sensitive: Vec<String>,
    pub rows_in: u64,
    pub rows_expired: u64,
    pub rows_undated: u64,
    pub rows_erased: u64,
    /// Bad rows by state (see [`super::bad_rows`]): each state names the column that made them.
    pub rows_bad: Vec<(i32, u64)>,
    /// Kept rows that left before counting, as facts too rare for k^m (see
    /// [`super::known_events`]): suppressed rows like those of the classes under k.
    pub rows_facts_suppressed: u64,
    /// Kept rows of people the earlier nights single out (see [`super::nights`]), taken out
    /// before counting: suppressed too.
    pub rows_moved_suppressed: u64,
}

/// How the kept rows are counted.
enum Kept {
    /// One row per (quasi-identifier values…, subject) with its row count: what [`count`]
    /// yields, and what the level search rolls up.
    Pairs(DataFrame),
    /// One row per class, named by its fingerprint ([`CLASS_KEYS`], made with `key`), with
    /// its people and rows: what [`count_staged`] yields. The staged rows answer what needs
    /// people across classes (how many leave with the suppressed classes) and, when a failure
    /// is explained, the classes over fewer quasi-identifiers.
    Classes {
        classes: DataFrame,
        staged: Box<LazyFrame>,
        key: ClassKey,
        subject: bool,
    },
}

/// Rows of (class, person) pairs held in memory at once, about: above it, classes are counted
/// one slice of fingerprints at a time. polars' group-by takes a few hundred bytes a pair, so a
/// slice stays near 1–2 GB; a 10 M-event night is one slice, 100 M events (83 M kept) are six.
const SLICE_ROWS: u64 = 16_000_000;

/// The number of slices for `rows` rows (see [`SLICE_ROWS`]).
fn slices_for(rows: u64) -> u64 {
    rows.div_ceil(SLICE_ROWS).max(1)
}

/// People and rows per class, one slice of classes at a time. `rows` holds the class columns
/// `names` and, when `subject`, the person's fingerprint under [`SUBJECT`]; with more than one
/// slice, `names[0]` must be a fingerprint (slices are its remainders). A class lies in one
/// slice, so each slice's (class, person) pairs are counted whole and let go of.
fn class_table(
    rows: LazyFrame,
    names: &[String],
    subject: bool,
    slices: u64,
    what: &str,
) -> Result<DataFrame> {
    let as_u64 = |e: Expr| e.cast(DataType::UInt64);
    if names.is_empty() {
        // No quasi-identifiers: the table is one class.
        let people = if subject {
            col(SUBJECT).drop_nulls().n_unique()
        } else {
            len()
        };
        return collect(
            rows.select([as_u64(people).alias(SUBJECTS), as_u64(len()).alias(ROWS)]),
            what,
        );
    }
    let keys: Vec<Expr> = names.iter().map(|n| col(n.as_str())).collect();
    if !subject {
        // Every row is a person.
        return collect(
            rows.group_by(keys)
                .agg([as_u64(len()).alias(ROWS)])
                .with_column(col(ROWS).alias(SUBJECTS)),
            what,
        );
    }
    let mut pairs_keys = keys.clone();
    pairs_keys.push(col(SUBJECT));
    let mut parts = Vec::with_capacity(slices as usize);
    for i in 0..slices {
        let slice = if slices == 1 {
            rows.clone()
        } else {
            rows.clone()
                .filter((col(names[0].as_str()) % lit(slices)).eq(lit(i)))
        };
        parts.push(collect(
            slice
                .group_by(pairs_keys.clone())
                .agg([as_u64(len()).alias(ROWS)])
                .group_by(keys.clone())
                .agg([
                    // One pair per (class, person): counting them counts people. A missing
                    // subject is nobody we can vouch for, so it does not count towards k.
                    as_u64(col(SUBJECT).count()).alias(SUBJECTS),
                    col(ROWS).sum().alias(ROWS),
                ]),
            what,
        )?);
    }
    let mut all = parts.pop().unwrap_or_default();
    for p in parts {
        all.vstack_mut(&p)
            .map_err(Error::engine(what.to_string()))?;
    }
    Ok(all)
}

fn collect(lf: LazyFrame, what: &str) -> Result<DataFrame> {
    // A plan with one output always yields a single frame (as in polars' own `collect`).
    lf.collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .map_err(Error::engine(what.to_string()))
}

fn sum_u64(df: &DataFrame, column: &str) -> Result<u64> {
    let s = df
        .column(column)
        .and_then(|c| c.as_materialized_series().sum::<u64>())
        .map_err(Error::engine("summing counts"))?;
    Ok(s)
}

/// Pass 1. `lf` must carry the [`STATE`] column; `qis` are the quasi-identifier expressions,
/// aliased to their output names; `subject` the expression of the subject column, if any.
pub fn count(
    lf: LazyFrame,
    qis: &[(String, Expr)],
    subject: Option<Expr>,
    side: &[Expr],
    table: &str,
) -> Result<Counts> {
    let kept = col(STATE).eq(lit(KEPT));
    // Rows that are not kept only need counting: nulling their keys folds them into one group
    // each, so expired history does not inflate the class table.
    let mut keys = vec![col(STATE)];
    let mut select = vec![col(STATE)];
    for (name, e) in qis {
        select.push(
            when(kept.clone())
                .then(e.clone())
                .otherwise(lit(NULL))
                .alias(name.as_str()),
        );
        keys.push(col(name.as_str()));
    }
    if let Some(s) = subject {
        select.push(
            when(kept.clone())
                .then(subject_key(s))
                .otherwise(lit(NULL))
                .alias(SUBJECT),
        );
        keys.push(col(SUBJECT));
    }
    // Side computations riding along this pass (the leak scan remembering dropped values):
    // summed, so the engine keeps them.
    let mut aggs = vec![len().cast(DataType::UInt64).alias(ROWS)];
    for (i, e) in side.iter().enumerate() {
        let name = format!("__anonymize_side_{i}");
        select.push(e.clone().alias(name.as_str()));
        aggs.push(col(name.as_str()).sum());
    }
    let pairs = collect(
        lf.select(select).group_by(keys).agg(aggs),
        &format!("tables.{table}: counting equivalence classes"),
    )?;

    let by_state = pairs
        .clone()
        .lazy()
        .group_by([col(STATE)])
        .agg([col(ROWS).sum()])
        .collect()
        .map_err(Error::engine("counting rows"))?;
    let kept = pairs
        .lazy()
        .filter(col(STATE).eq(lit(KEPT)))
        .select([all()
            .exclude_cols(["^__anonymize_side_.*$", STATE])
            .as_expr()])
        .collect()
        .map_err(Error::engine("counting rows"))?;
    let states = by_state.column(STATE).and_then(|c| c.i32().cloned());
    let rows = by_state.column(ROWS).and_then(|c| c.u64().cloned());
    let by_state = match (states, rows) {
        (Ok(s), Ok(r)) => s
            .iter()
            .zip(r.iter())
            .filter_map(|(s, r)| Some((s?, r?)))
            .filter(|(s, _)| *s != KEPT)
            .collect(),
        _ => BTreeMap::new(),
    };
    Counts::new(
        Kept::Pairs(kept),
        qis.iter().map(|(n, _)| n.clone()).collect(),
        Vec::new(),
        &by_state,
    )
}

/// Pass 1 over a staged table (see [`crate::stage`]): `scan` reads the kept rows only, with
/// the quasi-identifiers under their output names, their fingerprint under [`CLASS_KEYS`]
/// (made with `key`) and, when `subject`, the person's fingerprint; `others` are the rows of
/// every other state, counted as the stage streamed by.
///
/// Classes are counted by fingerprint: three integers a (class, person) pair instead of the
/// values' text, which is faster to group and, at 100 M events, the difference between a
/// pair table that fits in memory and one that does not.
pub fn count_staged(
    scan: LazyFrame,
    qis: &[String],
    sensitive: &[String],
    key: ClassKey,
    subject: bool,
    others: &BTreeMap<i32, u64>,
    table: &str,
) -> Result<Counts> {
    let what = format!("tables.{table}: counting equivalence classes");
    let rows = collect(scan.clone().select([len().cast(DataType::UInt64)]), &what)?
        .columns()
        .first()
        .and_then(|c| c.u64().ok()?.get(0))
        .unwrap_or(0);
    let names: Vec<String> = if qis.is_empty() {
        Vec::new()
    } else {
        CLASS_KEYS.iter().map(|k| k.to_string()).collect()
    };
    let classes = class_table(scan.clone(), &names, subject, slices_for(rows), &what)?;
    let kept = Kept::Classes {
        classes,
        staged: Box::new(scan),
        key,
        subject,
    };
    Counts::new(kept, qis.to_vec(), sensitive.to_vec(), others)
}

/// Rows by state, counted as they stream through a pass (see [`StateTally::observe`]).
#[derive(Debug, Clone, Default)]
pub struct StateTally(Arc<Mutex<BTreeMap<i32, u64>>>);

impl StateTally {
    /// A pass-through UDF on the state column that counts each state's rows.
    pub fn observe(&self, state: Expr) -> Expr {
        let tally = self.clone();
        state.map(
            move |c: Column| {
                let mut batch = BTreeMap::new();
                for s in c.i32()?.iter().flatten() {
                    *batch.entry(s).or_insert(0u64) += 1;
                }
                if let Ok(mut all) = tally.0.lock() {
                    for (s, n) in batch {
                        *all.entry(s).or_insert(0) += n;
                    }
                }
                Ok(c)
            },
            |_, f| Ok(f.clone()),
        )
    }

    /// Rows counted so far, by state.
    pub fn get(&self) -> BTreeMap<i32, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// A person as a 64-bit fingerprint of the subject's text (null stays null: nobody). The pass
/// keeps one row per (class, person), so 8 bytes instead of the id's text is most of its memory
/// on a large table. Two people whose fingerprints collide count as one, which can only lower a
/// class's count of people and so errs on the safe side (for 10 million people the chance of
/// any collision is about 3 in a million).
pub fn subject_key(subject: Expr) -> Expr {
    use std::hash::BuildHasher;
    subject.cast(DataType::String).map(
        |c: Column| {
            let hasher = foldhash::quality::FixedState::with_seed(0x5eb_1ec7);
            let keys: UInt64Chunked = c
                .str()?
                .iter()
                .map(|v| v.map(|v| hasher.hash_one(v)))
                .collect();
            Ok(keys.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::UInt64)),
    )
}

pub(crate) fn join_args(how: JoinType) -> JoinArgs {
    let mut args = JoinArgs::new(how);
    // A null quasi-identifier (an unknown gender) is a value like any other: its rows form a
    // class and must match that class, not fall through.
    args.nulls_equal = true;
    args.maintain_order = MaintainOrderJoin::Left;
    args
}

impl Counts {
    /// The counts from the kept (class, person) rows (`kept`: the quasi-identifiers, the
    /// subject's fingerprint if any, and the row count) and the rows of every other state.
    fn new(
        kept: Kept,
        qis: Vec<String>,
        sensitive: Vec<String>,
        others: &BTreeMap<i32, u64>,
    ) -> Result<Counts> {
        let rows_kept = match &kept {
            Kept::Pairs(df) | Kept::Classes { classes: df, .. } => sum_u64(df, ROWS)?,
        };
        let of = |state: i32| others.get(&state).copied().unwrap_or(0);
        let rows_bad: Vec<(i32, u64)> = others
            .range(super::bad_rows::BAD..)
            .map(|(s, n)| (*s, *n))
            .collect();
        let (rows_expired, rows_undated, rows_erased) = (of(EXPIRED), of(UNDATED), of(ERASED));
        Ok(Counts {
            kept,
            qis,
            sensitive,
            rows_in: rows_kept
                + rows_expired
                + rows_undated
                + rows_erased
                + rows_bad.iter().map(|(_, n)| n).sum::<u64>(),
            rows_expired,
            rows_undated,
            rows_erased,
            rows_bad,
            rows_facts_suppressed: 0,
            rows_moved_suppressed: 0,
        })
    }

    /// Counts `rows` that k^m removed from the staged rows before they were counted: kept rows,
    /// and suppressed.
    pub fn add_suppressed_facts(&mut self, rows: u64) {
        self.rows_in += rows;
        self.rows_facts_suppressed += rows;
    }

    /// Counts `rows` that the check across nights removed before they were counted (see
    /// [`super::nights`]): kept rows, and suppressed.
    pub fn add_suppressed_across_nights(&mut self, rows: u64) {
        self.rows_in += rows;
        self.rows_moved_suppressed += rows;
    }

    /// One row per (quasi-identifier values…, subject) of the kept rows, with its row count,
    /// when the rows were counted by value ([`count`]).
    pub fn pairs(&self) -> Option<&DataFrame> {
        match &self.kept {
            Kept::Pairs(df) => Some(df),
            Kept::Classes { .. } => None,
        }
    }

    pub fn rows_kept(&self) -> u64 {
        self.rows_in
            - self.rows_expired
            - self.rows_undated
            - self.rows_erased
            - self.rows_bad.iter().map(|(_, n)| n).sum::<u64>()
    }

    /// The columns that name a class: the fingerprint's, or the quasi-identifiers.
    fn class_columns(&self) -> Vec<String> {
        match &self.kept {
            Kept::Classes { .. } if !self.qis.is_empty() => {
                CLASS_KEYS.iter().map(|k| k.to_string()).collect()
            }
            _ => self.qis.clone(),
        }
    }

    fn has_subject(&self) -> bool {
        match &self.kept {
            Kept::Pairs(df) => df.column(SUBJECT).is_ok(),
            Kept::Classes { subject, .. } => *subject,
        }
    }

    /// The rows that tell how many people leave with a set of classes: the (class, person)
    /// pairs, or the staged rows' classes and people (or, without people, the class table,
    /// whose rows are people).
    fn people_rows(&self) -> LazyFrame {
        match &self.kept {
            Kept::Pairs(df) => df.clone().lazy(),
            Kept::Classes {
                classes,
                subject: false,
                ..
            } => classes.clone().lazy(),
            Kept::Classes { staged, .. } => {
                let mut cols: Vec<Expr> = self
                    .class_columns()
                    .iter()
                    .map(|c| col(c.as_str()))
                    .collect();
                cols.push(col(SUBJECT));
                (**staged).clone().select(cols)
            }
        }
    }

    /// People in the suppressed classes, and people in the others (one person can be in both).
    /// `on` names the classes; `any_suppressed` says whether `suppress` holds any.
    fn people_split(
        &self,
        suppress: &DataFrame,
        on: &[Expr],
        any_suppressed: bool,
        table: &str,
    ) -> Result<(u64, u64)> {
        if let Kept::Classes { subject: true, .. } = &self.kept {
            // From the staged rows: one small row a person (do any of their rows leave, do any
            // stay), which keeps memory to the number of people, not of rows.
            const GONE: &str = "__anonymize_gone";
            let rows = self.people_rows().filter(col(SUBJECT).is_not_null());
            let marked = if self.qis.is_empty() {
                rows.with_column(lit(any_suppressed).alias(GONE))
            } else {
                let mut args = JoinArgs::new(JoinType::Left);
                args.nulls_equal = true;
                rows.join(
                    suppress.clone().lazy().with_column(lit(true).alias(GONE)),
                    on.to_vec(),
                    on.to_vec(),
                    args,
                )
                .with_column(col(GONE).is_not_null().alias(GONE))
            };
            let split = collect(
                marked
                    .group_by([col(SUBJECT)])
                    .agg([
                        col(GONE).any(true).alias("gone"),
                        col(GONE).not().any(true).alias("stay"),
                    ])
                    .select([
                        col("gone").cast(DataType::UInt64).sum(),
                        col("stay").cast(DataType::UInt64).sum(),
                    ]),
                &format!("tables.{table}: counting people"),
            )?;
            let get = |name: &str| {
                split
                    .column(name)
                    .ok()
                    .and_then(|c| c.u64().ok()?.get(0))
                    .unwrap_or(0)
            };
            return Ok((get("gone"), get("stay")));
        }
        if self.qis.is_empty() {
            let all = self.distinct_subjects(self.people_rows())?;
            return Ok(if any_suppressed { (all, 0) } else { (0, all) });
        }
        let pairs = self.people_rows();
        let gone = pairs.clone().join(
            suppress.clone().lazy(),
            on.to_vec(),
            on.to_vec(),
            join_args(JoinType::Semi),
        );
        let stay = pairs.join(
            suppress.clone().lazy(),
            on.to_vec(),
            on.to_vec(),
            join_args(JoinType::Anti),
        );
        Ok((self.distinct_subjects(gone)?, self.distinct_subjects(stay)?))
    }

    /// Every class: its people and rows.
    fn class_table(&self, table: &str) -> Result<DataFrame> {
        match &self.kept {
            Kept::Pairs(_) => self
                .classes(&self.qis)?
                .collect()
                .map_err(Error::engine(format!("tables.{table}: counting classes"))),
            Kept::Classes { classes, .. } => Ok(classes.clone()),
        }
    }

    /// Classes over the given quasi-identifiers: subjects and rows per class (pairs only).
    fn classes(&self, qis: &[String]) -> Result<LazyFrame> {
        let Kept::Pairs(kept) = &self.kept else {
            return Err(Error::Privacy(
                "classes by value were asked of counts by fingerprint".into(),
            ));
        };
        let subjects = if self.has_subject() {
            // One row of `kept` per (class, subject): counting them counts people. A missing
            // subject is nobody we can vouch for, so it does not count towards k.
            col(SUBJECT).count().cast(DataType::UInt64)
        } else {
            col(ROWS).sum()
        };
        let kept = kept.clone().lazy();
        let aggs = [subjects.alias(SUBJECTS), col(ROWS).sum().alias(ROWS)];
        Ok(if qis.is_empty() {
            kept.select(aggs)
        } else {
            let keys: Vec<Expr> = qis.iter().map(|q| col(q.as_str())).collect();
            kept.group_by(keys).agg(aggs)
        })
    }

    /// Rows that k would suppress if the classes were formed over `qis` only.
    fn rows_below_k(&self, qis: &[String], k: u32, table: &str) -> Result<u64> {
        let classes = match &self.kept {
            Kept::Pairs(_) => self
                .classes(qis)?
                .collect()
                .map_err(Error::engine("counting classes"))?,
            // Fingerprints do not roll up: the staged rows are counted again over `qis`.
            Kept::Classes {
                staged,
                key,
                subject,
                ..
            } => {
                let mut cols = key.exprs(qis);
                if *subject {
                    cols.push(col(SUBJECT));
                }
                let names: Vec<String> = if qis.is_empty() {
                    Vec::new()
                } else {
                    CLASS_KEYS.iter().map(|k| k.to_string()).collect()
                };
                let rows = (**staged).clone().select(cols);
                class_table(
                    rows,
                    &names,
                    *subject,
                    slices_for(self.rows_kept()),
                    &format!("tables.{table}: counting equivalence classes"),
                )?
            }
        };
        let small = classes
            .lazy()
            .filter(col(SUBJECTS).lt(lit(k as u64)))
            .collect()
            .map_err(Error::engine("counting classes"))?;
        sum_u64(&small, ROWS)
    }

    fn distinct_subjects(&self, pairs: LazyFrame) -> Result<u64> {
        let df = if self.has_subject() {
            pairs
                .select([col(SUBJECT).drop_nulls().n_unique().cast(DataType::UInt64)])
                .collect()
        } else {
            pairs
                .select([col(ROWS).sum().cast(DataType::UInt64)])
                .collect()
        }
        .map_err(Error::engine("counting subjects"))?;
        Ok(df
            .columns()
            .first()
            .and_then(|c| c.u64().ok()?.get(0))
            .unwrap_or(0))
    }

    /// Lets go of the (class, person) table once the decision is taken: on a large table it is
    /// most of the run's memory, and only the totals are needed after that.
    pub fn release(&mut self) {
        self.kept = Kept::Pairs(DataFrame::empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn privacy(k: u32, max_suppression: f64) -> Privacy {
        Privacy {
            k,
            max_suppression,
            ..Privacy::none()
        }
    }

    fn counts(df: DataFrame, qis: &[&str], subject: bool) -> Counts {
        let lf = df.lazy().with_column(lit(KEPT).alias(STATE));
        let qis: Vec<(String, Expr)> = qis.iter().map(|q| (q.to_string(), col(*q))).collect();
        count(lf, &qis, subject.then(|| col("user")), &[], "t").unwrap()
    }

    #[test]
    fn counts_people_not_rows() {
        // Class A: one person with five events. Class B: three people.
        let df = df!(
            "user" => ["u1", "u1", "u1", "u1", "u1", "u2", "u3", "u4"],
            "q" => ["A", "A", "A", "A", "A", "B", "B", "B"],
        )
        .unwrap();
        let c = counts(df, &["q"], true);
        let p = privacy(2, 1.0);
        let d = c.decide(&p, "t").unwrap();
        assert_eq!(d.rows_suppressed, 5);
        assert_eq!(d.subjects_suppressed, 1);
        assert_eq!(d.rows_out, 3);
        assert_eq!(d.subjects_out, 3);
        assert_eq!(d.equivalence_classes, 1);
        assert_eq!(d.min_class_subjects, Some(3));
        // The suppressed combination: one class of one person, five rows.
        assert_eq!(
            d.suppressed_classes,
            [SuppressedBucket {
                people: 1,
                classes: 1,
                rows: 5
            }]
        );
    }

    #[test]
    fn without_subject_rows_are_people_and_nulls_form_a_class() {
        let df = df!(
            "q" => [Some("A"), Some("A"), None, None, Some("B")],
            "user" => ["1", "2", "3", "4", "5"],
        )
        .unwrap();
        let c = counts(df, &["q"], false);
        let d = c.decide(&privacy(2, 0.2), "t").unwrap();
        assert_eq!(d.rows_suppressed, 1);
        assert_eq!(d.equivalence_classes, 2);
        assert_eq!(d.suppress.height(), 1);
    }

    /// Counts as the run takes them: from a staged table, classes by fingerprint.
    fn staged(df: DataFrame, qis: &[&str], subject: bool) -> Counts {
        let key = ClassKey::random();
        let names: Vec<String> = qis.iter().map(|q| q.to_string()).collect();
        let mut lf = df.lazy().with_columns(key.exprs(&names));
        if subject {
            lf = lf.with_column(subject_key(col("user")).alias(SUBJECT));
        }
        let lf = lf.collect().unwrap().lazy();
        count_staged(lf, &names, &[], key, subject, &BTreeMap::new(), "t").unwrap()
    }

    fn staged_sensitive(df: DataFrame, qis: &[&str], sensitive: &[&str]) -> Counts {
        let key = ClassKey::random();
        let names: Vec<String> = qis.iter().map(|q| q.to_string()).collect();
        let sensitive: Vec<String> = sensitive.iter().map(|q| q.to_string()).collect();
        let lf = df
            .lazy()
            .with_columns(key.exprs(&names))
            .with_column(subject_key(col("user")).alias(SUBJECT))
            .collect()
            .unwrap()
            .lazy();
        count_staged(lf, &names, &sensitive, key, true, &BTreeMap::new(), "t").unwrap()
    }

    /// Two classes of three people each: in `a` everyone has the flu, in `b` two values. k = 3
    /// holds for both; distinct 2-diversity suppresses `a`, counted apart from k's classes.
    #[test]
    fn a_class_breaking_l_diversity_is_suppressed() {
        let df = df!(
            "zip" => ["a", "a", "a", "a", "b", "b", "b", "b"],
            "user" => ["1", "2", "3", "3", "4", "5", "6", "6"],
            "disease" => ["flu", "flu", "flu", "flu", "flu", "cold", "flu", "flu"],
        )
        .unwrap();
        let counts = staged_sensitive(df, &["zip"], &["disease"]);
        let mut p = privacy(3, 0.5);
        let plain = counts.decide(&p, "t").unwrap();
        assert_eq!(plain.rows_suppressed, 0);
        p.models.l_diversity = Some(crate::protect::models::LDiversity::Distinct { l: 2 });
        let d = counts.decide(&p, "t").unwrap();
        assert_eq!((d.rows_suppressed, d.rows_failing_models), (4, 4));
        assert_eq!((d.classes_failing_models, d.equivalence_classes), (1, 1));
        assert_eq!(d.sensitive.len(), 1);
        assert_eq!(d.sensitive[0].achieved.min_distinct, Some(2));
        // Counted in people: in `b`, flu has 2 people (4 and 6, whose two rows count once),
        // cold 1: the entropy l is exp(H(2/3, 1/3)) = 1.89.
        let el = d.sensitive[0].achieved.min_entropy_l.unwrap();
        assert!((el - 1.8899).abs() < 1e-3, "{el}");
        // Over the limit, the run stops as for k.
        p.max_suppression = 0.25;
        assert!(matches!(counts.decide(&p, "t"), Err(Error::Privacy(_))));
    }

    /// t-closeness on numbers uses the ordered distance; a table without quasi-identifiers is
    /// one class, always at distance 0 from itself.
    #[test]
    fn t_closeness_orders_numbers_and_one_class_is_the_table() {
        let df = df!(
            "zip" => ["a", "a", "b", "b"],
            "user" => ["1", "2", "3", "4"],
            "salary" => [1i64, 2, 3, 4],
        )
        .unwrap();
        let mut p = privacy(2, 1.0);
        p.models.t_closeness = Some(0.3);
        let d = staged_sensitive(df.clone(), &["zip"], &["salary"])
            .decide(&p, "t")
            .unwrap();
        assert!(d.sensitive[0].ordered);
        // Table ¼ each; class a: ½, ½, 0, 0: cumulative ¼, ½, ¼ → 1 / 3.
        let t = d.sensitive[0].achieved.max_distance;
        assert_eq!(d.rows_failing_models, 4, "{t:?}");
        p.models.t_closeness = Some(0.34);
        let d = staged_sensitive(df.clone(), &["zip"], &["salary"])
            .decide(&p, "t")
            .unwrap();
        assert_eq!(d.rows_failing_models, 0);
        assert!((d.sensitive[0].achieved.max_distance.unwrap() - 1.0 / 3.0).abs() < 1e-9);
        p.models.t_closeness = Some(0.0);
        let d = staged_sensitive(df, &[], &["salary"])
            .decide(&p, "t")
            .unwrap();
        assert_eq!((d.rows_suppressed, d.rows_out), (0, 4));
    }

    #[test]
    fn class_fingerprints_tell_values_apart() {
        let key = ClassKey::random();
        let df = df!(
            "a" => [Some("ab"), Some("a"), Some("ab"), None, Some("")],
            "b" => [Some("c"), Some("bc"), Some("c"), Some(""), None],
        )
        .unwrap();
        let names = ["a".to_string(), "b".to_string()];
        let keys = df.lazy().select(key.exprs(&names)).collect().unwrap();
        let a: Vec<Option<u64>> = keys
            .column(CLASS_KEYS[0])
            .unwrap()
            .u64()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(a[0], a[2], "same values, same class");
        assert_ne!(a[0], a[1], "(ab, c) is not (a, bc)");
        assert_ne!(a[3], a[4], "(null, \"\") is not (\"\", null)");
        // Typed values (a date) are read as their text.
        let dates = df!("d" => [1i32, 2, 1])
            .unwrap()
            .lazy()
            .select([col("d").cast(DataType::Date)])
            .select(key.exprs(&["d".to_string()]))
            .collect()
            .unwrap();
        let d: Vec<Option<u64>> = dates
            .column(CLASS_KEYS[1])
            .unwrap()
            .u64()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(d[0], d[2]);
        assert_ne!(d[0], d[1]);
    }

    /// Classes counted by fingerprint decide as classes counted by value, and a failure is
    /// still explained by quasi-identifier.
    #[test]
    fn fingerprints_decide_as_values_do() {
        let df = || {
            df!(
                "user" => ["u1", "u1", "u2", "u3", "u4", "u5", "u6", "u6"],
                "q" => ["A", "A", "A", "B", "B", "B", "C", "C"],
                "r" => ["x", "x", "x", "x", "y", "y", "y", "y"],
            )
            .unwrap()
        };
        for (qis, subject) in [
            (&["q", "r"][..], true),
            (&["q", "r"][..], false),
            (&["q"][..], true),
            (&[][..], true),
            (&[][..], false),
        ] {
            for k in [1, 2, 3, 9] {
                let by_value = counts(df(), qis, subject)
                    .decide(&privacy(k, 1.0), "t")
                    .unwrap();
                let by_key = staged(df(), qis, subject)
                    .decide(&privacy(k, 1.0), "t")
                    .unwrap();
                let at = format!("{qis:?}, subject {subject}, k = {k}");
                assert_eq!(
                    (
                        by_value.rows_suppressed,
                        by_value.subjects_suppressed,
                        by_value.rows_out
                    ),
                    (
                        by_key.rows_suppressed,
                        by_key.subjects_suppressed,
                        by_key.rows_out
                    ),
                    "{at}"
                );
                assert_eq!(by_value.subjects_out, by_key.subjects_out, "{at}");
                assert_eq!(
                    by_value.equivalence_classes, by_key.equivalence_classes,
                    "{at}"
                );
                assert_eq!(
                    by_value.min_class_subjects, by_key.min_class_subjects,
                    "{at}"
                );
                assert_eq!(by_value.suppress_all, by_key.suppress_all, "{at}");
                assert_eq!(by_key.key.is_some(), !qis.is_empty(), "{at}");
            }
        }
        let e = staged(df(), &["q", "r"], true)
            .decide(&privacy(3, 0.0), "t")
            .unwrap_err();
        assert!(e.to_string().contains("without `r`"), "{e}");
    }

    /// What pass 1 decided is checked against what pass 2 wrote: if they differ, the run
    /// fails instead of committing a class under k (classes by value and by fingerprint).
    #[test]
    fn verify_catches_an_output_that_differs_from_the_counts() {
        let counted = || df!("user" => ["1", "2", "3", "4"], "q" => ["A", "A", "B", "B"]).unwrap();
        for d in [
            counts(counted(), &["q"], true)
                .decide(&privacy(2, 0.0), "t")
                .unwrap(),
            staged(counted(), &["q"], true)
                .decide(&privacy(2, 0.0), "t")
                .unwrap(),
        ] {
            verify_decision(&d);
        }
    }

    #[test]
    fn class_sizes_fall_in_buckets_doubling_from_k() {
        let b = size_buckets([10, 19, 20, 39, 45, 200].into_iter(), 10);
        let got: Vec<(u64, u64, u64)> = b.iter().map(|b| (b.from, b.to, b.classes)).collect();
        assert_eq!(
            got,
            [
                (10, 20, 2),
                (20, 40, 2),
                (40, 80, 1),
                (80, 160, 0),
                (160, 320, 1)
            ]
        );
        assert!(size_buckets(std::iter::empty(), 5).is_empty());
    }

    /// Counting in slices of fingerprints gives the same classes as counting at once.
    #[test]
    fn class_slices_add_up_to_the_whole() {
        let key = ClassKey::random();
        let n = 5_000;
        let df = df!(
            "q" => (0..n).map(|i| format!("c{}", i % 37)).collect::<Vec<_>>(),
            "user" => (0..n).map(|i| if i % 101 == 0 { None } else { Some(format!("u{}", i % 300)) }).collect::<Vec<_>>(),
        )
        .unwrap();
        let rows = df
            .lazy()
            .with_columns(key.exprs(&["q".to_string()]))
            .with_column(subject_key(col("user")).alias(SUBJECT))
            .select([col(CLASS_KEYS[0]), col(CLASS_KEYS[1]), col(SUBJECT)])
            .collect()
            .unwrap();
        let names: Vec<String> = CLASS_KEYS.iter().map(|k| k.to_string()).collect();
        let sorted = |slices: u64| {
            class_table(rows.clone().lazy(), &names, true, slices, "t")
                .unwrap()
                .lazy()
                .select([
                    col(CLASS_KEYS[0]),
                    col(CLASS_KEYS[1]),
                    col(SUBJECTS),
                    col(ROWS),
                ])
                .sort(CLASS_KEYS, Default::default())
                .collect()
                .unwrap()
        };
        let whole = sorted(1);
        assert_eq!(whole.height(), 37);
        for slices in [2, 3, 7] {
            assert!(whole.equals(&sorted(slices)), "{slices} slices");
        }
    }

    fn verify_decision(d: &Decision) {
        let dir = tempfile::tempdir().unwrap();
        let write = |df: &mut DataFrame| {
            let path = dir.path().join("part.parquet");
            ParquetWriter::new(std::fs::File::create(&path).unwrap())
                .finish(df)
                .unwrap();
            path
        };
        let qis = ["q".to_string()];
        let same =
            write(&mut df!("user" => ["1", "2", "3", "4"], "q" => ["A", "A", "B", "B"]).unwrap());
        verify(&same, &qis, Subject::Column("user"), 2, d, "t", dir.path()).unwrap();

        // Same number of rows, but one class now holds one person.
        let shifted =
            write(&mut df!("user" => ["1", "2", "3", "4"], "q" => ["A", "A", "A", "C"]).unwrap());
        let e = verify(
            &shifted,
            &qis,
            Subject::Column("user"),
            2,
            d,
            "t",
            dir.path(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("1 people, k = 2"), "{e}");
        // Without a subject column in the output, an uncounted class is caught.
        let e = verify(&shifted, &qis, Subject::Dropped, 2, d, "t", dir.path()).unwrap_err();
        assert!(e.to_string().contains("were not counted"), "{e}");
        // A different number of rows.
        let more = write(
            &mut df!("user" => ["1", "2", "3", "4", "5"], "q" => ["A", "A", "B", "B", "B"])
                .unwrap(),
        );
        let e = verify(&more, &qis, Subject::Column("user"), 2, d, "t", dir.path()).unwrap_err();
        assert!(
            matches!(e, Error::Privacy(_))
                && e.to_string().contains("4 rows were counted, 5 written"),
            "{e}"
        );
    }

    #[test]
    fn rows_without_a_subject_do_not_count_as_people() {
        let df = df!(
            "user" => [Some("u1"), Some("u2"), None, None, None],
            "q" => ["A", "A", "A", "A", "A"],
        )
        .unwrap();
        let c = counts(df, &["q"], true);
        let d = c.decide(&privacy(3, 1.0), "t").unwrap();
        assert_eq!((d.rows_suppressed, d.subjects_suppressed), (5, 2));
        let d = c.decide(&privacy(2, 0.0), "t").unwrap();
        assert_eq!(
            (d.rows_out, d.subjects_out, d.min_class_subjects),
            (5, 2, Some(2))
        );
    }

    #[test]
    fn without_quasi_identifiers_the_table_is_one_class() {
        let df = df!("user" => ["1", "1", "2"]).unwrap();
        let c = counts(df.clone(), &[], true);
        let d = c.decide(&privacy(2, 0.0), "t").unwrap();
        assert!(!d.suppress_all);
        assert_eq!(
            (d.rows_out, d.subjects_out, d.equivalence_classes),
            (3, 2, 1)
        );

        let d = c.decide(&privacy(3, 1.0), "t").unwrap();
        assert!(d.suppress_all);
        assert_eq!(
            (d.rows_out, d.rows_suppressed, d.subjects_suppressed),
            (0, 3, 2)
        );

        let empty = df.head(Some(0));
        let d = counts(empty, &[], true)
            .decide(&privacy(1, 0.0), "t")
            .unwrap();
        assert_eq!(
            (d.rows_out, d.rows_suppressed, d.equivalence_classes),
            (0, 0, 0)
        );
    }

    #[test]
    fn over_the_limit_names_the_driving_quasi_identifier() {
        // `zip` is unique per row; `g` alone would be fine.
        let df = df!(
            "user" => ["1", "2", "3", "4", "5", "6"],
            "g" => ["F", "F", "F", "M", "M", "M"],
            "zip" => ["a", "b", "c", "d", "e", "f"],
        )
        .unwrap();
        let c = counts(df, &["g", "zip"], true);
        let e = c.decide(&privacy(2, 0.1), "t").unwrap_err();
        assert!(matches!(e, Error::Privacy(_)));
        let msg = e.to_string();
        assert!(msg.contains("without `zip`: 0.00%"), "{msg}");
        assert!(msg.contains("without `g`: 100.00%"), "{msg}");
    }
}
