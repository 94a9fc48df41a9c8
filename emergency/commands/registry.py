"""`python -m emergency import teams|members|drills FILE [--dry-run] [--map 源列名=目标列名]... [--update [--mark-left]]`
and `export teams|members FILE [--as USERNAME]`.

The command line acts as auth.SYSTEM (an administrator, audited as "system"); `export --as` acts as
that user instead, so the file holds exactly what the user would download on the page. Import exits 0 when
every row was imported (or, with --dry-run, would be), 1 when any row was rejected: then each
problem is printed as 第N行 «column»: reason and nothing is written. A file column that is neither a
template column, a synonym (import_headers.py) nor given with --map is such a problem: the unknown
columns are listed and nothing is written. `--update` re-syncs a roster (members matched by ID number,
or by name + birth date + team; changes printed field by field); `--mark-left` also marks the members of
the file's teams that the file does not list as left today. `import drills` reads a township's drill
log (drill_import.py) the same way: all or nothing, every problem printed, exit 1 when any row is bad;
--update and --mark-left do not apply to drills.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database


def register(command) -> dict:
    p = command("import", "从 Excel(.xlsx、.xls) 或 CSV 导入队伍、队员或演练记录（全部或全不：任一行有错则不写入）")
    p.add_argument("kind", choices=["teams", "members", "drills"], help="teams 队伍 / members 队员 / drills 演练记录")
    p.add_argument("file", help=".xlsx 或 .csv 文件")
    p.add_argument("--dry-run", action="store_true", help="只校验，不写入")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="源列名=目标列名",
        help="文件中的列对应到模板的哪一列（可重复）；目标写“不导入”则明确跳过该列",
    )
    p.add_argument(
        "--update",
        action="store_true",
        help="更新已登记的记录：队员按身份证号（或姓名+出生日期+队伍）、队伍按乡镇+队伍名称匹配并更新，其余新增",
    )
    p.add_argument("--mark-left", action="store_true", help="与 --update 一起：文件中没有的本队队员标记为离队")
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


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """--map 源列名=目标列名 (repeatable) -> {源列名: 目标列名}; ValueError in Chinese for a bad one."""
    mapping = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ValueError(f"--map 应写成 源列名=目标列名（或 源列名=不导入），不能是“{pair}”")
        mapping[source.strip()] = target.strip()
    return mapping


def check_targets(kind: str, mapping: dict[str, str]) -> list[str]:
    from .. import drill_import  # noqa: F401 - registers the drills kind with the import engine
    from ..import_headers import SKIP_WORDS
    from ..imports import COLUMNS

    headers = [c.header for c in COLUMNS[kind]]
    return [
        f"--map {source}={target}：目标列应为 {'、'.join(headers)} 或“不导入”"
        for source, target in mapping.items()
        if target not in headers and target not in SKIP_WORDS
    ]


def cmd_import(db: Database, args) -> int:
    from .. import auth, imports
    from ..setup import initialise

    initialise(db)
    path = Path(args.file)
    if not path.is_file():
        print(f"错误：找不到文件 {path}", file=sys.stderr)
        return 1
    try:
        mapping = parse_mapping(args.map)
    except ValueError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    bad_targets = check_targets(args.kind, mapping)
    if bad_targets:
        print("错误：" + "；".join(bad_targets), file=sys.stderr)
        return 1
    if args.mark_left and (not args.update or args.kind != "members"):
        print("错误：--mark-left 只能在导入队员时与 --update 一起使用", file=sys.stderr)
        return 1
    if args.kind == "drills":
        if args.update:
            print("错误：--update 只能用于导入队伍或队员", file=sys.stderr)
            return 1
        return _import_drills(db, path, mapping, args.dry_run)
    try:
        result = imports.run_import(
            db,
            auth.SYSTEM,
            args.kind,
            path.name,
            path.read_bytes(),
            dry_run=args.dry_run,
            mapping=mapping,
            update=args.update,
            mark_left=args.mark_left,
        )
    except ValueError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    what = imports.KINDS[args.kind]
    for note in result.notes:
        print(f"说明：{note}")
    for warning in result.warnings:
        print(f"提示：{warning}")
    if result.problems:
        print_problems(result)
        return 1
    if args.update:
        print_sync(result, args)
        return 0
    if args.dry_run:
        print(f"校验通过：{result.rows} 行{what}数据均可导入（--dry-run，未写入）。")
    else:
        print(f"已导入 {result.written} 行{what}数据（用时 {result.seconds:.1f} 秒）。")
    return 0


def _import_drills(db: Database, path: Path, mapping: dict[str, str], dry_run: bool) -> int:
    from .. import auth, drill_import

    result = drill_import.run_import(db, auth.SYSTEM, path.name, path.read_bytes(), dry_run=dry_run, mapping=mapping)
    for note in result.notes:
        print(f"说明：{note}")
    if result.problems:
        print_problems(result)
        return 1
    if dry_run:
        print(f"校验通过：{result.rows} 行演练记录均可导入（--dry-run，未写入）。")
    else:
        linked = sum(len(r["plans"]) for r in result.records)
        print(f"已导入 {result.written} 条演练记录（关联预案 {linked} 项），已记入审计日志。")
    return 0


def print_problems(result) -> None:
    """The unknown columns (with how to map them) and every problem; the refusal on stderr."""
    unknown = result.unknown_columns
    if unknown:
        print("未知的列：" + "、".join(unknown))
        print("请用 --map 源列名=目标列名 指定对应的列，或 --map 源列名=不导入 明确跳过。")
    for problem in result.problems:
        print(problem)
    print(
        f"未导入：{len(result.bad_rows)} 行有问题（共 {len(result.problems)} 处），整份文件未写入任何数据。",
        file=sys.stderr,
    )


def print_sync(result, args) -> None:
    """A re-sync: what is added, what changes field by field, what is unchanged, who is missing."""
    unit = "人" if args.kind == "members" else "支"
    for change in result.changes:
        for header, (before, after) in change.fields.items():
            print(
                f"修改：第{change.row}行 {change.name}（{change.team_name}，{change.match}）{header}：{before} → {after}"
            )
    for member in result.missing:
        state = "标记为离队" if args.mark_left else "文件中没有（未处理；加 --mark-left 标记为离队）"
        print(f"缺少：{member['name']}（{member['team_name']}）{state}")
    summary = f"新增 {len(result.added)} {unit}，修改 {len(result.changes)} {unit}，未变 {len(result.unchanged)} {unit}"
    if args.kind == "members":
        summary += f"，文件中没有的在册队员 {len(result.missing)} 人"
    if args.dry_run:
        print(f"校验通过（--dry-run，未写入）：{summary}。")
    else:
        left = f"，其中 {result.marked_left} 人已标记为离队" if args.mark_left else ""
        print(f"已更新{'名单' if args.kind == 'members' else '队伍'}：{summary}{left}。")


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
