"""`python -m emergency resources ...`: the emergency resources from the command line.

    resources list depots|stock|shelters|hazards|experts|team-bases [--json] [--as USERNAME]
    resources nearest [--within-km N] [--json]
    resources import depots|shelters|hazards|experts|stock|team-bases|equipment FILE [--dry-run]
    resources export depots|shelters|hazards|experts FILE [--as USERNAME]

JSON of `list team-bases`: every team (not disbanded) with a base coordinate, {name, lat, lon};
`list depots`: every depot {name, lat, lon, stock: [{item_code, name, unit, quantity}]} (lat/lon
null when unknown); the other lists: their records' fields. `nearest`: one object per hazard point
{code, name, lat, lon, nearest_team, nearest_depot, covered}, each nearest {name, lat, lon, km}
(great-circle km) or null, covered true when a team lies within --within-km (default: the setting,
10 km). The command line acts as auth.SYSTEM; `--as` shows phones as that user sees them.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database

LIST_KINDS = ("depots", "stock", "shelters", "hazards", "experts", "team-bases")
IO_KINDS = ("depots", "shelters", "hazards", "experts")
IMPORT_KINDS = (*IO_KINDS, "stock", "team-bases", "equipment")  # stock: opening balances and receipts


def register(command) -> dict:
    p = command(
        "resources",
        "应急资源：list 列出储备库/库存/避难场所/隐患点/专家/队伍驻地；nearest 各隐患点最近的队伍和储备库；"
        "import/export 导入导出",
    )
    p.add_argument("action", choices=["list", "nearest", "import", "export"])
    p.add_argument(
        "kind",
        nargs="?",
        help="list: "
        + "|".join(LIST_KINDS)
        + "；import: "
        + "|".join(IMPORT_KINDS)
        + "；export: "
        + "|".join(IO_KINDS),
    )
    p.add_argument("file", nargs="?", help="import/export 的 .xlsx（或导入的 .csv）文件")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.add_argument("--within-km", type=float, default=None, help="nearest：覆盖距离（公里），默认取系统设置（10）")
    p.add_argument("--dry-run", action="store_true", help="import：只校验，不写入")
    p.add_argument("--as", dest="as_user", metavar="USERNAME", help="以该用户身份列出/导出（电话按其角色脱敏）")
    return {"resources": cmd_resources}


def _plain(value):
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars from a frame
        return value.item()
    return value


def cmd_resources(db: Database, args) -> int:
    from .. import auth

    actor = auth.active_user(db, args.as_user) if args.as_user else auth.SYSTEM
    if args.action == "nearest":
        return _nearest(db, args)
    if args.action == "list":
        if args.kind not in LIST_KINDS:
            raise ValueError(f"resources list 的类型必须是 {'、'.join(LIST_KINDS)} 之一")
        return _list(db, actor, args)
    kinds = IMPORT_KINDS if args.action == "import" else IO_KINDS
    if args.kind not in kinds or not args.file:
        raise ValueError(f"resources {args.action} 须指定类型（{'、'.join(kinds)}）和文件")
    if args.action == "import":
        return _import(db, args)
    from ..resources import transfer

    Path(args.file).write_bytes(transfer.export_xlsx(db, actor, args.kind))
    print(f"已以 {actor.display_name}（{actor.role_label}）身份导出{transfer.WHAT[args.kind]}到 {args.file}。")
    return 0


def records(db: Database, actor, kind: str) -> list[dict]:
    """What `resources list KIND --json` prints (see the module docstring)."""
    from ..resources import bases, registry, stock

    if kind == "team-bases":
        return [{"name": t["name"], "lat": t["lat"], "lon": t["lon"]} for t in bases.team_bases(db)]
    if kind == "depots":
        totals = stock.depot_totals(db)
        return [
            {"name": d["name"], "lat": d["lat"], "lon": d["lon"], "stock": totals.get(d["id"], [])}
            for d in registry.rows(db, "depots")
        ]
    if kind == "stock":
        keys = ("depot_name", "township_name", "item_code", "item_name", "unit", "batch", "quantity")
        return [
            {**{k: r[k] for k in keys}, "expires_on": _plain(r["expires_on"]), "maintain_on": _plain(r["maintain_on"])}
            for r in stock.stock_rows(db)
        ]
    frame = registry.listing(db, actor, kind)
    return [
        {k: _plain(v) for k, v in row.items()}
        for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
    ]


def _list(db: Database, actor, args) -> int:
    found = records(db, actor, args.kind)
    if args.json:
        print(json.dumps(found, ensure_ascii=False))
        return 0
    for row in found:
        print("  ".join("—" if v is None or v == [] else _text(v) for k, v in row.items() if k != "id"))
    print(f"共 {len(found)} 条。")
    return 0


def _text(value) -> str:
    if isinstance(value, list):
        return "、".join(f"{s['name']}{s['quantity']}{s['unit']}" for s in value)
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def _nearest(db: Database, args) -> int:
    from ..resources import coverage

    if args.within_km is not None and args.within_km <= 0:
        raise ValueError("--within-km 须为正数")
    rows = coverage.nearest_resources(db, args.within_km)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    km = args.within_km if args.within_km is not None else coverage.within_km(db)

    def near(x):
        return f"{x['name']} {x['km']:.2f} 公里" if x else "—"

    for r in rows:
        mark = "已覆盖" if r["covered"] else "未覆盖"
        print(
            f"{r['code']} {r['name']}：最近队伍 {near(r['nearest_team'])}；最近储备库 {near(r['nearest_depot'])}；{mark}"
        )
    print(f"共 {len(rows)} 个隐患点，{sum(r['covered'] for r in rows)} 个在 {km:g} 公里内有救援队伍。")
    return 0


def _import(db: Database, args) -> int:
    from .. import auth
    from ..resources import transfer

    path = Path(args.file)
    if not path.is_file():
        print(f"错误：找不到文件 {path}", file=sys.stderr)
        return 1
    result = transfer.run_import(db, auth.SYSTEM, args.kind, path.name, path.read_bytes(), dry_run=args.dry_run)
    if result.problems:
        for problem in result.problems:
            print(problem)
        print(
            f"未导入：{len(result.bad_rows)} 行有问题（共 {len(result.problems)} 处），整份文件未写入任何数据。",
            file=sys.stderr,
        )
        return 1
    what = transfer.WHAT[args.kind]
    if args.dry_run:
        print(f"校验通过：{result.rows} 行{what}数据均可导入（--dry-run，未写入）。")
    else:
        print(f"已导入 {result.written} 行{what}数据。")
    return 0
