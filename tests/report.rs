//! The HTML run report, as a person meets it: a page beside the JSON report, self-contained,
//! with the report's numbers and a class-size chart per table, rendered by a real browser.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn project() -> Project {
    let p = Project::small_unlinked();
    // Free text from the job reaches the page: it must arrive as text, not markup.
    p.edit_job(|j| {
        j.replace(
            "purpose = \"Marketing research",
            "purpose = \"<b>bold</b> & research: Marketing research",
        )
    });
    p.run(KEY).assert().success();
    p
}

/// A table's section of the page.
fn table_section<'a>(html: &'a str, table: &str) -> &'a str {
    html.split(&format!("id=\"table-{table}\""))
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap()
}

fn page(p: &Project) -> PathBuf {
    p.out().join(format!("_reports/run_date={RUN_DATE}.html"))
}

#[test]
fn the_page_sits_beside_the_json_report_and_needs_nothing_else() {
    let p = project();
    let html = std::fs::read_to_string(page(&p)).unwrap();
    let report = report_in(&p.out());
    // Nothing fetched from anywhere, nothing run.
    for banned in ["http://", "https://", "<script", "<link", "src=", "url("] {
        assert!(!html.contains(banned), "{banned}");
    }
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; research"));
    assert!(!html.contains("<b>bold</b>"));
    let mut rows_with_unmapped = 0;
    for (name, t) in report["tables"].as_object().unwrap() {
        assert!(html.contains(&format!("<section class=\"table\" id=\"table-{name}\">")));
        // One bar a class-size bucket, as in the JSON.
        let section = table_section(&html, name);
        let buckets = t["class_sizes"].as_array().unwrap();
        assert!(!buckets.is_empty());
        assert_eq!(
            section.matches("<rect class=\"bar\"").count(),
            buckets.len()
        );
        let classes: u64 = buckets.iter().map(|b| b["classes"].as_u64().unwrap()).sum();
        assert_eq!(classes, t["equivalence_classes"].as_u64().unwrap());
        assert!(section.contains("highest re-identification risk"));
        // The suppressed combinations, by number of people: counts that add up.
        let suppressed = t["suppressed_classes"].as_array().unwrap();
        let rows: u64 = suppressed.iter().map(|b| b["rows"].as_u64().unwrap()).sum();
        assert_eq!(rows, t["rows_suppressed"].as_u64().unwrap());
        assert!(suppressed.iter().all(|b| b["people"].as_u64().unwrap() < 3));
        if rows > 0 {
            assert!(section.contains("suppressed combinations of"));
        }
        // Values not in a hierarchy (sent to `*`) are named so, apart from unreadable ones.
        assert!(section.contains("not in the hierarchy"));
        for (column, count) in t["unmapped_values"].as_object().unwrap() {
            let count = count.as_u64().unwrap();
            if count > 0 && count < 1000 {
                rows_with_unmapped += 1;
                let row = section
                    .split(&format!("<tr><td><code>{column}</code></td>"))
                    .nth(1)
                    .unwrap()
                    .split("</tr>")
                    .next()
                    .unwrap();
                assert!(
                    row.ends_with(&format!("<td class=\"num\">{count}</td>")),
                    "{row}"
                );
            }
        }
        let min = t["min_class_subjects"].as_u64().unwrap();
        assert_eq!(t["max_risk"].as_f64().unwrap(), 1.0 / min as f64);
    }
    assert!(
        rows_with_unmapped > 0,
        "no column with values outside its hierarchy to show"
    );
    // A re-run of the date replaces the page with the data (the commit moves both).
    std::fs::write(page(&p), "stale").unwrap();
    p.run(KEY).assert().success();
    assert_ne!(std::fs::read_to_string(page(&p)).unwrap(), "stale");
}

/// Headless Chromium renders the page, and the charts' bars are on the screenshot (pixels of
/// the bar colour). The screenshot is as tall as the page: taller than the 2400 px it used to
/// be cut at, its last rows are the page's background and the page's last line is just above
/// them, so the end of the page is on it. Skipped where Chromium is not installed (.ci/run
/// installs it).
#[test]
fn headless_chromium_renders_the_charts() {
    if missing("chromium") {
        return;
    }
    let p = project();
    let png = p.path().join("report.png");
    screenshot(&page(&p), &png);
    let bars = pixels_of(&png, [0x3b, 0x6e, 0xa5]);
    // Two tables, several bars each, tens of pixels wide and up to 160 high.
    assert!(bars > 5_000, "{bars} bar pixels");

    let (info, buf) = decoded(&png);
    assert_eq!(info.width, 1200);
    assert!(info.height > 2400, "{} px tall", info.height);
    let rows: Vec<&[u8]> = buf.chunks(info.line_size).collect();
    let channels = info.color_type.samples();
    let background = &rows[rows.len() - 1][..3];
    let blank = |row: &&[u8]| row.chunks(channels).all(|px| &px[..3] == background);
    let last_drawn = rows.iter().rposition(|r| !blank(r)).unwrap();
    // Below the last line, the page's bottom margin (2em and a paragraph's), not a cut line
    // and not a tall empty band.
    let margin = rows.len() - 1 - last_drawn;
    assert!(
        (16..120).contains(&margin),
        "{margin} px below the page's last line"
    );
}

/// `scripts/report-screenshot.sh PAGE PNG`, as a person runs it.
fn screenshot(page: &Path, png: &Path) {
    let out = std::process::Command::new("bash")
        .arg(repo().join("scripts/report-screenshot.sh"))
        .arg(page)
        .arg(png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The screenshot's header and its pixels, row after row.
fn decoded(png: &Path) -> (png::OutputInfo, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info, buf)
}

/// Pixels of `png` within a small distance of `rgb`.
fn pixels_of(png: &Path, rgb: [u8; 3]) -> usize {
    let (info, buf) = decoded(png);
    let channels = info.color_type.samples();
    buf.chunks(channels)
        .filter(|px| {
            px.len() >= 3
                && px[..3]
                    .iter()
                    .zip(rgb)
                    .all(|(a, b)| (i16::from(*a) - i16::from(b)).abs() <= 6)
        })
        .count()
}

/// What a privacy officer reads first: a PASS headline per table with k, the suppression as a
/// share of its limit and the retention; levels by their meaning; the change since the previous
/// night. A night that fails (exit 4) leaves the data alone and writes a FAILED report beside
/// the others, which `verify` accepts and the next night does not compare with.
#[test]
fn headlines_previous_nights_and_failed_nights() {
    let p = project();
    p.run_on(KEY, "2026-11-21").assert().success();
    let second = p.out().join("_reports/run_date=2026-11-21.html");
    let html = std::fs::read_to_string(&second).unwrap();
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.out().join("_reports/run_date=2026-11-21.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["status"], "committed");
    assert_eq!(report["exit_code"], 0);
    for (name, t) in report["tables"].as_object().unwrap() {
        let section = table_section(&html, name);
        let share = t["rows_suppressed"].as_f64().unwrap()
            / (t["rows_suppressed"].as_f64().unwrap() + t["rows_out"].as_f64().unwrap());
        assert!((t["suppressed_share"].as_f64().unwrap() - share).abs() < 1e-12);
        assert!(
            (t["share_of_limit"].as_f64().unwrap()
                - share / t["max_suppression"].as_f64().unwrap())
            .abs()
                < 1e-9
        );
        assert!(
            section.contains("<p class=\"verdict pass\"><b>PASS</b> k = 3 holds"),
            "{name}"
        );
        assert!(section.contains("against a 30.0% limit"), "{name}");
        if t["retention_days"].is_null() {
            assert!(section.contains("no retention limit"), "{name}");
        } else {
            assert_eq!(t["retention_days"], 1826);
            assert!(section.contains("retention: rows older than 1\u{202f}826 days removed"));
        }
        for (column, meaning) in t["level_meanings"].as_object().unwrap() {
            let level = &t["levels"][column];
            assert!(
                section.contains(&format!(
                    "<code>{column}</code> (level {level} = {})",
                    meaning.as_str().unwrap()
                )),
                "{name}.{column}"
            );
        }
        // The same export a night later: the previous night's figures, and the change.
        let before = &t["previous_night"];
        assert_eq!(before["run_date"], RUN_DATE);
        let (now, then) = (
            t["rows_out"].as_i64().unwrap(),
            before["rows_out"].as_i64().unwrap(),
        );
        let change = match now - then {
            0 => "=".to_string(),
            d if d > 0 => format!("+{d}"),
            d => format!("−{}", -d),
        };
        assert!(
            section.contains(&format!("Against the previous night ({RUN_DATE}): ")),
            "{name}"
        );
        assert!(
            section.contains(&format!("rows written ({change})")),
            "{name}: {change}"
        );
    }

    // A night that cannot meet k: exit 4, no data, a failed report on record.
    p.edit_job(|j| j.replace("k = 3", "k = 100000"));
    let before: Vec<_> = p
        .snapshot()
        .into_iter()
        .filter(|(f, _)| !f.to_string_lossy().contains("_reports"))
        .collect();
    p.run_on(KEY, "2026-11-22").assert().code(4);
    let after: Vec<_> = p
        .snapshot()
        .into_iter()
        .filter(|(f, _)| !f.to_string_lossy().contains("_reports"))
        .collect();
    assert_eq!(after, before, "a failed night touched the data");
    let failed: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.out().join("_reports/run_date=2026-11-22.failed.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["exit_code"], 4);
    assert!(failed["error"].as_str().unwrap().contains("k = 100000"));
    assert!(!p.out().join("_reports/run_date=2026-11-22.json").exists());
    let page =
        std::fs::read_to_string(p.out().join("_reports/run_date=2026-11-22.failed.html")).unwrap();
    assert!(page.contains("<b>FAILED</b> (exit code 4)"));
    p.edit_job(|j| j.replace("k = 100000", "k = 3"));
    p.verify().assert().success();
    // The next night compares with the last committed one, not the failed one.
    p.run_on(KEY, "2026-11-23").assert().success();
    let next: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.out().join("_reports/run_date=2026-11-23.json")).unwrap(),
    )
    .unwrap();
    for t in next["tables"].as_object().unwrap().values() {
        assert_eq!(t["previous_night"]["run_date"], "2026-11-21");
    }

    // Both pages in a real browser: the green PASS and the red FAILED banners are drawn.
    if missing("chromium") {
        return;
    }
    for (html, colour) in [
        (second, [0xe6, 0xf4, 0xea]),
        (
            p.out().join("_reports/run_date=2026-11-22.failed.html"),
            [0xfc, 0xe8, 0xe6],
        ),
    ] {
        let png = p.path().join("shot.png");
        screenshot(&html, &png);
        let banner = pixels_of(&png, colour);
        assert!(banner > 5_000, "{}: {banner} banner pixels", html.display());
    }
}
