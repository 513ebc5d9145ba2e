//! `anonymize schema`: prints the JSON Schema of job files, made from the job file's own types
//! and their documentation, so that editors can check and complete job files as they are
//! typed.
//!
//! Example:
//! ```text
//! $ anonymize schema > jobs/job.schema.json
//! ```
//! With taplo (VS Code's Even Better TOML, or `taplo check`), a job file picks the schema up
//! from its first line, `#:schema ./job.schema.json`, as the shipped job does. The schema checks
//! the shape (keys, types, allowed values); `anonymize check` checks everything else (which
//! keys a method needs, that the inputs exist, that the key is there).

use crate::error::Error;

/// Print the JSON Schema of job files (for editors).
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  anonymize schema > jobs/job.schema.json")]
pub struct Args {}

pub fn execute(_: Args) -> Result<(), Error> {
    crate::say!("{}", text())
}

/// The schema as pretty-printed JSON.
pub fn text() -> String {
    let mut schema = schemars::schema_for!(crate::job::spec::JobSpec);
    schema.insert("title".into(), "anonymize job file (jobs/*.toml)".into());
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
