//! From a parsed [`JobSpec`] to a [`Job`] the pipeline can trust, in stages: the file's shape
//! (TOML, unknown keys), then the job level (key, output), then each table, then each column.
//! Every message starts with the job file and the key path of what it is about
//! (`jobs/x.toml: tables.users.columns.birth_date: ...`), so a data engineer finds it at once.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::key::KeySource;
use super::models::{LDiversity, Models};
use super::spec::{
    Action, ColumnSpec, Invalid, JobSpec, LVariant, MetricName, OnBadRow, PrivacySpec,
    RetentionSpec, Role, Search, TableSpec,
};
use super::{
    BadRows, Column, ColumnAction, DEFAULT_RISK_THRESHOLD, Generalizer, Job, KeyScope, LevelRange,
    Privacy, Recoding, Retention, Table,
};
use crate::error::{Error, Result};
use crate::method::{Miss, Params, parse::single_ascii};

/// Parses the TOML text. Errors name the line and the key path.
pub fn parse(path: &Path, text: &str) -> Result<JobSpec> {
    let at = |span: Option<std::ops::Range<usize>>| match span {
        Some(span) => format!("{}:{}", path.display(), line_of(text, span.start)),
        None => path.display().to_string(),
    };
    let de = toml::de::Deserializer::parse(text)
        .map_err(|e| Error::Job(format!("{}: not valid TOML: {}", at(e.span()), e.message())))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.message().trim_end().to_string();
        if key.is_empty() || key == "." {
            Error::Job(format!("{}: {msg}", at(inner.span())))
        } else {
            Error::Job(format!("{}: {key}: {msg}", at(inner.span())))
        }
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Prefix of the tool's own working columns (see `protect`).
const INTERNAL_PREFIX: &str = "__anonymize";

/// Longest retention accepted: far past any policy, short of date arithmetic overflowing.
const MAX_RETENTION_DAYS: u32 = 36_525;

/// Output names a table may not use, in any case: the hive partition key (DuckDB matches
/// column names without case, and its hive read replaces a `RUN_DATE` column with the partition's
/// date).
const RESERVED_OUTPUTS: &[&str] = &["run_date"];

/// The longest table name: it is a directory name.
const MAX_TABLE_NAME: usize = 64;

/// A table's name becomes a directory of the output, so it must be one plain path component
/// that no reader takes for something else: no separator, no `.`/`..`, no control character,
/// no `=` (a `run_date=…` folder is a hive partition to every reader), no leading `_` or `.`
/// (our `_reports`, hidden files, and readers skip both).
pub(crate) fn table_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphanumeric())
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        && name.chars().count() <= MAX_TABLE_NAME
}

pub fn validate(path: &Path, sha256: String, spec: JobSpec) -> Result<Job> {
    let file = path.display().to_string();
    let fail = |key: &str, msg: String| Error::Job(format!("{file}: {key}: {msg}"));
    let dir = Job::dir(path);

    if spec.name.trim().is_empty() {
        return Err(fail("name", "must not be empty".into()));
    }
    let key = match spec.key.map(|k| (k.env, k.file)) {
        None => None,
        Some((Some(env), None)) if !env.is_empty() => Some(KeySource::Env(env)),
        Some((None, Some(f))) => Some(KeySource::File(clean(&dir.join(f)))),
        Some((Some(_), Some(_))) => {
            return Err(fail("key", "give either `env` or `file`, not both".into()));
        }
        Some(_) => {
            return Err(fail(
                "key",
                "give `env = \"VARIABLE\"` or `file = \"path\"`: there is no built-in key".into(),
            ));
        }
    };
    if spec.tables.is_empty() {
        return Err(fail("tables", "the job names no table".into()));
    }

    let mut tables = Vec::with_capacity(spec.tables.len());
    for (name, t) in spec.tables {
        tables.push(validate_table(&file, &dir, name, t)?);
    }
    check_links(&tables, &|key: &str, msg: String| fail(key, msg))?;
    if key.is_none() {
        for t in &tables {
            if let Some(c) = t
                .columns
                .iter()
                .find(|c| matches!(c.action, ColumnAction::Pseudonymize { .. }))
            {
                return Err(fail(
                    "key",
                    format!(
                        "tables.{}.columns.{} is pseudonymized, so the job needs a `[key]` with \
                         `env = \"VARIABLE\"` or `file = \"path\"`: there is no built-in key",
                        t.name, c.name
                    ),
                ));
            }
        }
    }
    if spec.keep_runs == Some(0) {
        return Err(fail(
            "keep_runs",
            "must be at least 1 (the night just written); leave it out to keep every night".into(),
        ));
    }
    Ok(Job {
        name: spec.name,
        purpose: spec.purpose,
        path: path.to_path_buf(),
        sha256,
        output: clean(&dir.join(spec.output)),
        keep_runs: spec.keep_runs,
        key,
        tables,
    })
}

/// The privacy models beyond k, checked: `fail` names the table.
fn models(p: &PrivacySpec, fail: &Fail<'_>) -> Result<Models> {
    let l_diversity = match &p.l_diversity {
        None => None,
        Some(spec) => {
            let whole = |l: f64| -> Result<u32> {
                if l.fract() != 0.0 || !(1.0..=1e6).contains(&l) {
                    return Err(fail(
                        ".privacy.l_diversity.l",
                        format!("is a number of values, a whole number of at least 1; got {l}"),
                    ));
                }
                Ok(l as u32)
            };
            if spec.c.is_some() && spec.variant != LVariant::Recursive {
                return Err(fail(
                    ".privacy.l_diversity.c",
                    "belongs to `variant = \"recursive\"` only".into(),
                ));
            }
            Some(match spec.variant {
                LVariant::Distinct => LDiversity::Distinct { l: whole(spec.l)? },
                LVariant::Entropy => {
                    if !(spec.l >= 1.0 && spec.l.is_finite()) {
                        return Err(fail(
                            ".privacy.l_diversity.l",
                            format!("must be at least 1; got {}", spec.l),
                        ));
                    }
                    LDiversity::Entropy { l: spec.l }
                }
                LVariant::Recursive => {
                    let c = spec.c.ok_or_else(|| {
                        fail(
                            ".privacy.l_diversity",
                            "`variant = \"recursive\"` needs `c`, as in `{ variant = \
                             \"recursive\", c = 4, l = 3 }`"
                                .into(),
                        )
                    })?;
                    if !(c > 0.0 && c.is_finite()) {
                        return Err(fail(
                            ".privacy.l_diversity.c",
                            format!("must be above 0; got {c}"),
                        ));
                    }
                    LDiversity::Recursive {
                        c,
                        l: whole(spec.l)?,
                    }
                }
            })
        }
    };
    let t_closeness = match &p.t_closeness {
        None => None,
        Some(spec) if (0.0..=1.0).contains(&spec.t) => Some(spec.t),
        Some(spec) => {
            return Err(fail(
                ".privacy.t_closeness.t",
                format!("is a distance, from 0 to 1; got {}", spec.t),
            ));
        }
    };
    Ok(Models {
        l_diversity,
        t_closeness,
    })
}

/// The recoding of a linked pair: the levels of both tables are chosen together (one lattice,
/// see `protect::joint`), so both search or neither does; Mondrian's per-table partitions do not
/// see the join and are refused; the joint search minimizes the loss metric, without models.
fn check_linked_search(
    t: &Table,
    linked: &Table,
    tables: &[Table],
    at: &str,
    fail: &Fail<'_>,
) -> Result<()> {
    let recoding = |u: &Table| u.privacy.map_or(Recoding::Fixed, |p| p.recoding);
    for u in [t, linked] {
        if recoding(u) == Recoding::Mondrian {
            return Err(fail(
                at,
                format!(
                    "Mondrian (`search = \"mondrian\"` in tables.{}) cuts each table's classes \
                     on its own, and the join would cut them finer: linked tables use levels, \
                     fixed or searched together (`search = \"optimal\"` in both)",
                    u.name
                ),
            ));
        }
    }
    let (mine, theirs) = (recoding(t), recoding(linked));
    if mine != theirs {
        let (searching, fixed) = if mine == Recoding::Optimal {
            (t, linked)
        } else {
            (linked, t)
        };
        return Err(fail(
            at,
            format!(
                "linked tables choose their levels together: tables.{} has `search = \
                 \"optimal\"` and tables.{} does not; set it in both (the search then covers \
                 both tables' level ranges) or in neither",
                searching.name, fixed.name
            ),
        ));
    }
    if mine != Recoding::Optimal {
        return Ok(());
    }
    for u in [t, linked] {
        let Some(p) = u.privacy else { continue };
        if p.metric != MetricName::Loss {
            return Err(fail(
                at,
                format!(
                    "the search over linked tables minimizes the loss metric (the mean of both \
                     tables'); tables.{} asks for another `metric`: remove it",
                    u.name
                ),
            ));
        }
        if !p.models.is_empty() {
            return Err(fail(
                at,
                format!(
                    "l_diversity and t_closeness are not yet supported in a search over linked \
                     tables (tables.{}); fix the levels with `level` to use them",
                    u.name
                ),
            ));
        }
    }
    if let Some(other) = tables.iter().find(|o| {
        o.name != t.name
            && o.link.as_ref() == Some(&linked.name)
            && recoding(o) == Recoding::Optimal
    }) {
        return Err(fail(
            at,
            format!(
                "tables.{} also links tables.{} and searches: one table may search together \
                 with a linked table; fix the levels of one of them",
                other.name, linked.name
            ),
        ));
    }
    Ok(())
}

/// Tables whose pseudonyms join must be protected together. A table's `link` names an earlier
/// table with a subject pseudonymized under the job's key, like its own; and two tables that
/// both hold pseudonyms under the job's key must be linked, one to the other: otherwise the
/// release joins on the pseudonym and per-table k says nothing of the join.
fn check_links(tables: &[Table], fail: &Fail<'_>) -> Result<()> {
    // The scope of a pseudonymized column whose pseudonyms other tables share: the job's key,
    // or the night's (`scope = "run"`); a table's own key joins nothing.
    let shared = |c: &Column| match &c.action {
        ColumnAction::Pseudonymize { scope, .. } if !matches!(scope, KeyScope::Table(_)) => {
            Some(scope.clone())
        }
        _ => None,
    };
    let scopes = |t: &Table| -> Vec<KeyScope> { t.columns.iter().filter_map(shared).collect() };
    let join = |a: &Table, b: &Table| {
        let theirs = scopes(b);
        scopes(a).into_iter().find(|s| theirs.contains(s))
    };
    // The subject's shared scope: what a link joins on.
    let joinable_subject = |t: &Table| {
        t.subject
            .as_deref()
            .and_then(|s| t.column(s))
            .and_then(shared)
    };
    for (i, t) in tables.iter().enumerate() {
        let Some(target) = &t.link else { continue };
        let at = format!("tables.{}.privacy.link", t.name);
        let Some(j) = tables.iter().position(|o| &o.name == target) else {
            return Err(fail(
                &at,
                format!("there is no table `{target}` in the job"),
            ));
        };
        let linked = &tables[j];
        if j >= i {
            return Err(fail(
                &at,
                format!(
                    "a table links to one listed before it; `{target}` is {}",
                    if j == i {
                        "this table"
                    } else {
                        "listed after it"
                    }
                ),
            ));
        }
        if linked.privacy.is_some_and(|p| p.known_events > 1) {
            return Err(fail(
                &at,
                format!(
                    "`{target}` is linked, so it holds one row a person, and `known_events` \
                     there counts nothing k does not: set it on this table instead"
                ),
            ));
        }
        if linked.link.is_some() {
            return Err(fail(
                &at,
                format!("`{target}` links to another table itself; link both to that one"),
            ));
        }
        for (u, role) in [(t, "this table"), (linked, "the linked table")] {
            if joinable_subject(u).is_none() {
                return Err(fail(
                    &at,
                    format!(
                        "a link joins on the subject, pseudonymized with the job's key: {role} \
                         (`{}`) needs `subject` set to a column with action `pseudonymize` \
                         (and no `scope = \"table\"`)",
                        u.name
                    ),
                ));
            }
        }
        if joinable_subject(t) != joinable_subject(linked) {
            return Err(fail(
                &at,
                "a link joins on the subject: both tables' subjects need the same `scope` \
                 (`job` or `run`), or their pseudonyms do not match"
                    .into(),
            ));
        }
        check_linked_search(t, linked, tables, &at, fail)?;
    }
    for (i, a) in tables.iter().enumerate() {
        for b in &tables[i + 1..] {
            let linked = a.link.as_deref() == Some(b.name.as_str())
                || b.link.as_deref() == Some(a.name.as_str());
            if let Some(scope) = join(a, b).filter(|_| !linked) {
                let key = match scope {
                    KeyScope::Run => "the night's key (`scope = \"run\"`)",
                    _ => "the job's key",
                };
                return Err(fail(
                    &format!("tables.{}", b.name),
                    format!(
                        "tables `{}` and `{}` both pseudonymize with {key}, so the \
                         release joins them on the pseudonym, and k per table says nothing of \
                         the join. Protect them together with `link = \"{}\"` under \
                         [tables.{}.privacy], or give one table's pseudonymized columns \
                         `scope = \"table\"` (a key of its own, so they join nothing)",
                        a.name, b.name, a.name, b.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Makes a table's error from a key path below the table and a message.
type Fail<'a> = dyn Fn(&str, String) -> Error + 'a;

fn validate_table(file: &str, dir: &Path, name: String, t: TableSpec) -> Result<Table> {
    let here = format!("tables.{name}");
    let fail = |key: &str, msg: String| Error::Job(format!("{file}: {here}{key}: {msg}"));

    if !table_name_ok(&name) {
        // The name itself is not repeated: it may hold a control character or anything else.
        return Err(Error::Job(format!(
            "{file}: a table name is a directory name of letters, digits, `_` and `-` (at most \
             {MAX_TABLE_NAME} characters, not starting with `_` or `-`); one of the tables is \
             named otherwise"
        )));
    }
    let delimiter = match t.delimiter.as_deref() {
        None => b',',
        Some(d) => single_ascii(d).ok_or_else(|| {
            fail(
                ".delimiter",
                format!("must be one ASCII character, got {d:?}"),
            )
        })?,
    };
    if t.columns.is_empty() {
        return Err(fail(".columns", "the table names no column".into()));
    }

    let search = t.privacy.as_ref().is_some_and(|p| p.search.is_some());
    // `invalid = "error"` asks for a night that stops: a table that skips bad rows cannot.
    let strict: Option<String> = t
        .columns
        .iter()
        .find(|(_, c)| c.invalid == Some(Invalid::Error))
        .map(|(name, _)| name.clone());
    let columns = table_columns(file, dir, &name, &here, t.columns, search, &fail)?;
    unique_outputs(&columns, &fail)?;
    let mondrian = t
        .privacy
        .as_ref()
        .is_some_and(|p| p.search == Some(Search::Mondrian));
    sortable(&columns, mondrian, &fail)?;
    if let Some(subject) = &t.subject {
        check_subject(&columns, subject, &fail)?;
    }
    let retention = match t.retention {
        None => None,
        Some(r) => Some(retention(&columns, r, &fail)?),
    };
    check_invalid(&columns, retention.as_ref(), &fail)?;
    let bad_rows = bad_rows(t.on_bad_row, t.max_bad_rows, &fail)?;
    if let (Some(c), BadRows::Skip { .. }) = (&strict, &bad_rows) {
        return Err(fail(
            &format!(".columns.{c}.invalid"),
            "`error` stops the night at a value the column cannot read, but the table skips bad \
             rows (`on_bad_row = \"skip\"`): write `invalid = \"bad_row\"` to skip those rows \
             too, or stop skipping"
                .into(),
        ));
    }
    let link = t.privacy.as_ref().and_then(|p| p.link.clone());
    let privacy = privacy(file, &here, &columns, t.privacy, &fail)?;
    if let Some(p) = &privacy {
        check_known_events(p, &columns, t.subject.as_deref(), &fail)?;
    }

    if t.exclude_subjects.is_some() && t.subject.is_none() {
        return Err(fail(
            ".exclude_subjects",
            "lists subjects, so the table needs `subject = \"COLUMN\"`".into(),
        ));
    }
    Ok(Table {
        exclude_subjects: t.exclude_subjects.map(|f| clean(&dir.join(f))),
        input: resolve_input(dir, &t.input),
        name,
        format: t.format,
        delimiter,
        subject: t.subject,
        unlisted: t.unlisted,
        retention,
        bad_rows,
        privacy,
        link,
        columns,
    })
}

/// The table's columns, each validated on its own.
fn table_columns(
    file: &str,
    dir: &Path,
    table: &str,
    here: &str,
    specs: IndexMap<String, ColumnSpec>,
    search: bool,
    fail: &Fail<'_>,
) -> Result<Vec<Column>> {
    let mut columns = Vec::with_capacity(specs.len());
    for (col, spec) in specs {
        if col.starts_with(INTERNAL_PREFIX)
            || spec
                .rename
                .as_deref()
                .is_some_and(|r| r.starts_with(INTERNAL_PREFIX))
        {
            return Err(fail(
                &format!(".columns.{col}"),
                format!("names starting with `{INTERNAL_PREFIX}` are reserved for the tool"),
            ));
        }
        let key = format!("{here}.columns.{col}");
        columns.push(validate_column(file, dir, table, &key, col, spec, search)?);
    }
    Ok(columns)
}

/// Output names must be unique: two columns written under one name would lose one of them.
fn unique_outputs(columns: &[Column], fail: &Fail<'_>) -> Result<()> {
    for (i, c) in columns.iter().enumerate() {
        if matches!(c.action, ColumnAction::Drop) {
            continue;
        }
        if RESERVED_OUTPUTS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&c.output))
        {
            return Err(fail(
                &format!(".columns.{}", c.name),
                format!(
                    "output name `{}` is the partition column; choose another `as`",
                    c.output
                ),
            ));
        }
        if let Some(other) = columns[..i]
            .iter()
            .find(|o| !matches!(o.action, ColumnAction::Drop) && o.output == c.output)
        {
            return Err(fail(
                &format!(".columns.{}", c.name),
                format!(
                    "output name `{}` is also used by column `{}`",
                    c.output, other.name
                ),
            ));
        }
    }
    Ok(())
}

/// `sortable` is for band columns, and its companion's name is free.
fn sortable(columns: &[Column], mondrian: bool, fail: &Fail<'_>) -> Result<()> {
    const BANDS: [&str; 3] = ["age", "birth_year", "bins"];
    for c in columns {
        let Some(companion) = &c.sort_column else {
            continue;
        };
        let at = format!(".columns.{}.sortable", c.name);
        let band = matches!(&c.action, ColumnAction::Generalize(g) if BANDS.contains(&g.method()));
        let partitioned = mondrian && c.role == Role::Quasi;
        if !band && !partitioned {
            return Err(fail(
                &at,
                "applies to band columns: `age`, `birth_year` and `bins`, and the \
                 quasi-identifiers of a Mondrian table"
                    .into(),
            ));
        }
        let taken = RESERVED_OUTPUTS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(companion))
            || columns.iter().any(|o| {
                !matches!(o.action, ColumnAction::Drop)
                    && (o.output == *companion
                        || (o.name != c.name && o.sort_column.as_ref() == Some(companion)))
            });
        if taken {
            return Err(fail(
                &at,
                format!("its column `{companion}` is already an output name; rename one (`as`)"),
            ));
        }
    }
    Ok(())
}

/// The subject is a column, and not a quasi-identifier.
fn check_subject(columns: &[Column], subject: &str, fail: &Fail<'_>) -> Result<()> {
    match columns.iter().find(|c| c.name == subject) {
        None => {
            return Err(fail(
                ".subject",
                format!("`{subject}` is not a column of the table"),
            ));
        }
        Some(c) if c.role == Role::Quasi => {
            return Err(fail(
                ".subject",
                format!(
                    "`{subject}` identifies a person, so it cannot also be a quasi-identifier \
                     (every class would hold one person)"
                ),
            ));
        }
        Some(_) => {}
    }
    Ok(())
}

/// `retention`: a column of the table, and a number of days in range.
fn retention(columns: &[Column], r: RetentionSpec, fail: &Fail<'_>) -> Result<Retention> {
    if !columns.iter().any(|c| c.name == r.column) {
        return Err(fail(
            ".retention.column",
            format!("`{}` is not a column of the table", r.column),
        ));
    }
    if !(1..=MAX_RETENTION_DAYS).contains(&r.days) {
        return Err(fail(
            ".retention.days",
            format!("must be from 1 to {MAX_RETENTION_DAYS} (100 years)"),
        ));
    }
    Ok(Retention {
        column: r.column,
        days: r.days,
    })
}

/// `invalid` fits the column: `top` only for a hierarchy, and only where a value can be unreadable.
fn check_invalid(columns: &[Column], retention: Option<&Retention>, fail: &Fail<'_>) -> Result<()> {
    for c in columns {
        let dates_rows = retention.is_some_and(|r| r.column == c.name);
        // Whether an unreadable value may go to the top level (a hierarchy's unlisted values).
        let hierarchy = matches!(&c.action, ColumnAction::Generalize(g) if g.miss() == Miss::Top);
        let at = format!(".columns.{}.invalid", c.name);
        match c.invalid {
            Some(Invalid::Null) if hierarchy => {
                return Err(fail(
                    &at,
                    "a hierarchy sends the values its file does not list to its top level: \
                     `invalid = \"top\"` (the default), or `bad_row`"
                        .into(),
                ));
            }
            Some(Invalid::Top) if !hierarchy => {
                return Err(fail(
                    &at,
                    "`top` is for `hierarchy` columns; write unreadable values as null with \
                     `invalid = \"null\"`"
                        .into(),
                ));
            }
            _ => {}
        }
        if c.invalid.is_some() && !c.can_be_invalid() && !dates_rows {
            return Err(fail(
                &format!(".columns.{}.invalid", c.name),
                "does not apply: this column's action reads every value (only typed `keep`, \
                 generalizing methods and the retention column can meet a value they cannot \
                 read)"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// `on_bad_row` and `max_bad_rows`, as one policy.
fn bad_rows(on_bad_row: OnBadRow, max_bad_rows: Option<f64>, fail: &Fail<'_>) -> Result<BadRows> {
    Ok(match (on_bad_row, max_bad_rows) {
        (OnBadRow::Error, None) => BadRows::Error,
        (OnBadRow::Error, Some(_)) => {
            return Err(fail(
                ".max_bad_rows",
                "bounds skipped rows: it goes with `on_bad_row = \"skip\"`".into(),
            ));
        }
        (OnBadRow::Skip, None) => {
            return Err(fail(
                ".on_bad_row",
                "`skip` needs `max_bad_rows`, the largest share of rows that may be skipped \
                 (e.g. 0.001)"
                    .into(),
            ));
        }
        (OnBadRow::Skip, Some(share)) => {
            if !(0.0..=1.0).contains(&share) {
                return Err(fail(
                    ".max_bad_rows",
                    format!("is a share of rows, from 0 to 1; got {share}"),
                ));
            }
            BadRows::Skip { max_share: share }
        }
    })
}

/// `[tables.NAME.privacy]`: k, suppression, the recoding, the models beyond k.
fn privacy(
    file: &str,
    here: &str,
    columns: &[Column],
    spec: Option<PrivacySpec>,
    fail: &Fail<'_>,
) -> Result<Option<Privacy>> {
    let has_quasi = columns
        .iter()
        .any(|c| c.role == Role::Quasi && !matches!(c.action, ColumnAction::Drop));
    Ok(match spec {
        None if has_quasi => {
            return Err(fail(
                ".privacy",
                "the table has quasi-identifiers: set `[tables.NAME.privacy] k = ...`".into(),
            ));
        }
        None => None,
        Some(p) => {
            if p.k == 0 {
                return Err(fail(".privacy.k", "must be at least 1".into()));
            }
            if p.k == 1 {
                // Allowed (a table kept for its own sake, or a first try), but never silently.
                tracing::warn!(
                    "{file}: {here}.privacy.k: k = 1 protects no one (every person may be alone in \
                     a class); use at least 2, the shipped job uses 10"
                );
            }
            if !(0.0..=1.0).contains(&p.max_suppression) {
                return Err(fail(
                    ".privacy.max_suppression",
                    format!("is a share of rows, from 0 to 1; got {}", p.max_suppression),
                ));
            }
            let models = models(&p, fail)?;
            let has_sensitive = columns
                .iter()
                .any(|c| c.role == Role::Sensitive && !matches!(c.action, ColumnAction::Drop));
            if !models.is_empty() && !has_sensitive {
                return Err(fail(
                    ".privacy",
                    "l_diversity and t_closeness watch the sensitive columns, and the table has \
                     none: mark the column they protect with `role = \"sensitive\"`"
                        .into(),
                ));
            }
            let risk_threshold = p.risk_threshold.unwrap_or(DEFAULT_RISK_THRESHOLD);
            if !(0.0..=1.0).contains(&risk_threshold) {
                return Err(fail(
                    ".privacy.risk_threshold",
                    format!("is a risk, from 0 to 1; got {risk_threshold}"),
                ));
            }
            Some(Privacy {
                k: p.k,
                max_suppression: p.max_suppression,
                recoding: match p.search {
                    None => Recoding::Fixed,
                    Some(Search::Optimal) => Recoding::Optimal,
                    Some(Search::Mondrian) => Recoding::Mondrian,
                },
                metric: p.metric.unwrap_or_default(),
                models,
                risk_threshold,
                known_events: p.known_events.unwrap_or(1),
            })
        }
    })
}

/// `known_events = m`: 1 to 4, and above 1 only where a person's rows can be lined up (a
/// written subject) and with fixed levels and no models (what k^m does not combine with yet).
fn check_known_events(
    p: &Privacy,
    columns: &[Column],
    subject: Option<&str>,
    fail: &Fail<'_>,
) -> Result<()> {
    let at = ".privacy.known_events";
    let m = p.known_events;
    if !(1..=4).contains(&m) {
        return Err(fail(
            at,
            format!(
                "is how many of a person's facts an attacker may know, from 1 to 4; got {m} \
                 (counting every set of {m} facts a person has grows as their facts to the \
                 power {m})"
            ),
        ));
    }
    if m == 1 {
        return Ok(());
    }
    let written = subject
        .and_then(|s| columns.iter().find(|c| c.name == s))
        .is_some_and(|c| !matches!(c.action, ColumnAction::Drop));
    if !written {
        return Err(fail(
            at,
            "counts the facts of a person's rows together, so the table needs `subject = \
             \"COLUMN\"` written as a pseudonym; when the subject is dropped, an analyst cannot \
             line up a person's rows and `known_events = 1` (the default) is what holds"
                .into(),
        ));
    }
    if p.recoding == Recoding::Mondrian {
        return Err(fail(
            at,
            "k^m works on levels, fixed or searched (`search = \"optimal\"`): Mondrian's \
             classes are cut per row, not per person's facts"
                .into(),
        ));
    }
    if p.recoding == Recoding::Optimal && p.metric != MetricName::Loss {
        return Err(fail(
            at,
            "the search for k^m minimizes the loss metric; remove `metric`".into(),
        ));
    }
    if !p.models.is_empty() {
        return Err(fail(
            at,
            "l_diversity and t_closeness are not yet supported with `known_events` above 1: \
             suppressing single facts changes the classes the models were checked on"
                .into(),
        ));
    }
    Ok(())
}

/// An input pattern relative to the job file's directory (absolute ones stay as they are).
pub fn resolve_input(dir: &Path, input: &str) -> String {
    if Path::new(input).is_absolute() {
        input.to_string()
    } else {
        clean(&dir.join(input)).to_string_lossy().into_owned()
    }
}

/// `jobs/../out` → `out`: lexical, like Go's `filepath.Clean`, so that paths in messages and
/// reports read as a person would write them.
pub fn clean(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(c),
            },
            c => out.push(c),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

/// The method parameters a column may carry, with whether it carries them: a parameter that its
/// action or method does not use is an error, not silently ignored.
fn given_params(c: &ColumnSpec) -> Vec<&'static str> {
    let mut given = Vec::new();
    let mut note = |name, set: bool| {
        if set {
            given.push(name)
        }
    };
    note("type", c.value_type.is_some());
    note("invalid", c.invalid.is_some());
    note("length", c.length.is_some());
    note("normalize", c.normalize.is_some());
    note("scope", c.scope.is_some());
    note("band", c.band.is_some());
    note("top", c.top.is_some());
    note("as_of", c.as_of.is_some());
    note("to", c.to.is_some());
    note("v4", c.v4.is_some());
    note("v6", c.v6.is_some());
    note("edges", c.edges.is_some());
    note("file", c.file.is_some());
    note("level_names", c.level_names.is_some());
    note("level", c.level.is_some());
    note("levels", c.levels.is_some());
    note("delimiter", c.delimiter.is_some());
    given
}

fn validate_column(
    file: &str,
    dir: &Path,
    table: &str,
    key: &str,
    name: String,
    c: ColumnSpec,
    search: bool,
) -> Result<Column> {
    let fail = |msg: String| Error::Job(format!("{file}: {key}: {msg}"));

    const EVERY_METHOD: [&str; 3] = ["level", "levels", "invalid"];
    let (allowed, what): (Vec<&str>, String) = match (c.action, c.method) {
        (Action::Generalize, None) => {
            return Err(fail(format!(
                "`generalize` needs a `method`: {}",
                crate::method::names()
            )));
        }
        (Action::Generalize, Some(m)) => (
            m.0.keys().iter().copied().chain(EVERY_METHOD).collect(),
            format!("method `{}`", m.0.name()),
        ),
        (a, Some(_)) => {
            return Err(fail(format!(
                "`method` goes with action `generalize`, not `{}`",
                a.name()
            )));
        }
        // `invalid` on a column whose method reads every value is refused where the table is
        // known: the retention column reads its dates whatever its action.
        (Action::Keep, None) => (vec!["type", "invalid"], "action `keep`".into()),
        (Action::Pseudonymize, None) => (
            vec!["length", "normalize", "scope", "invalid"],
            "action `pseudonymize`".into(),
        ),
        (Action::Drop, None) => (vec!["invalid"], "action `drop`".into()),
    };
    if let Some(extra) = given_params(&c).into_iter().find(|p| !allowed.contains(p)) {
        return Err(fail(format!("`{extra}` does not apply to {what}")));
    }
    if c.action == Action::Drop && (c.rename.is_some() || c.role != Role::Insensitive) {
        return Err(fail(
            "a dropped column has no output: `as` and `role` do not apply".into(),
        ));
    }
    if c.action == Action::Pseudonymize && c.role == Role::Quasi {
        return Err(fail(
            "a pseudonym is unique per person, so as a quasi-identifier it would suppress everyone; \
             use `subject` to count people instead"
                .into(),
        ));
    }
    if let Some(out) = &c.rename
        && out.trim().is_empty()
    {
        return Err(fail("`as` must not be empty".into()));
    }

    let action = match c.action {
        Action::Drop => ColumnAction::Drop,
        Action::Keep => ColumnAction::Keep(c.value_type.unwrap_or(super::ValueType::String)),
        Action::Pseudonymize => {
            let length = c.length.unwrap_or(32);
            if !(16..=64).contains(&length) || !length.is_multiple_of(2) {
                return Err(fail(format!(
                    "`length` is an even number of hex characters from 16 to 64; got {length}"
                )));
            }
            ColumnAction::Pseudonymize {
                length,
                normalize: c.normalize,
                scope: match c.scope.unwrap_or_default() {
                    super::Scope::Job => KeyScope::Job,
                    super::Scope::Table => KeyScope::Table(table.to_string()),
                    super::Scope::Run => KeyScope::Run,
                },
            }
        }
        Action::Generalize => {
            let method = c.method.ok_or_else(|| fail("missing method".into()))?;
            let params = Params {
                band: c.band,
                top: c.top,
                as_of: c.as_of,
                to: c.to,
                v4: c.v4,
                v6: c.v6,
                edges: c.edges.as_ref(),
                file: c.file.as_ref().map(|rel| clean(&dir.join(rel))),
                delimiter: c.delimiter.as_deref(),
                level_names: c.level_names.as_deref(),
                length: c.length,
                level_given: c.level.is_some() || c.levels.is_some(),
                picks_levels: c.level.is_some()
                    || c.levels.is_some()
                    || (search && c.role == Role::Quasi),
            };
            ColumnAction::Generalize(method.0.build(&params).map_err(fail)?)
        }
    };
    let levels = match &action {
        ColumnAction::Generalize(g) => level_range(&fail, g, &c, search)?,
        _ => LevelRange::pinned(0),
    };
    let description = match c.description.as_deref().map(str::trim) {
        None => None,
        Some(d) if d.is_empty() || d.len() > MAX_DESCRIPTION || d.chars().any(char::is_control) => {
            return Err(fail(format!(
                "`description` is one line of at most {MAX_DESCRIPTION} bytes, not empty"
            )));
        }
        Some(d) => Some(d.to_string()),
    };
    // A hierarchy sends what its file lacks to the top by default (see `ColumnSpec::invalid`),
    // except a sensitive column's: there `*` would count as one more distinct value for the
    // models, where it may well hide a listed one (a typo of `Астана`).
    // `error` is `bad_row` in a table that stops at bad rows (checked above).
    let strict = |i: Invalid| match i {
        Invalid::Error => Invalid::BadRow,
        other => other,
    };
    let invalid = c.invalid.map(strict).or(match &action {
        ColumnAction::Generalize(g) if g.miss() == Miss::Top && c.role != Role::Sensitive => {
            Some(Invalid::Top)
        }
        _ => None,
    });
    let output = c.rename.unwrap_or_else(|| name.clone());
    Ok(Column {
        description,
        sort_column: (c.sortable == Some(true)).then(|| format!("{output}_from")),
        output,
        name,
        role: c.role,
        action,
        levels,
        invalid,
    })
}

/// A column's `description` is a line of a data dictionary, not a document.
const MAX_DESCRIPTION: usize = 1000;

/// The levels a generalized column may take: `level` pins one, `levels` bounds a search, and
/// with neither a searched table searches them all (a column with fixed parameters has one).
fn level_range(
    fail: &dyn Fn(String) -> Error,
    g: &Generalizer,
    c: &ColumnSpec,
    search: bool,
) -> Result<LevelRange> {
    let top = g.levels() - 1;
    let check = |l: usize, what: &str| {
        if l > top {
            Err(fail(format!(
                "`{what}` {l} is past the top: this method has levels 0 to {top}"
            )))
        } else {
            Ok(l)
        }
    };
    match (c.level, c.levels) {
        (Some(_), Some(_)) => Err(fail(
            "give `level` (pinned) or `levels = [min, max]` (searched), not both".into(),
        )),
        (Some(l), None) => Ok(LevelRange::pinned(check(l, "level")?)),
        (None, Some([min, max])) => {
            if min > max {
                return Err(fail(format!("`levels = [{min}, {max}]`: min is above max")));
            }
            if !search {
                return Err(fail(
                    "`levels` bounds a search: set `search = \"optimal\"` under the table's \
                     privacy, or pin one with `level`"
                        .into(),
                ));
            }
            if c.role != Role::Quasi {
                return Err(fail(
                    "`levels` bounds the search of a quasi-identifier (`role = \"quasi\"`); pin \
                     other columns with `level`"
                        .into(),
                ));
            }
            Ok(LevelRange::searched(
                check(min, "levels")?,
                check(max, "levels")?,
            ))
        }
        (None, None) if search && c.role == Role::Quasi => Ok(LevelRange::searched(0, top)),
        (None, None) if top == 0 => Ok(LevelRange::pinned(0)),
        (None, None) => match g.default_level() {
            Some(l) => Ok(LevelRange::pinned(l)),
            None => Err(fail(format!(
                "choose a level from 0 to {top} with `level`, or let the table search it \
                 (`search = \"optimal\"`, for a quasi-identifier)"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A method's key must be one a column can carry, or the unknown-key check would never see
    /// it given and `build` would never get it.
    #[test]
    fn every_method_key_is_a_column_key() {
        let every: ColumnSpec = toml::from_str(
            r#"action = "keep"
               type = "string"
               invalid = "null"
               length = 32
               normalize = "email"
               band = 5
               top = 80
               as_of = "year"
               to = "day"
               v4 = 24
               v6 = 48
               edges = [1.0]
               file = "h.csv"
               level_names = ["a"]
               level = 1
               levels = [0, 1]
               delimiter = ";""#,
        )
        .unwrap();
        let keys = given_params(&every);
        let mut names = std::collections::HashSet::new();
        for m in crate::method::METHODS {
            assert!(names.insert(m.name()), "two methods named {}", m.name());
            for k in m.keys() {
                assert!(keys.contains(k), "{}: `{k}` is not a column key", m.name());
            }
        }
    }

    const BASE: &str = r#"
name = "t"
output = "out"
[key]
env = "K"
[tables.users]
input = "u.csv"
subject = "id"
[tables.users.privacy]
k = 5
[tables.users.columns]
id = { action = "pseudonymize" }
age = { action = "keep", role = "quasi" }
"#;

    fn load(text: &str) -> Result<Job> {
        let path = Path::new("jobs/t.toml");
        validate(path, "sha".into(), parse(path, text)?)
    }

    fn err(text: &str) -> String {
        load(text).unwrap_err().to_string()
    }

    #[test]
    fn a_good_job_resolves_paths_against_the_job_file() {
        let job = load(BASE).unwrap();
        assert_eq!(job.output, Path::new("jobs/out"));
        assert_eq!(clean(Path::new("jobs/../out/./x")), Path::new("out/x"));
        assert_eq!(clean(Path::new("../a/../../b")), Path::new("../../b"));
        assert_eq!(clean(Path::new("/a/../../b")), Path::new("/b"));
        assert_eq!(job.tables[0].input, "jobs/u.csv");
        assert_eq!(job.tables[0].privacy.unwrap().max_suppression, 0.0);
        assert_eq!(job.key, Some(KeySource::Env("K".into())));
    }

    #[test]
    fn unknown_keys_name_line_and_path() {
        let e = err(&BASE.replace("k = 5", "k = 5\nmax_supression = 0.1"));
        assert!(e.starts_with("jobs/t.toml:11: tables.users.privacy"), "{e}");
        assert!(e.contains("max_supression"), "{e}");
        let e = err(&BASE.replace(
            "{ action = \"pseudonymize\" }",
            "{ action = \"pseudonymise\" }",
        ));
        assert!(e.contains("tables.users.columns.id"), "{e}");
        assert!(err("name = ").contains("not valid TOML"));
    }

    #[test]
    fn semantic_errors_name_the_key_path() {
        let cases = [
            (
                "{ action = \"keep\", role = \"quasi\" }",
                "{ action = \"generalize\", role = \"quasi\" }",
                "needs a `method`",
            ),
            (
                "{ action = \"keep\", role = \"quasi\" }",
                "{ action = \"keep\", band = 5 }",
                "`band` does not apply to action `keep`",
            ),
            (
                "{ action = \"keep\", role = \"quasi\" }",
                "{ action = \"generalize\", method = \"bins\", edges = [5, 1] }",
                "strictly increasing",
            ),
            (
                "{ action = \"keep\", role = \"quasi\" }",
                "{ action = \"generalize\", method = \"truncate\" }",
                "needs `to`",
            ),
            (
                "{ action = \"keep\", role = \"quasi\" }",
                "{ action = \"generalize\", method = \"ip_prefix\", v4 = 33 }",
                "0 to 32",
            ),
            (
                "{ action = \"keep\", role = \"quasi\" }",
                "{ action = \"keep\", as = \"id\" }",
                "also used by column `id`",
            ),
            (
                "{ action = \"keep\", role = \"quasi\" }",
                "{ action = \"keep\", as = \"run_date\" }",
                "partition column",
            ),
            (
                "{ action = \"keep\", role = \"quasi\" }",
                "{ action = \"drop\", role = \"quasi\" }",
                "dropped column has no output",
            ),
            (
                "{ action = \"pseudonymize\" }",
                "{ action = \"pseudonymize\", length = 15 }",
                "even number",
            ),
            (
                "{ action = \"pseudonymize\" }",
                "{ action = \"keep\", role = \"quasi\" }",
                "cannot also be a quasi-identifier",
            ),
        ];
        for (from, to, want) in cases {
            let e = err(&BASE.replacen(from, to, 1));
            assert!(e.contains(want), "{to}: {e}");
            assert!(e.contains("tables.users"), "{to}: {e}");
        }
    }

    #[test]
    fn table_level_errors() {
        assert!(
            err(&BASE.replace("[tables.users.privacy]\nk = 5\n", ""))
                .contains("set `[tables.NAME.privacy] k")
        );
        assert!(
            err(&BASE.replace("k = 5", "k = 5\nmax_suppression = 1.5")).contains("from 0 to 1")
        );
        assert!(
            err(&BASE.replace("subject = \"id\"", "subject = \"nobody\""))
                .contains("`nobody` is not a column")
        );
        assert!(
            err(&BASE.replace(
                "subject = \"id\"",
                "retention = { column = \"ts\", days = 30 }"
            ))
            .contains("`ts` is not a column")
        );
        assert!(
            err(&BASE.replace("env = \"K\"", "env = \"K\"\nfile = \"k.txt\"")).contains("not both")
        );
        assert!(err(&BASE.replace("env = \"K\"", "")).contains("no built-in key"));
        assert!(err(&BASE.replace("[key]\nenv = \"K\"\n", "")).contains("needs a `[key]`"));
        assert!(
            err(&BASE
                .replace("[tables.users]", "[tables._users]")
                .replace("tables.users.", "tables._users."))
            .contains("directory name")
        );
    }

    /// Regression: `url` gained a ladder, and the shipped job (and every job file written
    /// before it) has `method = "url"` without `level`; it keeps the path, as it always did.
    /// (Methods without a default still make the job choose: see the hierarchy test.)
    #[test]
    fn url_without_a_level_keeps_the_path() {
        let job = load(&BASE.replace(
            "age = { action = \"keep\", role = \"quasi\" }",
            "age = { action = \"keep\", role = \"quasi\" }\n\
             url = { action = \"generalize\", method = \"url\" }",
        ))
        .unwrap();
        let url = job.tables[0]
            .columns
            .iter()
            .find(|c| c.name == "url")
            .unwrap();
        assert_eq!((url.levels.min, url.levels.max), (0, 0));
    }

    #[test]
    fn hierarchy_files_are_loaded_and_levels_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("h.csv"), "a;x;*\nb;x;*\n").unwrap();
        let job = BASE.replace(
            "age = { action = \"keep\", role = \"quasi\" }",
            "age = { action = \"generalize\", method = \"hierarchy\", file = \"h.csv\", level = LEVEL, role = \"quasi\" }",
        );
        let path = dir.path().join("t.toml");
        let load = |level: &str| {
            let text = job.replace("LEVEL", level);
            validate(&path, "sha".into(), parse(&path, &text).unwrap())
        };
        assert!(load("1").is_ok());
        let e = validate(
            &path,
            "sha".into(),
            parse(&path, &job.replace(", level = LEVEL", "")).unwrap(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("choose a level from 0 to 2"), "{e}");
        let e = load("3").unwrap_err().to_string();
        assert!(
            e.contains("past the top") && e.contains("levels 0 to 2"),
            "{e}"
        );
        std::fs::write(dir.path().join("h.csv"), "a;x;*\nb;*\n").unwrap();
        let e = load("1").unwrap_err().to_string();
        assert!(e.contains("h.csv") && e.contains("line 2"), "{e}");
    }
}
