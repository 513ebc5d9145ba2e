//! `csv_check::first_fault` on any bytes: never a panic. Differential invariant: whatever the
//! checker accepts (non-empty), the `csv` crate (strict about field counts, header on) reads to
//! the end without an error, every record with the header's field count. The checker exists so
//! that only input every parser reads alike gets in; a file it passes that `csv` rejects or
//! reads with other field counts is a hole in it.
#![no_main]

use anonymize::read::csv_check::first_fault;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fault = first_fault(data, b',');
    if fault.is_some() || data.is_empty() {
        return;
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .has_headers(true)
        .from_reader(data);
    let width = match reader.headers() {
        Ok(h) => h.len(),
        Err(e) => panic!("first_fault passed {data:?}, but csv cannot read its header: {e}"),
    };
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(r) => assert_eq!(
                r.len(),
                width,
                "first_fault passed {data:?}, but csv reads record {} with {} fields where the \
                 header has {width}",
                i + 1,
                r.len()
            ),
            Err(e) => panic!(
                "first_fault passed {data:?}, but csv fails on record {}: {e}",
                i + 1
            ),
        }
    }
});
