//! `Hierarchy::parse` on any bytes, with both delimiters a job may give (`;`, the ARX default,
//! and `,`): an error, never a panic. When the file parses, `levels`, `top` and `lookup` are
//! called for values taken from the input (the first field of its first lines) and for a few
//! fixed ones, at every level the hierarchy has (lookup's contract: `level < levels()`).
#![no_main]

use anonymize::method::hierarchy::Hierarchy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for delimiter in [b';', b','] {
        let Ok(h) = Hierarchy::parse(data, delimiter) else {
            continue;
        };
        let levels = h.levels();
        let top = h.top().to_string();
        let mut values: Vec<String> = data
            .split(|&b| b == b'\n')
            .take(8)
            .map(|line| {
                let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
                let first = line.split(|&b| b == delimiter).next().unwrap_or(line);
                String::from_utf8_lossy(first).into_owned()
            })
            .collect();
        values.extend(["".to_string(), "*".to_string(), top]);
        for v in &values {
            for level in 0..levels.min(16) {
                let _ = h.lookup(v, level);
            }
            let _ = h.lookup(v, levels - 1);
        }
    }
});
