"""`python -m emergency ...`: the command line. Each command takes --db (default: the app's file,
overridden by the environment variable EMERGENCY_DB) and exits non-zero with a plain message
when the file is held by another process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING

from .db import DatabaseLockedError, default_db_path, open_database
from .errors import ValidationError
from .plans import PlanFileError

if TYPE_CHECKING:
    from .db import Database

handlers: dict = {}


def command_modules():
    """Feature commands live in emergency/commands/<feature>.py, each with register(command) -> {name: handler}."""
    import importlib
    import pkgutil

    from . import commands

    return [importlib.import_module(f"{commands.__name__}.{m.name}") for m in pkgutil.iter_modules(commands.__path__)]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emergency", description="县应急管理局 应急准备登记与演练调度系统")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument(
            "--db", default=None, help=f"数据库文件（默认 {default_db_path()}，可用环境变量 EMERGENCY_DB 覆盖）"
        )
        return p

    command("init", "建库/升级结构，导入乡镇、村（社区）和 plans/ 下的预案，并标记为正式数据库（不会写入演示数据）")
    p = command("demo", "向新的空数据库写入演示数据（可复现县2024年报告数字）；正式数据库拒绝写入")
    p.add_argument("--scale", type=int, default=1, help="规模倍数（基准测试用），默认 1")
    p = command("stats", "输出某年度统计数字")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    for module in command_modules():
        handlers.update(module.register(command))
    p = command(
        "user",
        "用户管理：add 新建用户（如首个管理员）；passwd 重置密码；disable/enable 停用/启用账号；"
        "role 调整角色（重置密码、停用、调整角色都会结束该用户的所有登录会话）",
    )
    p.add_argument("action", choices=["add", "passwd", "disable", "enable", "role"])
    p.add_argument("username")
    p.add_argument("--role", choices=["admin", "township", "viewer"], help="角色（add 默认 admin；role 必须指定）")
    p.add_argument("--township", help="乡镇填报员所属乡镇（名称或统计区划代码）")
    p.add_argument("--name", help="显示名称（默认同用户名）")
    return parser


def _read_password() -> str:
    """From EMERGENCY_PASSWORD, or prompted twice without echo; never printed."""
    import getpass
    import os

    if os.environ.get("EMERGENCY_PASSWORD"):
        return os.environ["EMERGENCY_PASSWORD"]
    first = getpass.getpass("密码：")
    if getpass.getpass("再次输入密码：") != first:
        raise ValueError("两次输入的密码不一致")
    return first


def error_text(exc: Exception) -> str:
    """What a refused command prints: a ValidationError with several problems one per line."""
    if isinstance(exc, ValidationError) and len(exc.problems) > 1:
        return "\n".join(["错误：", *(f"  {problem}" for problem in exc.problems)])
    return f"错误：{exc}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {**COMMANDS, **handlers}[args.command]
    if getattr(handler, "needs_db", True) is False:  # e.g. bench: makes databases of its own
        return handler(None, args)
    try:
        db = open_database(args.db)
    except DatabaseLockedError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    try:
        return handler(db, args)
    except (PlanFileError, ValueError) as exc:
        print(error_text(exc), file=sys.stderr)
        return 1
    finally:
        db.close()


def cmd_init(db: Database, args) -> int:
    from .setup import initialise, mark_real

    result = initialise(db)
    real = mark_real(db)
    print(
        f"已初始化 {db.path}：新增乡镇级单位 {result['townships']} 个、村级单位 {result['villages']} 个；"
        f"预案新增 {result['plans_inserted']} 项、更新 {result['plans_updated']} 项。"
    )
    print("已标记为正式数据库：服务启动时不会写入演示数据。" if real else "注意：该文件是演示数据库，仍为演示数据库。")
    return 0


def cmd_demo(db: Database, args) -> int:
    from . import demo
    from .setup import fill_with_demo, initialise, is_real

    if args.scale < 1:
        print("错误：--scale 必须是正整数", file=sys.stderr)
        return 1
    initialise(db)
    if is_real(db):
        print(
            "错误：该数据库已标记为正式数据库（执行过 init 或已有正式账号），不能写入演示数据（请用新的 --db 文件）。",
            file=sys.stderr,
        )
        return 1
    if demo.has_data(db):
        print("错误：数据库中已有数据，演示数据只能写入空数据库（请用新的 --db 文件）。", file=sys.stderr)
        return 1
    started = time.perf_counter()
    written = fill_with_demo(db, scale=args.scale)
    summary = "、".join(f"{table} {count}" for table, count in written.items())
    print(f"已写入演示数据（规模 ×{args.scale}，用时 {time.perf_counter() - started:.1f} 秒）：{summary}")
    return 0


def cmd_stats(db: Database, args) -> int:
    from .stats import STAT_LABELS, year_stats

    figures = year_stats(db, args.year)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        print(f"{args.year} 年统计")
        for key, label in STAT_LABELS.items():
            print(f"  {label}：{figures[key]}")
    return 0


def cmd_user(db: Database, args) -> int:
    from . import auth, regions
    from .setup import initialise

    initialise(db)
    name = args.username
    if args.action == "passwd":
        auth.set_password(db, auth.SYSTEM, name, _read_password())
        print(f"已重置用户 {name} 的密码，其登录会话已全部结束。")
        return 0
    if args.action in ("disable", "enable"):
        auth.set_active(db, auth.SYSTEM, name, args.action == "enable")
        print(f"已启用用户 {name}。" if args.action == "enable" else f"已停用用户 {name}，其登录会话已全部结束。")
        return 0
    township = regions.township_code(db, args.township) if args.township else None
    if args.action == "role":
        if not args.role:  # never a silent default here: that would make anyone an admin
            raise ValueError("请用 --role 指定新角色（admin、township 或 viewer）")
        auth.set_role(db, auth.SYSTEM, name, args.role, township)
        print(f"已将用户 {name} 的角色改为 {auth.USER_ROLES[args.role]}，其登录会话已全部结束。")
        return 0
    user = auth.create_user(db, auth.SYSTEM, name, args.name or name, args.role or "admin", _read_password(), township)
    print(f"已创建用户 {user.username}（{user.role_label}）。")
    return 0


COMMANDS = {"init": cmd_init, "demo": cmd_demo, "stats": cmd_stats, "user": cmd_user}
