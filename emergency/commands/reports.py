"""`python -m emergency report --year 2024 [--format text|docx|xlsx] [-o FILE] [--template FILE]
[--issued-on YYYY-MM-DD]`: the annual report; `report-template -o FILE`: the default Word template, to edit."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database


def register(command) -> dict:
    p = command("report", "输出某年度应急工作报告段落与统计表（text / docx / xlsx）")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--format", choices=["text", "docx", "xlsx"], default="text")
    p.add_argument("-o", "--output", help="输出文件（docx / xlsx 必填；text 不填则打印）")
    p.add_argument("--template", help="Word 模板（默认：数据库旁的 report_template.docx，否则系统默认模板）")
    p.add_argument("--issued-on", type=date.fromisoformat, help="成文日期 YYYY-MM-DD（默认今天）")
    t = command("report-template", "导出默认的年度报告 Word 模板，供修改版式与固定文字")
    t.add_argument("-o", "--output", required=True, help="输出文件（.docx）")
    return {"report": cmd_report, "report-template": cmd_report_template}


def cmd_report(db: Database, args) -> int:
    from .. import reports

    if args.format != "text" and not args.output:
        print(f"错误：--format {args.format} 需要用 -o 指定输出文件", file=sys.stderr)
        return 1
    template = Path(args.template) if args.template else None
    if template and not template.is_file():
        print(f"错误：找不到模板文件 {template}", file=sys.stderr)
        return 1
    data = reports.render(db, args.year, args.format, template, args.issued_on)
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


def cmd_report_template(db: Database, args) -> int:
    from .. import report_template

    out = Path(args.output)
    out.write_bytes(report_template.TEMPLATE_PATH.read_bytes())
    print(f"已写入 {out}：在 Word 中修改后，放在数据库文件旁并命名为 report_template.docx 即启用")
    return 0
