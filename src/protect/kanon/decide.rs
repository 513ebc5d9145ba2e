//! The decision: which classes to suppress so that every written class holds k people (and
//! the table's models), within the suppression limit; and, when the limit is exceeded, which
//! quasi-identifiers drive it.

use super::*;

/// What k-anonymity decided for a table.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The classes to leave out: one row per class, its [`Decision::class_columns`] only.
    pub suppress: DataFrame,
    /// The classes that may be written, the same way.
    pub keep: DataFrame,
    /// Whether classes are named by their fingerprint (see [`ClassKey`]) rather than by their
    /// quasi-identifier values.
    pub key: Option<ClassKey>,
    /// With no quasi-identifiers the whole table is one class: when it is under k, every row
    /// goes (there are no key columns to join on).
    pub suppress_all: bool,
    pub rows_suppressed: u64,
    pub subjects_suppressed: u64,
    pub rows_out: u64,
    pub subjects_out: u64,
    pub equivalence_classes: u64,
    pub min_class_subjects: Option<u64>,
    /// How many written classes hold how many people (see [`SizeBucket`]).
    pub class_sizes: Vec<SizeBucket>,
    /// The average, over written classes' people, of 1 / their class's size: the chance of
    /// picking out a person from their class, on average (prosecutor model). `None` when
    /// nothing is written.
    pub avg_risk: Option<f64>,
    /// The suppressed classes (quasi-identifier combinations under k) by their number of
    /// people: how many combinations, and their rows. Counts only, never the combinations.
    pub suppressed_classes: Vec<SuppressedBucket>,
    /// Classes with k people or more suppressed because they broke l-diversity or t-closeness,
    /// and their rows.
    pub classes_failing_models: u64,
    pub rows_failing_models: u64,
    /// What the written classes achieved on each sensitive column (when the table has models).
    pub sensitive: Vec<sensitive::ColumnFigures>,
    /// Written rows whose prosecutor risk (1 / their class's people) is above the table's
    /// `risk_threshold`.
    pub rows_at_risk: u64,
}

impl Decision {
    /// `rows_suppressed` over the rows that reached the check (`rows_suppressed + rows_out`),
    /// the share `max_suppression` limits; 0 when no row did.
    pub fn suppressed_share(&self) -> f64 {
        let reached = self.rows_suppressed + self.rows_out;
        if reached == 0 {
            0.0
        } else {
            self.rows_suppressed as f64 / reached as f64
        }
    }

    /// The rows of `staged` (the staged rows, with their class columns) that the decision
    /// keeps: the suppressed classes left out, as the counts named them.
    pub fn kept(&self, staged: LazyFrame) -> LazyFrame {
        if self.suppress_all {
            return staged.slice(0, 0);
        }
        if self.suppress.height() == 0 {
            return staged;
        }
        let on: Vec<Expr> = self
            .suppress
            .get_column_names()
            .into_iter()
            .map(|c| col(c.clone()))
            .collect();
        staged.join(
            self.suppress.clone().lazy(),
            on.clone(),
            on,
            join_args(JoinType::Anti),
        )
    }
}

/// Suppressed classes holding `people` people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SuppressedBucket {
    pub people: u64,
    pub classes: u64,
    pub rows: u64,
}

/// Written classes whose people number from `from` to `to` (exclusive): buckets that double
/// from k, so the report's chart reads the same whatever k is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SizeBucket {
    pub from: u64,
    pub to: u64,
    pub classes: u64,
}

/// Buckets of class sizes doubling from `k` (sizes under k, which written classes never have,
/// fall in the first).
pub(super) fn size_buckets(sizes: impl Iterator<Item = u64>, k: u64) -> Vec<SizeBucket> {
    let base = k.max(1);
    let mut counts: Vec<u64> = Vec::new();
    for s in sizes {
        let i = (s / base).max(1).ilog2() as usize;
        if counts.len() <= i {
            counts.resize(i + 1, 0);
        }
        counts[i] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, classes)| SizeBucket {
            from: base << i,
            to: base << (i + 1),
            classes,
        })
        .collect()
}

impl Counts {
    /// Chooses the classes to suppress; fails (exit code 4) when that exceeds the limit.
    pub fn decide(&self, privacy: &Privacy, table: &str) -> Result<Decision> {
        let k = privacy.k;
        let class = self.class_columns();
        let classes = self.with_models(self.class_table(table)?, privacy, table)?;
        let under_k = classes
            .column(SUBJECTS)
            .and_then(|c| c.as_materialized_series().lt(k as u64))
            .map_err(Error::engine("counting classes"))?;
        // A class goes when it is under k or breaks a model (l-diversity, t-closeness).
        let failing = match classes.column(MODELS_OK) {
            Ok(ok) => Some(
                !ok.bool()
                    .map_err(Error::engine("checking the privacy models"))?,
            ),
            Err(_) => None,
        };
        let small_mask = match &failing {
            Some(f) => &under_k | f,
            None => under_k.clone(),
        };
        let (classes_failing_models, rows_failing_models) = match &failing {
            Some(f) => {
                let only_models = f & &!&under_k;
                let df = classes
                    .filter(&only_models)
                    .map_err(Error::engine("checking the privacy models"))?;
                (df.height() as u64, sum_u64(&df, ROWS)?)
            }
            None => (0, 0),
        };
        let small = classes
            .filter(&small_mask)
            .map_err(Error::engine("counting classes"))?;
        let large = classes
            .filter(&!&small_mask)
            .map_err(Error::engine("counting classes"))?;

        let rows_kept = self.rows_kept();
        let rows_suppressed =
            sum_u64(&small, ROWS)? + self.rows_facts_suppressed + self.rows_moved_suppressed;
        let suppressed_classes = {
            let mut by_people = std::collections::BTreeMap::<u64, (u64, u64)>::new();
            let people = small
                .column(SUBJECTS)
                .ok()
                .and_then(|c| c.u64().ok().cloned());
            let rows = small.column(ROWS).ok().and_then(|c| c.u64().ok().cloned());
            if let (Some(people), Some(rows)) = (people, rows) {
                for (p, r) in people.iter().zip(rows.iter()) {
                    let e = by_people.entry(p.unwrap_or(0)).or_default();
                    e.0 += 1;
                    e.1 += r.unwrap_or(0);
                }
            }
            by_people
                .into_iter()
                .map(|(people, (classes, rows))| SuppressedBucket {
                    people,
                    classes,
                    rows,
                })
                .collect::<Vec<_>>()
        };
        let limit = crate::protect::allowed_rows(privacy.max_suppression, rows_kept);
        if rows_suppressed > limit {
            return Err(Error::Privacy(self.explain(
                privacy,
                table,
                rows_suppressed,
            )?));
        }

        let qi_cols: Vec<Expr> = class.iter().map(|q| col(q.as_str())).collect();
        let suppress = small
            .clone()
            .lazy()
            .select(qi_cols.clone())
            .collect()
            .map_err(Error::engine("counting classes"))?;
        let (subjects_suppressed, subjects_out) =
            self.people_split(&suppress, &qi_cols, small.height() > 0, table)?;
        let min_class_subjects = large
            .column(SUBJECTS)
            .ok()
            .and_then(|c| c.as_materialized_series().min::<u64>().ok().flatten());
        let sizes: Vec<u64> = large
            .column(SUBJECTS)
            .ok()
            .and_then(|c| c.u64().ok().map(|c| c.into_no_null_iter().collect()))
            .unwrap_or_default();
        let people: u64 = sizes.iter().sum();
        let avg_risk = (people > 0).then(|| sizes.len() as f64 / people as f64);
        let rows_at_risk = {
            // Risk above the threshold ⇔ people < 1 / threshold.
            let risky = large
                .clone()
                .lazy()
                .filter(
                    lit(1.0)
                        .gt(col(SUBJECTS).cast(DataType::Float64) * lit(privacy.risk_threshold)),
                )
                .collect()
                .map_err(Error::engine("counting classes"))?;
            sum_u64(&risky, ROWS)?
        };
        let sensitive = if large.column(MODELS_OK).is_ok() {
            let ordered = match &self.kept {
                Kept::Classes { staged, .. } => sensitive::ordered(staged, &self.sensitive, table)?,
                Kept::Pairs(_) => vec![false; self.sensitive.len()],
            };
            sensitive::achieved(&large, &self.sensitive, &ordered)
        } else {
            Vec::new()
        };
        let class_sizes = size_buckets(sizes.into_iter(), u64::from(k));
        let keep = large
            .clone()
            .lazy()
            .select(qi_cols.clone())
            .collect()
            .map_err(Error::engine("counting classes"))?;
        Ok(Decision {
            keep,
            key: match &self.kept {
                Kept::Classes { key, .. } if !self.qis.is_empty() => Some(*key),
                _ => None,
            },
            suppress_all: self.qis.is_empty() && small.height() > 0,
            suppress,
            rows_suppressed,
            subjects_suppressed,
            rows_out: rows_kept - rows_suppressed,
            subjects_out,
            equivalence_classes: large.height() as u64,
            min_class_subjects,
            class_sizes,
            avg_risk,
            suppressed_classes,
            classes_failing_models,
            rows_failing_models,
            sensitive,
            rows_at_risk,
        })
    }

    /// The class table with each class's model check (see [`sensitive::per_class`]) when the
    /// table asks for l-diversity or t-closeness.
    ///
    /// t-closeness compares each class with the table's distribution, and suppression changes
    /// that distribution. The written data must hold t against its own distribution (that is
    /// what a reader, or `verify`, sees), so the check is repeated over the rows still kept
    /// until no new class fails. The failing set only grows, so this ends, in one or two more
    /// rounds in practice.
    pub(super) fn with_models(
        &self,
        classes: DataFrame,
        privacy: &Privacy,
        table: &str,
    ) -> Result<DataFrame> {
        if privacy.models.is_empty() || self.sensitive.is_empty() {
            return Ok(classes);
        }
        let Kept::Classes {
            staged, subject, ..
        } = &self.kept
        else {
            return Err(Error::Privacy(format!(
                "tables.{table}: the privacy models need the staged rows"
            )));
        };
        let engine = |source| Error::Engine {
            context: format!("tables.{table}: checking the privacy models"),
            source,
        };
        let class = self.class_columns();
        let keys: Vec<Expr> = class.iter().map(|c| col(c.as_str())).collect();
        let mut cols = keys.clone();
        cols.extend(self.sensitive.iter().map(|s| col(s.as_str())));
        if *subject {
            cols.push(col(SUBJECT));
        }
        const ROUNDS: usize = 20;
        let mut dropped: Option<DataFrame> = None;
        for _ in 0..ROUNDS {
            let mut rows = (**staged).clone().select(cols.clone());
            if let Some(d) = &dropped {
                rows = rows.join(
                    d.clone().lazy(),
                    keys.clone(),
                    keys.clone(),
                    join_args(JoinType::Anti),
                );
            }
            let per = sensitive::per_class(
                rows,
                &class,
                &self.sensitive,
                *subject,
                &privacy.models,
                table,
            )?;
            let out = if class.is_empty() {
                // One class, the whole table: no rounds (if it fails, nothing is written).
                let mut out = classes;
                for c in per.columns() {
                    out.with_column(c.clone()).map_err(engine)?;
                }
                return Ok(out);
            } else {
                classes
                    .clone()
                    .lazy()
                    .join(
                        per.lazy(),
                        keys.clone(),
                        keys.clone(),
                        join_args(JoinType::Left),
                    )
                    // A class left out in an earlier round has no histogram: it stays out.
                    .with_column(col(MODELS_OK).fill_null(lit(false)))
                    .collect()
                    .map_err(engine)?
            };
            if privacy.models.t_closeness.is_none() {
                return Ok(out);
            }
            let failing = out
                .clone()
                .lazy()
                .filter(
                    col(SUBJECTS)
                        .lt(lit(u64::from(privacy.k)))
                        .or(col(MODELS_OK).not()),
                )
                .select(keys.clone())
                .collect()
                .map_err(engine)?;
            if dropped
                .as_ref()
                .is_some_and(|d| d.height() == failing.height())
            {
                return Ok(out);
            }
            dropped = Some(failing);
        }
        Err(Error::Privacy(format!(
            "tables.{table}: t-closeness did not settle after {ROUNDS} rounds of suppression"
        )))
    }

    /// Why k cannot be met: how much each quasi-identifier contributes, measured as the
    /// suppression that would remain without it.
    pub(super) fn explain(
        &self,
        privacy: &Privacy,
        table: &str,
        rows_suppressed: u64,
    ) -> Result<String> {
        let rows = self.rows_kept().max(1) as f64;
        let pct = |n: u64| format!("{:.2}%", 100.0 * n as f64 / rows);
        let mut without = Vec::new();
        // A linked table's classes are one factor, not the analyst's to generalize here.
        let own = self
            .qis
            .iter()
            .filter(|q| !crate::protect::LINKED.contains(&q.as_str()));
        for q in own {
            let rest: Vec<String> = self.qis.iter().filter(|o| *o != q).cloned().collect();
            without.push((q.clone(), self.rows_below_k(&rest, privacy.k, table)?));
        }
        without.sort_by_key(|(_, n)| *n);
        let drivers = without
            .iter()
            .map(|(q, n)| format!("without `{q}`: {}", pct(*n)))
            .collect::<Vec<_>>()
            .join(", ");
        let facts = if self.rows_facts_suppressed > 0 {
            format!(
                " (of which {} as facts too rare for known_events = {}, a person's rows of \
                 one class; the figures below leave them out)",
                pct(self.rows_facts_suppressed),
                privacy.known_events
            )
        } else {
            String::new()
        };
        let moved = if self.rows_moved_suppressed > 0 {
            format!(
                " (of which {} of people the earlier nights single out; the figures below leave \
                 them out)",
                pct(self.rows_moved_suppressed)
            )
        } else {
            String::new()
        };
        Ok(format!(
            "tables.{table}: k = {} would suppress {} of {} rows ({}{facts}{moved}), over the limit of \
             {} (max_suppression = {}). Suppression if one quasi-identifier were left out: {}. \
             Generalize the first ones further (a higher level, wider bands, a shorter prefix), \
             or raise max_suppression. Nothing was written.",
            privacy.k,
            rows_suppressed,
            self.rows_kept(),
            pct(rows_suppressed),
            pct(crate::protect::allowed_rows(
                privacy.max_suppression,
                self.rows_kept()
            )),
            privacy.max_suppression,
            if drivers.is_empty() {
                "no quasi-identifiers".into()
            } else {
                drivers
            },
        ))
    }
}
