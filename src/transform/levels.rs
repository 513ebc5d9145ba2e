//! What the level search counts for a quasi-identifier: its finest value ([`base_expr`], one
//! pass over the data) and that value's label at every level ([`label`], in memory, once per
//! distinct value). The labels are the same functions the output uses, so the classes the
//! search counts are the classes the output holds.

use polars::prelude::*;

use super::{Context, generalize};
use crate::job::{Column, ColumnAction};

/// Whether the column's level is searched (rather than fixed).
pub fn searched(c: &Column) -> bool {
    !c.levels.is_pinned()
}

/// Whether `level` is the column's top, where every value is `*`: a searched column there
/// carries nothing, which a search may choose but must not do silently.
pub fn at_top(c: &Column, level: usize) -> bool {
    matches!(&c.action, ColumnAction::Generalize(g) if g.everything(level))
}

/// A short name for the column's `level`, shown beside its number (`explore`): the method's
/// ([`crate::method::Generalize::level_name`]), or `the value` for a column kept as it is.
pub fn name(c: &Column, level: usize) -> String {
    match &c.action {
        ColumnAction::Generalize(g) => g.level_name(level),
        _ => "the value".into(),
    }
}

/// Whether the column's base is the method's raw material rather than its output: when its
/// levels run above its floor (searched, or pinned by a lock above the job's lowest level).
pub fn from_raw(c: &Column) -> bool {
    c.levels.floor < c.levels.max
}

/// The column's finest value as text, aliased to its output name. For a column whose levels
/// run above its floor (searched, or pinned above it by a lock) it is the method's raw material
/// (an age in years, a timestamp, an address, a number, the value a hierarchy looks up); for
/// one fixed at its floor, simply its output.
pub fn base_expr(c: &Column, ctx: &Context) -> Option<Expr> {
    let g = match &c.action {
        ColumnAction::Generalize(g) if from_raw(c) => g,
        _ => {
            let out = super::column_expr(c, ctx, &super::ColumnTallies::default())?;
            return Some(out.cast(DataType::String).alias(c.output.as_str()));
        }
    };
    Some(generalize::base(g, col(c.name.as_str()), ctx.env()).alias(c.output.as_str()))
}

/// The label at `level` of a base value from [`base_expr`] (`None`: missing or unreadable),
/// exactly as the output will hold it: `None` where the output is null.
pub fn label(c: &Column, base: Option<&str>, level: usize) -> Option<String> {
    let g = match &c.action {
        ColumnAction::Generalize(g) if from_raw(c) => g,
        _ => return base.map(str::to_string),
    };
    let mut out = String::new();
    g.label(base, level, &mut out).then_some(out)
}
