//! `keep`: the value as it is, in the type the job asks for (`type = "float"` etc.).
//!
//! CSV has no types; analysts want numbers as numbers and dates as dates. Every input is read
//! as text and converted here, so a value that does not fit is null and counted instead of
//! failing the night's run (or being guessed at by type inference).

use polars::prelude::*;

use super::Tally;
use crate::job::ValueType;

pub fn output_type(ty: ValueType) -> DataType {
    match ty {
        ValueType::String => DataType::String,
        ValueType::Int => DataType::Int64,
        ValueType::Float => DataType::Float64,
        ValueType::Bool => DataType::Boolean,
        ValueType::Date => DataType::Date,
        ValueType::Timestamp => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
        ValueType::Decimal { precision, scale } => {
            DataType::Decimal(precision as usize, scale as usize)
        }
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" => Some(true),
        "false" | "f" | "0" | "no" | "n" => Some(false),
        _ => None,
    }
}

pub fn expr(input: Expr, ty: ValueType, tally: Tally) -> Expr {
    use super::map_physical;
    let out = output_type(ty);
    match ty {
        ValueType::String => super::as_text_expr(input),
        ValueType::Int => {
            map_physical::<Int64Type, _>(input, out, tally, |v| v.trim().parse().ok())
        }
        ValueType::Float => map_physical::<Float64Type, _>(input, out, tally, |v| {
            // `+ 0.0` turns -0 into 0: one value, one class, one way of writing it.
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(|x| x + 0.0)
        }),
        // Booleans go through 0/1 in Int32, a numeric physical type the helper can build.
        ValueType::Bool => {
            map_physical::<Int32Type, _>(input, out, tally, |v| parse_bool(v).map(i32::from))
        }
        ValueType::Date => map_physical::<Int32Type, _>(input, out, tally, |v| {
            crate::method::parse::date(v).map(crate::method::parse::epoch_days)
        }),
        ValueType::Timestamp => {
            map_physical::<Int64Type, _>(input, out, tally, crate::method::parse::timestamp_micros)
        }
        ValueType::Decimal { precision, scale } => decimal(input, precision, scale, tally),
    }
}

/// Text to `decimal(p,s)` with polars' own parser: digits beyond the scale are rounded, a value
/// with more integer digits than `p - s` is unreadable. The parsed integers are the decimal's
/// (scaled) values, so they are taken as they are, not cast (a cast would scale them again).
fn decimal(input: Expr, precision: u8, scale: u8, tally: Tally) -> Expr {
    use polars::polars_compute::decimal::str_to_dec128;
    let (p, s) = (precision as usize, scale as usize);
    input.map(
        move |c: Column| {
            let text = super::as_text(&c)?;
            let mut bad = 0u64;
            let values: Int128Chunked = text
                .iter()
                .map(|v| {
                    let v = v.map(str::trim).filter(|v| !v.is_empty())?;
                    let r = str_to_dec128(v.as_bytes(), p, s, false);
                    bad += r.is_none() as u64;
                    r
                })
                .collect();
            tally.add(bad);
            Ok(values
                .with_name(c.name().clone())
                .into_decimal_unchecked(p, s)
                .into_series()
                .into_column())
        },
        move |_, f| Ok(Field::new(f.name().clone(), DataType::Decimal(p, s))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_counts() {
        let df = df!("x" => [Some("12990.00"), Some("abc"), Some(""), None, Some("1"), Some("-0")])
            .unwrap();
        let tally = Tally::default();
        let out = df
            .lazy()
            .select([
                expr(col("x"), ValueType::Float, tally.clone()).alias("f"),
                expr(col("x"), ValueType::String, Tally::default()).alias("s"),
                expr(col("x"), ValueType::Bool, Tally::default()).alias("b"),
            ])
            .collect()
            .unwrap();
        let f: Vec<_> = out.column("f").unwrap().f64().unwrap().iter().collect();
        assert_eq!(f, [Some(12990.0), None, None, None, Some(1.0), Some(0.0)]);
        assert!(
            out.column("f")
                .unwrap()
                .f64()
                .unwrap()
                .get(5)
                .unwrap()
                .is_sign_positive()
        );
        assert_eq!(tally.get(), 1);
        assert_eq!(out.column("s").unwrap().dtype(), &DataType::String);
        assert_eq!(out.column("b").unwrap().dtype(), &DataType::Boolean);
        assert_eq!(out.column("b").unwrap().bool().unwrap().get(4), Some(true));
    }

    /// Money as decimal(18,2): exact values, polars' parser, unreadable ones null and counted.
    #[test]
    fn decimals_are_exact_and_count_what_they_cannot_read() {
        let df = df!("x" => [
            Some("12990.00"), Some(" 0.1 "), Some("-0"), Some("7"), Some("abc"),
            Some("12,5"), Some("123456789012345678"), Some(""), None
        ])
        .unwrap();
        let tally = Tally::default();
        let ty = ValueType::Decimal {
            precision: 18,
            scale: 2,
        };
        let out = df
            .lazy()
            .select([expr(col("x"), ty, tally.clone()).alias("d")])
            .collect()
            .unwrap();
        let d = out.column("d").unwrap();
        assert_eq!(d.dtype(), &DataType::Decimal(18, 2));
        let text: Vec<Option<String>> = d
            .cast(&DataType::String)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect();
        let want = [
            Some("12990.00"),
            Some("0.10"),
            Some("0.00"),
            Some("7.00"),
            None,
            None,
            None,
            None,
            None,
        ];
        assert_eq!(text, want.map(|v| v.map(str::to_string)));
        // "abc", "12,5" and a number with more than 16 integer digits; blanks are missing.
        assert_eq!(tally.get(), 3);
        // Sums are exact: 0.1 + 0.2 is 0.30.
        let sum = df!("x" => ["0.1", "0.2"])
            .unwrap()
            .lazy()
            .select([expr(col("x"), ty, Tally::default()).sum().alias("s")])
            .collect()
            .unwrap();
        let s = sum.column("s").unwrap().cast(&DataType::String).unwrap();
        assert_eq!(s.str().unwrap().get(0), Some("0.30"));
    }

    #[test]
    fn decimal_types_parse_and_print() {
        for (text, ty) in [
            (
                "decimal(18,2)",
                Some(ValueType::Decimal {
                    precision: 18,
                    scale: 2,
                }),
            ),
            (
                "decimal( 38 , 0 )",
                Some(ValueType::Decimal {
                    precision: 38,
                    scale: 0,
                }),
            ),
            ("decimal(39,2)", None),
            ("decimal(2,3)", None),
            ("decimal(0,0)", None),
            ("decimal(18)", None),
            ("float", Some(ValueType::Float)),
        ] {
            assert_eq!(text.parse::<ValueType>().ok(), ty, "{text}");
        }
        assert_eq!(
            ValueType::Decimal {
                precision: 18,
                scale: 2
            }
            .to_string(),
            "decimal(18,2)"
        );
    }
}
