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
        let section = html
            .split(&format!("id=\"table-{name}\""))
            .nth(1)
            .unwrap()
            .split("</section>")
            .next()
            .unwrap();
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
    let out = std::process::Command::new("bash")
        .arg(repo().join("scripts/report-screenshot.sh"))
        .arg(page(&p))
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
