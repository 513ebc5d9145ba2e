//! The run report as one self-contained HTML page (`_reports/run_date=….html`, beside the JSON),
//! for a person to open in a browser. Per table it shows rows in and out, what retention,
//! erasure, bad rows and suppression removed, the class-size distribution as a bar chart, the
//! re-identification risk and the information loss, the levels, and how each column was made.
//!
//! The page holds only the report's counts and names, like the JSON. It uses no script and no
//! network resource: the styles are inline and the charts are inline SVG. So it renders the
//! same from a file share, in a mail attachment, or ten years from now. Every text from the job
//! or the inputs (names, paths) is HTML-escaped.

use std::fmt::Write;

use super::{Report, TableReport};

/// The page for `report`.
pub fn render(report: &Report) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let title = format!("{} — {}", report.job, report.run_date);
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>",
        esc(&title)
    );
    let _ = write!(h, "<h1>{}</h1>\n<dl class=\"meta\">", esc(&title));
    let mut meta = |k: &str, v: &str| {
        let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    };
    if let Some(p) = &report.purpose {
        meta("purpose", p);
    }
    meta("job file", &report.job_file);
    meta("job sha256", &report.job_sha256);
    meta("anonymize", &report.version);
    meta("started", &report.started_at);
    meta("finished", &report.finished_at);
    if let Some(k) = &report.key_id {
        meta("key id", k);
    }
    if let Some(l) = &report.levels_pinned_by {
        meta("levels pinned by", l);
    }
    meta(
        "nights kept",
        &match report.keep_runs {
            None => "every night".to_string(),
            Some(n) => format!("the newest {n} (keep_runs)"),
        },
    );
    if !report.latest {
        meta("_latest", "not this night: a newer night is the latest");
    }
    if !report.pruned.is_empty() {
        meta("pruned", &report.pruned.join(", "));
    }
    h.push_str("</dl>\n");
    if report.status == "failed" {
        let _ = writeln!(
            h,
            "<p class=\"verdict fail\"><b>FAILED</b> (exit code {}): nothing was written; the \
             previous output is as it was.</p><p class=\"error\">{}</p>",
            report.exit_code,
            esc(report.error.as_deref().unwrap_or(""))
        );
    }
    for (name, t) in &report.tables {
        table(&mut h, name, t);
    }
    h.push_str("</body></html>\n");
    h
}

fn table(h: &mut String, name: &str, t: &TableReport) {
    let _ = writeln!(
        h,
        "<section class=\"table\" id=\"table-{0}\"><h2>{0}</h2>",
        esc(name)
    );
    headline(h, t);
    rows(h, t);
    previous_night(h, t);

    if !t.quasi_identifiers.is_empty() {
        let _ = writeln!(
            h,
            "<h3>Equivalence classes</h3><p>{} classes over {}.</p>",
            n(t.equivalence_classes),
            t.quasi_identifiers
                .iter()
                .map(|q| match (t.levels.get(q), t.level_meanings.get(q)) {
                    (Some(l), Some(m)) => {
                        format!("<code>{}</code> (level {l} = {})", esc(q), esc(m))
                    }
                    (Some(l), None) => format!("<code>{}</code> (level {l})", esc(q)),
                    // Mondrian: a level a class.
                    _ => format!("<code>{}</code>", esc(q)),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        class_chart(h, t);
        suppressed(h, t);
        figures(h, t);
    }
    exposure(h, t);
    release(h, t);
    across_nights(h, t);

    columns(h, t);
    let _ = writeln!(
        h,
        "<p class=\"files\">Read {} file{}; wrote <code>{}</code>.</p></section>",
        t.input_files.len(),
        if t.input_files.len() == 1 { "" } else { "s" },
        t.output_files
            .iter()
            .map(|f| esc(f))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// The verdict a privacy officer reads first: k held, how much of the suppression limit it
/// took, and the retention applied. A committed table passed (a table that did not is never
/// written: its night fails, and the failed report says why).
fn headline(h: &mut String, t: &TableReport) {
    let mut parts = Vec::new();
    match t.k {
        Some(k) => parts.push(format!(
            "k = {k} holds{} (smallest class: {} people)",
            t.linked_to
                .as_ref()
                .map(|l| format!(" over the join with {}", esc(l)))
                .unwrap_or_default(),
            t.min_class_subjects.map_or("no".into(), n)
        )),
        None => parts.push("no k-anonymity asked (no privacy section)".into()),
    }
    if let Some(limit) = t.max_suppression {
        parts.push(format!(
            "suppressed {} of the rows against a {} limit ({} of it used)",
            pct(t.suppressed_share),
            pct(limit),
            pct(t.share_of_limit.unwrap_or(0.0))
        ));
    }
    match t.retention_days {
        Some(days) => parts.push(format!(
            "retention: rows older than {} days removed ({})",
            n(u64::from(days)),
            n(t.rows_expired)
        )),
        None => parts.push("no retention limit on this table".into()),
    }
    let _ = writeln!(
        h,
        "<p class=\"verdict pass\"><b>PASS</b> {}.</p>",
        parts.join("; ")
    );
}

/// The change since the previous night: rows written, suppressed and classes.
fn previous_night(h: &mut String, t: &TableReport) {
    let Some(p) = &t.previous_night else {
        return;
    };
    let change = |now: u64, then: u64| match now.cmp(&then) {
        std::cmp::Ordering::Equal => "=".to_string(),
        std::cmp::Ordering::Greater => format!("+{}", n(now - then)),
        std::cmp::Ordering::Less => format!("−{}", n(then - now)),
    };
    let _ = writeln!(
        h,
        "<p class=\"previous\">Against the previous night ({}): {} rows written ({}), {} \
         suppressed ({}), {} classes ({}).</p>",
        esc(&p.run_date),
        n(t.rows_out),
        change(t.rows_out, p.rows_out),
        n(t.rows_suppressed),
        change(t.rows_suppressed, p.rows_suppressed),
        n(t.equivalence_classes),
        change(t.equivalence_classes, p.equivalence_classes)
    );
}

/// Where the rows went: in, written, and each reason rows were removed.
fn rows(h: &mut String, t: &TableReport) {
    let _ = write!(
        h,
        "<p class=\"summary\"><b>{}</b> rows in, <b>{}</b> written ({} people)",
        n(t.rows_in),
        n(t.rows_out),
        n(t.subjects_out)
    );
    if let Some(k) = t.k {
        let over = t
            .linked_to
            .as_ref()
            .map(|l| format!(" over the join with {}", esc(l)))
            .unwrap_or_default();
        let _ = write!(
            h,
            "; k = {k} holds{over}, the smallest class has {} people",
            t.min_class_subjects.map_or("no".into(), n)
        );
    }
    h.push_str(
        ".</p>\n<table class=\"removed\"><tr><th>removed</th><th>rows</th><th>why</th></tr>",
    );
    let mut removed = |what: &str, rows: u64, why: &str| {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(what),
            n(rows),
            esc(why)
        );
    };
    removed(
        "erased",
        t.rows_erased,
        "the person asked to be forgotten (exclude_subjects)",
    );
    removed("expired", t.rows_expired, "older than the retention limit");
    removed("undated", t.rows_undated, "no readable date for retention");
    removed(
        "bad",
        t.rows_skipped,
        "malformed or unreadable (on_bad_row = \"skip\")",
    );
    // k^m's facts count in `rows_suppressed`; shown apart, with the people who lost them.
    let facts = t
        .release
        .as_ref()
        .and_then(|r| r.facts_suppressed.as_ref().map(|f| (r, f)));
    let facts_rows = facts.map_or(0, |(_, f)| f.rows);
    // So do the people the check across nights took out.
    let moved = t.across_nights.as_ref().filter(|a| a.rows_suppressed > 0);
    let (moved_rows, moved_people) =
        moved.map_or((0, 0), |a| (a.rows_suppressed, a.subjects_suppressed));
    removed(
        "suppressed",
        t.rows_suppressed.saturating_sub(facts_rows + moved_rows),
        &if t.rows_failing_models > 0 {
            format!(
                "in classes of fewer than k people, or breaking l-diversity or t-closeness \
                 ({} rows in {} classes) ({} people)",
                n(t.rows_failing_models),
                n(t.classes_failing_models),
                n(t.subjects_suppressed.saturating_sub(moved_people))
            )
        } else {
            format!(
                "in classes of fewer than k people ({} people)",
                n(t.subjects_suppressed.saturating_sub(moved_people))
            )
        },
    );
    if let Some(a) = moved {
        removed(
            "across nights",
            a.rows_suppressed,
            &format!(
                "people whom this night and the earlier ones single out together: their \
                 values of {} moved ({} people)",
                a.columns_moved.join(", "),
                n(a.subjects_suppressed)
            ),
        );
    }
    if let Some((r, f)) = facts {
        removed(
            "facts too rare",
            f.rows,
            &format!(
                "a person's facts that fewer than k people share, alone or with {} \
                 (known_events = {}; {} facts of {} people)",
                match r.known_events {
                    2 => "another of theirs".to_string(),
                    m => format!("up to {} others of theirs", m.saturating_sub(1)),
                },
                r.known_events,
                n(f.facts),
                n(f.people)
            ),
        );
    }
    h.push_str("</table>\n");
}

/// What a few known facts single out in the written table: in red when anyone is, since k per
/// class does not prevent it.
fn exposure(h: &mut String, t: &TableReport) {
    let Some(e) = &t.exposure else { return };
    let exposed = e.singled_out_by.iter().any(|s| s.share > 0.0);
    let shares = e
        .singled_out_by
        .iter()
        .map(|s| format!("{} → {:.1}%", s.known_facts, 100.0 * s.share))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        h,
        "<p class=\"exposure{}\">Known facts (distinct quasi-identifier combinations of a person's \
         rows) that single a person out: {shares} of a sample of {} people.{}</p>",
        if exposed { " exposed" } else { "" },
        n(e.sample_people),
        if exposed {
            " k per class does not stop this: someone who knows that many of a person's facts \
             finds them alone."
        } else {
            ""
        }
    );
}

/// What the earlier nights and this one say together (see [`crate::protect::nights`]).
fn across_nights(h: &mut String, t: &TableReport) {
    let Some(a) = &t.across_nights else { return };
    if let Some(why) = &a.not_compared {
        let _ = writeln!(
            h,
            "<p class=\"nights\">Across nights: not compared ({}).</p>",
            esc(why)
        );
        return;
    }
    if a.nights_compared == 0 {
        let _ = writeln!(
            h,
            "<p class=\"nights\">Across nights: the first night of this output; the next \
             nights are checked against it.</p>"
        );
        return;
    }
    let _ = write!(
        h,
        "<p class=\"nights\">Across nights: with the {} {} before, {} people compared; \
         {} classes of what the nights say together, the smallest of {} people.",
        n(u64::from(a.nights_compared)),
        if a.nights_compared == 1 {
            "night"
        } else {
            "nights"
        },
        n(a.people_compared),
        n(a.classes_checked),
        a.smallest_class.map_or("none".into(), n)
    );
    if a.subjects_suppressed > 0 {
        let _ = write!(
            h,
            " To get there, {} people ({} rows) were suppressed: their values of {} moved \
             between nights.",
            n(a.subjects_suppressed),
            n(a.rows_suppressed),
            a.columns_moved
                .iter()
                .map(|c| format!("<code>{}</code>", esc(c)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    h.push_str("</p>\n");
}

/// What the release holds for a linking or k^m table, as counted from the written files.
fn release(h: &mut String, t: &TableReport) {
    let Some(r) = &t.release else { return };
    let joined = r
        .linked_to
        .as_ref()
        .map(|l| format!(", joined to {} on the pseudonym", esc(l)))
        .unwrap_or_default();
    let fewest = r
        .shared
        .iter()
        .map(|s| {
            format!(
                "{} {} → {}",
                s.known_facts,
                if s.known_facts == 1 { "fact" } else { "facts" },
                s.smallest.map_or("nobody has as many".into(), n)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let under: u64 = r.shared.iter().map(|s| s.people_under_k).sum();
    let _ = write!(
        h,
        "<p class=\"release\">The release, read back from the written files{joined}: \
         k<sup>{}</sup> holds ({} people under k); the fewest people sharing {fewest}.",
        r.known_events,
        n(under)
    );
    if let Some(f) = &r.facts_suppressed {
        let _ = write!(
            h,
            " To get there, {} facts too rare ({} rows) of {} people were suppressed.",
            n(f.facts),
            n(f.rows),
            n(f.people)
        );
    }
    h.push_str("</p>\n");
}

/// The risk, model and loss figures of a table with quasi-identifiers.
fn figures(h: &mut String, t: &TableReport) {
    h.push_str("<table class=\"figures\">");
    let mut figure = |what: &str, v: Option<f64>, how: &str| {
        if let Some(v) = v {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(what),
                fmt_f(v),
                esc(how)
            );
        }
    };
    figure(
        "highest re-identification risk",
        t.max_risk,
        "1 / the smallest class (prosecutor model)",
    );
    figure(
        "average re-identification risk",
        t.avg_risk,
        "classes / people in them",
    );
    figure(
        "share of rows at risk",
        t.share_at_risk.filter(|_| t.risk_threshold.is_some()),
        &format!(
            "{} rows in classes whose risk is above {} (risk_threshold)",
            n(t.rows_at_risk),
            fmt_f(t.risk_threshold.unwrap_or_default())
        ),
    );
    figure(
        "journalist risk",
        t.journalist_risk,
        "the export is the population: the prosecutor's highest",
    );
    figure(
        "marketer risk",
        t.marketer_risk,
        "share of people matched when everyone is: classes / people",
    );
    for s in &t.sensitive {
        for (what, v, how) in [
            (
                "fewest distinct values in a class",
                s.achieved.min_distinct.map(|v| v as f64),
                "distinct l-diversity achieved",
            ),
            (
                "lowest entropy l of a class",
                s.achieved.min_entropy_l,
                "exp(entropy of its values): entropy l-diversity achieved",
            ),
            (
                "largest distance to the table's values",
                s.achieved.max_distance,
                if s.ordered {
                    "t-closeness achieved (ordered distance)"
                } else {
                    "t-closeness achieved (equal distance)"
                },
            ),
        ] {
            figure(&format!("{}: {what}", s.column), v, how);
        }
    }
    figure(
        "information loss",
        t.loss,
        "Iyengar's loss, 0 (none) to 1 (all), of the chosen levels",
    );
    figure(
        "non-uniform entropy",
        t.entropy,
        "ARX's metric of the chosen levels",
    );
    figure(
        "discernibility",
        t.discernibility,
        "sum over rows of their class's size",
    );
    h.push_str("</table>\n");
}

/// The output columns, where they came from, and how many of their values could not be read
/// (made null) or were not in their hierarchy (sent to its top, `*`): two different things to
/// mend, an export or a hierarchy.
fn columns(h: &mut String, t: &TableReport) {
    h.push_str("<h3>Columns</h3><table class=\"columns\"><tr><th>output</th><th>from</th><th>action</th><th>method</th><th>role</th><th>unreadable</th><th>not in the hierarchy (→ <code>*</code>)</th></tr>");
    for (out, c) in &t.columns {
        let unreadable = t.invalid_values.get(out).copied().unwrap_or(0);
        let unmapped = t.unmapped_values.get(out).copied().unwrap_or(0);
        let role = serde_json::to_value(c.role)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(out),
            esc(&c.input),
            esc(c.action),
            esc(c.method.unwrap_or("-")),
            esc(&role),
            n(unreadable),
            if c.method == Some("hierarchy") {
                n(unmapped)
            } else {
                "-".to_string()
            }
        );
    }
    h.push_str("</table>\n");
    if !t.dropped.is_empty() {
        let _ = writeln!(
            h,
            "<p>Dropped: {}.</p>",
            t.dropped
                .iter()
                .map(|d| format!("<code>{}</code>", esc(d)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// The suppressed quasi-identifier combinations by number of people (counts, never values).
fn suppressed(h: &mut String, t: &TableReport) {
    if t.suppressed_classes.is_empty() {
        h.push_str("<p>No combination was suppressed.</p>");
        return;
    }
    h.push_str(
        "<table class=\"suppressed\"><tr><th>suppressed combinations of</th>\
         <th>combinations</th><th>people</th><th>rows</th></tr>",
    );
    for b in &t.suppressed_classes {
        let _ = write!(
            h,
            "<tr><td>{} {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            b.people,
            if b.people == 1 { "person" } else { "people" },
            n(b.classes),
            n(b.classes * b.people),
            n(b.rows)
        );
    }
    h.push_str("</table>\n");
}

/// The class-size distribution as an SVG bar chart: one bar a bucket, its height the number of
/// classes, labelled with the bucket's range and count.
fn class_chart(h: &mut String, t: &TableReport) {
    if t.class_sizes.is_empty() {
        h.push_str("<p>No class was written.</p>\n");
        return;
    }
    let (bar, gap, height, top, bottom) = (56.0, 12.0, 160.0, 20.0, 36.0);
    let width = t.class_sizes.len() as f64 * (bar + gap) + gap;
    let most = t
        .class_sizes
        .iter()
        .map(|b| b.classes)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let _ = write!(
        h,
        "<figure><svg class=\"chart\" role=\"img\" aria-label=\"classes by number of people\" \
         width=\"{w}\" height=\"{hh}\" viewBox=\"0 0 {w} {hh}\">",
        w = width,
        hh = top + height + bottom
    );
    for (i, b) in t.class_sizes.iter().enumerate() {
        let x = gap + i as f64 * (bar + gap);
        let hgt = (b.classes as f64 / most * height).max(if b.classes > 0 { 1.0 } else { 0.0 });
        let y = top + height - hgt;
        let _ = write!(
            h,
            "<rect class=\"bar\" x=\"{x}\" y=\"{y:.1}\" width=\"{bar}\" height=\"{hgt:.1}\"><title>{} classes of {}–{} people</title></rect>\
             <text x=\"{cx}\" y=\"{ty:.1}\" text-anchor=\"middle\" class=\"count\">{}</text>\
             <text x=\"{cx}\" y=\"{ly}\" text-anchor=\"middle\" class=\"label\">{}–{}</text>",
            b.classes,
            b.from,
            b.to - 1,
            b.classes,
            b.from,
            b.to - 1,
            cx = x + bar / 2.0,
            ty = y - 4.0,
            ly = top + height + 16.0,
        );
    }
    h.push_str("</svg><figcaption>Written classes by number of people (buckets doubling from k).</figcaption></figure>\n");
}

/// A share as a percentage: two decimals under 10% (suppression is read against limits of a
/// few percent), one above.
fn pct(share: f64) -> String {
    let p = 100.0 * share;
    if p < 10.0 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

fn n(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

fn fmt_f(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.001 {
        format!("{v:.2e}")
    } else {
        format!("{v:.4}")
    }
}

/// HTML-escaped text.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}\
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;font-size:.9em}dt{color:#666}dd{margin:0;word-break:break-all}\
table{border-collapse:collapse;margin:.6em 0}td,th{border-bottom:1px solid #eee;padding:.25em .7em;text-align:left}\
td.num{text-align:right;font-variant-numeric:tabular-nums}\
svg.chart rect.bar{fill:#3b6ea5}svg.chart text{font:12px system-ui,sans-serif;fill:#333}\
p.exposure.exposed{color:#b00020;font-weight:600}figure{margin:.5em 0}figcaption{font-size:.85em;color:#666}code{font-size:.92em}\
p.verdict{padding:.5em .8em;border-radius:4px}p.verdict.pass{background:#e6f4ea;color:#0d652d}\
p.verdict.fail{background:#fce8e6;color:#a50e0e;font-size:1.1em}p.previous{color:#444}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_groups() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(n(1234567), "1\u{202f}234\u{202f}567");
        assert_eq!(n(999), "999");
    }
}
