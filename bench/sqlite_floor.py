#!/usr/bin/env python3
"""The least time one SQLite writer needs to write a generated archive, on this machine.

`broadsheet generate` writes its whole archive through one SQLite connection (SQLite has one
writer per database file), so SQLite's own work (b-tree inserts, page writes, building the
indexes) bounds how fast it can go however the rest is written. This measures that bound: it
copies every table of an archive that `generate` already made into a new file, row by row, with the
loader's settings (no journal, no syncs, no foreign key checks, indexes built after the rows), so
that SQLite does the same inserts with no parsing, binding or text generation around them, and
reports the articles per second that the copy alone allows. The copy also reads the source (through
a memory map), so the bound is a little high.

    python3 bench/sqlite_floor.py DATA_DIR [--runs 3]

DATA_DIR holds a `broadsheet.db` made by `broadsheet generate` (for example bench/datasets/100000).
"""
import argparse
import pathlib
import sqlite3
import statistics
import tempfile
import time

# The tables `generate` fills (a batch's rows go to several of them in turn).
TABLES = ["sections", "authors", "tags", "articles", "article_bodies", "article_authors", "article_tags",
          "comments", "view_buckets", "related_articles", "must_reads"]


def copy_once(source: pathlib.Path, work: pathlib.Path) -> dict:
    target = work / "floor.db"
    for suffix in ("", "-journal"):
        pathlib.Path(f"{target}{suffix}").unlink(missing_ok=True)
    old = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    tables = dict(old.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    indexes = [row[0] for row in old.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
    articles = old.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    old.close()

    # URIs on, so that the source below is attached read-only whatever SQLite's build default.
    db = sqlite3.connect(f"file:{target}", uri=True, isolation_level=None)
    for pragma in ("main.locking_mode = EXCLUSIVE", "journal_mode = OFF", "synchronous = OFF", "cache_size = -16384",
                   "temp_store = MEMORY", "foreign_keys = OFF"):
        db.execute(f"PRAGMA {pragma}")
    for sql in tables.values():
        db.execute(sql)
    db.execute("ATTACH ? AS old", (f"file:{source}?mode=ro",))
    # The source is read through a memory map, so reading it costs as little as it can.
    db.execute("PRAGMA old.mmap_size = 2147418112")
    timings = {}
    started = time.perf_counter()
    db.execute("BEGIN")
    for table in TABLES:
        if table not in tables:
            continue
        columns = [row[1] for row in db.execute(f"PRAGMA main.table_info({table})")]
        listed = ", ".join(f'"{c}"' for c in columns)
        at = time.perf_counter()
        # Naming the columns (and the WHERE clause) keeps SQLite from copying the table's records
        # whole (its transfer optimisation, for `INSERT INTO t SELECT * FROM u`): every row goes
        # through the b-tree insert, as a loader's rows do.
        db.execute(f'INSERT INTO main."{table}" ({listed}) SELECT {listed} FROM old."{table}" WHERE 1 = 1')
        timings[table] = time.perf_counter() - at
    db.execute("COMMIT")
    rows_done = time.perf_counter()
    for sql in indexes:
        db.execute(sql)
    finished = time.perf_counter()
    db.close()
    target.unlink()
    return {"articles": articles, "rows_s": rows_done - started, "indexes_s": finished - rows_done,
            "total_s": finished - started, "tables_s": timings}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=pathlib.Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    source = args.data_dir / "broadsheet.db"
    if not source.exists():
        parser.error(f"{source} does not exist; make it with `broadsheet generate --data-dir {args.data_dir}`")
    with tempfile.TemporaryDirectory(dir=args.data_dir.parent) as work:
        runs = [copy_once(source, pathlib.Path(work)) for _ in range(args.runs)]
    articles = runs[0]["articles"]
    for number, run in enumerate(runs, 1):
        slowest = sorted(run["tables_s"].items(), key=lambda kv: -kv[1])[:3]
        print(f"run {number}: rows {run['rows_s']:.2f} s + indexes {run['indexes_s']:.2f} s = {run['total_s']:.2f} s"
              f" ({articles / run['total_s']:,.0f} articles/s); slowest tables: "
              + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in slowest))
    best = min(r["total_s"] for r in runs)
    print(f"SQLite {sqlite3.sqlite_version}: {articles:,} articles copied in {statistics.median(r['total_s'] for r in runs):.2f} s"
          f" (median), {best:.2f} s at best: at most {articles / best:,.0f} articles/s for one writer on this machine")


if __name__ == "__main__":
    main()
