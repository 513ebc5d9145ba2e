//! Planning a run: every table's input found and checked ([`plan`], [`validate_rows`]), each
//! row's state (erased, expired, bad) and the subject's counted form, and the search base the
//! level search and `explore` work from.

use super::*;

/// A table's input, found and checked.
pub struct Planned<'a> {
    pub table: &'a Table,
    pub pattern: String,
    pub source: Source,
    /// The erasure list's ids, when the table has one.
    pub erase: Option<Vec<String>>,
    /// Malformed rows left out (`on_bad_row = "skip"`), once [`validate_rows`] has run.
    pub malformed: read::Malformed,
    /// Columns this table drops or pseudonymizes that another table of the job, reading the
    /// same input, generalizes (`url` dropped from a linked `activity`, released by section in
    /// `page_views`). The leak scan does not remember their values: the job releases them,
    /// generalized, on purpose, and they would match the other table's coarse values (the
    /// host page `https://shop.kz/`). Kept elsewhere, they are still remembered.
    pub released_elsewhere: Vec<String>,
}

/// Finds and checks every table's input files (the part of a run that `check` shares).
pub fn plan<'a>(job: &'a Job, opts: &RunOptions) -> Result<Vec<Planned<'a>>> {
    for (t, _) in &opts.inputs {
        if job.table(t).is_none() {
            return Err(Error::Job(format!(
                "--input {t}=…: the job has no table `{t}` (it has: {})",
                job.tables
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let planned: Vec<Result<Planned>> = job
        .tables
        .iter()
        .map(|table| {
            let pattern = opts
                .inputs
                .iter()
                .rev()
                .find(|(t, _)| *t == table.name)
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| table.input.clone());
            let pattern = read::substitute(&pattern, opts.run_date);
            let source = read::discover(table, &pattern)?;
            // In the subject's counted form once, here, not again in every pass. The subject's
            // expression needs no key (a pseudonymized subject is counted by its canonical
            // text, not its pseudonym), so none is loaded for it.
            let subject_ctx = Context {
                key: None,
                run_date: opts.run_date,
            };
            let erase = match (&table.exclude_subjects, &table.subject) {
                (Some(f), Some(s)) => {
                    Some(canonical_ids(table, &subject_ctx, &erasure::load(f, s)?)?)
                }
                _ => None,
            };
            Ok(Planned {
                table,
                pattern,
                source,
                erase,
                malformed: read::Malformed::default(),
                released_elsewhere: Vec::new(),
            })
        })
        .collect();
    Ok(released_elsewhere(every_table(planned)?))
}

/// Every table's plan, or what is wrong with each table that failed, told together (exit code
/// of the first): `check` names every file and column to mend in one run.
fn every_table(planned: Vec<Result<Planned<'_>>>) -> Result<Vec<Planned<'_>>> {
    let (ok, failed): (Vec<_>, Vec<_>) = planned.into_iter().partition(Result::is_ok);
    let mut errors = failed.into_iter().filter_map(Result::err);
    let Some(first) = errors.next() else {
        return Ok(ok.into_iter().filter_map(Result::ok).collect());
    };
    let rest: Vec<String> = errors.map(|e| e.to_string()).collect();
    // Only what the job and the inputs get wrong is told together; a failing disk is itself.
    if rest.is_empty() || !matches!(first, Error::Job(_) | Error::Input(_)) {
        return Err(first);
    }
    let all = std::iter::once(first.to_string())
        .chain(rest)
        .collect::<Vec<_>>()
        .join("\n");
    Err(match first {
        Error::Job(_) => Error::Job(all),
        _ => Error::Input(all),
    })
}

/// Fills [`Planned::released_elsewhere`]: the same input is the same resolved pattern.
fn released_elsewhere(mut planned: Vec<Planned<'_>>) -> Vec<Planned<'_>> {
    let generalized: Vec<(String, Vec<String>)> = planned
        .iter()
        .map(|p| {
            let names = p
                .table
                .columns
                .iter()
                .filter(|c| matches!(c.action, ColumnAction::Generalize(_)));
            (p.pattern.clone(), names.map(|c| c.name.clone()).collect())
        })
        .collect();
    for (i, p) in planned.iter_mut().enumerate() {
        p.released_elsewhere = p
            .table
            .columns
            .iter()
            .filter(|c| c.withheld())
            .filter(|c| {
                generalized.iter().enumerate().any(|(j, (pattern, names))| {
                    j != i && *pattern == p.pattern && names.contains(&c.name)
                })
            })
            .map(|c| c.name.clone())
            .collect();
    }
    planned
}

/// Checks every row of every table's files (see [`read::validate`]) before the engine reads
/// any: whatever reads rows (a run, `explore`) calls this first, so the engine only ever sees
/// well-formed input and its errors need no translating into files and lines. A table that
/// skips bad rows reads copies without its malformed rows from here on.
pub fn validate_rows(planned: &mut [Planned]) -> Result<()> {
    for p in planned {
        let t0 = Instant::now();
        p.malformed = {
            let _step = progress::step(&p.table.name, "checking every row");
            read::validate(&mut p.source, p.table)?
        };
        if let Some(first) = &p.malformed.first {
            tracing::warn!(
                table = %p.table.name,
                rows = p.malformed.rows,
                "skipping {} malformed rows (the first: {first})",
                p.malformed.rows
            );
        }
        tracing::debug!(
            table = %p.table.name,
            stage = "validate",
            seconds = t0.elapsed().as_secs_f64(),
            "input rows checked"
        );
    }
    Ok(())
}

/// The input with each row's state: erased, expired, undated, kept, or, with `mark_bad`, bad
/// (see [`bad_rows`]; the retention column's unreadable dates are always marked).
pub(super) fn scan_with_state(p: &Planned, ctx: &Context, mark_bad: bool) -> Result<LazyFrame> {
    let mut state = retention::state_expr(
        p.table.retention.as_ref(),
        ctx.run_date,
        bad_rows::retention_state(p.table),
    );
    if let (Some(ids), Some(subject)) = (&p.erase, table_subject(p.table, ctx)) {
        // Erasure comes before everything else, retention included.
        state = when(erasure::listed(subject, ids))
            .then(lit(retention::ERASED))
            .otherwise(state)
            .cast(DataType::Int32);
    }
    let lf = read::scan(&p.source, p.table)?.with_column(state.alias(STATE));
    Ok(match bad_rows::mark(p.table, ctx).filter(|_| mark_bad) {
        Some(mark) => lf.with_column(mark.alias(STATE)),
        None => lf,
    })
}

/// One pass over a table's kept rows counting each quasi-identifier's finest values: what the
/// level search (and `explore`) works from.
pub fn search_base(p: &Planned, ctx: &Context) -> Result<Base> {
    Ok(search_base_with_values(p, ctx)?.0)
}

/// [`search_base`] with each quasi-identifier's finest values and their codes (Mondrian maps
/// the staged rows back to the base's entries with them).
pub fn search_base_with_values(
    p: &Planned,
    ctx: &Context,
) -> Result<(Base, optimize::FinestValues)> {
    optimize::base_with_values(p.table, &search_counts(p, ctx)?)
}

/// The first pass of a searching table: its quasi-identifiers' finest values counted by
/// (values, person), which [`optimize`] turns into a search's base.
pub fn search_counts(p: &Planned, ctx: &Context) -> Result<kanon::Counts> {
    let t = p.table;
    let subject = table_subject(t, ctx);
    let mut finest: Vec<(String, Expr)> = t
        .quasi_identifiers()
        .filter_map(|c| Some((c.output.clone(), transform::levels::base_expr(c, ctx)?)))
        .collect();
    // The sensitive columns ride along as values (the models count them per class).
    if t.privacy.is_some_and(|p| !p.models.is_empty()) {
        finest.extend(t.sensitive().filter_map(|c| {
            let e = transform::column_expr(c, ctx, &transform::ColumnTallies::default())?;
            Some((c.output.clone(), e.alias(c.output.as_str())))
        }));
    }
    let step = progress::step(&t.name, "counting the finest values for the level search");
    let counts = kanon::count(
        scan_with_state(p, ctx, bad_rows::skips(t))?,
        &finest,
        subject,
        &[],
        &t.name,
    )?;
    drop(step);
    settle_bad_rows(p, ctx, &counts, false)?;
    Ok(counts)
}

/// The bases a joint search works on (see [`crate::protect::joint`]): the table `q`'s and, when
/// it links one, its linked table's, their people lined up; with the linked table.
pub fn joint_bases<'p, 'a>(
    q: &Planned,
    planned: &'p [Planned<'a>],
    ctx: &Context,
) -> Result<(Option<&'p Planned<'a>>, optimize::JointBases)> {
    let linked = match &q.table.link {
        Some(l) => Some(planned.iter().find(|o| &o.table.name == l).ok_or_else(|| {
            Error::Job(format!(
                "tables.{}: links to tables.{l}, which the job does not have",
                q.table.name
            ))
        })?),
        None => None,
    };
    let linked_counts = linked.map(|p| search_counts(p, ctx)).transpose()?;
    let counts = search_counts(q, ctx)?;
    let bases = optimize::joint_bases(
        linked
            .zip(linked_counts.as_ref())
            .map(|(p, c)| (p.table, c)),
        (q.table, &counts),
    )?;
    Ok((linked, bases))
}

/// The table's subject expression, if it has a subject column.
pub(super) fn table_subject(t: &Table, ctx: &Context) -> Option<Expr> {
    t.subject
        .as_deref()
        .and_then(|s| t.column(s))
        .map(|c| subject_expr(c, ctx))
}

/// The value that tells people apart, in its canonical form (see
/// [`transform::pseudonymize::canonical`]: trimmed, and as `normalize` says): a kept or
/// generalized subject is counted after its method (`007` kept as an int is the person `7`); a
/// pseudonymized or dropped one as its canonical text, which the keyed hash maps one to one.
/// Blank is nobody.
pub(super) fn subject_expr(c: &crate::job::Column, ctx: &Context) -> Expr {
    use transform::pseudonymize::normalized_expr;
    match &c.action {
        ColumnAction::Keep(_) | ColumnAction::Generalize(_) => normalized_expr(
            transform::column_expr(c, ctx, &ColumnTallies::default())
                .map(|e| e.cast(DataType::String))
                .unwrap_or_else(|| lit(NULL)),
            None,
        ),
        ColumnAction::Pseudonymize { normalize, .. } => {
            normalized_expr(col(c.name.as_str()), *normalize)
        }
        ColumnAction::Drop => normalized_expr(col(c.name.as_str()), None),
    }
}

/// A table's erasure ids in the form its subject is counted in: each id goes through the
/// subject's own expression (see [`subject_expr`]), as the export's values do. So `007` listed
/// for a subject kept as an int is the person `7`, and a phone listed for a subject
/// pseudonymized with `normalize = "phone"` matches every spelling of it. An id that the
/// subject's column cannot read matches no one, and is counted in a warning (never shown).
pub(super) fn canonical_ids(t: &Table, ctx: &Context, ids: &[String]) -> Result<Vec<String>> {
    let Some(c) = t.subject.as_deref().and_then(|s| t.column(s)) else {
        return Ok(ids.to_vec());
    };
    let engine = || Error::engine(format!("tables.{}: reading the erasure list", t.name));
    let listed = DataFrame::new_infer_height(vec![Column::new(c.name.as_str().into(), ids)])
        .map_err(engine())?;
    let out = listed
        .lazy()
        .select([subject_expr(c, ctx).alias("id")])
        .collect()
        .map_err(engine())?;
    let canonical: Vec<String> = out
        .column("id")
        .and_then(|c| Ok(c.str()?.iter().flatten().map(str::to_string).collect()))
        .map_err(engine())?;
    if canonical.len() < ids.len() {
        tracing::warn!(
            table = %t.name,
            "{} ids of the erasure list cannot be read as the subject column `{}`: they match no \
             one",
            ids.len() - canonical.len(),
            c.name
        );
    }
    Ok(canonical)
}
