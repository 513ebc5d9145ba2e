//! The polars adapter of the generalizing methods: one elementwise UDF runs any method of
//! [`crate::method`] at a level, so every method runs inside the streaming engine and no method
//! knows polars.
//!
//! The UDF reads the column as text, leaves missing values (null, and blank unless the method
//! reads blanks) null without asking the method, and counts what the method could not read
//! (`invalid_values`) or did not find in its file (`unmapped_values`). The values themselves
//! are never logged.

use std::collections::HashMap;

use polars::prelude::*;

use super::{ColumnTallies, as_text};
use crate::method::{Env, Generalizer, Outcome, Output};

/// The output type of a level's values.
pub fn dtype(output: Output) -> DataType {
    match output {
        Output::Text | Output::Star => DataType::String,
        Output::Date => DataType::Date,
        Output::Timestamp => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
    }
}

/// The values of `input` at `level`.
pub fn expr(g: &Generalizer, level: usize, input: Expr, env: Env, tallies: &ColumnTallies) -> Expr {
    let g = g.clone();
    let output = g.output(level);
    let out_type = dtype(output);
    let (invalid, unmapped) = (tallies.invalid.clone(), tallies.unmapped.clone());
    input.map(
        move |c: Column| {
            let text = as_text(&c)?;
            let mut read = Reader::new(&g, level, env);
            let column = match output {
                Output::Text | Output::Star => {
                    let mut builder = StringChunkedBuilder::new(c.name().clone(), text.len());
                    for v in text.iter() {
                        match read.value(v) {
                            (Outcome::Text | Outcome::Unmapped, text) => builder.append_value(text),
                            _ => builder.append_null(),
                        }
                    }
                    builder.finish().into_column()
                }
                Output::Date => numbers::<Int32Type>(&text, &mut read, |n| n as i32)
                    .with_name(c.name().clone())
                    .into_series()
                    .cast(&dtype(output))?
                    .into_column(),
                Output::Timestamp => numbers::<Int64Type>(&text, &mut read, |n| n)
                    .with_name(c.name().clone())
                    .into_series()
                    .cast(&dtype(output))?
                    .into_column(),
            };
            invalid.add(read.invalid);
            unmapped.add(read.unmapped);
            Ok(column)
        },
        move |_, f| Ok(Field::new(f.name().clone(), out_type.clone())),
    )
}

/// The search's base values of `input` as text: null where missing or unreadable, and not
/// counted (the output's own pass counts).
pub fn base(g: &Generalizer, input: Expr, env: Env) -> Expr {
    let g = g.clone();
    input.map(
        move |c: Column| {
            let text = as_text(&c)?;
            let mut builder = StringChunkedBuilder::new(c.name().clone(), text.len());
            let mut buf = String::new();
            for v in text.iter() {
                buf.clear();
                match v {
                    Some(v) if present(&g, v) && g.base(v, &env, &mut buf) => {
                        builder.append_value(&buf)
                    }
                    _ => builder.append_null(),
                }
            }
            Ok(builder.finish().into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
}

/// Whether each value is present (neither null nor blank) but unreadable by the method at its
/// finest level (what a level cannot read, no level can), or unlisted by its file.
pub fn unreadable(g: &Generalizer, input: Expr, env: Env) -> Expr {
    let g = g.clone();
    input.map(
        move |c: Column| {
            let text = as_text(&c)?;
            let mut buf = String::new();
            let out: BooleanChunked = text
                .iter()
                .map(|v| {
                    buf.clear();
                    Some(v.is_some_and(|v| {
                        !v.trim().is_empty()
                            && matches!(
                                g.apply(0, v, &env, &mut buf),
                                Outcome::Invalid | Outcome::Unmapped
                            )
                    }))
                })
                .collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
    )
}

/// Whether the method is asked about a value at all: blanks are missing unless it reads them.
fn present(g: &Generalizer, v: &str) -> bool {
    g.reads_blank() || !v.trim().is_empty()
}

/// A date or timestamp level's values as physical numbers.
fn numbers<T: PolarsNumericType>(
    text: &StringChunked,
    read: &mut Reader<'_>,
    cast: impl Fn(i64) -> T::Native,
) -> ChunkedArray<T> {
    text.iter()
        .map(|v| match read.value(v).0 {
            Outcome::Number(n) => Some(cast(n)),
            _ => None,
        })
        .collect()
}

type Memo = HashMap<String, (Outcome, String), foldhash::fast::RandomState>;

/// Reads one batch's values at one level, counting what it could not read; with a memo of the
/// batch's distinct values when the method asks for one.
struct Reader<'a> {
    g: &'a Generalizer,
    level: usize,
    env: Env,
    buf: String,
    memo: Option<Memo>,
    invalid: u64,
    unmapped: u64,
}

impl<'a> Reader<'a> {
    fn new(g: &'a Generalizer, level: usize, env: Env) -> Reader<'a> {
        Reader {
            g,
            level,
            env,
            buf: String::new(),
            memo: g.memoize().then(Memo::default),
            invalid: 0,
            unmapped: 0,
        }
    }

    fn value(&mut self, v: Option<&str>) -> (Outcome, &str) {
        let Some(v) = v.filter(|v| present(self.g, v)) else {
            return (Outcome::Null, "");
        };
        let (outcome, text) = match &mut self.memo {
            Some(memo) => {
                if !memo.contains_key(v) {
                    let mut out = String::new();
                    let outcome = self.g.apply(self.level, v, &self.env, &mut out);
                    memo.insert(v.to_string(), (outcome, out));
                }
                let (outcome, text) = &memo[v];
                (*outcome, text.as_str())
            }
            None => {
                self.buf.clear();
                let outcome = self.g.apply(self.level, v, &self.env, &mut self.buf);
                (outcome, self.buf.as_str())
            }
        };
        match outcome {
            Outcome::Invalid => self.invalid += 1,
            Outcome::Unmapped => self.unmapped += 1,
            _ => {}
        }
        (outcome, text)
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::method::{self, Params};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn build(name: &str, p: Params<'_>) -> Generalizer {
        method::find(name).unwrap().build(&p).unwrap()
    }

    fn run(g: &Generalizer, level: usize, values: &[Option<&str>]) -> (Column, ColumnTallies) {
        let tallies = ColumnTallies::default();
        let env = Env {
            run_date: d("2026-11-26"),
        };
        let df = df!("v" => values).unwrap();
        let out = df
            .lazy()
            .select([expr(g, level, col("v"), env, &tallies)])
            .collect()
            .unwrap();
        (out.column("v").unwrap().clone(), tallies)
    }

    fn texts(c: &Column) -> Vec<Option<String>> {
        c.str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    #[test]
    fn age_column_with_empty_and_bad_values() {
        let g = build(
            "age",
            Params {
                top: Some(80),
                ..Params::default()
            },
        );
        let values = [
            Some("1990-06-15"),
            Some(""),
            None,
            Some("15.06.1990"),
            Some("1930-01-01"),
        ];
        let (c, tallies) = run(&g, 0, &values);
        let want = [Some("30-39"), None, None, None, Some("80+")];
        assert_eq!(texts(&c), want.map(|v| v.map(str::to_string)));
        assert_eq!(tallies.invalid.get(), 1);
    }

    #[test]
    fn unparseable_numbers_are_counted() {
        let edges = method::bins::Edges::Flat(vec![0.0, 5000.0, 20000.0]);
        let g = build(
            "bins",
            Params {
                edges: Some(&edges),
                ..Params::default()
            },
        );
        let (c, tallies) = run(&g, 0, &[Some("12990.00"), Some("12,5"), Some(""), None]);
        assert_eq!(
            texts(&c),
            [Some("5000-20000".to_string()), None, None, None]
        );
        assert_eq!(tallies.invalid.get(), 1);
    }

    #[test]
    fn truncate_column_types_and_utc() {
        use method::truncate::TruncateTo;
        let values = [Some("2026-11-26T01:30:00+05:00"), Some("not a time"), None];
        let day = build(
            "truncate",
            Params {
                to: Some(TruncateTo::Day),
                ..Params::default()
            },
        );
        let (c, tallies) = run(&day, 0, &values);
        assert_eq!(c.dtype(), &DataType::Date);
        // 01:30 at +05:00 is 20:30 UTC the day before.
        let days = c.date().unwrap().physical().get(0);
        assert_eq!(days, Some(method::parse::epoch_days(d("2026-11-25"))));
        assert_eq!(tallies.invalid.get(), 1);

        let hour = build(
            "truncate",
            Params {
                to: Some(TruncateTo::Hour),
                ..Params::default()
            },
        );
        let (c, tallies) = run(&hour, 0, &values);
        let micros = c.datetime().unwrap().physical().get(0);
        assert_eq!(
            micros,
            method::parse::timestamp_micros("2026-11-25T20:00:00Z")
        );
        assert_eq!(tallies.invalid.get(), 1);
    }

    #[test]
    fn dates_top_level_is_null_and_not_counted() {
        let g = build(
            "truncate",
            Params {
                picks_levels: true,
                level_given: true,
                ..Params::default()
            },
        );
        let top = g.levels() - 1;
        let (c, tallies) = run(&g, top, &[Some("2026-11-26"), Some("not a date")]);
        assert_eq!(c.dtype(), &DataType::Date);
        assert_eq!(c.null_count(), 2);
        assert_eq!(tallies.invalid.get(), 0);
    }

    #[test]
    fn star_only_for_readable_values() {
        let g = build(
            "ip_prefix",
            Params {
                picks_levels: true,
                level_given: true,
                ..Params::default()
            },
        );
        let top = g.levels() - 1;
        let (c, tallies) = run(&g, top, &[Some("95.56.12.7"), Some("nope"), Some(" ")]);
        assert_eq!(texts(&c), [Some("*".to_string()), None, None]);
        assert_eq!(tallies.invalid.get(), 1);
    }

    #[test]
    fn memoized_methods_count_every_repeat() {
        let g = build("user_agent", Params::default());
        let (c, tallies) = run(&g, 0, &[Some("???"), Some("???"), Some("???")]);
        assert_eq!(c.null_count(), 3);
        assert_eq!(tallies.invalid.get(), 3);
    }
}
