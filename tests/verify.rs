//! `anonymize verify`: a written dataset re-read and checked against its job, as someone who
//! receives a release (or moves one) would check it.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use common::*;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use predicates::prelude::*;

fn part(p: &Project, table: &str) -> std::path::PathBuf {
    p.out()
        .join(format!("{table}/run_date={RUN_DATE}/part-00000.parquet"))
}

/// Rewrites a Parquet file with `f` applied to its first batch.
fn rewrite(file: &Path, f: impl FnOnce(RecordBatch) -> RecordBatch) {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batch = reader.into_iter().next().unwrap().unwrap();
    let batch = f(batch);
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(file).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn a_released_dataset_verifies_and_a_tampered_one_does_not() {
    let p = Project::small_unlinked();
    p.run(KEY).assert().success();
    let report = report_in(&p.out());
    let classes = report["tables"]["activity"]["equivalence_classes"]
        .as_u64()
        .unwrap();
    p.verify()
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "activity run_date={RUN_DATE}: "
        )))
        .stdout(predicate::str::contains(format!(
            "{classes} classes, k = 3 holds"
        )));

    // A few rows kept out of a whole release: their classes now hold fewer than k people.
    rewrite(&part(&p, "activity"), |b| b.slice(0, 4));
    p.verify()
        .assert()
        .code(4)
        .stdout(predicate::str::contains("k = 3 is broken: a class holds"));
}

#[test]
fn a_column_the_job_does_not_write_is_a_violation() {
    let p = Project::small_unlinked();
    p.run(KEY).assert().success();
    rewrite(&part(&p, "users"), |b| {
        let mut fields: Vec<Field> = b.schema().fields().iter().map(|f| (**f).clone()).collect();
        fields.push(Field::new("email", DataType::Utf8, true));
        let mut columns: Vec<ArrayRef> = b.columns().to_vec();
        columns.push(Arc::new(StringArray::from(vec!["x@mail.kz"; b.num_rows()])));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    });
    p.verify()
        .assert()
        .code(4)
        .stdout(predicate::str::contains(
            "columns the job does not write: `email`",
        ))
        // Names, never values.
        .stdout(predicate::str::contains("x@mail.kz").not())
        .stderr(predicate::str::contains("x@mail.kz").not());
}

#[test]
fn nothing_to_verify_is_an_input_error() {
    let p = Project::small_unlinked();
    p.verify()
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no partition of the job's tables"));
}
