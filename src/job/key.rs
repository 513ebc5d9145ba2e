//! The pseudonym key: where it comes from, how long it must be, and how it stays secret.
//!
//! There is no built-in or default key: a job names an environment variable or a file, and a
//! run without a usable key refuses to start. The key's bytes live only in [`Key`], whose
//! `Debug` prints nothing of them; errors name the variable or the file, never the content.

use std::path::PathBuf;

use hmac::{KeyInit, Mac};

use crate::error::{Error, Result};

/// Shortest key accepted: HMAC-SHA256's block output size, 256 bits.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env(String),
    File(PathBuf),
}

/// Key material. Never printed, logged or written.
#[derive(Clone)]
pub struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl KeySource {
    pub fn describe(&self) -> String {
        match self {
            KeySource::Env(v) => format!("environment variable {v}"),
            KeySource::File(p) => format!("key file {}", p.display()),
        }
    }

    pub fn load(&self) -> Result<Key> {
        let raw = match self {
            KeySource::Env(var) => match std::env::var_os(var) {
                None => {
                    return Err(Error::Job(format!(
                        "no key: environment variable {var} is not set (make one with `anonymize keygen`)"
                    )));
                }
                Some(v) => v.into_encoded_bytes(),
            },
            KeySource::File(path) => {
                warn_if_others_can_read(path);
                crate::files::read(path, crate::files::Kind::Key).map_err(|e| {
                    Error::Job(format!(
                        "no key: cannot read key file {}: {e}",
                        path.display()
                    ))
                })?
            }
        };
        let key = raw.trim_ascii().to_vec();
        if key.len() < MIN_KEY_BYTES {
            return Err(Error::Job(format!(
                "the key from {} is {} bytes; at least {MIN_KEY_BYTES} are required \
                 (make one with `anonymize keygen`)",
                self.describe(),
                key.len()
            )));
        }
        Ok(Key(key))
    }
}

/// A key file others can read is a key others can use to confirm guesses: say so.
fn warn_if_others_can_read(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{:o}", mode & 0o777),
                    "the key file is readable by group or others: `chmod 600` it"
                );
            }
        }
    }
}

impl Key {
    /// Wraps key bytes, checking the length (for tests and library users).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Key> {
        let key = bytes.into();
        if key.len() < MIN_KEY_BYTES {
            return Err(Error::Job(format!(
                "the key is {} bytes; at least {MIN_KEY_BYTES} are required",
                key.len()
            )));
        }
        Ok(Key(key))
    }

    /// The key of a table whose pseudonyms must not join the job's other tables
    /// (`scope = "table"`): the HMAC of the table's name under the job's key. One-way, so a
    /// table's key tells nothing of the job's or of another table's.
    pub fn for_table(&self, table: &str) -> Key {
        Key(self
            .derive(&[b"anonymize table key v1\0", table.as_bytes()])
            .to_vec())
    }

    /// The key of one run date's pseudonyms (`scope = "run"`): the HMAC of the date under the
    /// job's key. The tables of one night share it; two nights' keys tell nothing of each
    /// other or of the job's key.
    pub fn for_run(&self, run_date: chrono::NaiveDate) -> Key {
        let date = run_date.format("%Y-%m-%d").to_string();
        Key(self
            .derive(&[b"anonymize run key v1\0", date.as_bytes()])
            .to_vec())
    }

    /// The key a pseudonymized column of `scope` is made with on `run_date`.
    pub fn for_scope(&self, scope: &super::KeyScope, run_date: chrono::NaiveDate) -> Key {
        match scope {
            super::KeyScope::Job => self.clone(),
            super::KeyScope::Table(table) => self.for_table(table),
            super::KeyScope::Run => self.for_run(run_date),
        }
    }

    /// The seeds of a run's class fingerprints (see `protect::kanon::ClassKey`): secret like
    /// the key (an input crafted to collide needs them), and the same for the same key, so that
    /// what breaks ties by fingerprint (which fact k^m removes) comes out the same on a re-run,
    /// from CSV or Parquet, in any row order.
    pub fn class_seeds(&self) -> [u64; 2] {
        let bytes = self.derive(&[b"anonymize class fingerprints v1"]);
        let seed = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_le_bytes(b)
        };
        [seed(0), seed(1)]
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// A fingerprint that tells keys apart without revealing anything of them: the HMAC of a
    /// fixed label. Two datasets with the same `key_id` have joinable pseudonyms.
    pub fn id(&self) -> String {
        hex::encode(&self.derive(&[b"anonymize key id v1"])[..8])
    }

    /// The HMAC of a label (its parts in order) under the key: every value derived from the key
    /// (a table's key, the key id, the class seeds) is one, each with its own label, so none
    /// tells anything of the key or of another.
    fn derive(&self, label: &[&[u8]]) -> [u8; 32] {
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes keys of any length");
        for part in label {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// A fresh random key for `anonymize keygen`: 32 random bytes as 64 hex characters.
pub fn generate() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_key_is_refused_and_debug_hides_it() {
        assert!(Key::new(b"too short".to_vec()).is_err());
        let k = Key::new(vec![b'x'; 32]).unwrap();
        assert_eq!(format!("{k:?}"), "Key(<redacted>)");
    }

    #[test]
    fn key_id_differs_per_key_and_is_stable() {
        let a = Key::new(vec![b'a'; 32]).unwrap();
        let b = Key::new(vec![b'b'; 32]).unwrap();
        assert_eq!(a.id(), a.clone().id());
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id().len(), 16);
    }

    #[test]
    fn generated_keys_are_long_enough_and_differ() {
        let (a, b) = (generate(), generate());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(Key::new(a.into_bytes()).is_ok());
    }
}
