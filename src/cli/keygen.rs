//! `anonymize keygen`: prints a fresh random key (32 random bytes as 64 hex characters).
//!
//! Example:
//! ```text
//! $ anonymize keygen > /etc/anonymize/key && chmod 600 /etc/anonymize/key
//! $ export ANONYMIZE_KEY=$(anonymize keygen)
//! ```
//! Keep the key as long as pseudonyms must stay joinable across nights; a new key gives new
//! pseudonyms, on purpose (key rotation breaks linkage with older releases).

use crate::error::Error;

/// Print a fresh random pseudonym key.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  export ANONYMIZE_KEY=$(anonymize keygen)")]
pub struct Args {}

pub fn execute(_: Args) -> Result<(), Error> {
    crate::say!("{}", crate::job::key::generate())
}
