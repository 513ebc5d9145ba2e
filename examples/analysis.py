"""What a marketing analyst does with the released dataset, in DuckDB SQL.

- weekly active people by macro-region and age band;
- purchases and revenue by carrier.

The dataset is joined on the pseudonym (`user_id`) within a run date: each night's release
is a consistent snapshot. The latest run date is analysed unless one is given.

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

    weekly = con.execute(
        """SELECT date_trunc('week', a.day)::DATE AS week, u.macro_region, u.age_band,
                  count(DISTINCT a.user_id) AS active_people
           FROM activity a JOIN users u USING (user_id, run_date)
           WHERE a.run_date = ?::DATE
           GROUP BY ALL
           ORDER BY week DESC, active_people DESC
           LIMIT 12""",
        [run_date],
    ).fetchall()
    print("weekly active people by region and age band (latest weeks)")
    print(f"{'week':<12}{'region':<14}{'age':<8}{'people':>8}")
    for week, region, age, people in weekly:
        print(f"{week!s:<12}{region or '-':<14}{age or '-':<8}{people:>8}")

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
