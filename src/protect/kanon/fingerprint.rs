//! Classes as 128-bit fingerprints of their quasi-identifier values, under seeds drawn at random
//! for each run.

use super::*;

/// A class as a 128-bit fingerprint of its quasi-identifier values: two 64-bit hashes of the
/// values (each with its length, or a null marker), under two seeds drawn at random for the
/// run. Distinct classes that collide would be counted as one, and a class under k could
/// hide in a larger one; at 128 bits that takes about 2^64 classes, and seeds nobody knows
/// in advance leave no way to construct colliding values on purpose.
#[derive(Debug, Clone, Copy)]
pub struct ClassKey {
    seeds: [u64; 2],
}

impl ClassKey {
    /// A key with fresh random seeds: one a run, shared by its counts and its checks.
    pub fn random() -> ClassKey {
        ClassKey {
            seeds: [rand::random(), rand::random()],
        }
    }

    /// A key with given seeds: fixed ones for figures that must come out the same on a re-run
    /// (the exposure estimate); for what the decision counts, only seeds nobody may know (derived
    /// from the job's key: `Key::class_seeds`).
    pub fn with_seeds(seeds: [u64; 2]) -> ClassKey {
        ClassKey { seeds }
    }

    /// The fingerprint of the rows' classes over the `qis` columns, as the [`CLASS_KEYS`]
    /// columns (none when there are no quasi-identifiers).
    pub fn exprs(&self, qis: &[String]) -> Vec<Expr> {
        if qis.is_empty() {
            return Vec::new();
        }
        let inputs: Vec<Expr> = qis.iter().map(|q| col(q.as_str())).collect();
        self.seeds
            .iter()
            .zip(CLASS_KEYS)
            .map(|(&seed, name)| {
                map_multiple(
                    move |columns: &mut [Column]| class_hashes(columns, seed),
                    inputs.clone(),
                    |_, _| Ok(Field::new(PlSmallStr::EMPTY, DataType::UInt64)),
                )
                .alias(name)
            })
            .collect()
    }
}

/// One hash a row over the columns' values as text (injective: each value is written with its
/// length, a null as a marker of its own). 64-bit unsigned columns (a linked table's class
/// fingerprints) are written as their eight bytes: casting them to text cost more than the rest.
pub(super) fn class_hashes(columns: &[Column], seed: u64) -> PolarsResult<Column> {
    use std::hash::BuildHasher;
    enum Values<'a> {
        Text(Box<dyn Iterator<Item = Option<&'a str>> + 'a>),
        Int(Box<dyn Iterator<Item = Option<u64>> + 'a>),
    }
    let hasher = foldhash::quality::FixedState::with_seed(seed);
    let text = columns
        .iter()
        .map(|c| match c.dtype() {
            DataType::UInt64 => Ok(c.clone()),
            _ => c.cast(&DataType::String),
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    let rows = columns.first().map_or(0, |c| c.len());
    let mut values = text
        .iter()
        .map(|c| {
            Ok(match c.dtype() {
                DataType::UInt64 => Values::Int(Box::new(c.u64()?.iter())),
                _ => Values::Text(Box::new(c.str()?.iter())),
            })
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    let mut row = Vec::with_capacity(128);
    let mut hashes = Vec::with_capacity(rows);
    for _ in 0..rows {
        row.clear();
        for v in values.iter_mut() {
            match v {
                Values::Text(it) => match it.next().flatten() {
                    Some(v) => {
                        row.push(1);
                        row.extend_from_slice(&(v.len() as u64).to_le_bytes());
                        row.extend_from_slice(v.as_bytes());
                    }
                    None => row.push(0),
                },
                Values::Int(it) => match it.next().flatten() {
                    Some(v) => {
                        row.push(1);
                        row.extend_from_slice(&v.to_le_bytes());
                    }
                    None => row.push(0),
                },
            }
        }
        hashes.push(hasher.hash_one(&row[..]));
    }
    Ok(UInt64Chunked::from_vec(PlSmallStr::EMPTY, hashes).into_column())
}
