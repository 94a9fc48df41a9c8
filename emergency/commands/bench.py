"""`python -m emergency bench [--scales 1,10,100] [--sessions 1,8,16] [--pages PATHS] [--from FILE] [--json [FILE]]`:
the performance table (see emergency/bench.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database


def register(command):
    p = command("bench", "性能基准：按规模生成演示库并计时（--scales 1,10,100）")
    p.add_argument("--scales", default="1,10,100", help="逗号分隔的规模倍数，默认 1,10,100")
    p.add_argument("--sessions", default="1,8,16", help="并发会话数（逗号分隔），默认 1,8,16")
    p.add_argument("--pages", default="", help="只测这些页面（url 路径，逗号分隔，如 map,linkage），默认全部")
    p.add_argument("--views", type=int, default=6, help="并发测试中每个会话打开的页面数，默认 6")
    p.add_argument("--think", type=float, default=2.0, help="并发测试中每个会话两次点击的间隔（秒），默认 2")
    p.add_argument("--no-first-start", action="store_true", help="不测首次启动（新建并填充演示库）的时间")
    p.add_argument(
        "--from",
        dest="source",
        default="",
        metavar="FILE",
        help="测量这个数据库文件的副本，而不生成演示库（只能与 --scales 1 一起使用；原文件不被改动）",
    )
    p.add_argument("--no-browser", action="store_true", help="不启动服务器和浏览器（只测数据库路径和页面重跑）")
    p.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        help="输出一个 JSON 对象代替表格；给出文件名时另存到该文件并仍输出表格",
    )
    return {"bench": run}


def run(db: Database, args) -> int:
    from .. import bench

    options = bench.Options(
        sessions=tuple(int(n) for n in args.sessions.split(",") if n),
        pages=tuple(p.strip() for p in args.pages.split(",") if p.strip()),
        views=args.views,
        think=args.think,
        browser=not args.no_browser,
        first_start=not args.no_first_start,
        source=str(Path(args.source).resolve()) if args.source else "",
    )
    scales = [int(s) for s in args.scales.split(",")]
    if options.source and scales != [1]:
        print("错误：--from 只能与 --scales 1 一起使用（给定的数据库按原样测量，不再放大）", file=sys.stderr)
        return 1
    if options.source and not Path(options.source).is_file():
        print(f"错误：找不到数据库文件：{args.source}", file=sys.stderr)
        return 1
    from ..bench_browser import admin_pages

    try:
        admin_pages(list(options.pages) or None)
    except ValueError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    to_stdout = args.json == "-"
    out = Path(args.json) if args.json and not to_stdout else None
    print(bench.main(scales, out, options, as_json=to_stdout))
    return 0


run.needs_db = False  # type: ignore[attr-defined]  # read by cli.main: bench makes databases of its own
