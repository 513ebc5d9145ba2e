//! Pass 1 and the decision for one table: Mondrian, a level search, or fixed levels; staging
//! the transformed rows; counting classes; deciding what to suppress.

use super::*;

/// What Mondrian did, for the report.
pub(super) struct MondrianSummary {
    pub(super) partitions: u64,
    pub(super) loss: f64,
    pub(super) seconds: f64,
}

/// What pass 1 decided for a table.
pub(super) struct Protected {
    pub(super) counts: kanon::Counts,
    pub(super) decision: Decision,
    /// The check across nights, when the table had earlier nights to compare with.
    pub(super) across: Option<across_nights::AcrossNights>,
    /// Every person the nights know, with the class of what they say of them (see
    /// [`across_nights::people_classes`]): a linking table counts by these.
    pub(super) people_classes: Option<DataFrame>,
    /// The level of each quasi-identifier, by input column (searched or pinned).
    pub(super) levels: HashMap<String, usize>,
    /// The search's optimum and statistics, when the table searched its levels.
    pub(super) search: Option<(NodeReport, Outcome)>,
    /// Mondrian's partitioning, when the table was partitioned instead.
    pub(super) mondrian: Option<MondrianSummary>,
    /// The figures of levels the night did not search (pinned or fixed), measured on what it
    /// writes with the search's measure (see [`measure_levels`]).
    pub(super) measured: Option<NodeReport>,
    /// Bad rows left out.
    pub(super) skipped: Skipped,
    /// The kept rows, transformed, as the first pass staged them (see [`crate::stage`]); read
    /// them with [`Protected::rows`].
    pub(super) staged: PathBuf,
    /// The (class, person) pairs k^m removed, left out whenever the staged rows are read.
    pub(super) removed: Option<DataFrame>,
    /// Invalid and unmapped values of the kept rows, by output column.
    pub(super) tallies: IndexMap<String, ColumnTallies>,
    /// What k^m removed before the counts (`known_events` above 1).
    pub(super) facts: Option<protect::known_events::Suppressed>,
}

impl Protected {
    /// The staged rows without what k^m removed.
    pub(super) fn rows(&self, table: &str) -> Result<LazyFrame> {
        staged_rows(&self.staged, self.removed.as_ref(), table)
    }

    pub(super) fn level(&self, c: &crate::job::Column) -> usize {
        self.levels.get(&c.name).copied().unwrap_or(c.levels.min)
    }
}

/// The staged rows of a table without the (class, person) pairs k^m `removed`.
fn staged_rows(staged: &Path, removed: Option<&DataFrame>, table: &str) -> Result<LazyFrame> {
    let lf = stage::scan(staged, table)?;
    Ok(match removed {
        Some(r) => protect::known_events::without(lf, r),
        None => lf,
    })
}

/// A table ready to stage: its levels chosen, its staging planned (see [`stage_all`]).
pub(super) struct ToStage {
    chosen: Chosen,
    /// Whether the night measures levels it did not search (see [`measure_levels`]).
    measure: bool,
    tallies: IndexMap<String, ColumnTallies>,
    subject: Option<Expr>,
    /// Taken by [`stage_all`].
    stage: Option<(LazyFrame, stage::Plan)>,
    staged: PathBuf,
}

/// The levels of one table and its staging plan. When the table searches its levels on its
/// own, a first counting pass over the finest values feeds the search (a joint search has
/// already chosen: `joint`).
pub(super) fn prepare(
    p: &Planned,
    ctx: &Context,
    remembered: &Remembered,
    staged: PathBuf,
    key: kanon::ClassKey,
    joint: Option<&optimize::Chosen>,
) -> Result<ToStage> {
    let t = p.table;
    let subject = table_subject(t, ctx);
    // A table without privacy settings has no quasi-identifiers (validation sees to it):
    // k = 1 suppresses nothing and still yields the subject counts.
    let privacy = t.privacy.unwrap_or_else(Privacy::none);
    let chosen = choose_levels(p, ctx, &privacy, joint)?;
    // Levels neither searched nor partitioned are measured from the staged rows.
    let measure = t.privacy.is_some()
        && chosen.search.is_none()
        && chosen.recoding.is_none()
        && t.quasi_identifiers().next().is_some();
    let finest = if chosen.recoding.is_some() {
        Finest::Every
    } else if measure {
        Finest::AboveTheFloor
    } else {
        Finest::None
    };
    let (columns, side, tallies) = stage_columns(p, ctx, remembered, &chosen.levels, finest);
    // Skipped rows are marked in every pass. Without skipping, only unreadable retention dates
    // are (they cost nothing extra): the methods count every other unreadable value anyway,
    // and a count above zero stops the run here, so a good night pays nothing for the check.
    let qis: Vec<String> = t.quasi_identifiers().map(|c| c.output.clone()).collect();
    let plan = stage::Plan {
        columns,
        subject: subject.clone(),
        class: key.exprs(&qis),
        side,
    };
    let input = scan_with_state(p, ctx, bad_rows::skips(t))?;
    Ok(ToStage {
        chosen,
        measure,
        tallies,
        subject,
        stage: Some((input, plan)),
        staged,
    })
}

/// Stages every table in one query per input: tables that read the same files parse them once.
/// Returns each table's rows of every state but kept, in `planned`'s order.
pub(super) fn stage_all(
    planned: &[Planned],
    prepared: &mut [ToStage],
) -> Result<Vec<std::collections::BTreeMap<i32, u64>>> {
    let mut others = vec![Default::default(); planned.len()];
    // Groups of tables by what they read, in the job's order of their first table.
    let mut groups: Vec<(&Source, Vec<usize>)> = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        let same = |s: &Source| s.read == p.source.read && s.format == p.source.format;
        match groups.iter_mut().find(|(s, _)| same(s)) {
            Some((_, members)) => members.push(i),
            None => groups.push((&p.source, vec![i])),
        }
    }
    for (_, members) in groups {
        let names: Vec<String> = members
            .iter()
            .map(|&i| format!("tables.{}", planned[i].table.name))
            .collect();
        let _shown = progress::step(&names.join(", "), "reading and transforming");
        let t0 = Instant::now();
        let mut staged = Vec::with_capacity(members.len());
        for &i in &members {
            let t = &mut prepared[i];
            let (input, plan) = t
                .stage
                .take()
                .ok_or_else(|| Error::Job(format!("{}: staged twice", names.join(", "))))?;
            staged.push(stage::Staged {
                input,
                plan,
                file: t.staged.clone(),
            });
        }
        let counted = stage::stage(staged, &names.join(", "))?;
        for (&i, c) in members.iter().zip(counted) {
            others[i] = c;
            tracing::debug!(
                table = %planned[i].table.name,
                stage = "stage",
                seconds = t0.elapsed().as_secs_f64(),
                tables_sharing_the_scan = members.len(),
                "step done"
            );
        }
    }
    Ok(others)
}

/// The k-anonymity decision for one staged table (see [`stage_all`]): Mondrian's relabelling,
/// the link, k^m, the counts and what to suppress.
pub(super) fn protect(
    p: &Planned,
    ctx: &Context,
    prepared: ToStage,
    others: std::collections::BTreeMap<i32, u64>,
    key: kanon::ClassKey,
    link: Option<(&Table, &DataFrame, Option<&DataFrame>)>,
    nights: Option<(&across_nights::Compared, &mut protect::nights::History)>,
) -> Result<Protected> {
    let t = p.table;
    let privacy = t.privacy.unwrap_or_else(Privacy::none);
    let ToStage {
        chosen:
            Chosen {
                levels,
                search,
                recoding,
                mondrian,
            },
        measure,
        tallies,
        subject,
        staged,
        ..
    } = prepared;
    let qis: Vec<String> = t.quasi_identifiers().map(|c| c.output.clone()).collect();
    let sensitive: Vec<String> = t.sensitive().map(|c| c.output.clone()).collect();
    let unread = |c: &crate::job::Column| {
        tallies
            .get(&c.output)
            .map_or(0, |t: &ColumnTallies| t.invalid.get() + t.unmapped.get())
    };
    if !bad_rows::skips(t)
        && t.columns
            .iter()
            .any(|c| c.invalid_is_bad_row() && unread(c) > 0)
    {
        return Err(first_bad_row(p, ctx)?);
    }
    let staged = match &recoding {
        None => staged,
        Some(r) => {
            let relabelled = staged.with_extension("partitioned.parquet");
            step(t, "relabel", "labelling rows with their partitions", || {
                r.apply(stage::scan(&staged, &t.name)?, &relabelled, key, &t.name)
            })?;
            let _ = std::fs::remove_file(&staged);
            relabelled
        }
    };
    // A linking table's classes take in its people's classes in the linked table.
    let (staged, qis) = match link {
        None => (staged, qis),
        Some((_, people, across)) => {
            let linked = staged.with_extension("linked.parquet");
            // With earlier nights, a person's linked class is what the nights say of them.
            let across = match (across, t.subject.as_deref().and_then(|s| t.column(s))) {
                (Some(classes), Some(subject)) => Some(step(
                    t,
                    "link",
                    "lining people up with the earlier nights",
                    || {
                        across_nights::linked_people(
                            stage::scan(&staged, &t.name)?,
                            &subject.output,
                            classes,
                            &format!("tables.{}: linking across nights", t.name),
                        )
                    },
                )?),
                _ => None,
            };
            let people = across.as_ref().unwrap_or(people);
            let (lf, linked_qis) =
                protect::link::join(stage::scan(&staged, &t.name)?, people, key, &qis);
            step(t, "link", "joining the linked table's classes", || {
                crate::write::sink_parquet(lf, &linked, crate::write::scratch_options())
                    .map_err(Error::engine(format!("tables.{}: linking", t.name)))
            })?;
            let _ = std::fs::remove_file(&staged);
            (linked, linked_qis)
        }
    };
    // k^m: facts too rare leave first; the counts then see what remains. They are few, so they
    // are left out as the staged rows are read (`Protected::rows`), not written out again.
    let (removed, facts) = if privacy.known_events > 1 && !qis.is_empty() {
        let (removed, facts) = step(t, "known_events", "counting sets of known facts", || {
            protect::known_events::enforce(
                stage::scan(&staged, &t.name)?,
                &privacy,
                &fact_columns(t, link.map(|(l, _, _)| l)),
                &t.name,
            )
        })?;
        info!(
            table = %t.name,
            stage = "known_events",
            facts_suppressed = facts.facts,
            rows_suppressed = facts.rows,
            people = facts.people,
            rounds = facts.rounds,
            seconds = facts.seconds,
            "suppressed facts too rare for k^m"
        );
        (Some(removed), Some(facts))
    } else {
        (None, None)
    };
    let rows_of_facts = facts.as_ref().map_or(0, |f| f.rows);
    let count = |removed: Option<&DataFrame>, moved_rows: u64| -> Result<kanon::Counts> {
        let mut counts = step(t, "count", "counting classes", || {
            kanon::count_staged(
                staged_rows(&staged, removed, &t.name)?,
                &qis,
                &sensitive,
                key,
                subject.is_some(),
                &others,
                &t.name,
            )
        })?;
        if rows_of_facts > 0 {
            counts.add_suppressed_facts(rows_of_facts);
        }
        if moved_rows > 0 {
            counts.add_suppressed_across_nights(moved_rows);
        }
        Ok(counts)
    };
    let decide = |counts: &kanon::Counts| {
        step(t, "decide", "deciding what to suppress", || {
            counts.decide(&privacy, &t.name)
        })
    };
    let mut counts = count(removed.as_ref(), 0)?;
    let skipped = settle_bad_rows(p, ctx, &counts, true)?;
    let mut decision = decide(&counts)?;
    // Across nights: the people whom tonight's release and the earlier nights single out
    // together leave, and the counts and the decision are taken again without them, until
    // every class of the view holds k (removing people only ever shrinks classes).
    let mut removed = removed;
    let mut across = None;
    let mut people_classes = None;
    if let Some((compared, history)) = nights {
        let t0 = Instant::now();
        let what = format!("tables.{}: the check across nights", t.name);
        let mut figures = across_nights::AcrossNights {
            nights_compared: history.nights,
            ..Default::default()
        };
        let mut moved = std::collections::BTreeSet::new();
        loop {
            let kept = decision.kept(staged_rows(&staged, removed.as_ref(), &t.name)?);
            let Some(tonight) = across_nights::people(kept.clone(), compared, &what)? else {
                figures.not_compared = Some("several rows a person".into());
                break;
            };
            let (check, under_k) = across_nights::check(history, &tonight, compared, &what)?;
            figures.people_compared = check.compared;
            figures.classes_checked = check.classes;
            figures.smallest_class = check.smallest;
            if under_k.is_empty() {
                // The first night's classes are tonight's: the link's own are kept.
                if history.nights > 0 {
                    people_classes =
                        across_nights::people_classes(history, &tonight, &check, compared, &what)?;
                }
                break;
            }
            moved.extend(across_nights::moved(compared, &check));
            let (pairs, rows) = across_nights::leaving(kept, compared, under_k, &what)?;
            figures.rows_suppressed += rows;
            figures.subjects_suppressed += pairs.height() as u64;
            removed = Some(match removed {
                Some(r) => r.vstack(&pairs).map_err(Error::engine(what.clone()))?,
                None => pairs,
            });
            counts = count(removed.as_ref(), figures.rows_suppressed)?;
            decision = match decide(&counts) {
                Ok(d) => d,
                Err(Error::Privacy(m)) => {
                    return Err(across_nights::over_the_limit(&m, &figures, &moved));
                }
                Err(e) => return Err(e),
            };
        }
        figures.columns_moved = moved.into_iter().collect();
        figures.seconds = t0.elapsed().as_secs_f64();
        info!(
            table = %t.name,
            stage = "across_nights",
            nights_compared = figures.nights_compared,
            people_compared = figures.people_compared,
            classes_checked = figures.classes_checked,
            subjects_suppressed = figures.subjects_suppressed,
            rows_suppressed = figures.rows_suppressed,
            seconds = figures.seconds,
            "checked the release against the earlier nights"
        );
        across = Some(figures);
    }
    let measured = if measure {
        Some(step(
            t,
            "measure",
            "measuring the loss of the levels",
            || {
                let written = Written {
                    staged: &staged,
                    removed: removed.as_ref(),
                    decision: &decision,
                };
                measure_levels(p, written, &levels, &privacy, subject.is_some())
            },
        )?)
    } else {
        None
    };
    counts.release();
    Ok(Protected {
        counts,
        decision,
        across,
        people_classes,
        levels,
        search,
        mondrian,
        measured,
        skipped,
        staged,
        removed,
        tallies,
        facts,
    })
}

/// What a table's night writes: its staged rows (with their finest values), less what k^m and
/// the nights removed and what the decision suppresses.
struct Written<'a> {
    staged: &'a Path,
    removed: Option<&'a DataFrame>,
    decision: &'a Decision,
}

/// The loss and the other metrics of levels the night did not search (a lock's or the job's),
/// measured on what is written, with the search's own measure: each quasi-identifier counted
/// from its floor (its output, or the raw value staged beside it when a lock pinned it above
/// its floor) over every kept row of the night, and each suppressed row (by k, the models, a
/// link, k^m or the nights) a whole loss. A pinned night's loss is then the one the search
/// reported on the night that chose its levels, as long as nothing but k and the models
/// suppressed there.
fn measure_levels(
    p: &Planned,
    written: Written,
    levels: &HashMap<String, usize>,
    privacy: &Privacy,
    subject: bool,
) -> Result<NodeReport> {
    let t = p.table;
    let what = format!("tables.{}: measuring the loss", t.name);
    let engine = |e| Error::engine(what.clone())(e);
    let qis: Vec<&crate::job::Column> = t.quasi_identifiers().collect();
    let value = |d: usize, c: &crate::job::Column| {
        let from = if transform::levels::from_raw(c) {
            protect::recode::finest_column(d)
        } else {
            c.output.clone()
        };
        col(from.as_str()).cast(DataType::String)
    };
    let mut values: Vec<(String, Expr)> = qis
        .iter()
        .enumerate()
        .map(|(d, c)| (c.output.clone(), value(d, c)))
        .collect();
    if !privacy.models.is_empty() {
        values.extend(
            t.sensitive()
                .map(|c| (c.output.clone(), col(c.output.as_str()))),
        );
    }
    // Every row that reached the check, counted as the search's base counts them: each
    // column's domain and the entropy come from them. The staged rows are the kept ones; the
    // subject is staged as its fingerprint.
    let every =
        stage::scan(written.staged, &t.name)?.with_column(lit(retention::KEPT).alias(STATE));
    let counts = kanon::count(
        every,
        &values,
        subject.then(|| col(protect::SUBJECT)),
        &[],
        &t.name,
    )?;
    let (base, finest) = optimize::base_with_values(t, &counts)?;
    drop(counts);
    let node: Vec<usize> = qis
        .iter()
        .map(|c| levels.get(&c.name).copied().unwrap_or(c.levels.min) - c.levels.floor)
        .collect();
    let mut searcher = protect::search::Searcher::new(&base);
    let mut r = searcher.measure(&node, &Goal::of(privacy));

    // What is written, by class and finest values.
    let name = |what: &str| format!("__anonymize_measure_{what}");
    let rows = name("rows");
    let class: Vec<Expr> = protect::CLASS_KEYS.iter().map(|k| col(*k)).collect();
    let mut keys = class.clone();
    keys.extend(
        qis.iter()
            .enumerate()
            .map(|(d, c)| value(d, c).alias(name(&d.to_string()))),
    );
    let groups = written
        .decision
        .kept(staged_rows(written.staged, written.removed, &t.name)?)
        .group_by(keys)
        .agg([len().cast(DataType::UInt64).alias(rows.as_str())])
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .map_err(engine)?;
    let group_rows: Vec<u64> = groups
        .column(&rows)
        .and_then(|c| c.u64().map(|c| c.into_no_null_iter().collect()))
        .map_err(engine)?;
    let mut lm_kept = 0.0;
    for (d, values) in finest.iter().enumerate() {
        let code: HashMap<Option<&str>, u32> = values
            .iter()
            .map(|(v, code)| (v.as_deref(), *code))
            .collect();
        let column = groups.column(&name(&d.to_string())).map_err(engine)?;
        for (v, n) in column.str().map_err(engine)?.iter().zip(&group_rows) {
            let c0 = *code.get(&v).ok_or_else(|| {
                Error::Privacy(format!("{what}: a written value the night did not count"))
            })?;
            let c = base.dims[d].map[node[d]][c0 as usize];
            lm_kept += *n as f64 * searcher.cell_loss(d, node[d], c);
        }
    }
    let by_class = groups
        .lazy()
        .group_by(class)
        .agg([col(rows.as_str()).sum().cast(DataType::Float64)])
        .collect()
        .map_err(engine)?;
    let class_rows: Vec<f64> = by_class
        .column(&rows)
        .and_then(|c| c.f64().map(|c| c.into_no_null_iter().collect()))
        .map_err(engine)?;
    let total: u64 = base.rows.iter().sum();
    let kept: u64 = group_rows.iter().sum();
    let suppressed = total.saturating_sub(kept);
    let cells = total as f64 * qis.len() as f64;
    r.rows_suppressed = suppressed;
    r.equivalence_classes = class_rows.len() as u64;
    r.loss = if cells > 0.0 {
        (lm_kept + suppressed as f64 * qis.len() as f64) / cells
    } else {
        0.0
    };
    r.discernibility =
        class_rows.iter().map(|n| n * n).sum::<f64>() + suppressed as f64 * total as f64;
    r.avg_class_size = if class_rows.is_empty() {
        0.0
    } else {
        kept as f64 / class_rows.len() as f64
    };
    Ok(r)
}

/// The columns a person's fact is made of, as a message names them: the table's
/// quasi-identifiers, and the linked table's as `users.birth_cohort`.
fn fact_columns(t: &Table, linked: Option<&Table>) -> Vec<String> {
    let mut out: Vec<String> = t.quasi_identifiers().map(|c| c.output.clone()).collect();
    if let Some(l) = linked {
        out.extend(
            l.quasi_identifiers()
                .map(|c| format!("{}.{}", l.name, c.output)),
        );
    }
    out
}

/// What the table's recoding chose before staging.
struct Chosen {
    levels: HashMap<String, usize>,
    search: Option<(NodeReport, Outcome)>,
    recoding: Option<protect::recode::Recoding>,
    mondrian: Option<MondrianSummary>,
}

/// The quasi-identifiers' levels: the job's, a level search's optimum (this table's, or the one
/// searched with linked tables: `joint`), or (Mondrian) the finest, with the partitions that
/// relabel the staged rows.
fn choose_levels(
    p: &Planned,
    ctx: &Context,
    privacy: &Privacy,
    joint: Option<&optimize::Chosen>,
) -> Result<Chosen> {
    let t = p.table;
    let mut levels: HashMap<String, usize> = t
        .quasi_identifiers()
        .map(|c| (c.name.clone(), c.levels.min))
        .collect();
    let mut search = None;
    let mut recoding = None;
    let mut mondrian = None;
    if let Some((chosen, best, outcome)) = joint {
        for (c, l) in t.quasi_identifiers().zip(chosen) {
            levels.insert(c.name.clone(), *l);
        }
        search = Some((best.clone(), outcome.clone()));
    } else if privacy.recoding == Recoding::Mondrian {
        let (base, finest) = search_base_with_values(p, ctx)?;
        let goal = Goal::of(privacy);
        let part = step(t, "partition", "partitioning (Mondrian)", || {
            protect::mondrian::partition(&base, &goal)
                .map_err(|e| Error::Privacy(format!("tables.{}: {e}", t.name)))
        })?;
        info!(
            table = %t.name,
            stage = "partition",
            partitions = part.partitions.len(),
            rows_suppressed = part.rows_suppressed,
            loss = part.loss,
            seconds = part.seconds,
            "partitioned with Mondrian"
        );
        let qis: Vec<String> = t.quasi_identifiers().map(|c| c.output.clone()).collect();
        recoding = Some(protect::recode::Recoding::new(
            &qis, &base, &finest, &part, &t.name,
        )?);
        mondrian = Some(MondrianSummary {
            partitions: part.partitions.len() as u64,
            loss: part.loss,
            seconds: part.seconds,
        });
    } else if privacy.recoding == Recoding::Optimal
        && t.quasi_identifiers().any(transform::levels::searched)
    {
        let base = search_base(p, ctx)?;
        let (chosen, best, outcome) = optimize::choose(t, &base, privacy)?;
        info!(
            table = %t.name,
            stage = "search",
            nodes_checked = outcome.nodes_checked,
            lattice_nodes = outcome.lattice_nodes,
            seconds = outcome.seconds,
            "chose generalization levels"
        );
        for (c, l) in t.quasi_identifiers().zip(chosen) {
            levels.insert(c.name.clone(), l);
        }
        search = Some((best, outcome));
    }
    Ok(Chosen {
        levels,
        search,
        recoding,
        mondrian,
    })
}

/// Which quasi-identifiers' finest values (their base, see [`transform::levels::base_expr`])
/// are staged beside the outputs, as [`protect::recode::finest_column`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finest {
    None,
    /// Mondrian maps each row to its partition by them.
    Every,
    /// Those a lock pinned above their floor, which the night's loss counts from (the others'
    /// base is their output).
    AboveTheFloor,
}

/// Every output column at its level, in the input's column order (whatever the job file's
/// order), each counting its unreadable values; the quasi-identifiers' finest values that
/// `finest` asks for beside them; and the side expressions through which the leak scan
/// remembers the values of dropped and pseudonymized columns.
fn stage_columns(
    p: &Planned,
    ctx: &Context,
    remembered: &Remembered,
    levels: &HashMap<String, usize>,
    finest: Finest,
) -> (Vec<Expr>, Vec<Expr>, IndexMap<String, ColumnTallies>) {
    let t = p.table;
    let mut tallies = IndexMap::new();
    let mut columns = Vec::new();
    for name in &p.source.columns {
        let Some(c) = t.column(name) else { continue };
        let level = levels.get(&c.name).copied().unwrap_or(c.levels.min);
        let tally = ColumnTallies::default();
        if let Some(e) = transform::column_expr_at(c, level, ctx, &tally) {
            columns.push(e);
            tallies.insert(c.output.clone(), tally);
        }
    }
    // Staged beside the outputs, never written (the write selects the outputs; Mondrian drops
    // them when it relabels the rows).
    for (d, c) in t.quasi_identifiers().enumerate() {
        let staged = match finest {
            Finest::None => false,
            Finest::Every => true,
            Finest::AboveTheFloor => transform::levels::from_raw(c),
        };
        if staged {
            if let Some(e) = transform::levels::base_expr(c, ctx) {
                columns.push(e.alias(protect::recode::finest_column(d).as_str()));
            }
        }
    }
    // The leak scan remembers the values of dropped and pseudonymized columns in this pass
    // (not those another table releases generalized: see `Planned::released_elsewhere`).
    let side: Vec<Expr> = t
        .columns
        .iter()
        .filter(|c| c.withheld() && !p.released_elsewhere.contains(&c.name))
        .map(|c| remembered.remember(col(c.name.as_str())))
        .collect();
    (columns, side, tallies)
}
