//! `csv_check::faults`, as the reader uses it to skip malformed rows (`on_bad_row = "skip"`):
//! never a panic, and
//! - its first fault is `first_fault`'s;
//! - the skippable faults' byte ranges are in order, disjoint and inside the input (the reader's
//!   `copy_without` subtracts them: out of order, it underflows);
//! - the input without those ranges (the "repaired copy" the engine reads instead) has no fault
//!   left, and the `csv` crate reads it like `csv_check` does (no error, the header's width).
//!
//! Input that starts with a malformed header is fatal, not repaired: only the first two hold.
#![no_main]

use anonymize::read::csv_check::{Fault, faults, first_fault};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut found: Vec<Fault> = Vec::new();
    faults(data, b',', |f| {
        let header = f.header;
        found.push(f);
        !header
    });
    assert_eq!(
        first_fault(data, b','),
        found.first().map(|f| f.what.clone()),
        "first_fault and faults disagree on {data:?}"
    );
    if found.last().is_some_and(|f| f.header) {
        return;
    }
    let len = data.len() as u64;
    let mut at = 0u64;
    let mut repaired = Vec::with_capacity(data.len());
    for f in &found {
        let (start, end) = f.bytes;
        assert!(
            at <= start && start <= end && end <= len,
            "fault byte ranges out of order or outside the input ({len} bytes): {:?} after {at}, \
             in {data:?}; faults {found:?}",
            f.bytes
        );
        repaired.extend_from_slice(&data[at as usize..start as usize]);
        at = end;
    }
    repaired.extend_from_slice(&data[at as usize..]);
    if found.is_empty() {
        return; // nothing repaired: the csv_check target covers the input as it is
    }
    if let Some(left) = first_fault(&repaired[..], b',') {
        panic!(
            "the repaired copy still has a fault ({left}); input {data:?}, faults {found:?}, \
             repaired {repaired:?}"
        );
    }
    if repaired.is_empty() {
        return;
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .has_headers(true)
        .from_reader(&repaired[..]);
    let width = match reader.headers() {
        Ok(h) => h.len(),
        Err(e) => panic!("csv cannot read the repaired copy's header: {e}; repaired {repaired:?}"),
    };
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(r) => assert_eq!(
                r.len(),
                width,
                "csv reads record {} of the repaired copy {repaired:?} with {} fields, header {width}",
                i + 1,
                r.len()
            ),
            Err(e) => panic!("csv fails on record {} of the repaired copy {repaired:?}: {e}", i + 1),
        }
    }
});
