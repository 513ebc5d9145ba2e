"""What a marketing analyst does with the released dataset, in DuckDB SQL.

- people by macro-region and birth cohort (users);
- purchases and revenue by birth cohort and year (activity joined to users on the pseudonym);
- page views by section and month (page_views).

activity is linked to users in the shipped job: the join on `user_id` within one run date is
protected (every class of the join, and every two of a person's facts, hold k people). People
users does not write (suppressed there) have no users row: a LEFT JOIN shows them as `-`.
Each run date is a whole snapshot, so every query reads one run date: the latest, unless one
is given.

    python examples/analysis.py [OUTPUT_DIR] [RUN_DATE]
    # OUTPUT_DIR defaults to out/marketing_research (where the README's first command writes)

Needs `duckdb` (pip install duckdb); tests/python runs it on the sample data.
"""

import sys
from pathlib import Path

import duckdb


def main(out: Path, run_date: str | None) -> None:
    con = duckdb.connect()
    for table in ("users", "activity", "page_views"):
        con.execute(
            f"""CREATE VIEW {table} AS SELECT * FROM read_parquet(
                '{out / table}/run_date=*/*.parquet', hive_partitioning = true)"""
        )
    if run_date is None:
        (run_date,) = con.execute("SELECT max(run_date)::VARCHAR FROM activity").fetchone()
    print(f"run date {run_date}\n")

    people = con.execute(
        """SELECT macro_region, birth_cohort, count(*) AS people
           FROM users
           WHERE run_date = ?::DATE
           GROUP BY ALL
           ORDER BY people DESC
           LIMIT 12""",
        [run_date],
    ).fetchall()
    print("people by region and birth cohort (largest)")
    print(f"{'region':<14}{'cohort':<12}{'people':>8}")
    for region, cohort, n in people:
        print(f"{region or '-':<14}{cohort or '-':<12}{n:>8}")

    purchases = con.execute(
        """SELECT coalesce(u.birth_cohort, '-') AS birth_cohort, year(a.year) AS year,
                  count(*) AS purchases, round(sum(a.amount_kzt)) AS revenue_kzt
           FROM activity a LEFT JOIN users u
             ON a.user_id = u.user_id AND a.run_date = u.run_date
           WHERE a.run_date = ?::DATE AND a.event_type = 'purchase'
           GROUP BY ALL
           ORDER BY birth_cohort, year""",
        [run_date],
    ).fetchall()
    print("\npurchases by birth cohort and year")
    print(f"{'cohort':<12}{'year':<8}{'purchases':>10}{'revenue, KZT':>16}")
    for cohort, year, n, revenue in purchases:
        print(f"{cohort:<12}{year:<8}{n:>10}{revenue or 0:>16,.0f}")

    views = con.execute(
        """SELECT month, section, count(*) AS views
           FROM page_views
           WHERE run_date = ?::DATE AND event_type = 'page_view'
           GROUP BY ALL
           ORDER BY month DESC, views DESC
           LIMIT 12""",
        [run_date],
    ).fetchall()
    print("\npage views by section (latest months)")
    print(f"{'month':<12}{'section':<36}{'views':>8}")
    for month, section, n in views:
        print(f"{month!s:<12}{section or '-':<36}{n:>8}")

if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        Path(args[0]) if args else Path("out/marketing_research"),
        args[1] if len(args) > 1 else None,
    )
