//! The README's job-file reference and the job file's schema (`anonymize schema`, made from the
//! job file's own types) name the same keys: a key missing from either fails here, so the page a
//! data engineer looks keys up on cannot drift from what the tool reads.

mod common;

use std::collections::BTreeSet;

use common::*;

/// The README's text from `heading` to the next heading of the same or a higher level.
fn section(readme: &str, heading: &str) -> String {
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no heading {heading}"));
    let level = heading.split(' ').next().unwrap().len();
    let rest = &readme[start + heading.len() + 2..];
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| {
            let hashes = rest[i..].chars().take_while(|&c| c == '#').count();
            hashes > 0 && hashes <= level && rest[i..].chars().nth(hashes) == Some(' ')
        })
        .unwrap_or(rest.len());
    rest[..end].to_string()
}

/// The keys in the first column of a section's tables: "| `key` |", with `[key]` as `key`.
fn first_column_keys(section: &str) -> BTreeSet<String> {
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(|k| k.trim_start_matches('[').trim_end_matches(']').to_string())
        .map(|k| {
            k.strip_prefix("tables.")
                .map_or(k.clone(), |_| "tables".to_string())
        })
        .collect()
}

/// The schema's properties of the root (`None`) or of a definition.
fn properties(schema: &serde_json::Value, def: Option<&str>) -> BTreeSet<String> {
    let node = match def {
        None => schema,
        Some(d) => &schema["$defs"][d],
    };
    node["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no properties in {def:?}"))
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_readme_reference_names_every_key_of_the_schema_and_no_other() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let out = bin().arg("schema").output().unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // Tables of keys, one a section: the README's rows are the schema's properties.
    for (heading, def, sub_tables) in [
        ("### Top level", None, &[][..]),
        (
            "### `[tables.NAME]`",
            Some("TableSpec"),
            &["columns", "privacy"][..],
        ),
        ("### `[tables.NAME.privacy]`", Some("PrivacySpec"), &[][..]),
    ] {
        let documented = first_column_keys(&section(&readme, heading));
        let mut read: BTreeSet<String> = properties(&schema, def);
        // Sub-tables have sections of their own.
        for s in sub_tables {
            assert!(read.remove(*s), "{heading}: the schema has no `{s}`");
        }
        assert_eq!(
            documented, read,
            "{heading}: README rows vs schema properties"
        );
    }

    // Nested keys are named in the text of their section, in backticks.
    let columns = section(&readme, "### `[tables.NAME.columns]`");
    let privacy = section(&readme, "### `[tables.NAME.privacy]`")
        + &section(&readme, "### Beyond k: l-diversity, t-closeness, risk");
    let top = section(&readme, "### Top level");
    let table = section(&readme, "### `[tables.NAME]`");
    for (text, def) in [
        (&columns, "ColumnSpec"),
        (&top, "KeySpec"),
        (&table, "RetentionSpec"),
        (&privacy, "LDiversitySpec"),
        (&privacy, "TClosenessSpec"),
    ] {
        for key in properties(&schema, Some(def)) {
            assert!(
                text.contains(&format!("`{key}`"))
                    || text.contains(&format!("`{key} ="))
                    || text.contains(&format!("{{ {key} ="))
                    || text.contains(&format!(", {key} =")),
                "{def}.{key} is not named in the README"
            );
        }
    }
    // And the columns section's own rows are keys the schema knows.
    let documented = first_column_keys(&columns);
    let read = properties(&schema, Some("ColumnSpec"));
    let actions = ["drop", "keep", "pseudonymize", "generalize"];
    for key in documented {
        let key = key.split(',').next().unwrap_or_default().to_string();
        assert!(
            read.contains(&key) || actions.contains(&key.as_str()) || key.starts_with("method = "),
            "README names `{key}` under columns, which the schema does not have"
        );
    }
}

/// The README's command list (the first block of "Command line") names every subcommand that
/// `anonymize --help` lists, and no other: a new command cannot go undocumented.
#[test]
fn the_readme_command_list_names_every_subcommand() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let commands = section(&readme, "## Command line");
    let block = commands
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a command list in Command line");
    let listed: BTreeSet<String> = block
        .lines()
        .filter_map(|l| l.strip_prefix("anonymize "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let subcommands: BTreeSet<String> = help
        .split("Commands:\n")
        .nth(1)
        .expect("a command list in --help")
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect();
    assert!(subcommands.contains("init"), "{help}");
    assert_eq!(listed, subcommands, "README's command list vs --help");
}
