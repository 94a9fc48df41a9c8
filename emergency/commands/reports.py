"""`python -m emergency report --year 2024 [--format text|docx|xlsx] [-o FILE]`: the annual report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database


def register(command) -> dict:
    p = command("report", "输出某年度应急工作报告段落与统计表（text / docx / xlsx）")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--format", choices=["text", "docx", "xlsx"], default="text")
    p.add_argument("-o", "--output", help="输出文件（docx / xlsx 必填；text 不填则打印）")
    return {"report": cmd_report}


def cmd_report(db: Database, args) -> int:
    from .. import reports

    if args.format != "text" and not args.output:
        print(f"错误：--format {args.format} 需要用 -o 指定输出文件", file=sys.stderr)
        return 1
    data = reports.render(db, args.year, args.format)
    if args.output:
        out = Path(args.output)
        if isinstance(data, str):
            out.write_text(data, encoding="utf-8")
        else:
            out.write_bytes(data)
        print(f"已写入 {out}")
    else:
        sys.stdout.write(data if isinstance(data, str) else data.decode("utf-8"))
    return 0
