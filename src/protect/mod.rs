//! Protection stages that decide which rows may leave: [`erasure`] requests first, then
//! [`retention`] (rows too old to keep are gone before anything else sees them), then [`kanon`]
//! (rows of equivalence classes with fewer than k distinct people are suppressed, within a
//! limit), with the levels chosen by [`search`] (via [`optimize`]) when the table asks for it;
//! [`leaks`] scans what is about to be written.
//!
//! The stages are planned as passes over the input so that memory stays flat: the first pass
//! streams only the quasi-identifiers and the subject into class counts (a searching table
//! makes one more such pass, over its finest values); the run then decides what to suppress and
//! the last pass streams the rows through to the writer, leaving out erased and expired rows and
//! the suppressed classes.

pub mod bad_rows;
pub mod erasure;
pub mod kanon;
pub mod leaks;
pub mod optimize;
pub mod retention;
pub mod search;

/// Internal column names used between passes; input columns may not start with `__anonymize`.
pub(crate) const STATE: &str = "__anonymize_state";
pub(crate) const SUBJECT: &str = "__anonymize_subject";
pub(crate) const ROWS: &str = "__anonymize_rows";
pub(crate) const SUBJECTS: &str = "__anonymize_subjects";
/// The two halves of a class's fingerprint (see [`kanon::ClassKey`]).
pub(crate) const CLASS_KEYS: [&str; 2] = ["__anonymize_class_a", "__anonymize_class_b"];

/// Rows that may be suppressed: `share` of `rows`, rounded down. The tolerance keeps
/// `0.29 × 100` at 29 rows, not 28 (0.29 has no exact binary form).
pub fn allowed_rows(share: f64, rows: u64) -> u64 {
    (share * rows as f64 + 1e-9).floor() as u64
}
