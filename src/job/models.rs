//! The privacy models a table asks for beyond k, as the job file states them (`l_diversity`,
//! `t_closeness`): their parameters only. What they mean for a class, and the figures a run
//! achieves, are in [`crate::protect::models`].

use serde::Serialize;

/// The l-diversity variants (Machanavajjhala et al. 2007).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "variant", rename_all = "snake_case")]
pub enum LDiversity {
    /// At least `l` distinct sensitive values in every class.
    Distinct { l: u32 },
    /// The entropy of every class's sensitive values is at least log(`l`).
    Entropy { l: f64 },
    /// In every class, the most frequent value is less than `c` times the frequencies of the
    /// `l`-th most frequent and rarer ones together: r1 < c · (r_l + … + r_m).
    Recursive { c: f64, l: u32 },
}

/// The models a table asks for, beyond k.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Models {
    pub l_diversity: Option<LDiversity>,
    /// t-closeness: the earth mover's distance between a class's distribution and the table's
    /// is at most `t` (equal distance for text values, ordered distance for numbers).
    pub t_closeness: Option<f64>,
}

impl Models {
    pub fn is_empty(&self) -> bool {
        self.l_diversity.is_none() && self.t_closeness.is_none()
    }

    /// The models as a reader says them: "distinct 2-diversity and 0.2-closeness".
    pub fn describe(&self) -> String {
        let l = self.l_diversity.map(|l| match l {
            LDiversity::Distinct { l } => format!("distinct {l}-diversity"),
            LDiversity::Entropy { l } => format!("entropy {l}-diversity"),
            LDiversity::Recursive { c, l } => format!("recursive ({c}, {l})-diversity"),
        });
        let t = self.t_closeness.map(|t| format!("{t}-closeness"));
        [l, t]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" and ")
    }
}
