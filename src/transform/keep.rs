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
    }
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
}
