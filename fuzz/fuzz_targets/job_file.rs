//! `Job::parse` on any bytes: a job file that is not UTF-8, not TOML, of the wrong shape or
//! meaning is an error, never a panic.
//!
//! Relative paths in a job file resolve against its directory; the job "lives" at
//! `fuzz/job.toml` and the process runs from the repository root (set in `init`), so the seeds'
//! hierarchy files resolve: `hierarchies/x.csv` is `fuzz/hierarchies/x.csv`, and `adult.toml`'s
//! `../../shared/external/adult/...` is the Adult data beside the repository.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        std::env::set_current_dir(root).expect("cd to the repository root");
    },
    |data: &[u8]| {
        let _ = anonymize::job::Job::parse(Path::new("fuzz/job.toml"), data);
    }
);
