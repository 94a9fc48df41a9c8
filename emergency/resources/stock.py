"""Stock of the supply depots: receipts and issues (入库 / 出库), minimums, and the reminders.

Stock is kept per (depot, item, batch) with its expiry or next maintenance date. Every change of a
quantity is a movement row written in the same transaction as the stock row and the audit row, so
the stock is always the sum of its movements. An issue never takes a stock below zero: one larger
than what the depot holds (of that batch, or of the item when no batch is named) is refused whole,
nothing written. Without a batch an issue takes the batches that expire first (FEFO), one movement
per batch touched. Concurrent issues of the same stock conflict in DuckDB; `db.write` retries and
the retry reads the quantity again, so two issues cannot both take the last tent.

Reminders (through the sweep, notify/reminders.py): a batch expiring or due for maintenance within
the certificate lead time (`expiry_days`), and a depot holding less of an item than its minimum;
each once, to the depot's township (the county bureau for county depots).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from .. import audit
from ..auth import User, require_write
from ..db import insert_row, row_dict
from ..db import where as sql_where
from ..enums import RESOURCE_ITEMS
from ..errors import Problem, ValidationError
from ..hygiene import clean

if TYPE_CHECKING:
    import pandas as pd

    from ..db import Cursor, Database
    from ..notify.reminders import Candidate


def item_name(code: str) -> str:
    return RESOURCE_ITEMS.get(code, (code, ""))[0]


def item_unit(code: str) -> str:
    return RESOURCE_ITEMS.get(code, ("", ""))[1]


def _depot(cur: Cursor, depot_id: int) -> dict:
    depot = row_dict(cur, "SELECT id, name, township_code FROM depots WHERE id = ?", [depot_id])
    if not depot:
        raise ValidationError.single("储备库", f"编号 {depot_id} 不存在")
    return depot


def movement_problems(item_code, quantity, moved_on, handled_by) -> list[Problem]:
    """The form's checks of a receipt or an issue (pure)."""
    problems = []
    if item_code not in RESOURCE_ITEMS:
        problems.append(Problem("物资", f"“{item_code}”不在物资目录中"))
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        problems.append(Problem("数量", "须为正整数"))
    if not isinstance(moved_on, date):
        problems.append(Problem("日期", "必须填写日期"))
    if not clean(handled_by):
        problems.append(Problem("经手人", "不能为空"))
    return problems


def _drill_problem(cur: Cursor, drill_id: int | None) -> list[Problem]:
    if drill_id is None or row_dict(cur, "SELECT id FROM drills WHERE id = ?", [drill_id]):
        return []
    return [Problem("关联演练", f"编号 {drill_id} 不存在")]


def receive(
    db: Database,
    actor: User,
    depot_id: int,
    item_code: str,
    quantity: int,
    *,
    moved_on: date,
    handled_by: str,
    batch: str = "",
    expires_on: date | None = None,
    maintain_on: date | None = None,
    purpose: str | None = None,
    drill_id: int | None = None,
) -> int:
    """入库: add `quantity` of an item (batch) to a depot; returns the movement id. A new batch takes
    the expiry / maintenance dates given; an existing batch keeps its dates unless new ones are given."""
    problems = movement_problems(item_code, quantity, moved_on, handled_by)
    if problems:
        raise ValidationError(problems)
    return db.write(
        lambda cur: receive_in(
            cur,
            actor,
            depot_id,
            item_code,
            quantity,
            moved_on=moved_on,
            handled_by=handled_by,
            batch=batch,
            expires_on=expires_on,
            maintain_on=maintain_on,
            purpose=purpose,
            drill_id=drill_id,
        )
    )


def receive_in(
    cur: Cursor,
    actor: User,
    depot_id: int,
    item_code: str,
    quantity: int,
    *,
    moved_on: date,
    handled_by: str,
    batch: str = "",
    expires_on: date | None = None,
    maintain_on: date | None = None,
    purpose: str | None = None,
    drill_id: int | None = None,
) -> int:
    """receive's work inside the caller's transaction (the stock import writes many in one): the
    depot in scope, the stock row added to, the movement and its audit row. The values are checked
    by the caller (movement_problems)."""
    batch = clean(batch)
    depot = _depot(cur, depot_id)
    require_write(actor, depot["township_code"], "为其他乡镇的储备库入库")
    found = _drill_problem(cur, drill_id)
    if found:
        raise ValidationError(found)
    row = row_dict(
        cur,
        "SELECT id, quantity, expires_on, maintain_on FROM stock WHERE depot_id = ? AND item_code = ? AND batch = ?",
        [depot_id, item_code, batch],
    )
    if row:
        cur.execute(
            "UPDATE stock SET quantity = quantity + ?, expires_on = coalesce(?, expires_on),"
            " maintain_on = coalesce(?, maintain_on) WHERE id = ?",
            [quantity, expires_on, maintain_on, row["id"]],
        )
        stock_id, before = row["id"], row["quantity"]
    else:
        stock_id = insert_row(
            cur,
            "stock",
            {
                "depot_id": depot_id,
                "item_code": item_code,
                "batch": batch,
                "quantity": quantity,
                "expires_on": expires_on,
                "maintain_on": maintain_on,
            },
        )
        before = 0
    movement = _movement(
        cur, actor, depot_id, item_code, batch, "in", quantity, moved_on, handled_by, purpose, drill_id
    )
    audit.record(
        cur,
        actor,
        "create",
        "stock_movements",
        movement,
        {"stock_id": stock_id, "quantity": before},
        {
            "stock_id": stock_id,
            "direction": "in",
            "item_code": item_code,
            "batch": batch,
            "quantity": before + quantity,
        },
    )
    return movement


def plan_issue(batches: list[dict], quantity: int, batch: str | None) -> list[tuple[int, int]]:
    """(stock id, quantity taken) for an issue of `quantity` (pure): from the named batch, or from
    the batches that expire first (no expiry last, then the oldest row). Raises ValidationError
    when the stock does not cover it, so nothing is taken."""
    pool = [b for b in batches if batch is None or b["batch"] == batch]
    held = sum(b["quantity"] for b in pool)
    if quantity > held:
        where = f"批次“{batch}”" if batch else "该物资"
        raise ValidationError.single("数量", f"出库 {quantity} 超过{where}现有库存 {held}，未出库")
    pool.sort(key=lambda b: (b["expires_on"] is None, b["expires_on"] or date.max, b["id"]))
    taken, left = [], quantity
    for b in pool:
        if left == 0:
            break
        take = min(left, b["quantity"])
        if take:
            taken.append((b["id"], take))
            left -= take
    return taken


def issue(
    db: Database,
    actor: User,
    depot_id: int,
    item_code: str,
    quantity: int,
    *,
    moved_on: date,
    handled_by: str,
    batch: str | None = None,
    purpose: str | None = None,
    drill_id: int | None = None,
) -> list[int]:
    """出库: take `quantity` of an item from a depot (a batch, or first-expiring first). Refused whole
    when the stock is smaller. Returns the movement ids (one per batch touched)."""
    problems = movement_problems(item_code, quantity, moved_on, handled_by)
    if problems:
        raise ValidationError(problems)
    if not clean(purpose) and drill_id is None:
        raise ValidationError.single("用途", "出库须注明用于哪次事件或演练")
    wanted = None if batch is None else clean(batch)

    def work(cur: Cursor):
        depot = _depot(cur, depot_id)
        require_write(actor, depot["township_code"], "为其他乡镇的储备库出库")
        found = _drill_problem(cur, drill_id)
        if found:
            raise ValidationError(found)
        batches = [
            dict(zip(("id", "batch", "quantity", "expires_on"), r, strict=True))
            for r in cur.execute(
                "SELECT id, batch, quantity, expires_on FROM stock WHERE depot_id = ? AND item_code = ? AND quantity > 0",
                [depot_id, item_code],
            ).fetchall()
        ]
        by_id = {b["id"]: b for b in batches}
        ids = []
        for stock_id, take in plan_issue(batches, quantity, wanted):
            b = by_id[stock_id]
            cur.execute("UPDATE stock SET quantity = quantity - ? WHERE id = ?", [take, stock_id])
            movement = _movement(
                cur, actor, depot_id, item_code, b["batch"], "out", take, moved_on, handled_by, purpose, drill_id
            )
            audit.record(
                cur,
                actor,
                "create",
                "stock_movements",
                movement,
                {"stock_id": stock_id, "quantity": b["quantity"]},
                {"stock_id": stock_id, "direction": "out", "item_code": item_code, "quantity": b["quantity"] - take},
            )
            ids.append(movement)
        return ids

    return db.write(work)


def _movement(cur, actor, depot_id, item_code, batch, direction, quantity, moved_on, handled_by, purpose, drill_id):
    return insert_row(
        cur,
        "stock_movements",
        {
            "depot_id": depot_id,
            "item_code": item_code,
            "batch": batch,
            "direction": direction,
            "quantity": quantity,
            "moved_on": moved_on,
            "handled_by": clean(handled_by),
            "purpose": clean(purpose) or None,
            "drill_id": drill_id,
            "recorded_by": actor.username,
        },
    )


def set_minimum(db: Database, actor: User, depot_id: int, item_code: str, min_quantity: int) -> None:
    """The least a depot keeps of an item (0 removes the minimum). Audited."""
    if item_code not in RESOURCE_ITEMS:
        raise ValidationError.single("物资", f"“{item_code}”不在物资目录中")
    if isinstance(min_quantity, bool) or not isinstance(min_quantity, int) or min_quantity < 0:
        raise ValidationError.single("最低储备", "须为不小于 0 的整数")

    def work(cur: Cursor):
        depot = _depot(cur, depot_id)
        require_write(actor, depot["township_code"], "设置其他乡镇储备库的最低储备")
        old = row_dict(
            cur, "SELECT min_quantity FROM stock_minimums WHERE depot_id = ? AND item_code = ?", [depot_id, item_code]
        )
        cur.execute("DELETE FROM stock_minimums WHERE depot_id = ? AND item_code = ?", [depot_id, item_code])
        if min_quantity:
            cur.execute("INSERT INTO stock_minimums VALUES (?, ?, ?)", [depot_id, item_code, min_quantity])
        audit.record(
            cur,
            actor,
            "update",
            "stock_minimums",
            depot_id,
            {"item_code": item_code, "min_quantity": old["min_quantity"] if old else 0},
            {"item_code": item_code, "min_quantity": min_quantity},
        )

    db.write(work)


# Reads --------------------------------------------------------------------------------------------
def stock_rows(db: Database, *, depot_id: int | None = None, township_code: str | None = None) -> list[dict]:
    """Every stock row with its depot, item name and unit, and the depot's minimum of the item."""
    where, params = sql_where(("s.depot_id = ?", depot_id), ("d.township_code = ?", township_code))
    found = db.query_dicts(
        "SELECT s.id, s.depot_id, d.name AS depot_name, d.township_code, t.name AS township_name, s.item_code,"
        " s.batch, s.quantity, s.expires_on, s.maintain_on, m.min_quantity FROM stock s"
        " JOIN depots d ON d.id = s.depot_id LEFT JOIN townships t ON t.code = d.township_code"
        " LEFT JOIN stock_minimums m ON m.depot_id = s.depot_id AND m.item_code = s.item_code"
        f" {where} ORDER BY t.sort_order NULLS FIRST, d.name, s.item_code, s.batch",
        params,
    )
    for row in found:
        row["item_name"], row["unit"] = item_name(row["item_code"]), item_unit(row["item_code"])
    return found


def stock_frame(db: Database, **filters) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        stock_rows(db, **filters),
        columns=[
            "id",
            "depot_id",
            "depot_name",
            "township_code",
            "township_name",
            "item_code",
            "item_name",
            "unit",
            "batch",
            "quantity",
            "expires_on",
            "maintain_on",
            "min_quantity",
        ],
    )


def depot_totals(db: Database) -> dict[int, list[dict]]:
    """{depot id: [{item_code, name, unit, quantity}]}: each depot's stock per item (all batches)."""
    out: dict[int, list[dict]] = {}
    for depot_id, code, quantity in db.query(
        "SELECT depot_id, item_code, sum(quantity) FROM stock GROUP BY ALL HAVING sum(quantity) > 0 ORDER BY 1, 2"
    ):
        out.setdefault(depot_id, []).append(
            {"item_code": code, "name": item_name(code), "unit": item_unit(code), "quantity": int(quantity)}
        )
    return out


def movements(db: Database, *, depot_id: int | None = None, limit: int = 500) -> pd.DataFrame:
    where, params = sql_where(("m.depot_id = ?", depot_id))
    frame = db.frame(
        "SELECT m.id, m.moved_on, d.name AS depot_name, d.township_code, m.item_code, m.batch, m.direction,"
        " m.quantity, m.handled_by, m.purpose, m.drill_id, m.recorded_by, m.recorded_at"
        f" FROM stock_movements m JOIN depots d ON d.id = m.depot_id {where}"
        f" ORDER BY m.moved_on DESC, m.id DESC LIMIT {int(limit)}",
        params,
    )
    frame["item_name"] = frame["item_code"].map(item_name)
    return frame


def below_minimum(db: Database) -> list[dict]:
    """(depot, item) pairs holding less than their minimum, with the day of the last issue of the
    item (the day the shortage began, as far as the movements tell; None if it never moved out)."""
    return db.query_dicts(
        "SELECT m.depot_id, d.name AS depot_name, d.township_code, m.item_code, m.min_quantity,"
        " coalesce((SELECT sum(quantity) FROM stock s WHERE s.depot_id = m.depot_id AND s.item_code = m.item_code), 0)"
        "   AS quantity,"
        " (SELECT max(moved_on) FROM stock_movements x WHERE x.depot_id = m.depot_id AND x.item_code = m.item_code"
        "   AND x.direction = 'out') AS last_issue"
        " FROM stock_minimums m JOIN depots d ON d.id = m.depot_id"
        " WHERE coalesce((SELECT sum(quantity) FROM stock s WHERE s.depot_id = m.depot_id"
        "   AND s.item_code = m.item_code), 0) < m.min_quantity ORDER BY m.depot_id, m.item_code"
    )


# Reminders (pure over rows, read by reminder_candidates) -------------------------------------------
def expiring_candidates(rows: list[dict], today: date, days: int) -> list[Candidate]:
    """A batch with stock whose expiry (or maintenance) date falls within `days`: one reminder per
    (batch, date). Rows: id, depot_name, township_code, item_code, batch, quantity, expires_on, maintain_on."""
    from ..notify.reminders import Candidate, _day, previous_workday, start_of

    out: list[Candidate] = []
    for r in rows:
        for variant, column, verb in (("expiry", "expires_on", "到期"), ("maintenance", "maintain_on", "需保养")):
            due = _day(r.get(column))
            if due is None or due < today or not r["quantity"]:
                continue
            what = f"{r['depot_name']} {item_name(r['item_code'])}" + (f"（批次 {r['batch']}）" if r["batch"] else "")
            out.append(
                Candidate(
                    "stock_expiring",
                    "stock",
                    str(r["id"]),
                    due,
                    r["township_code"],
                    lambda r=r, due=due, verb=verb, what=what: (
                        f"物资即将{verb}：{what}（{due:%Y-%m-%d}）",
                        f"{what}共 {r['quantity']}{item_unit(r['item_code'])}将于 {due:%Y年%m月%d日} {verb}，"
                        "请及时轮换、保养或报废补充。",
                    ),
                    start_of(previous_workday(due - timedelta(days=days))),
                    variant=variant,
                )
            )
    return out


def shortage_candidates(rows: list[dict], today: date) -> list[Candidate]:
    """A depot under its minimum of an item: one reminder per shortage, keyed by the day of the last
    issue (a shortage that is restocked and falls short again later is reminded again). Rows: as
    below_minimum."""
    from ..notify.reminders import Candidate, next_workday, start_of

    out = []
    for r in rows:
        since = r["last_issue"]
        unit = item_unit(r["item_code"])
        out.append(
            Candidate(
                "stock_below_minimum",
                "depot_item",
                f"{r['depot_id']}:{r['item_code']}",
                since,
                r["township_code"],
                lambda r=r, unit=unit: (
                    f"物资低于最低储备：{r['depot_name']} {item_name(r['item_code'])}（{r['quantity']}/{r['min_quantity']}{unit}）",
                    f"{r['depot_name']}的{item_name(r['item_code'])}现有 {r['quantity']}{unit}，"
                    f"低于最低储备 {r['min_quantity']}{unit}，请及时补充。",
                ),
                start_of(next_workday(since) if since else today),
            )
        )
    return out


def reminder_candidates(db: Database, today: date, days: int) -> list[Candidate]:
    """The sweep's resource reminders at `today` (see notify/reminders.candidates)."""
    until = today + timedelta(days=days + 15)
    rows = db.query_dicts(
        "SELECT s.id, d.name AS depot_name, d.township_code, s.item_code, s.batch, s.quantity, s.expires_on,"
        " s.maintain_on FROM stock s JOIN depots d ON d.id = s.depot_id WHERE s.quantity > 0"
        " AND (s.expires_on BETWEEN ? AND ? OR s.maintain_on BETWEEN ? AND ?)",
        [today, until, today, until],
    )
    return expiring_candidates(rows, today, days) + shortage_candidates(below_minimum(db), today)
