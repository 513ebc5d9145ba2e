"""The written dataset, loaded the way analysts load it: pyarrow, polars, pandas and DuckDB
each see the same rows, real types (dates as dates, amounts as floats), the hive partition
column `run_date`, and the metadata that says how each column was made."""

import datetime
import decimal
import json

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from conftest import RUN_DATES

# The output columns of the shipped job and the type each must have (Arrow names).
SCHEMAS = {
    "users": {
        "user_id": pa.large_string(),
        "birth_cohort": pa.large_string(),
        "gender": pa.large_string(),
        "macro_region": pa.large_string(),
        "registered_month": pa.date32(),
    },
    "activity": {
        "user_id": pa.large_string(),
        "year": pa.date32(),
        "event_type": pa.large_string(),
        "amount_kzt": pa.decimal128(18, 2),
    },
    "page_views": {
        "month": pa.date32(),
        "event_type": pa.large_string(),
        "section": pa.large_string(),
    },
}
DATES = {"users": "registered_month", "activity": "year", "page_views": "month"}


def rows_out(reports, table):
    return sum(r["tables"][table]["rows_out"] for r in reports.values())


def files(output, table):
    return sorted((output / table).glob("run_date=*/*.parquet"))


def test_pyarrow_reads_the_hive_dataset_with_its_types(output, reports):
    for table, schema in SCHEMAS.items():
        dataset = ds.dataset(output / table, format="parquet", partitioning="hive")
        for name, dtype in schema.items():
            assert dataset.schema.field(name).type == dtype, (table, name)
        data = dataset.to_table()
        assert data.num_rows == rows_out(reports, table)
        assert sorted(set(data.column("run_date").to_pylist())) == RUN_DATES


def test_polars_sees_dates_and_the_partition(output, reports):
    for table, date_column in DATES.items():
        lf = pl.scan_parquet(output / table / "**/*.parquet", hive_partitioning=True)
        schema = lf.collect_schema()
        assert schema[date_column] == pl.Date
        assert schema["run_date"] == pl.Date
        df = lf.collect()
        assert df.height == rows_out(reports, table)
        assert sorted(str(d) for d in df["run_date"].unique()) == RUN_DATES
    amounts = pl.scan_parquet(output / "activity" / "**/*.parquet").collect_schema()
    assert amounts["amount_kzt"] == pl.Decimal(18, 2)


def test_pandas_sees_dates_not_strings(output, reports):
    for table, date_column in DATES.items():
        df = pd.read_parquet(output / table)
        assert len(df) == rows_out(reports, table)
        first = df[date_column].dropna().iloc[0]
        assert isinstance(first, (datetime.date, pd.Timestamp)), type(first)
        assert not isinstance(first, str)
        assert sorted(df["run_date"].astype(str).unique()) == RUN_DATES
    # Money is exact: Python decimals, summed without float noise.
    amounts = pd.read_parquet(output / "activity")["amount_kzt"].dropna()
    assert isinstance(amounts.iloc[0], decimal.Decimal)
    assert amounts.sum() == sum(amounts.tolist())


def test_pandas_reads_one_night_with_real_dates_as_the_readme_says(output, reports):
    # The README's pandas snippet: run_date typed as a date, dates as dates, one night.
    night = datetime.date.fromisoformat(RUN_DATES[-1])
    dates = ds.partitioning(pa.schema([("run_date", pa.date32())]), flavor="hive")
    users = pd.read_parquet(
        output / "users",
        partitioning=dates,
        dtype_backend="pyarrow",
        filters=[("run_date", "==", night)],
    )
    assert len(users) == reports[RUN_DATES[-1]]["tables"]["users"]["rows_out"]
    assert str(users["run_date"].dtype) == "date32[day][pyarrow]"
    assert str(users["registered_month"].dtype) == "date32[day][pyarrow]"
    assert set(users["run_date"]) == {night}
    # Without the options: run_date a category of strings, every night summed.
    plain = pd.read_parquet(output / "users")
    assert isinstance(plain["run_date"].dtype, pd.CategoricalDtype)
    assert len(plain) > len(users)


def test_duckdb_reads_the_glob_and_activity_joins_users(output, reports):
    con = duckdb.connect()

    def source(table):
        return (
            f"read_parquet('{output}/{table}/run_date=*/*.parquet', hive_partitioning=true)"
        )

    for table, date_column in DATES.items():
        described = con.execute(f"DESCRIBE SELECT * FROM {source(table)}").fetchall()
        types = {row[0]: row[1] for row in described}
        assert types[date_column] == "DATE"
        assert types["run_date"] == "DATE"
        (n,) = con.execute(f"SELECT count(*) FROM {source(table)}").fetchone()
        assert n == rows_out(reports, table)

    # The shipped job links activity to users: the events join their person's row (the
    # release is protected together, see test_release.py); those of people users does not
    # write (suppressed there) join nothing and count as classes of unknown users values.
    (joined, events) = con.execute(
        f"""SELECT count(u.user_id), count(*) FROM {source('activity')} a
            LEFT JOIN {source('users')} u
              ON a.user_id = u.user_id AND a.run_date = u.run_date"""
    ).fetchone()
    assert 0.9 * events < joined < events
    # page_views joins nothing: its people are counted, never written.
    described = con.execute(f"DESCRIBE SELECT * FROM {source('page_views')}").fetchall()
    assert "user_id" not in {row[0] for row in described}
    # Within activity, the same person keeps one pseudonym across nights.
    (shared,) = con.execute(
        f"""SELECT count(*) FROM (
              SELECT user_id FROM {source('activity')} WHERE run_date = '{RUN_DATES[0]}'
              INTERSECT
              SELECT user_id FROM {source('activity')} WHERE run_date = '{RUN_DATES[1]}')"""
    ).fetchone()
    assert shared > 0


def test_every_file_describes_itself(output, reports):
    for table in SCHEMAS:
        for f in files(output, table):
            meta = {
                k.decode(): v.decode()
                for k, v in pq.read_metadata(f).metadata.items()
                if k.startswith(b"anonymize.")
            }
            run_date = f.parent.name.removeprefix("run_date=")
            assert meta["anonymize.job"] == "marketing_research"
            assert meta["anonymize.table"] == table
            assert meta["anonymize.run_date"] == run_date
            assert meta["anonymize.version"]
            assert meta["anonymize.key_id"] == reports[run_date]["key_id"]
            columns = json.loads(meta["anonymize.columns"])
            assert set(columns) == set(SCHEMAS[table])
    users = json.loads(
        pq.read_metadata(files(output, "users")[0]).metadata[b"anonymize.columns"]
    )
    # A notebook can tell a generalized birth cohort from a raw value without the job file.
    assert users["birth_cohort"] == {
        "input": "birth_date",
        "action": "generalize",
        "method": "birth_year",
        "role": "quasi",
        "description": "birth year range, such as 1980-1999",
    }
    # Its description is its field's metadata too: the dataset is its own data dictionary.
    field = pq.read_schema(files(output, "users")[0]).field("birth_cohort")
    assert field.metadata[b"description"] == b"birth year range, such as 1980-1999"
    assert users["user_id"]["action"] == "pseudonymize"
