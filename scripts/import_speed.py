"""Time a member import: imports.run_import of N generated rows (emergency/demo/samples.member_rows,
one .xlsx as the benchmark writes it) into a fresh copy of the demo database, several times.

    .venv/bin/python scripts/import_speed.py [ROWS ...] [--repeat 3] [--profile] [--db PATH]

Prints, per size, each run's CPU seconds (process time: DuckDB's threads included) and wall seconds,
and the best rows per second of each. --profile prints the cProfile of the last run (its overhead
makes the small functions look several times slower than they are). The demo database and the
generated files are kept in a temporary folder per run of the script; the key file is a throwaway one.
--db imports into copies of that database instead (e.g. a demo ×100: its 79,000 team names); the
file given is only read (copied first, never written).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="*", type=int, default=[20_000, 50_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--db", type=Path, help="import into copies of this database (never written)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="import-speed-"))
    os.environ.setdefault("EMERGENCY_SCHEDULER", "off")
    os.environ["EMERGENCY_KEY_FILE"] = str(work / "secret.key")

    from emergency import auth, imports
    from emergency.db import Database
    from emergency.demo.samples import HEADERS, member_rows, xlsx_bytes
    from emergency.setup import ensure_ready_with_demo

    base = work / "demo.duckdb"
    if args.db:
        shutil.copy(args.db, base)
        db = Database(base)
    else:
        db = Database(base)
        ensure_ready_with_demo(db)
    db.cursor().execute("CHECKPOINT")
    files = {n: xlsx_bytes(HEADERS, member_rows(db, n, seed=n)) for n in args.rows}
    db.close()
    try:
        for n, data in files.items():
            runs = []
            for _ in range(args.repeat):
                copy = work / "copy.duckdb"
                shutil.copy(base, copy)
                target = Database(copy)
                target.query("SELECT 1")
                profile = cProfile.Profile() if args.profile else None
                cpu, wall = time.process_time(), time.perf_counter()
                if profile:
                    profile.enable()
                result = imports.run_import(target, auth.SYSTEM, "members", "speed.xlsx", data)
                if profile:
                    profile.disable()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                target.close()
                copy.unlink()
                if not result.committed:
                    raise SystemExit(f"import refused: {result.problems[:3]}")
                runs.append((cpu, wall))
            shown = "  ".join(f"{c:.2f}/{w:.2f}" for c, w in runs)
            best_cpu, best_wall = min(c for c, _ in runs), min(w for _, w in runs)
            print(
                f"{n:>7,} rows ({len(data) / 1e6:.1f} MB)  cpu/wall s: {shown}  best: "
                f"{n / best_cpu:,.0f} rows per CPU-second, {n / best_wall:,.0f} rows/s wall"
            )
            if profile:
                pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
