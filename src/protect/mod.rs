//! Protection stages that decide which rows may leave: [`erasure`] requests first, then
//! [`retention`] (rows too old to keep are gone before anything else sees them), then [`kanon`]
//! (rows of equivalence classes with fewer than k distinct people are suppressed, within a
//! limit), with the levels chosen by [`search`] (via [`optimize`]) or the classes cut by
//! [`mondrian`] (and written back by [`recode`]) when the table asks for it; [`models`] and
//! [`sensitive`] add l-diversity and t-closeness; [`bad_rows`] gives unreadable rows their
//! state; [`leaks`] scans what is about to be written.
//!
//! The algorithms ([`search`], [`mondrian`], the models) work on [`base`]: the counts as
//! integer codes, not the data.
//!
//! The stages are planned as passes so that memory stays flat. The first pass reads the input
//! once: erased, expired and bad rows are only counted, and the kept rows are transformed into
//! a staged file (see [`crate::stage`]). A searching table makes one more pass before it, over
//! its finest values. The staged rows are then counted into (class, person) pairs, as
//! integers. The run decides what to suppress, and the last pass streams the staged rows to the
//! writer, leaving out the suppressed classes.

pub mod bad_rows;
pub mod base;
pub mod erasure;
pub mod exposure;
pub mod joint;
pub mod kanon;
pub mod known_events;
pub mod leaks;
pub mod link;
pub mod models;
pub mod mondrian;
pub mod nights;
pub mod optimize;
pub mod recode;
pub mod retention;
pub mod search;
pub mod sensitive;

/// Internal column names used between passes; input columns may not start with `__anonymize`.
pub(crate) const STATE: &str = "__anonymize_state";
pub(crate) const SUBJECT: &str = "__anonymize_subject";
pub(crate) const ROWS: &str = "__anonymize_rows";
pub(crate) const SUBJECTS: &str = "__anonymize_subjects";
/// The two halves of a class's fingerprint (see [`kanon::ClassKey`]).
pub(crate) const CLASS_KEYS: [&str; 2] = ["__anonymize_class_a", "__anonymize_class_b"];
/// The linked table's class fingerprint of each row's person, staged beside the row (see
/// [`link`]).
pub(crate) const LINKED: [&str; 2] = ["__anonymize_linked_a", "__anonymize_linked_b"];

/// Rows that may be suppressed: `share` of `rows`, rounded down. The tolerance keeps
/// `0.29 × 100` at 29 rows, not 28 (0.29 has no exact binary form).
pub fn allowed_rows(share: f64, rows: u64) -> u64 {
    (share * rows as f64 + 1e-9).floor() as u64
}
