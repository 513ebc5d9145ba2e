//! What the level search counts for a quasi-identifier: its finest value ([`base_expr`], one
//! pass over the data) and that value's label at every level ([`label`], in memory, once per
//! distinct value). The labels are the same functions the output uses, so the classes the
//! search counts are the classes the output holds.

use std::fmt::Write;

use chrono::DateTime;
use polars::prelude::*;

use super::{Context, Tally, age, bins, ip_prefix, map_text, parse, truncate};
use crate::job::{Column, ColumnAction, Generalizer, Step, TruncateTo};

/// Whether the column's level is searched (rather than fixed).
pub fn searched(c: &Column) -> bool {
    !c.levels.is_pinned()
}

/// The column's finest value as text, aliased to its output name. For a searched column it is
/// the method's raw material (an age in years, a timestamp, an address, a number, the value a
/// hierarchy looks up); for a pinned one, simply its output.
pub fn base_expr(c: &Column, ctx: &Context) -> Option<Expr> {
    let g = match &c.action {
        ColumnAction::Generalize(g) if searched(c) => g,
        _ => {
            let out = super::column_expr(c, ctx, &super::ColumnTallies::default())?;
            return Some(out.cast(DataType::String).alias(c.output.as_str()));
        }
    };
    let input = col(c.name.as_str());
    let tally = Tally::default();
    let run_date = ctx.run_date;
    let e = match g {
        Generalizer::Age { .. } => map_text(input, tally, move |v, out| {
            match parse::date(v).and_then(|b| age::years(b, run_date)) {
                Some(years) => write!(out, "{years}").is_ok(),
                None => false,
            }
        }),
        Generalizer::Truncate { .. } => {
            map_text(input, tally, |v, out| match parse::timestamp_micros(v) {
                Some(t) => write!(out, "{t}").is_ok(),
                None => false,
            })
        }
        Generalizer::IpPrefix { .. } => map_text(input, tally, |v, out| {
            match v.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => write!(out, "{}", ip.to_canonical()).is_ok(),
                Err(_) => false,
            }
        }),
        Generalizer::Bins { .. } => {
            map_text(input, tally, |v, out| match v.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => write!(out, "{}", x + 0.0).is_ok(),
                _ => false,
            })
        }
        // The hierarchy looks up the value as it is.
        Generalizer::Hierarchy { .. } | Generalizer::Url | Generalizer::UserAgent => {
            input.cast(DataType::String)
        }
    };
    Some(e.alias(c.output.as_str()))
}

/// The label at `level` of a base value from [`base_expr`] (`None`: missing or unreadable),
/// exactly as the output will hold it: `None` where the output is null.
pub fn label(c: &Column, base: Option<&str>, level: usize) -> Option<String> {
    let g = match &c.action {
        ColumnAction::Generalize(g) if searched(c) => g,
        _ => return base.map(str::to_string),
    };
    // Dates have no `*`: at the top, every row of a truncated column is null, one class.
    if let (Step::Top, Generalizer::Truncate { .. }) = (g.step(level), g) {
        return None;
    }
    let base = base?;
    let mut out = String::new();
    match (g.step(level), g) {
        (Step::Top, Generalizer::Hierarchy { hierarchy, .. }) => out.push_str(hierarchy.top()),
        (Step::Top, _) => out.push('*'),
        (Step::Age(band), Generalizer::Age { top, .. }) => {
            let years = base.parse::<u32>().ok()?;
            age::band_label(years, band, *top, &mut out);
        }
        (Step::Truncate(to), _) => {
            let t = base
                .parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_micros)?;
            match to {
                TruncateTo::Hour => {
                    let _ = write!(out, "{}", t.format("%Y-%m-%dT%H:00"));
                }
                _ => {
                    let _ = write!(out, "{}", truncate::truncate_date(t.date_naive(), to));
                }
            }
        }
        (Step::IpPrefix(v4, v6), _) => {
            if !ip_prefix::network(base, v4, v6, &mut out) {
                return None;
            }
        }
        (Step::Bins(edges), _) => {
            let x = base.parse::<f64>().ok()?;
            bins::label(x, edges, &mut out);
        }
        (Step::Hierarchy(level), Generalizer::Hierarchy { hierarchy, .. }) => {
            // A value the hierarchy lacks goes to the top, as in the output.
            out.push_str(hierarchy.lookup(base, level).unwrap_or(hierarchy.top()));
        }
        _ => out.push_str(base),
    }
    Some(out)
}
