//! `bins`: a number becomes the interval of `edges` that holds it (`"5000-20000"`).
//!
//! Intervals are closed below and open above, `[edge, next edge)`; values below the first edge
//! read `"<first"`, values from the last edge on `"last+"`. Amounts are a quasi-identifier when
//! rare (one customer's unusual purchase); bins keep their distribution.

use std::fmt::Write;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Env, Generalize, Generalizer, Method, Outcome, Output, Params};

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

/// `edges`: one edge list (`[0, 5000, 20000]`, fixed bins) or several, finest first
/// (`[[0, 1000, 5000, 20000], [0, 5000, 20000]]`, levels to choose or search from).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Edges {
    Flat(Vec<f64>),
    Nested(Vec<Vec<f64>>),
}

/// `method = "bins"`: `edges`, one list (one level) or several, finest first, then `*`.
pub struct Bins;

impl Method for Bins {
    fn name(&self) -> &'static str {
        "bins"
    }

    fn keys(&self) -> &'static [&'static str] {
        &["edges"]
    }

    fn build(&self, p: &Params<'_>) -> Result<Generalizer, String> {
        let (edge_sets, star) = match p.edges {
            None => return Err("method `bins` needs `edges = [..]`".into()),
            Some(Edges::Flat(e)) => {
                if p.level_given {
                    return Err(
                        "one edge list is one level; for levels give a list of edge lists, \
                         finest first: `edges = [[0, 1000, 5000], [0, 5000]]`"
                            .into(),
                    );
                }
                (vec![e.clone()], false)
            }
            Some(Edges::Nested(sets)) => (sets.clone(), true),
        };
        for e in &edge_sets {
            if e.is_empty() || e.iter().any(|x| !x.is_finite()) {
                return Err("`edges` must hold at least one finite number".into());
            }
            if e.windows(2).any(|w| w[0] >= w[1]) {
                return Err("`edges` must be strictly increasing".into());
            }
        }
        if edge_sets.is_empty() {
            return Err("`edges` must hold at least one edge list".into());
        }
        // Coarser levels must merge whole bins of finer ones, or a value's bin at one level
        // would not follow from its bin at the level below.
        for w in edge_sets.windows(2) {
            if w[1].iter().any(|e| !w[0].contains(e)) {
                return Err(
                    "each edge list must be a subset of the one before it (finest first)".into(),
                );
            }
        }
        Ok(Arc::new(BinLevels { edge_sets, star }))
    }
}

/// Edge lists, finest first, then `*` when the job gave several.
#[derive(Debug)]
pub struct BinLevels {
    edge_sets: Vec<Vec<f64>>,
    star: bool,
}

fn number(value: &str) -> Option<f64> {
    value.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

impl Generalize for BinLevels {
    fn method(&self) -> &'static str {
        "bins"
    }

    fn levels(&self) -> usize {
        self.edge_sets.len() + usize::from(self.star)
    }

    fn describe(&self, level: usize) -> String {
        match self.edge_sets.get(level) {
            Some(edges) => format!(
                "edges {}",
                edges
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "* (everything)".into(),
        }
    }

    // How many bins the values fall in (one below the first edge, one from the last on): the
    // level's granularity, where its edges may be too long to show beside a number.
    fn level_name(&self, level: usize) -> String {
        match self.edge_sets.get(level) {
            Some(edges) => format!("{} bins", edges.len() + 1),
            None => "*".into(),
        }
    }

    fn output(&self, level: usize) -> Output {
        if level < self.edge_sets.len() {
            Output::Text
        } else {
            Output::Star
        }
    }

    fn apply(&self, level: usize, value: &str, _: &Env, out: &mut String) -> Outcome {
        let Some(x) = number(value) else {
            return Outcome::Invalid;
        };
        match self.edge_sets.get(level) {
            Some(edges) => label(x, edges, out),
            None => out.push('*'),
        }
        Outcome::Text
    }

    fn base(&self, value: &str, _: &Env, out: &mut String) -> bool {
        // `+ 0.0` makes -0 read 0, one class.
        number(value).is_some_and(|x| write!(out, "{}", x + 0.0).is_ok())
    }

    fn label(&self, base: Option<&str>, level: usize, out: &mut String) -> bool {
        match self.edge_sets.get(level) {
            Some(edges) => match base.and_then(|b| b.parse::<f64>().ok()) {
                Some(x) => {
                    label(x, edges, out);
                    true
                }
                None => false,
            },
            None => super::star(base, out),
        }
    }
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
}
