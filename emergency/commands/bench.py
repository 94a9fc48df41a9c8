"""`python -m emergency bench [--scales 1,10,100] [--json FILE]`: the performance table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database


def register(command):
    p = command("bench", "性能基准：按规模生成演示库并计时（--scales 1,10,100）")
    p.add_argument("--scales", default="1,10,100", help="逗号分隔的规模倍数，默认 1,10,100")
    p.add_argument("--json", type=Path, help="另存详细结果（JSON）")
    return {"bench": run}


def run(db: Database, args) -> int:
    from .. import bench

    print(bench.main([int(s) for s in args.scales.split(",")], args.json))
    return 0


run.needs_db = False  # type: ignore[attr-defined]  # read by cli.main: bench makes databases of its own
