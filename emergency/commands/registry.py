"""`python -m emergency import teams|members FILE [--dry-run]` and `export teams|members FILE [--as USERNAME]`.

The command line acts as auth.SYSTEM (an administrator, audited as "system"); `export --as` acts as
that user instead, so the file holds exactly what the user would download on the page. Import exits 0 when
every row was imported (or, with --dry-run, would be), 1 when any row was rejected: then each
problem is printed as 第N行 «column»: reason and nothing is written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database


def register(command) -> dict:
    p = command("import", "从 Excel(.xlsx) 或 CSV 导入队伍或队员（全部或全不：任一行有错则不写入）")
    p.add_argument("kind", choices=["teams", "members"], help="teams 队伍 / members 队员")
    p.add_argument("file", help=".xlsx 或 .csv 文件")
    p.add_argument("--dry-run", action="store_true", help="只校验，不写入")
    p = command("export", "把队伍或队员名单导出为 Excel")
    p.add_argument("kind", choices=["teams", "members"])
    p.add_argument("file", help="输出的 .xlsx 文件")
    p.add_argument("--township", help="只导出某乡镇（名称或统计区划代码）；以乡镇填报员导出时默认本乡镇")
    p.add_argument(
        "--as",
        dest="as_user",
        metavar="USERNAME",
        help="以该用户身份导出：脱敏和乡镇范围与该用户在页面上下载的一致，审计记在该用户名下（默认：管理员）",
    )
    return {"import": cmd_import, "export": cmd_export}


def cmd_import(db: Database, args) -> int:
    from .. import auth, imports
    from ..setup import initialise

    initialise(db)
    path = Path(args.file)
    if not path.is_file():
        print(f"错误：找不到文件 {path}", file=sys.stderr)
        return 1
    result = imports.run_import(db, auth.SYSTEM, args.kind, path.name, path.read_bytes(), dry_run=args.dry_run)
    what = imports.KINDS[args.kind]
    for warning in result.warnings:
        print(f"提示：{warning}")
    if result.problems:
        for problem in result.problems:
            print(problem)
        print(
            f"未导入：{len(result.bad_rows)} 行有问题（共 {len(result.problems)} 处），整份文件未写入任何数据。",
            file=sys.stderr,
        )
        return 1
    if args.dry_run:
        print(f"校验通过：{result.rows} 行{what}数据均可导入（--dry-run，未写入）。")
    else:
        print(f"已导入 {result.written} 行{what}数据（用时 {result.seconds:.1f} 秒）。")
    return 0


def cmd_export(db: Database, args) -> int:
    from .. import auth, imports
    from ..normalise import Places

    actor = auth.active_user(db, args.as_user) if args.as_user else auth.SYSTEM
    filters = {}
    if args.township:
        filters["township_code"] = Places.load(db).township(args.township)
    elif actor.role == "township":  # the page opens on the operator's own township
        filters["township_code"] = actor.township_code
    data = imports.export_xlsx(db, actor, args.kind, **filters)
    Path(args.file).write_bytes(data)
    print(f"已以 {actor.display_name}（{actor.role_label}）身份导出{imports.KINDS[args.kind]}名单到 {args.file}。")
    return 0
