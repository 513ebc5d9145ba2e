//! `hierarchy`: a value replaced by its ancestor at a level of a generalization hierarchy, in
//! ARX's file format (`value;level1;…;*`, one row a value, no header): the type, its parser and
//! the method.
//!
//! Hierarchies are how a data engineer says what "coarser" means for a column (city → region →
//! macro-region → `*`). Level 0 is the value itself. A value the hierarchy lacks goes to the top
//! level, which generalizes everything and so can never leak, and is counted, so the engineer
//! learns that the hierarchy needs a row (or, by default, its row is bad). A job is only valid
//! once its hierarchies are: they nest, and pinned levels refer to their SHA-256.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Env, Generalize, Generalizer, Method, Miss, Outcome, Output, Params};

#[derive(Debug)]
pub struct Hierarchy {
    /// value → its row (level 0 first).
    rows: HashMap<String, Vec<String>>,
    levels: usize,
    /// The top level's label (in ARX files, `*`).
    top: String,
    /// SHA-256 of the file's bytes: what a pinned level refers to.
    pub sha256: String,
}

impl Hierarchy {
    /// Reads a hierarchy file. Errors name the file and line, never a value.
    pub fn load(path: &Path, delimiter: u8) -> Result<Hierarchy, String> {
        let bytes = crate::files::read(path, crate::files::Kind::Hierarchy)
            .map_err(|e| format!("cannot read hierarchy {}: {e}", path.display()))?;
        Hierarchy::parse(&bytes, delimiter)
            .map_err(|e| format!("hierarchy {}: {e}", path.display()))
    }

    pub fn parse(bytes: &[u8], delimiter: u8) -> Result<Hierarchy, String> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(bytes);
        let mut rows = HashMap::new();
        let mut levels = 0usize;
        let mut top = None;
        for (i, record) in reader.records().enumerate() {
            let line = i + 1;
            let record = record.map_err(|e| format!("line {line}: {e}"))?;
            if record.len() == 1 && record[0].trim().is_empty() {
                continue;
            }
            if record.len() < 2 {
                return Err(format!(
                    "line {line}: a row needs the value and at least one level above it"
                ));
            }
            if levels == 0 {
                levels = record.len();
            } else if record.len() != levels {
                return Err(format!(
                    "line {line}: {} fields where the first row has {levels}; every row needs \
                     the same number of levels",
                    record.len()
                ));
            }
            let row: Vec<String> = record.iter().map(str::to_string).collect();
            let last = row[levels - 1].clone();
            match &top {
                None => top = Some(last),
                Some(t) if *t != last => {
                    return Err(format!(
                        "line {line}: the last level differs from the first row's; a hierarchy \
                         needs one top value"
                    ));
                }
                Some(_) => {}
            }
            if rows.insert(row[0].clone(), row).is_some() {
                return Err(format!(
                    "line {line}: the value appears on an earlier line too"
                ));
            }
        }
        let top = top.ok_or_else(|| "the file holds no rows".to_string())?;
        // Levels must nest: a value at one level has one ancestor at the next, or classes at
        // a level would not be unions of classes below it.
        for level in 1..levels.saturating_sub(1) {
            let mut parent: HashMap<&str, &str> = HashMap::new();
            for row in rows.values() {
                let (v, p) = (row[level].as_str(), row[level + 1].as_str());
                if parent.insert(v, p).is_some_and(|old| old != p) {
                    return Err(format!(
                        "level {level} does not nest: one of its values has two different \
                         ancestors at level {} (a hierarchy maps each value to one ancestor)",
                        level + 1
                    ));
                }
            }
        }
        Ok(Hierarchy {
            rows,
            levels,
            top,
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)),
        })
    }

    /// Number of levels, counting level 0 (the value itself).
    pub fn levels(&self) -> usize {
        self.levels
    }

    /// The value at `level`, or `None` when the hierarchy lacks the value.
    pub fn lookup(&self, value: &str, level: usize) -> Option<&str> {
        self.rows.get(value).map(|r| r[level].as_str())
    }

    pub fn top(&self) -> &str {
        &self.top
    }

    /// How many different values `level` holds.
    pub fn distinct(&self, level: usize) -> usize {
        let values: std::collections::HashSet<&str> =
            self.rows.values().map(|r| r[level].as_str()).collect();
        values.len()
    }

    /// Whether every listed value is a quantity: a plain number of at most four digits, no
    /// leading zero (`17`, `90`, `-3`, `2.5`), as Adult's ages are. Mondrian may write ranges of
    /// those; longer numbers and zero-padded ones are codes (postal codes, phone area codes),
    /// whose ranges mean nothing and may read as identifiers.
    pub fn quantities(&self) -> bool {
        fn quantity(v: &str) -> bool {
            let digits = v.strip_prefix('-').unwrap_or(v);
            let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
            !whole.is_empty()
                && whole.len() <= 4
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.bytes().all(|b| b.is_ascii_digit())
                && (whole == "0" || !whole.starts_with('0'))
        }
        !self.rows.is_empty() && self.rows.keys().all(|v| quantity(v))
    }
}

/// `method = "hierarchy"`: `file` (and its `delimiter`, default `;`); its columns are the levels,
/// named by `level_names` when the job gives them.
pub struct HierarchyMethod;

impl Method for HierarchyMethod {
    fn name(&self) -> &'static str {
        "hierarchy"
    }

    fn keys(&self) -> &'static [&'static str] {
        &["file", "delimiter", "level_names"]
    }

    fn build(&self, p: &Params<'_>) -> Result<Generalizer, String> {
        let file = p
            .file
            .clone()
            .ok_or_else(|| "method `hierarchy` needs `file`".to_string())?;
        let delimiter = match p.delimiter {
            None => b';',
            Some(d) => super::parse::single_ascii(d)
                .ok_or_else(|| format!("`delimiter` must be one ASCII character, got {d:?}"))?,
        };
        let hierarchy = Hierarchy::load(&file, delimiter)?;
        let names = match p.level_names {
            None => (0..hierarchy.levels())
                .map(|l| match l {
                    0 => "the value".to_string(),
                    l if l + 1 == hierarchy.levels() => "*".to_string(),
                    l => match hierarchy.distinct(l) {
                        1 => "1 group".to_string(),
                        n => format!("{n} groups"),
                    },
                })
                .collect(),
            Some(names) => {
                if names.len() != hierarchy.levels() {
                    return Err(format!(
                        "`level_names` names each of the hierarchy's {} levels (the columns of \
                         its file), finest first; it has {}",
                        hierarchy.levels(),
                        names.len()
                    ));
                }
                if names.iter().any(|n| n.trim().is_empty()) {
                    return Err("`level_names` holds an empty name".into());
                }
                names.to_vec()
            }
        };
        Ok(Arc::new(HierarchyLevels {
            file,
            hierarchy,
            names,
        }))
    }
}

/// A hierarchy file's columns as levels.
#[derive(Debug)]
pub struct HierarchyLevels {
    pub file: PathBuf,
    pub hierarchy: Hierarchy,
    /// A name for each level: the job's `level_names`, or the value, how many groups a level
    /// holds, and `*` at the top.
    names: Vec<String>,
}

impl Generalize for HierarchyLevels {
    fn method(&self) -> &'static str {
        "hierarchy"
    }

    fn levels(&self) -> usize {
        self.hierarchy.levels()
    }

    // The wording pins record (lock files): names are `level_name`'s business.
    fn describe(&self, level: usize) -> String {
        format!("level {level} of {}", super::file_name(&self.file))
    }

    fn level_name(&self, level: usize) -> String {
        self.names.get(level).cloned().unwrap_or_else(|| "*".into())
    }

    // A hierarchy of quantities (ages) may be cut into ranges; one of codes is climbed.
    fn ranges(&self) -> bool {
        self.hierarchy.quantities()
    }

    fn digest(&self) -> Option<&str> {
        Some(&self.hierarchy.sha256)
    }

    // Its top level is its file's last column: text like any other.
    fn output(&self, _: usize) -> Output {
        Output::Text
    }

    // The top level of a hierarchy holds one value (ARX's `*`), whatever its label.
    fn everything(&self, level: usize) -> bool {
        level + 1 >= self.levels()
    }

    // A blank is a value like any other: the file may list it, and if not it goes to the top.
    fn reads_blank(&self) -> bool {
        true
    }

    fn miss(&self) -> Miss {
        Miss::Top
    }

    fn unreadable(&self) -> String {
        format!(
            "a value the hierarchy {} does not list",
            self.file.display()
        )
    }

    fn apply(&self, level: usize, value: &str, _: &Env, out: &mut String) -> Outcome {
        match self.hierarchy.lookup(value, level) {
            Some(g) => {
                out.push_str(g);
                Outcome::Text
            }
            None => {
                out.push_str(self.hierarchy.top());
                Outcome::Unmapped
            }
        }
    }

    fn label(&self, base: Option<&str>, level: usize, out: &mut String) -> bool {
        let Some(base) = base else {
            return false;
        };
        // A value the hierarchy lacks goes to the top, as in the output.
        let h = &self.hierarchy;
        out.push_str(h.lookup(base, level).unwrap_or(h.top()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CITIES: &str = "Алматы;г. Алматы;Юг;*\nКонаев;Алматинская область;Юг;*\n";

    #[test]
    fn levels_and_lookup() {
        let h = Hierarchy::parse(CITIES.as_bytes(), b';').unwrap();
        assert_eq!(h.levels(), 4);
        assert_eq!(h.lookup("Конаев", 0), Some("Конаев"));
        assert_eq!(h.lookup("Конаев", 1), Some("Алматинская область"));
        assert_eq!(h.lookup("Конаев", 3), Some("*"));
        assert_eq!(h.lookup("Atlantis", 1), None);
    }

    /// Levels are named by `level_names`, one a column of the file; without them, by the
    /// value, how many groups a level holds, and `*`.
    #[test]
    fn quantities_are_short_plain_numbers_and_codes_are_not() {
        let ages = Hierarchy::parse(b"17;15-19;*\n90;90+;*\n0;0-4;*\n", b';').unwrap();
        assert!(ages.quantities());
        let codes = Hierarchy::parse(b"050123;05;*\n160101;16;*\n", b';').unwrap();
        assert!(!codes.quantities());
        let padded = Hierarchy::parse(b"017;01;*\n", b';').unwrap();
        assert!(!padded.quantities());
        let cities = Hierarchy::parse(CITIES.as_bytes(), b';').unwrap();
        assert!(!cities.quantities());
    }

    #[test]
    fn level_names_name_every_column_or_count_its_groups() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cities.csv");
        std::fs::write(&file, CITIES).unwrap();
        let build = |names: Option<&[String]>| {
            HierarchyMethod.build(&Params {
                file: Some(file.clone()),
                level_names: names,
                ..Params::default()
            })
        };
        let counted = build(None).unwrap();
        let names: Vec<String> = (0..4).map(|l| counted.level_name(l)).collect();
        assert_eq!(names, ["the value", "2 groups", "1 group", "*"]);
        let given: Vec<String> = ["city", "region", "macro-region", "*"]
            .map(String::from)
            .into();
        let named = build(Some(&given)).unwrap();
        assert_eq!(named.level_name(2), "macro-region");
        // The names do not change what a pin records.
        assert_eq!(named.describe(2), counted.describe(2));
        let e = build(Some(&given[..3])).unwrap_err();
        assert!(e.contains("4 levels") && e.contains("it has 3"), "{e}");
        let blank: Vec<String> = ["city", " ", "macro-region", "*"].map(String::from).into();
        assert!(build(Some(&blank)).unwrap_err().contains("empty name"));
    }

    #[test]
    fn bad_files_name_the_line_not_the_value() {
        let ragged = "a;x;*\nsecret-value;*\n";
        let e = Hierarchy::parse(ragged.as_bytes(), b';').unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        assert!(!e.contains("secret-value"), "{e}");
        let dup = "a;x;*\na;y;*\n";
        assert!(
            Hierarchy::parse(dup.as_bytes(), b';')
                .unwrap_err()
                .contains("line 2")
        );
        let not_nested = "a;x;X;*\nb;x;Y;*\n";
        assert!(
            Hierarchy::parse(not_nested.as_bytes(), b';')
                .unwrap_err()
                .contains("nest")
        );
        let two_tops = "a;x;*\nb;y;ALL\n";
        assert!(Hierarchy::parse(two_tops.as_bytes(), b';').is_err());
        assert!(Hierarchy::parse(b"", b';').is_err());
    }
}
