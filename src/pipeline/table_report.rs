//! The report of one table, assembled from what the run decided and counted.

use super::*;

pub(super) fn column_report(c: &crate::job::Column) -> ColumnReport {
    let (action, method) = c.describe();
    ColumnReport {
        input: c.name.clone(),
        action,
        method,
        scope: match &c.action {
            crate::job::ColumnAction::Pseudonymize { scope, .. } => Some(scope.name()),
            _ => None,
        },
        role: c.role,
        description: c.description.clone(),
        sort_column: c.sort_column.clone(),
    }
}

/// Each quasi-identifier's level with what it means (`macro_region: 2 = macro-region`); none
/// under Mondrian, which has a level a class.
pub(super) fn levels(p: &Planned, protected: &Protected) -> IndexMap<String, crate::report::Level> {
    if protected.mondrian.is_some() {
        return IndexMap::new();
    }
    p.table
        .quasi_identifiers()
        .map(|c| {
            let level = protected.level(c);
            (
                c.output.clone(),
                crate::report::Level {
                    level,
                    meaning: transform::levels::name(c, level),
                },
            )
        })
        .collect()
}

/// The quasi-identifiers whose level is their top, every value `*` (searched, pinned or fixed:
/// a column that carries nothing is worth a word either way). Mondrian has no level a column.
pub(super) fn columns_at_top(p: &Planned, protected: &Protected) -> Vec<String> {
    if protected.mondrian.is_some() {
        return Vec::new();
    }
    p.table
        .quasi_identifiers()
        .filter(|c| transform::levels::at_top(c, protected.level(c)))
        .map(|c| c.output.clone())
        .collect()
}

pub(super) fn table_report(
    p: &Planned,
    protected: &Protected,
    file: String,
    exposure: Option<protect::exposure::Exposure>,
    shared: Option<Vec<protect::known_events::sets::Shared>>,
) -> TableReport {
    let t = p.table;
    let tallies = &protected.tallies;
    let (counts, d) = (&protected.counts, &protected.decision);
    // The searched optimum, or the levels a lock or the job fixed, measured the same way.
    let measured = protected
        .search
        .as_ref()
        .map(|(best, _)| best)
        .or(protected.measured.as_ref());
    let mondrian = protected.mondrian.as_ref();
    let max_risk = d
        .min_class_subjects
        .filter(|m| *m > 0)
        .map(|m| 1.0 / m as f64);
    let outcome = protected.search.as_ref().map(|(_, o)| o);
    TableReport {
        input_files: p
            .source
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        output_files: vec![file],
        rows_in: counts.rows_in + p.malformed.rows,
        rows_skipped: protected.skipped.rows,
        rows_skipped_by: protected.skipped.by.clone(),
        rows_expired: counts.rows_expired,
        rows_undated: counts.rows_undated,
        rows_erased: counts.rows_erased,
        subjects_listed_for_erasure: p.erase.as_ref().map(|ids| ids.len() as u64),
        rows_suppressed: d.rows_suppressed,
        subjects_suppressed: d.subjects_suppressed
            + protected
                .across
                .as_ref()
                .map_or(0, |a| a.subjects_suppressed),
        rows_out: d.rows_out,
        subjects_out: d.subjects_out,
        k: t.privacy.map(|p| p.k),
        linked_to: t.link.clone(),
        exposure,
        across_nights: protected.across.clone(),
        release: shared.map(|shared| crate::report::Release {
            linked_to: t.link.clone(),
            known_events: t.privacy.map_or(1, |p| p.known_events),
            shared,
            facts_suppressed: protected.facts.clone(),
        }),
        max_suppression: t.privacy.map(|p| p.max_suppression),
        suppressed_share: d.suppressed_share(),
        share_of_limit: t
            .privacy
            .filter(|p| p.max_suppression > 0.0)
            .map(|p| d.suppressed_share() / p.max_suppression),
        retention_days: t.retention.as_ref().map(|r| r.days),
        previous_night: None,
        quasi_identifiers: t.quasi_identifiers().map(|c| c.output.clone()).collect(),
        equivalence_classes: d.equivalence_classes,
        min_class_subjects: d.min_class_subjects,
        class_sizes: d.class_sizes.clone(),
        max_risk,
        avg_risk: d.avg_risk,
        // The export is the population: the journalist's and marketer's risks are the
        // prosecutor's highest and average (see the report's field docs).
        journalist_risk: max_risk,
        marketer_risk: d.avg_risk,
        risk_threshold: t.privacy.map(|p| p.risk_threshold),
        rows_at_risk: d.rows_at_risk,
        share_at_risk: (d.rows_out > 0).then(|| d.rows_at_risk as f64 / d.rows_out as f64),
        models: t.privacy.map(|p| p.models).filter(|m| !m.is_empty()),
        sensitive: d.sensitive.clone(),
        classes_failing_models: d.classes_failing_models,
        rows_failing_models: d.rows_failing_models,
        suppressed_classes: d.suppressed_classes.clone(),
        invalid_values: tallies
            .iter()
            .map(|(k, v)| (k.clone(), v.invalid.get()))
            .collect(),
        normalized_values: tallies
            .iter()
            .filter(|(_, v)| v.normalized.get() > 0)
            .map(|(k, v)| (k.clone(), v.normalized.get()))
            .collect(),
        unmapped_values: tallies
            .iter()
            .filter(|(_, v)| v.unmapped.get() > 0)
            .map(|(k, v)| (k.clone(), v.unmapped.get()))
            .collect(),
        columns: t
            .outputs()
            .map(|c| (c.output.clone(), column_report(c)))
            .collect(),
        // Mondrian has no level per column: each class has its own.
        levels: t
            .quasi_identifiers()
            .filter(|_| mondrian.is_none())
            .map(|c| (c.output.clone(), protected.level(c)))
            .collect(),
        level_meanings: levels(p, protected)
            .into_iter()
            .map(|(c, l)| (c, l.meaning))
            .collect(),
        columns_at_top: columns_at_top(p, protected),
        metric: t
            .privacy
            .filter(|p| p.recoding.searches())
            .map(|p| p.metric),
        recoding: t.privacy.map(|p| p.recoding.name()),
        partitions: mondrian.map(|m| m.partitions),
        loss: measured.map(|b| b.loss).or(mondrian.map(|m| m.loss)),
        entropy: measured.map(|b| b.entropy),
        discernibility: measured.map(|b| b.discernibility),
        avg_class_size: measured.map(|b| b.avg_class_size),
        nodes_checked: outcome.map(|o| o.nodes_checked),
        lattice_nodes: outcome.map(|o| o.lattice_nodes),
        search_seconds: outcome.map(|o| o.seconds).or(mondrian.map(|m| m.seconds)),
        dropped: t
            .columns
            .iter()
            .filter(|c| matches!(c.action, ColumnAction::Drop))
            .map(|c| c.name.clone())
            .collect(),
    }
}
