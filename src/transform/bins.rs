//! `bins`: a number becomes the interval of `edges` that holds it (`"5000-20000"`).
//!
//! Intervals are closed below and open above, `[edge, next edge)`; values below the first edge
//! read `"<first"`, values from the last edge on `"last+"`. Amounts are a quasi-identifier when
//! rare (one customer's unusual purchase); bins keep their distribution.

use std::fmt::Write;

use polars::prelude::*;

use super::Tally;

/// Writes the label of the bin holding `x`.
pub fn label(x: f64, edges: &[f64], out: &mut String) {
    let i = edges.partition_point(|e| *e <= x);
    if i == 0 {
        let _ = write!(out, "<{}", num(edges[0]));
    } else if i == edges.len() {
        let _ = write!(out, "{}+", num(edges[i - 1]));
    } else {
        let _ = write!(out, "{}-{}", num(edges[i - 1]), num(edges[i]));
    }
}

/// Numbers as people write them: `5000`, not `5000.0`.
fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

pub fn expr(input: Expr, edges: Vec<f64>, tally: Tally) -> Expr {
    super::map_text(input, tally, move |v, out| match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => {
            label(x, &edges, out);
            true
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(x: f64, edges: &[f64]) -> String {
        let mut s = String::new();
        label(x, edges, &mut s);
        s
    }

    #[test]
    fn intervals_are_closed_below() {
        let e = [0.0, 5000.0, 20000.0];
        assert_eq!(l(-1.0, &e), "<0");
        assert_eq!(l(0.0, &e), "0-5000");
        assert_eq!(l(4999.99, &e), "0-5000");
        assert_eq!(l(5000.0, &e), "5000-20000");
        assert_eq!(l(20000.0, &e), "20000+");
        assert_eq!(l(0.7, &[0.5, 1.5]), "0.5-1.5");
    }

    #[test]
    fn unparseable_numbers_are_counted() {
        let df = df!("a" => [Some("12990.00"), Some("12,5"), Some(""), None]).unwrap();
        let tally = Tally::default();
        let out = df
            .lazy()
            .select([expr(col("a"), vec![0.0, 5000.0, 20000.0], tally.clone())])
            .collect()
            .unwrap();
        let v: Vec<_> = out.column("a").unwrap().str().unwrap().iter().collect();
        assert_eq!(v, [Some("5000-20000"), None, None, None]);
        assert_eq!(tally.get(), 1);
    }
}
