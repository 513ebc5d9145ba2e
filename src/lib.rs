//! anonymize: raw user and activity exports in, de-identified k-anonymous Parquet out.
//!
//! The data flows one way and the modules follow it: [`method`] (the generalizing methods, one
//! file each, engine-free) → [`job`] (job file types and validation) → [`read`] →
//! [`transform`] (the actions on polars) → [`protect`] (retention, k-anonymity) →
//! [`write`] (atomic hive-partitioned Parquet) → [`report`]. [`pipeline`] strings them together;
//! [`cli`] is the command line on top.

pub mod cli;
pub mod error;
pub mod files;
pub mod identifiers;
pub mod job;
pub mod logs;
pub mod method;
pub mod pipeline;
pub mod progress;
pub mod protect;
pub mod read;
pub mod report;
/// The pipeline under its former name (`run::plan`, `run::RunOptions`).
pub use pipeline as run;
pub mod sample;
pub mod scratch;
pub mod stage;
pub mod transform;
pub mod write;
