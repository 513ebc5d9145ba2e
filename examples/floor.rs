//! The floor of a nightly run: the same CSV exports read and written as Parquet (zstd level 3,
//! full statistics, the job's row groups), with no transformation at all, through the same
//! polars and the same streaming engine as the job. `benches/run.sh` times it beside
//! `anonymize run`; the ratio job / floor is what anonymizing adds to moving the data.
//!
//! ```sh
//! cargo run --release --example floor -- 'data/users/*.csv' 'data/activity/*.csv' out/
//! ```
//!
//! Columns are read as text, as the job reads them (types are the job's business), so both
//! parse the same bytes.

use std::sync::Arc;

use polars::prelude::*;

// The same allocator as the `anonymize` binary, so that the ratio compares the work, not the
// allocators.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn copy(pattern: &str, out: &std::path::Path) -> PolarsResult<()> {
    // The header, for an all-text schema like the job's.
    let first = glob::glob(pattern)
        .map_err(|e| polars_err!(ComputeError: "{e}"))?
        .flatten()
        .next()
        .ok_or_else(|| polars_err!(ComputeError: "{pattern} matches no file"))?;
    let header = csv::Reader::from_path(&first)
        .and_then(|mut r| r.headers().cloned())
        .map_err(|e| polars_err!(ComputeError: "{e}"))?;
    let schema = Arc::new(Schema::from_iter(
        header
            .iter()
            .map(|c| Field::new(c.into(), DataType::String)),
    ));
    let lf = LazyCsvReader::new(PlRefPath::new(pattern))
        .with_has_header(true)
        .with_schema(Some(schema))
        .finish()?;
    // The job's own writer settings, without its metadata.
    let options = anonymize::write::parquet_options(Vec::new())?;
    anonymize::write::sink_parquet(lf, out, options)?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [users, activity, out] = args.as_slice() else {
        return Err("usage: floor USERS_GLOB ACTIVITY_GLOB OUT_DIR".into());
    };
    let out = std::path::Path::new(out);
    std::fs::create_dir_all(out)?;
    copy(users, &out.join("users.parquet"))?;
    copy(activity, &out.join("activity.parquet"))?;
    Ok(())
}
