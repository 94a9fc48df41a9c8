"""The database: one DuckDB connection per process, a cursor per thread, migrations, write retry.

DuckDB lets only one process open a file read-write, so the Streamlit server owns the file and
the scheduler runs inside it; a CLI command that finds the file locked stops at once with a
plain message (DatabaseLockedError). Threads never share a connection object: each thread gets
its own cursor (measured: a shared connection returned another thread's result).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from zoneinfo import ZoneInfo

import duckdb

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / "data"
DEFAULT_DB_PATH = DATA_DIR / "emergency.duckdb"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The county's time zone, the one definition: every cursor runs in it, and every module that makes
# or reads an instant uses TZ (its name for SQL, APScheduler and pandas: TIME_ZONE).
TIME_ZONE = "Asia/Shanghai"
TZ = ZoneInfo(TIME_ZONE)


def local_today() -> date:
    """The county's date, whatever the server's clock zone: between 00:00 and 08:00 in the county a
    UTC machine's date.today() is still yesterday."""
    return datetime.now(TZ).date()


T = TypeVar("T")

# Table families: what a cache may key on. A committed write bumps the generation of the families of
# the tables it wrote (found from its statements, see _written_families), so that bookkeeping (the
# scheduler's job_runs every minute, log-in sessions, notifications read, the audit rows of log-ins)
# never invalidates a cache of the registry. A table missing here, or a statement we cannot read,
# bumps every family: a new table is safe before it is classified, only less cached.
FAMILIES: dict[str, frozenset[str]] = {
    "places": frozenset({"townships", "villages", "hazard_domains", "team_kinds"}),
    "registry": frozenset(
        {"enterprises", "teams", "team_domains", "members", "certificates", "member_phones", "team_bases"}
    ),
    "records": frozenset({"voided_records"}),
    "plans": frozenset({"plans", "plan_domains", "plan_revisions", "plan_meta", "filings", "local_plans"})
    | frozenset({"enterprise_plans"}),
    "drills": frozenset(
        {
            "drills",
            "drill_plans",
            "drill_attachments",
            "planned_drills",
            "corrective_actions",
            "deadline_rules",
            "drill_reports",
            "drill_objectives",
            "drill_evaluations",
            "drill_evaluation_items",
            "drill_objective_results",
            "drill_organisation",
            "drill_teams",
            "exercise_programme",
            "drill_notes",
        }
    ),
    "calls": frozenset(
        {
            "contacts",
            "roll_calls",
            "warnings",
            "warning_acks",
            "village_entries",
            "call_chain_steps",
            "warning_details",
            "warning_calls",
            "call_messages",
            "call_gateways",
            "warning_call_hazards",
        }
    ),
    "resources": frozenset(
        {
            "depots",
            "stock",
            "stock_minimums",
            "stock_movements",
            "team_equipment",
            "shelters",
            "hazard_points",
            "hazard_drills",
            "experts",
        }
    ),
    "notifications": frozenset(
        {"notifications", "deliveries", "delivery_attempts", "channels", "robot_sends", "robot_backoff"}
    ),
    "accounts": frozenset({"users"}),
    "settings": frozenset({"settings"}),
    # Written on their own by the scheduler and by every log-in and page view; no cache reads them.
    "bookkeeping": frozenset({"job_runs", "login_sessions", "notification_reads", "audit_log"}),
    # Not a table: a notification's key removed or changed (a DELETE or UPDATE of notifications; none is
    # made today). Bumped besides "notifications", which every delivery writes: the reminder sweep's
    # skip keys on this one, because an insert can only make fewer reminders new, never more.
    "notification_keys": frozenset(),
}
KEY_CHANGES = "notification_keys"
FAMILY_OF = {table: family for family, tables in FAMILIES.items() for table in tables}
ALL_FAMILIES = frozenset(FAMILIES)
# What a view over the whole county (map, linkage) reads: everything but the bookkeeping, which the
# scheduler writes every minute and every page view touches.
DATA_FAMILIES = tuple(sorted(ALL_FAMILIES - {"bookkeeping"}))
_READ_START = re.compile(r"^\s*(SELECT|WITH|FROM|VALUES|DESCRIBE|SHOW|SUMMARIZE|EXPLAIN)\b", re.IGNORECASE)
_WRITE_START = re.compile(r"^\s*(INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)
_KEY_CHANGE = re.compile(r"\b(?:UPDATE|DELETE\s+FROM)\s+\"?notifications\"?(?:\s|$)", re.IGNORECASE)
_WRITTEN_TABLE = re.compile(
    r"\b(?:INSERT\s+(?:OR\s+(?:REPLACE|IGNORE)\s+)?INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)\"?", re.IGNORECASE
)


def _written_families(sql: str) -> frozenset[str]:
    """The families a statement writes: none for a read, every family when it cannot tell."""
    tables = {t.lower() for t in _WRITTEN_TABLE.findall(sql)} - {"set"}  # ON CONFLICT DO UPDATE SET
    if not tables:
        return frozenset() if _READ_START.match(sql) else ALL_FAMILIES
    if not _WRITE_START.match(sql) or not tables <= FAMILY_OF.keys():
        return ALL_FAMILIES
    found = frozenset(FAMILY_OF[t] for t in tables)
    return found | {KEY_CHANGES} if _KEY_CHANGE.search(sql) else found


class _TrackingCursor:
    """This thread's cursor inside a write: the same cursor, noting which families its statements write."""

    def __init__(self, cur: duckdb.DuckDBPyConnection):
        self._cur = cur
        self.families: set[str] = set()

    def execute(self, sql: str, *args, **kwargs):
        self.families |= _written_families(sql)
        return self._cur.execute(sql, *args, **kwargs)

    def executemany(self, sql: str, *args, **kwargs):
        self.families |= _written_families(sql)
        return self._cur.executemany(sql, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._cur, name)


# This thread's cursor: what Database.cursor() returns and db.write hands to its `work`.
Cursor = duckdb.DuckDBPyConnection


def default_db_path() -> Path:
    """The app's database file; the environment variable EMERGENCY_DB overrides it."""
    return Path(os.environ.get("EMERGENCY_DB") or DEFAULT_DB_PATH)


class DatabaseLockedError(RuntimeError):
    """Another process holds the database file."""

    def __init__(self, path: Path, holder: str, pid: str | None):
        self.path, self.holder, self.pid = path, holder, pid
        who = f"进程 {pid}（{holder}）" if pid else holder
        super().__init__(
            f"数据库文件 {path} 正被{who}占用，DuckDB 同一时间只允许一个进程写入。"
            f"请先停止该进程（通常是正在运行的应用服务器：kill {pid or '<PID>'}），"
            f"或用 --db 指定另一个数据库文件后重试。"
        )


_LOCK_WITH_PID = re.compile(r"Conflicting lock is held in (?P<holder>.+?) \(PID (?P<pid>\d+)\)")
_LOCK_NO_PID = re.compile(r"Conflicting lock is held in (?P<holder>\S+)")


def _locked_error(path: Path, exc: Exception) -> DatabaseLockedError | None:
    text = str(exc)
    if "Could not set lock" not in text:
        return None
    match = _LOCK_WITH_PID.search(text)
    if match:
        return DatabaseLockedError(path, match.group("holder"), match.group("pid"))
    match = _LOCK_NO_PID.search(text)
    return DatabaseLockedError(path, match.group("holder") if match else "另一个进程", None)


class Database:
    """Owns the process's connection to one DuckDB file and hands each thread its own cursor."""

    def __init__(self, path: str | Path, *, migrate: bool = True):
        self.path = Path(path)
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            locked = _locked_error(self.path, exc)
            if locked:
                raise locked from None
            raise
        self._local = threading.local()
        self._lock = threading.Lock()
        self._configure(self._con)
        # Bumped on every committed write (kept for callers that want "anything changed").
        self.generation = 0
        # Per table family (FAMILIES): what a cache keys on, through generation_of(...).
        self.generations = dict.fromkeys(FAMILIES, 0)
        # When a list, every read through query/query_dicts/scalar/frame appends (sql, params):
        # the benchmark replays them bare to measure our code's overhead over the database's time.
        self.trace: list | None = None
        # Small reference reads kept per generation of what they read (memo); bounded.
        self._memo: dict[tuple, tuple[tuple[int, ...], object]] = {}
        self._memo_lock = threading.Lock()
        self._serial_lock = threading.Lock()  # write(serial=True)
        if migrate:
            from . import migrations

            migrations.migrate(self)

    @staticmethod
    def _configure(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute(f"SET TimeZone = '{TIME_ZONE}'")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (created on first use)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._lock:
                cur = self._con.cursor()
            self._configure(cur)
            self._local.cursor = cur
        return cur

    # Reads -------------------------------------------------------------------------------
    def _execute(self, sql: str, params) -> duckdb.DuckDBPyConnection:
        if self.trace is not None:
            self.trace.append((sql, list(params or [])))
        return self.cursor().execute(sql, params or [])

    def query(self, sql: str, params: list | tuple | None = None) -> list[tuple]:
        return self._execute(sql, params).fetchall()

    def query_dicts(self, sql: str, params: list | tuple | None = None) -> list[dict]:
        cur = self._execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def scalar(self, sql: str, params: list | tuple | None = None):
        row = self._execute(sql, params).fetchone()
        return row[0] if row else None

    def setting(self, key: str, default=None):
        """The JSON value stored under `key` in the settings table, or `default`."""
        raw = self.scalar("SELECT CAST(value AS VARCHAR) FROM settings WHERE key = ?", [key])
        return json.loads(raw) if raw else default

    def frame(self, sql: str, params: list | tuple | None = None):
        """A pandas DataFrame of the result (for pages and exports)."""
        return self._execute(sql, params).df()

    def arrow(self, sql: str, params: list | tuple | None = None) -> pa.Table:
        """A pyarrow Table of the result, column-wise (a relation: the DB-API result would copy it)."""
        if self.trace is not None:
            self.trace.append((sql, list(params or [])))
        return self.cursor().sql(sql, params=list(params or [])).to_arrow_table()

    # Generations ---------------------------------------------------------------------------
    def generation_of(self, *families: str) -> tuple[int, ...]:
        """The generations of the named families, for a cache key: it changes when, and only when, a
        committed write touched a table of one of them."""
        return tuple(self.generations[f] for f in families)

    MEMO_ENTRIES = 512

    def memo(self, families: tuple[str, ...], key: tuple, compute: Callable[[], T]) -> T:
        """compute(), kept until a committed write touches one of `families` (what it reads): for the
        small reference reads a page repeats on every rerun (townships, villages). The generation is
        taken before computing, so a write during compute() is never hidden. Callers must not mutate
        what it returns (hand out copies of mutable values)."""
        generation = self.generation_of(*families)
        with self._memo_lock:
            hit = self._memo.get(key)
        if hit is not None and hit[0] == generation:
            return hit[1]  # type: ignore[return-value]
        value = compute()
        with self._memo_lock:  # sessions run in threads: evict and store as one step
            if len(self._memo) >= self.MEMO_ENTRIES:
                self._memo.pop(next(iter(self._memo)), None)
            self._memo[key] = (generation, value)
        return value

    def touch(self, *families: str) -> None:
        """Record a committed change of these families (all when none named): for work done outside
        db.write, such as loading places and plans or generating the demo."""
        for family in families or FAMILIES:
            self.generations[family] += 1
        self.generation += 1

    # Writes ------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction on this thread's cursor; rolled back on any error. On commit the families
        its statements wrote get a new generation."""
        raw = self.cursor()
        cur = _TrackingCursor(raw)
        raw.begin()
        try:
            yield cast(duckdb.DuckDBPyConnection, cur)
        except BaseException:
            raw.rollback()
            raise
        raw.commit()
        if cur.families:
            self.touch(*cur.families)

    def write(self, work: Callable[[duckdb.DuckDBPyConnection], T], *, attempts: int = 5, serial: bool = False) -> T:
        """Run work(cursor) in a transaction, retrying on DuckDB's write-write conflicts.

        serial: for a write that reads before it inserts (a near-duplicate check): such writes run
        one at a time in this process. Two inserts of new rows do not conflict in DuckDB, so two
        transactions that both checked before either committed would both insert."""
        for attempt in range(attempts):
            try:
                with self._serial_lock if serial else nullcontext(), self.transaction() as cur:
                    return work(cur)
            except duckdb.TransactionException as exc:
                if "Conflict" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._con.close()


def row_dict(cur, sql: str, params: list) -> dict | None:
    """The first row of a query on `cur` as {column: value}, or None (reads inside a write's transaction)."""
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    row = result.fetchone()
    return dict(zip(names, row)) if row else None


def first_row(cur: Cursor, sql: str, params: list | tuple | None = None) -> tuple:
    """The one row a statement must give (a count, INSERT ... RETURNING, a read of a known row)."""
    row = cur.execute(sql, params or []).fetchone()
    if row is None:
        raise LookupError(f"no row from: {sql[:80]}")
    return row


def first_value(cur: Cursor, sql: str, params: list | tuple | None = None) -> Any:
    """The first column of first_row: `SELECT count(*)`, `RETURNING id`."""
    return first_row(cur, sql, params)[0]


def insert_row(cur, table: str, values: dict) -> int:
    """INSERT one row from {column: value} (columns from the caller's own field lists) and return its id."""
    cols = list(values)
    return first_value(
        cur,
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) RETURNING id",
        [values[c] for c in cols],
    )


def insert_frame(cur, table: str, rows: pd.DataFrame | pa.Table | list[dict], *, returning: str = "") -> list[tuple]:
    """Bulk INSERT: `rows` (a DataFrame, a pyarrow Table, or dicts with the same keys) registered on
    the cursor and written with one INSERT ... SELECT; the frame's columns name the table's (the
    caller's own field lists, never user input). `returning` (e.g. "RETURNING id") returns those
    rows; otherwise []."""
    if not isinstance(rows, list):
        frame = rows
    else:
        import pandas as pd

        frame = pd.DataFrame(rows)
    cols = ", ".join(frame.column_names if hasattr(frame, "column_names") else frame.columns)
    cur.register("bulk_rows", frame)
    try:
        result = cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM bulk_rows {returning}")
        return result.fetchall() if returning else []
    finally:
        cur.unregister("bulk_rows")


def advance_sequence(cur, table: str) -> None:
    """Move seq_<table> past the highest id in `table`, after rows were written with explicit ids."""
    top = first_value(cur, f"SELECT coalesce(max(id), 0) FROM {table}")
    current = first_value(cur, f"SELECT nextval('seq_{table}')")
    if current <= top:
        cur.execute(f"SELECT nextval('seq_{table}') FROM range(?)", [top - current])


def put_setting(cur, key: str, value) -> None:
    """Store `value` as JSON under `key` (None removes it), inside the caller's transaction."""
    if value is None:
        cur.execute("DELETE FROM settings WHERE key = ?", [key])
    else:
        cur.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
            [key, json.dumps(value, ensure_ascii=False, default=str)],
        )


def where(*conditions: tuple[str, object]) -> tuple[str, list]:
    """'WHERE a AND b' and its parameters from (clause, value) pairs, for optional list filters.

    A pair whose value is None, False or '' is left out. A clause without '?' is added as it is when
    its value is truthy; otherwise every '?' in it takes the value.
    """
    clauses, params = [], []
    for clause, value in conditions:
        if value is None or value is False or value == "":
            continue
        clauses.append(clause)
        params.extend([value] * clause.count("?"))
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def open_database(path: str | Path | None = None, *, migrate: bool = True) -> Database:
    return Database(path or default_db_path(), migrate=migrate)
