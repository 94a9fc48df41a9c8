"""`python -m emergency remind | backup | restore`.

    remind [--now ISO-DATETIME] [--dry-run]   one sweep and one delivery; prints what was created and sent
    backup [--dir DIR]                        a backup file of the database (server stopped)
    restore FILE                              replace the database by a backup (server stopped)

All three need the database file for themselves: while the server runs (and its scheduler does the
same work every morning and every minute) they stop with the lock message and exit 2.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database


def _now(text: str | None) -> datetime | None:
    from ..notify.reminders import local

    if not text:
        return None
    try:
        return local(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(f"--now：不是 ISO 日期时间：{text}（例如 2024-09-30T07:30）") from None


def cmd_remind(db: Database, args) -> int:
    from .. import scheduler
    from ..notify import channels, reminders

    now = _now(args.now) or datetime.now(reminders.TZ)
    if args.dry_run:
        new = reminders.sweep(db, now, dry_run=True)
        print(f"[试运行] {now:%Y-%m-%d %H:%M} 将新建提醒 {len(new)} 条：")
        for c in new:
            print(f"  {reminders.KINDS[c.kind]} · {c.title} → {c.township_code or '县应急管理局'}")
        pending = db.scalar("SELECT count(*) FROM deliveries WHERE status = 'pending'")
        print(f"[试运行] 待发送 {pending} 条（未发送，未写入任何数据）")
        return 0
    created = scheduler.run_job(db, "sweep", now)
    print(f"{now:%Y-%m-%d %H:%M} 新建提醒 {len(created)} 条" + ("：" if created else "。"))
    for c in created:
        print(f"  {reminders.KINDS[c.kind]} · {c.title} → {c.township_code or '县应急管理局'}")
    result = scheduler.run_job(db, "deliver", now)
    print(
        f"发送成功 {len(result['sent'])} 条，待重试 {len(result['retry'])} 条，失败 {len(result['failed'])} 条"
        + (f"，免打扰时段暂缓 {result['quiet']} 条" if result["quiet"] else "")
        + "。"
    )
    for entry in result["sent"]:
        print(f"  已发送 [{channels.CHANNEL_KINDS[entry[1]]}] {entry[2]}")
    for label, key in (("待重试", "retry"), ("失败", "failed")):
        for entry in result[key]:
            print(f"  {label} [{channels.CHANNEL_KINDS[entry[1]]}] {entry[2]}：{entry[3]}")
    return 0


def cmd_backup(db: Database, args) -> int:
    from .. import backup

    path = backup.make_backup(db, directory=Path(args.dir) if args.dir else None)
    print(f"已备份到 {path}（{path.stat().st_size / 1e6:.1f} MB）。恢复：python -m emergency restore {path}")
    return 0


def cmd_restore(db: Database, args) -> int:
    from .. import backup

    result = backup.restore(db, Path(args.file))
    counts = "、".join(f"{k} {v}" for k, v in result["counts"].items())
    print(f"已从 {args.file} 恢复 {db.path}（结构版本 {result['schema_version']}）：{counts}。")
    if result["kept"]:
        print(f"恢复前的数据库已保留为 {result['kept']}。")
    return 0


def register(command) -> dict:
    p = command("remind", "运行一次提醒扫描和一次消息发送，并输出新建和发送的内容")
    p.add_argument("--now", help="按此时刻运行（ISO 格式，如 2024-09-30T07:30；默认当前时间，县时区）")
    p.add_argument("--dry-run", action="store_true", help="只显示将新建的提醒，不写入、不发送")
    p = command("backup", "备份数据库（服务器运行时由其每晚自动备份）")
    p.add_argument("--dir", help="备份目录（默认数据库文件旁的 backups/）")
    p = command("restore", "用备份文件替换数据库（须先停止服务器）")
    p.add_argument("file", help="备份文件（.duckdb）")
    return {"remind": cmd_remind, "backup": cmd_backup, "restore": cmd_restore}
