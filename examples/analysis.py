"""What a marketing analyst does with the released dataset, in DuckDB SQL.

- people by macro-region and age band (users);
- weekly active people by device (activity);
- purchases and revenue by carrier (activity).

In the shipped job, activity's pseudonyms have a key of their own (`scope = "table"`): the two
tables do not join, and each holds k on its own. A job that links them (`link = "users"`, on
enough people) lets the weekly figures be broken down by region and age band with a join on
`user_id` within a run date. The latest run date is analysed unless one is given.

    python examples/analysis.py [OUTPUT_DIR] [RUN_DATE]
    # OUTPUT_DIR defaults to out/marketing_research (where the README's first command writes)

Needs `duckdb` (pip install duckdb); tests/python runs it on the sample data.
"""

import sys
from pathlib import Path

import duckdb


def main(out: Path, run_date: str | None) -> None:
    con = duckdb.connect()
    for table in ("users", "activity"):
        con.execute(
            f"""CREATE VIEW {table} AS SELECT * FROM read_parquet(
                '{out / table}/run_date=*/*.parquet', hive_partitioning = true)"""
        )
    if run_date is None:
        (run_date,) = con.execute("SELECT max(run_date)::VARCHAR FROM activity").fetchone()
    print(f"run date {run_date}\n")

    people = con.execute(
        """SELECT macro_region, age_band, count(*) AS people
           FROM users
           WHERE run_date = ?::DATE
           GROUP BY ALL
           ORDER BY people DESC
           LIMIT 12""",
        [run_date],
    ).fetchall()
    print("people by region and age band (largest)")
    print(f"{'region':<14}{'age':<8}{'people':>8}")
    for region, age, n in people:
        print(f"{region or '-':<14}{age or '-':<8}{n:>8}")

    weekly = con.execute(
        """SELECT date_trunc('week', day)::DATE AS week, device,
                  count(DISTINCT user_id) AS active_people
           FROM activity
           WHERE run_date = ?::DATE
           GROUP BY ALL
           ORDER BY week DESC, active_people DESC
           LIMIT 12""",
        [run_date],
    ).fetchall()
    print("\nweekly active people by device (latest weeks)")
    print(f"{'week':<12}{'device':<40}{'people':>8}")
    for week, device, n in weekly:
        print(f"{week!s:<12}{device or '-':<40}{n:>8}")

    purchases = con.execute(
        """SELECT coalesce(carrier, '(none)') AS carrier, count(*) AS purchases,
                  round(sum(amount_kzt)) AS revenue_kzt
           FROM activity
           WHERE run_date = ?::DATE AND event_type = 'purchase'
           GROUP BY ALL
           ORDER BY revenue_kzt DESC""",
        [run_date],
    ).fetchall()
    print("\npurchases by carrier")
    print(f"{'carrier':<16}{'purchases':>10}{'revenue, KZT':>16}")
    for carrier, n, revenue in purchases:
        print(f"{carrier:<16}{n:>10}{revenue:>16,.0f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        Path(args[0]) if args else Path("out/marketing_research"),
        args[1] if len(args) > 1 else None,
    )
