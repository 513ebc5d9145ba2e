//! `sortable = true`: a band column's companion, `<output>_from`, the lower bound of each band
//! as an integer.
//!
//! Why: band labels are text, and text sorts `100-119` before `20-39` and Mondrian's `*`,
//! `15-19`, `16`, `17` in no useful order. A number beside the label sorts and plots as the
//! analyst expects, while the label stays what it was. It is computed from the label alone,
//! so it says nothing the label does not.

use polars::prelude::*;

/// The lower bound of a band label, rounded down: `1980-1999` → 1980, `70+` → 70, `16` → 16,
/// `-10--5` → -10, `2.5-7.5` → 2. `None` for `*`, for a band open below (`<0`) and for
/// anything else that is not a band.
pub fn lower_bound(label: &str) -> Option<i64> {
    let label = label.trim();
    if label.starts_with('<') {
        return None;
    }
    let label = label.strip_suffix('+').unwrap_or(label);
    // The first number ends at the `-` that separates it from the upper bound (the one at the
    // start is its sign).
    let end = label
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '-')
        .map_or(label.len(), |(i, _)| i);
    let low: f64 = label[..end].parse().ok()?;
    (low.is_finite() && low.abs() < 9e15).then(|| low.floor() as i64)
}

/// [`lower_bound`] of each value of `label`, as `Int64`.
pub fn expr(label: Expr) -> Expr {
    label.map(
        |c: Column| {
            let text = super::as_text(&c)?;
            let out: Int64Chunked = text.iter().map(|v| v.and_then(lower_bound)).collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Int64)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_give_their_lower_bound() {
        for (label, want) in [
            ("1980-1999", Some(1980)),
            ("15-19", Some(15)),
            ("16", Some(16)),
            ("70+", Some(70)),
            ("20000+", Some(20000)),
            ("5000-20000", Some(5000)),
            ("-10--5", Some(-10)),
            ("-3", Some(-3)),
            ("2.5-7.5", Some(2)),
            ("<0", None),
            ("*", None),
            ("", None),
            ("Юг", None),
        ] {
            assert_eq!(lower_bound(label), want, "{label}");
        }
    }

    #[test]
    fn labels_sort_by_their_bound() {
        let df =
            df!("band" => [Some("*"), Some("15-19"), Some("16"), Some("100-119"), None]).unwrap();
        let out = df
            .lazy()
            .select([expr(col("band")).alias("from")])
            .collect()
            .unwrap();
        let from: Vec<Option<i64>> = out.column("from").unwrap().i64().unwrap().iter().collect();
        assert_eq!(from, [None, Some(15), Some(16), Some(100), None]);
    }
}
