//! `hierarchy`: a value replaced by its ancestor at a level of a generalization hierarchy, in
//! ARX's file format (`value;level1;…;*`, one row a value, no header).
//!
//! Hierarchies are how a data engineer says what "coarser" means for a column (city → region →
//! macro-region → `*`). Level 0 is the value itself. A value the hierarchy lacks goes to the top
//! level, which generalizes everything and so can never leak, and is counted, so the engineer
//! learns that the hierarchy needs a row. The lookup is a hash map inside an elementwise UDF,
//! which keeps it in the streaming engine (a `replace_strict` with a literal Series does not).

use std::sync::Arc;

use polars::prelude::*;

use super::Tally;

pub use crate::job::hierarchy::Hierarchy;

pub fn expr(input: Expr, h: Arc<Hierarchy>, level: usize, unmapped: Tally) -> Expr {
    input.map(
        move |c: Column| {
            let text = super::as_text(&c)?;
            let mut missing = 0u64;
            let mut builder = StringChunkedBuilder::new(c.name().clone(), text.len());
            for v in text.iter() {
                match v {
                    None => builder.append_null(),
                    Some(v) => match h.lookup(v, level) {
                        Some(g) => builder.append_value(g),
                        None => {
                            missing += 1;
                            builder.append_value(h.top())
                        }
                    },
                }
            }
            unmapped.add(missing);
            Ok(builder.finish().into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
}

/// Whether each value is present (not null, not blank) but missing from the hierarchy.
pub fn unknown(input: Expr, h: Arc<Hierarchy>) -> Expr {
    input.map(
        move |c: Column| {
            let text = super::as_text(&c)?;
            let out: BooleanChunked = text
                .iter()
                .map(|v| Some(v.is_some_and(|v| !v.trim().is_empty() && h.lookup(v, 0).is_none())))
                .collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CITIES: &str = "Алматы;г. Алматы;Юг;*\nКонаев;Алматинская область;Юг;*\n";

    #[test]
    fn missing_values_go_to_the_top_and_are_counted() {
        let h = Arc::new(Hierarchy::parse(CITIES.as_bytes(), b';').unwrap());
        let df = df!("city" => [Some("Алматы"), Some(" алматы "), None]).unwrap();
        let tally = Tally::default();
        let out = df
            .lazy()
            .select([expr(col("city"), h, 1, tally.clone())])
            .collect()
            .unwrap();
        let v: Vec<_> = out.column("city").unwrap().str().unwrap().iter().collect();
        assert_eq!(v, [Some("г. Алматы"), Some("*"), None]);
        assert_eq!(tally.get(), 1);
    }
}
