"""叫应 that really calls: a warning pushed at once to the responsible people of the places it covers,
acknowledged by each person through a personal link, escalated within minutes (DOMAIN.md section 7).

Who is called. Every township (village_code NULL) and every village has a call chain: ordered steps,
each naming the contact roles called at that step and the step's time limit in minutes
(`limit_minutes`, the one setting of that limit; stored in call_chain_steps, defaults in
DEFAULT_TOWNSHIP_CHAIN / DEFAULT_VILLAGE_CHAIN). The people of a step are the contacts currently
holding those roles at the place (township roles at the township, village roles at the village).
After the last step the county duty office (县应急值班室) is told.

Issuing (`issue`) records the warning, one warning_acks row per place (the linkage indicators read
them), and pushes step 1 of every place: one warning_calls row per person with a personal token
(random, only its SHA-256 stored, single use, expiring after `ack_link_hours`), one call_messages row
per personal channel (e-mail, SMS and voice gateways), and one notification per township (its inbox
and its group robots / e-mail channels, through the outbox of notify/). Then it delivers all of it at
once, without waiting for a sweep.

Answering: the person opens the link (the public page ui/ack_page.py, no log-in), or a duty officer
enters the token (`python -m emergency ack TOKEN`); a township operator may record a phone answer for
a place (linkage.acknowledge), which answers that place's calls. The first answer of a place is the
place's acknowledgement (warning_acks.acknowledged_at).

Escalation (`escalate`, every minute in the server; `python -m emergency escalate`): a person not
answered within their step's limit is called again once; a place with nobody answered when its latest
step's limit has passed gets its next step pushed (a step without people is skipped), and after the
last step the county duty office. Every call is a row, so the timeline (`timeline`) shows who was
called on which channel, when it was delivered, when and how it was answered.
"""

from __future__ import annotations

import hashlib
import secrets
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import audit, privacy
from .auth import SYSTEM, User, require_admin
from .db import TZ, first_value, put_setting, row_dict
from .enums import CONTACT_ROLES, WARNING_ACTIONS, WARNING_HAZARDS, WARNING_LEVELS
from .errors import Problem, ValidationError
from .hygiene import clean
from .records import live
from .resources.registry import CALL_ROLES as HAZARD_CALL_ROLES
from .resources.registry import hazard_people

if TYPE_CHECKING:
    from .db import Cursor, Database

COUNTY_DUTY = "county_duty"
COUNTY_DUTY_LABEL = "县应急值班室"
ROLE_LABELS = {**CONTACT_ROLES, **HAZARD_CALL_ROLES, COUNTY_DUTY: COUNTY_DUTY_LABEL}
HAZARD_PEOPLE = "_hazard"  # _people's key of a place's hazard-point people (not a contact role)
TOWNSHIP_LEVEL_ROLES = ("station_head", "station_staff", "duty_room", "party_head")
VILLAGE_LEVEL_ROLES = ("info_officer_a", "info_officer_b", "village_cadre", "village_head")
VIAS = {"link": "本人点击确认链接", "cli": "值班员代登记（电话答复）", "phone": "乡镇电话登记"}


@dataclass(frozen=True)
class Step:
    step: int
    roles: tuple[str, ...]
    limit_minutes: int


DEFAULT_STEP_MINUTES = 10  # the default chains' limit per step (red / orange warnings: minutes, not hours)
DEFAULT_TOWNSHIP_CHAIN = (
    Step(1, ("station_head", "duty_room"), DEFAULT_STEP_MINUTES),
    Step(2, ("party_head",), DEFAULT_STEP_MINUTES),
)
DEFAULT_VILLAGE_CHAIN = (
    Step(1, ("village_head", "info_officer_a"), DEFAULT_STEP_MINUTES),
    Step(2, ("village_cadre", "info_officer_b"), DEFAULT_STEP_MINUTES),
)

SETTINGS_KEY = "jiaoying"
DEFAULT_SETTINGS: dict[str, Any] = {
    "ack_link_hours": 24,  # a personal link expires this long after its call
    "public_url": "",  # how people reach the app (the links' prefix); empty: EMERGENCY_PUBLIC_URL or localhost
}
SETTING_LABELS = {"ack_link_hours": "确认链接有效期（小时）", "public_url": "系统访问地址（确认链接前缀）"}


class AckRefused(ValueError):
    """A token that is unknown, used or expired: the message says which, in Chinese."""


# Settings ----------------------------------------------------------------------------------------
def settings(db: Database) -> dict:
    return {**DEFAULT_SETTINGS, **db.setting(SETTINGS_KEY, {})}


def public_url(db: Database) -> str:
    import os

    url = settings(db)["public_url"] or os.environ.get("EMERGENCY_PUBLIC_URL") or "http://localhost:8501"
    return url.rstrip("/")


def save_settings(db: Database, actor: User, values: dict) -> dict:
    require_admin(actor, "修改叫应设置")
    new = {**settings(db), **{k: v for k, v in values.items() if k in DEFAULT_SETTINGS}}
    problems = []
    try:
        new["ack_link_hours"] = int(new["ack_link_hours"])
        if not 1 <= new["ack_link_hours"] <= 168:
            problems.append(Problem(SETTING_LABELS["ack_link_hours"], "必须在 1 到 168 之间"))
    except (TypeError, ValueError):
        problems.append(Problem(SETTING_LABELS["ack_link_hours"], "必须是整数"))
    new["public_url"] = clean(new["public_url"]).rstrip("/")
    parts = urllib.parse.urlsplit(new["public_url"])
    if new["public_url"] and (parts.scheme not in ("http", "https") or not parts.netloc):
        problems.append(Problem(SETTING_LABELS["public_url"], "必须以 http:// 或 https:// 开头"))
    if problems:
        raise ValidationError(problems)
    before = settings(db)

    def work(cur: Cursor):
        put_setting(cur, SETTINGS_KEY, new)
        audit.record(cur, actor, "update", "settings", SETTINGS_KEY, *audit.changed(before, new))

    db.write(work)
    return new


# Call chains ---------------------------------------------------------------------------------------
def default_chain(village_code: str | None) -> tuple[Step, ...]:
    return DEFAULT_VILLAGE_CHAIN if village_code else DEFAULT_TOWNSHIP_CHAIN


def chain(db: Database, township_code: str, village_code: str | None = None) -> tuple[Step, ...]:
    """The place's chain: its stored steps, or the default chain."""
    return chains(db, [township_code]).get((township_code, village_code)) or default_chain(village_code)


def chains(db: Database, township_codes: list[str]) -> dict[tuple[str, str | None], tuple[Step, ...]]:
    """Stored chains of these townships and their villages: {(township, village or None): steps}."""
    if not township_codes:
        return {}
    out: dict[tuple[str, str | None], list[Step]] = {}
    for town, village, step, roles, minutes in db.query(
        "SELECT township_code, village_code, step, roles, limit_minutes FROM call_chain_steps"
        " WHERE list_contains(?, township_code) ORDER BY township_code, village_code, step",
        [list(township_codes)],
    ):
        out.setdefault((town, village), []).append(Step(int(step), tuple(roles.split(",")), int(minutes)))
    return {key: tuple(steps) for key, steps in out.items()}


def chain_problems(steps: list[dict], village_code: str | None) -> list[Problem]:
    """A chain's steps (dicts with roles and limit_minutes, in order) checked: at least one step, each
    with at least one known role fitting the place and a limit of 1 to 1440 minutes."""
    if not steps:
        return [Problem("叫应链", "至少需要一步")]
    allowed = TOWNSHIP_LEVEL_ROLES + (VILLAGE_LEVEL_ROLES if village_code else ())
    problems = []
    for number, step in enumerate(steps, start=1):
        roles = list(step.get("roles") or [])
        if not roles:
            problems.append(Problem(f"第{number}步", "至少选择一个岗位"))
        unknown = [r for r in roles if r not in allowed]
        if unknown:
            problems.append(
                Problem(
                    f"第{number}步",
                    "岗位不适用于" + ("村（社区）" if village_code else "乡镇") + f"：{'、'.join(unknown)}",
                )
            )
        minutes = step.get("limit_minutes")
        if not (isinstance(minutes, int) and not isinstance(minutes, bool) and 1 <= minutes <= 1440):
            problems.append(Problem(f"第{number}步限时（分钟）", "必须是 1 到 1440 之间的整数"))
    return problems


def set_chain(
    db: Database, actor: User, township_code: str, village_code: str | None, steps: list[dict] | None
) -> tuple[Step, ...]:
    """Replace the place's chain (admin); steps None or [] goes back to the default chain. Audited."""
    require_admin(actor, "修改叫应链")
    village_code = village_code or None
    if not db.scalar("SELECT count(*) FROM townships WHERE code = ? AND is_township", [township_code]):
        raise ValidationError.single("乡镇", f"{township_code} 不存在")
    if village_code and not db.scalar(
        "SELECT count(*) FROM villages WHERE code = ? AND township_code = ?", [village_code, township_code]
    ):
        raise ValidationError.single("村（社区）", f"{village_code} 不属于该乡镇")
    steps = steps or []
    if steps:
        problems = chain_problems(steps, village_code)
        if problems:
            raise ValidationError(problems)
    new = tuple(Step(i, tuple(s["roles"]), int(s["limit_minutes"])) for i, s in enumerate(steps, start=1))

    def shown(chain_steps) -> list[str]:
        return [f"{s.step}:{'+'.join(s.roles)}/{s.limit_minutes}分钟" for s in chain_steps]

    def work(cur: Cursor):
        before = [
            Step(int(step), tuple(roles.split(",")), int(minutes))
            for step, roles, minutes in cur.execute(
                "SELECT step, roles, limit_minutes FROM call_chain_steps WHERE township_code = ?"
                " AND village_code IS NOT DISTINCT FROM ? ORDER BY step",
                [township_code, village_code],
            ).fetchall()
        ]
        cur.execute(
            "DELETE FROM call_chain_steps WHERE township_code = ? AND village_code IS NOT DISTINCT FROM ?",
            [township_code, village_code],
        )
        for s in new:
            cur.execute(
                "INSERT INTO call_chain_steps (township_code, village_code, step, roles, limit_minutes)"
                " VALUES (?, ?, ?, ?, ?)",
                [township_code, village_code, s.step, ",".join(s.roles), s.limit_minutes],
            )
        audit.record(
            cur,
            actor,
            "update",
            "call_chain_steps",
            f"{township_code}/{village_code or '乡镇'}",
            {"steps": shown(before) or "默认"},
            {"steps": shown(new) or "默认"},
        )

    db.write(work)
    return new or default_chain(village_code)


def chain_text(steps: tuple[Step, ...]) -> str:
    """第1步 乡镇应急站负责人、乡镇值班室（10分钟） → … → 县应急值班室"""
    parts = [
        f"第{s.step}步 {'、'.join(ROLE_LABELS.get(r, r) for r in s.roles)}（{s.limit_minutes}分钟）" for s in steps
    ]
    return " → ".join([*parts, COUNTY_DUTY_LABEL])


# Tokens ---------------------------------------------------------------------------------------------
def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """32 characters of [A-Za-z0-9_-], never starting with "-" or "_": a token typed after
    `python -m emergency ack` must not be read as an option (1 token in 32 used to be)."""
    while True:
        token = secrets.token_urlsafe(24)
        if token[0].isalnum():
            return token


def ack_url(db: Database, token: str) -> str:
    return f"{public_url(db)}/ack?token={token}"


def token_from(text: str) -> str:
    """The token as it appears in an ack_url: the url itself (its token= parameter), the url's last
    path segment, or the bare token."""
    text = (text or "").strip()
    parts = urllib.parse.urlsplit(text)
    query = urllib.parse.parse_qs(parts.query)
    if query.get("token"):
        return query["token"][0].strip()
    if "/" in text:
        return text.rstrip("/").rsplit("/", 1)[-1]
    return text


# Pure rules: what the escalation does at `now` ---------------------------------------------------------
@dataclass(frozen=True)
class CallRow:
    id: int
    ack_id: int | None
    person: str  # contact id, or the name when there is none
    step: int
    attempt: int
    called_at: datetime
    limit_minutes: int | None  # None: the county duty office (no answer expected)
    answered: bool  # this person has answered (on any of their calls) or the place by phone


@dataclass(frozen=True)
class Action:
    kind: str  # "recall" (call this person again) or "push" (push the place's next step)
    ack_id: int | None
    step: int  # the step called again, or the step to push
    call_id: int | None = None  # the call repeated (recall)


def escalation_actions(calls: list[CallRow], now: datetime) -> list[Action]:
    """Each person not answered within their step's limit is called again once; each place with nobody
    answered whose latest step's limit has passed gets its next step (the caller finds the people, or
    the county duty office after the last step). A place already told to the county is done."""
    actions: list[Action] = []
    by_place: dict[int | None, list[CallRow]] = {}
    for c in calls:
        by_place.setdefault(c.ack_id, []).append(c)
    for ack_id, rows in by_place.items():
        if ack_id is None:
            continue
        recalled = {(c.person, c.step) for c in rows if c.attempt > 1}
        for c in rows:
            if (
                c.attempt == 1
                and c.limit_minutes is not None
                and not c.answered
                and (c.person, c.step) not in recalled
                and now >= c.called_at + timedelta(minutes=c.limit_minutes)
            ):
                actions.append(Action("recall", ack_id, c.step, c.id))
        if any(c.answered for c in rows) or any(c.limit_minutes is None for c in rows):
            continue
        latest = max(c.step for c in rows)
        first = [c for c in rows if c.step == latest and c.attempt == 1]
        started = min(c.called_at for c in first)
        limit = min(c.limit_minutes for c in first if c.limit_minutes is not None)
        if now >= started + timedelta(minutes=limit):
            actions.append(Action("push", ack_id, latest + 1))
    return actions


# Reads -------------------------------------------------------------------------------------------------
def _people(db: Database, places: list[tuple[int, str, str | None]], day) -> dict:
    """Current contacts by (township, village or None, role) for these places' townships, and the
    people of their live hazard points by (township, village or None, HAZARD_PEOPLE)."""
    towns = sorted({t for _, t, _ in places})
    people: dict[tuple[str, str | None, str], list[dict]] = {}
    for row in db.query_dicts(
        "SELECT id, township_code, village_code, role, name, phone, email FROM contacts c"
        " WHERE list_contains(?, township_code) AND active_from <= ? AND (active_to IS NULL OR active_to >= ?)"
        f" AND {live('contacts', 'c')}"  # a voided contact is never called
        " ORDER BY id",
        [towns, day, day],
    ):
        people.setdefault((row["township_code"], row["village_code"], row["role"]), []).append(row)
    for (town, village), found in hazard_people(db, towns).items():
        people[(town, village, HAZARD_PEOPLE)] = found
    return people


def _step_people(people: dict, township: str, village: str | None, step: Step) -> list[dict]:
    found: list[dict] = []
    for role in step.roles:
        holder_village = village if role in VILLAGE_LEVEL_ROLES else None
        found += people.get((township, holder_village, role), [])
    return found


# Writes ---------------------------------------------------------------------------------------------
@dataclass
class Batch:
    """What one issue / escalation run creates, delivered right after its transaction commits."""

    now: datetime
    recipients: list[dict]
    notification_ids: list[int]
    call_ids: list[int]
    base_url: str = ""


def _gateway_kinds(db: Database) -> list[str]:
    return [k for (k,) in db.query("SELECT DISTINCT kind FROM call_gateways WHERE is_active ORDER BY kind")]


def _message(warning: dict, place: str, person: dict, step: Step | None, url: str | None, attempt: int) -> str:
    head = "【再次叫应】" if attempt > 1 else "【叫应】"
    level = WARNING_LEVELS.get(warning["level"], "")
    text = f"{head}{level}{warning['hazard']}预警：{warning['title']}。{place} {ROLE_LABELS.get(person['role'], '')}{person['name']}："
    if url:
        limit = f"请在 {step.limit_minutes} 分钟内" if step else "请"
        text += f"{limit}点击链接确认收到并报告措施 {url} ，或回电县应急值班室。"
    return text


def _insert_call(
    cur: Cursor,
    db: Database,
    batch: Batch,
    warning: dict,
    place: dict,
    person: dict,
    step: Step | None,
    attempt: int,
    gateways: list[str],
    link_hours: int,
) -> dict:
    """One call (a person, or the county duty office with step None) and its personal messages."""
    token = new_token() if step else None
    url = f"{batch.base_url}/ack?token={token}" if token else None
    call_id = first_value(
        cur,
        "INSERT INTO warning_calls (warning_id, ack_id, township_code, village_code, contact_id, name, role, step,"
        " attempt, called_at, limit_minutes, token_hash, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        [
            warning["id"],
            place["ack_id"],
            place["township_code"],
            place["village_code"],
            person.get("id"),
            person["name"],
            person["role"],
            place["step"],
            attempt,
            batch.now,
            step.limit_minutes if step else None,
            token_hash(token) if token else None,
            batch.now + timedelta(hours=link_hours) if token else None,
        ],
    )
    for hazard_id, hazard_role in person.get("hazards") or ():  # a hazard point's person (migration 014)
        cur.execute("INSERT INTO warning_call_hazards VALUES (?, ?, ?)", [call_id, hazard_id, hazard_role])
    text = _message(warning, place["label"], person, step, url, attempt)
    addresses = []
    if person.get("email"):
        addresses.append(("email", person["email"]))
    if person.get("phone"):
        addresses += [(kind, person["phone"]) for kind in gateways]
    for channel, address in addresses:
        cur.execute(
            "INSERT INTO call_messages (call_id, channel, address, body_cipher) VALUES (?, ?, ?, ?)",
            [call_id, channel, address, privacy.encrypt_id(text)],
        )
    batch.call_ids.append(call_id)
    recipient = {
        "call_id": call_id,
        "warning_id": warning["id"],
        "name": person["name"],
        "role": ROLE_LABELS.get(person["role"], person["role"]),
        "role_code": person["role"],
        "township": place["township_name"],
        "township_code": place["township_code"],
        "village": place["village_name"],
        "village_code": place["village_code"],
        "step": place["step"],
        "attempt": attempt,
        "limit_minutes": step.limit_minutes if step else None,
        "channels": ["inbox", *[c for c, _ in addresses]],
        "ack_url": url,
        "text": text,
    }
    if person.get("hazards"):
        recipient["hazard_codes"] = list(person.get("hazard_codes") or [])
    batch.recipients.append(recipient)
    return recipient


def _push_place(
    cur: Cursor,
    db: Database,
    batch: Batch,
    warning: dict,
    place: dict,
    from_step: int,
    steps: tuple[Step, ...],
    people: dict,
    gateways: list[str],
    link_hours: int,
) -> None:
    """Push the first step from `from_step` on that has people; after the last, the county duty office.
    The first push of a place (from_step 1) adds the people of its hazard points to the step it
    pushes (a person already called as a contact, same phone, is not called twice)."""
    extra = people.get((place["township_code"], place["village_code"], HAZARD_PEOPLE), []) if from_step <= 1 else []
    for step in steps:
        if step.step < from_step:
            continue
        found = _step_people(people, place["township_code"], place["village_code"], step)
        if extra:
            phones = {p.get("phone") for p in found if p.get("phone")}
            found = found + [p for p in extra if not (p.get("phone") and p["phone"] in phones)]
            extra = []
        if found:
            spot = {**place, "step": step.step}
            for person in found:
                _insert_call(cur, db, batch, warning, spot, person, step, 1, gateways, link_hours)
            return
    county = {"id": None, "name": COUNTY_DUTY_LABEL, "role": COUNTY_DUTY}
    _insert_call(cur, db, batch, warning, {**place, "step": len(steps) + 1}, county, None, 1, gateways, link_hours)


def _notify_groups(cur: Cursor, batch: Batch, warning: dict, kind: str, batch_key: str) -> None:
    """One inbox notification per township of this batch (and one for the county bureau when the duty
    office is told), with one pending delivery per active channel of it (the township's group robots
    and e-mail channels): a township's robot gets one message per push, whatever its villages."""
    by_town: dict[str | None, list[dict]] = {}
    for r in batch.recipients:
        town = None if r["role_code"] == COUNTY_DUTY else r["township_code"]
        by_town.setdefault(town, []).append(r)
    level = WARNING_LEVELS.get(warning["level"], "")
    for town, rows in by_town.items():
        lines = []
        for r in rows:
            where = r["township"] + (r["village"] or "")
            if r["role_code"] == COUNTY_DUTY:
                lines.append(f"- {where}：逐级叫应无人确认，已报{COUNTY_DUTY_LABEL}")
            else:
                again = "（再次叫应）" if r["attempt"] > 1 else ""
                lines.append(f"- {where} 第{r['step']}步 {r['role']} {r['name']}{again}")
        if not lines:
            continue
        head = "已报县应急值班室：" if town is None else ""
        title = f"{head}{level}{warning['hazard']}预警叫应：{warning['title']}"
        body = f"{batch.now:%Y-%m-%d %H:%M} 叫应以下人员（请各人通过个人短信/邮件中的链接确认收到）：\n" + "\n".join(
            lines
        )
        key = f"{kind}|warning|{warning['id']}|{batch.now:%Y-%m-%d}|{batch_key}|{town or 'county'}"
        nid = first_value(
            cur,
            "INSERT INTO notifications (dedup_key, kind, subject_type, subject_id, due_on, township_code, title, body,"
            " created_at) VALUES (?, ?, 'warning', ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
            [key, kind, str(warning["id"]), batch.now.date(), town, title, body, batch.now],
        )
        if nid is None:
            continue
        cur.execute(
            "INSERT INTO deliveries (notification_id, channel_id) SELECT ?, c.id FROM channels c"
            " WHERE c.is_active AND c.township_code IS NOT DISTINCT FROM ? ON CONFLICT DO NOTHING",
            [nid, town],
        )
        batch.notification_ids.append(nid)


def _deliver(db: Database, batch: Batch) -> dict:
    """Send what a batch created, at once: the personal messages and the group notifications."""
    from .notify import channels, personal

    out: dict[str, Any] = {
        "personal": personal.deliver(db, batch.now, call_ids=batch.call_ids) if batch.call_ids else []
    }
    out["groups"] = (
        channels.deliver(db, batch.now, notification_ids=batch.notification_ids) if batch.notification_ids else {}
    )
    return out


def _now() -> datetime:
    return datetime.now(TZ)


def _local(moment: datetime | None) -> datetime:
    moment = moment or _now()
    return moment.replace(tzinfo=TZ) if moment.tzinfo is None else moment.astimezone(TZ)


def places_for(db: Database, township_codes: list[str], village_codes: list[str], level: int) -> list[dict]:
    """The places a warning covers: each township; the villages named, or (red / orange warnings with
    no village named) every village of those townships."""
    towns = dict(
        db.query("SELECT code, name FROM townships WHERE is_township AND list_contains(?, code)", [township_codes])
    )
    places = [
        {"township_code": t, "village_code": None, "township_name": towns[t], "village_name": None, "label": towns[t]}
        for t in township_codes
    ]
    if village_codes:
        rows = db.query(
            "SELECT township_code, code, name FROM villages WHERE list_contains(?, code) ORDER BY code", [village_codes]
        )
    elif level <= 2:
        rows = db.query(
            "SELECT township_code, code, name FROM villages WHERE NOT is_virtual AND list_contains(?, township_code)"
            " ORDER BY code",
            [township_codes],
        )
    else:
        rows = []
    places += [
        {"township_code": t, "village_code": v, "township_name": towns[t], "village_name": n, "label": towns[t] + n}
        for t, v, n in rows
    ]
    return places


def issue(
    db: Database,
    actor: User,
    *,
    level: int,
    hazard: str,
    title: str,
    township_codes: list[str],
    village_codes: list[str] | None = None,
    now: datetime | None = None,
    deliver: bool = True,
) -> dict:
    """Issue a warning (the county duty office: admin) and push it at once. Returns
    {"warning_id", "recipients": [{name, role, township, village, step, ack_url, ...}], "delivery"}."""
    require_admin(actor, "发布预警")
    now = _local(now)
    title, hazard = clean(title), clean(hazard)
    township_codes = list(dict.fromkeys(township_codes or []))
    village_codes = list(dict.fromkeys(village_codes or []))
    problems = []
    if level not in WARNING_LEVELS:
        problems.append(Problem("预警级别", "必须是 红色、橙色、黄色 或 蓝色"))
    if hazard not in WARNING_HAZARDS:
        problems.append(Problem("预警类型", f"必须是 {'、'.join(WARNING_HAZARDS)} 之一"))
    if not title:
        problems.append(Problem("预警标题", "不能为空"))
    known = {c for (c,) in db.query("SELECT code FROM townships WHERE is_township")}
    if not township_codes or any(c not in known for c in township_codes):
        problems.append(Problem("接收乡镇", "至少选择一个，且须为本县乡镇"))
    if village_codes:
        inside = {
            c
            for (c,) in db.query(
                "SELECT code FROM villages WHERE list_contains(?, code) AND list_contains(?, township_code)",
                [village_codes, township_codes],
            )
        }
        outside = [v for v in village_codes if v not in inside]
        if outside:
            problems.append(Problem("接收村（社区）", f"{'、'.join(outside)} 不属于所选乡镇"))
    if problems:
        raise ValidationError(problems)
    places = places_for(db, township_codes, village_codes, level)
    stored = chains(db, township_codes)
    people = _people(db, [(0, p["township_code"], p["village_code"]) for p in places], now.date())
    gateways = _gateway_kinds(db)
    link_hours = int(settings(db)["ack_link_hours"])
    batch = Batch(now, [], [], [], public_url(db))

    def work(cur: Cursor):
        batch.recipients.clear()
        batch.notification_ids.clear()
        batch.call_ids.clear()
        wid = first_value(
            cur,
            "INSERT INTO warnings (level, title, issued_at, issued_by) VALUES (?, ?, ?, ?) RETURNING id",
            [level, title, now, actor.username],
        )
        cur.execute("INSERT INTO warning_details (warning_id, hazard) VALUES (?, ?)", [wid, hazard])
        warning = {"id": wid, "level": level, "title": title, "hazard": hazard}
        for place in places:
            place["ack_id"] = first_value(
                cur,
                "INSERT INTO warning_acks (warning_id, township_code, village_code) VALUES (?, ?, ?) RETURNING id",
                [wid, place["township_code"], place["village_code"]],
            )
            steps = stored.get((place["township_code"], place["village_code"])) or default_chain(place["village_code"])
            _push_place(cur, db, batch, warning, place, 1, steps, people, gateways, link_hours)
        _notify_groups(cur, batch, warning, "warning_call", "issue")
        audit.record(
            cur,
            actor,
            "create",
            "warnings",
            wid,
            None,
            {
                "level": level,
                "hazard": hazard,
                "title": title,
                "issued_at": now,
                "townships": township_codes,
                "villages": len(places) - len(township_codes),
                "called": len(batch.recipients),
            },
        )
        return wid

    wid = db.write(work)
    delivery = _deliver(db, batch) if deliver else {}
    return {"warning_id": wid, "recipients": batch.recipients, "delivery": delivery}


def _call_rows(db: Database, since: datetime) -> tuple[list[CallRow], dict[int, dict]]:
    """The calls of warnings still open (issued since `since`) and the places' facts."""
    rows = db.query_dicts(
        f"SELECT c.id, c.warning_id, c.ack_id, {PERSON} AS person, c.step, c.attempt, c.called_at, c.limit_minutes,"
        f" bool_or(c.answered_at IS NOT NULL) OVER (PARTITION BY c.ack_id, {PERSON}) AS answered"
        " FROM warning_calls c JOIN warnings w ON w.id = c.warning_id"
        " WHERE w.issued_at >= ? AND NOT c.is_demo",
        [since],
    )
    calls = [
        CallRow(
            r["id"],
            r["ack_id"],
            r["person"],
            r["step"],
            r["attempt"],
            r["called_at"],
            r["limit_minutes"],
            r["answered"],
        )
        for r in rows
    ]
    return calls, {r["id"]: r for r in rows}


PERSON = "coalesce(CAST(c.contact_id AS VARCHAR), c.name)"  # one person of a place (SQL)


def _call_hazards(db: Database, call_ids: list[int]) -> dict[int, list[dict]]:
    """The live hazard points each of these calls was made for, with the phone now registered for
    the role: {call_id: [{hazard_id, hazard_role, code, name, phone}]} (voided points left out)."""
    out: dict[int, list[dict]] = {}
    if not call_ids:
        return out
    for row in db.query_dicts(
        "SELECT h.call_id, h.hazard_id, h.hazard_role, p.code, p.name,"
        " CASE h.hazard_role WHEN 'responsible' THEN p.responsible_phone ELSE p.monitor_phone END AS phone"
        " FROM warning_call_hazards h JOIN hazard_points p ON p.id = h.hazard_id"
        f" WHERE list_contains(?, h.call_id) AND {live('hazard_points', 'p')} ORDER BY h.call_id, p.code, p.id",
        [list(call_ids)],
    ):
        out.setdefault(row["call_id"], []).append(row)
    return out


ESCALATION_WINDOW_HOURS = 48  # warnings older than this are history: no longer escalated


def escalate(db: Database, now: datetime | None = None, *, deliver: bool = True, actor: User = SYSTEM) -> list[dict]:
    """One escalation run (the every-minute job): returns one dict per person called again or pushed
    (warning_id, name, role, township, village, step, action 'recall' / 'push', ack_url)."""
    require_admin(actor, "升级叫应")
    now = _local(now)
    calls, by_id = _call_rows(db, now - timedelta(hours=ESCALATION_WINDOW_HOURS))
    actions = escalation_actions(calls, now)
    if not actions:
        return []
    ack_ids = sorted({a.ack_id for a in actions if a.ack_id is not None})
    places = {
        r["ack_id"]: r
        for r in db.query_dicts(
            "SELECT a.id AS ack_id, a.warning_id, a.township_code, a.village_code, t.name AS township_name,"
            " v.name AS village_name, w.level, w.title, coalesce(d.hazard, '') AS hazard"
            " FROM warning_acks a JOIN warnings w ON w.id = a.warning_id JOIN townships t ON t.code = a.township_code"
            " LEFT JOIN villages v ON v.code = a.village_code LEFT JOIN warning_details d ON d.warning_id = w.id"
            " WHERE list_contains(?, a.id)",
            [ack_ids],
        )
    }
    for p in places.values():
        p["label"] = p["township_name"] + (p["village_name"] or "")
    stored = chains(db, sorted({p["township_code"] for p in places.values()}))
    people = _people(db, [(0, p["township_code"], p["village_code"]) for p in places.values()], now.date())
    gateways = _gateway_kinds(db)
    link_hours = int(settings(db)["ack_link_hours"])
    batch = Batch(now, [], [], [], public_url(db))
    contacts = {
        r["id"]: r
        for r in db.query_dicts(
            "SELECT c.id, k.id AS contact_id, k.name, k.role, k.phone, k.email, c.name AS call_name, c.role AS call_role"
            " FROM warning_calls c LEFT JOIN contacts k ON k.id = c.contact_id"
            " WHERE list_contains(?, c.id)",
            [[a.call_id for a in actions if a.call_id is not None]],
        )
    }
    hazards = _call_hazards(db, [a.call_id for a in actions if a.call_id is not None])

    def work(cur: Cursor):
        batch.recipients.clear()
        batch.notification_ids.clear()
        batch.call_ids.clear()
        done = []
        for action in actions:
            place = places[action.ack_id]
            warning = {
                "id": place["warning_id"],
                "level": place["level"],
                "title": place["title"],
                "hazard": place["hazard"],
            }
            steps = stored.get((place["township_code"], place["village_code"])) or default_chain(place["village_code"])
            # another run may have done it meanwhile: read inside the transaction
            if action.kind == "recall" and action.call_id is not None:
                original = by_id[action.call_id]
                if first_value(
                    cur,
                    "SELECT count(*) FROM warning_calls WHERE ack_id = ? AND step = ? AND attempt > 1"
                    " AND coalesce(CAST(contact_id AS VARCHAR), name) = ?",
                    [action.ack_id, action.step, original["person"]],
                ):
                    continue
                known = contacts[action.call_id]
                person = {
                    "id": known["contact_id"],
                    "name": known["name"] or known["call_name"],
                    "role": known["role"] or known["call_role"],
                    "phone": known["phone"],
                    "email": known["email"],
                }
                if known["call_role"] in HAZARD_CALL_ROLES:  # a hazard point's person: its current phone
                    points = hazards.get(action.call_id)
                    if not points:  # every point they were called for has been voided: not called again
                        continue
                    person.update(
                        phone=points[0]["phone"],
                        hazards=[(p["hazard_id"], p["hazard_role"]) for p in points],
                        hazard_codes=list(dict.fromkeys(p["code"] for p in points)),
                    )
                step = next((s for s in steps if s.step == action.step), None) or Step(
                    action.step, (person["role"],), original["limit_minutes"] or DEFAULT_STEP_MINUTES
                )
                _insert_call(
                    cur, db, batch, warning, {**place, "step": action.step}, person, step, 2, gateways, link_hours
                )
                done.append("recall")
            else:
                if first_value(
                    cur,
                    "SELECT count(*) FROM warning_calls WHERE ack_id = ? AND step >= ?",
                    [action.ack_id, action.step],
                ):
                    continue
                _push_place(cur, db, batch, warning, place, action.step, steps, people, gateways, link_hours)
                cur.execute(  # the place was escalated (shown on the page, read by the indicators)
                    "UPDATE warning_acks SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL",
                    [now, action.ack_id],
                )
                done.append("push")
        by_warning: dict[int, list[dict]] = {}
        for r in batch.recipients:
            by_warning.setdefault(r["warning_id"], []).append(r)
        everything = list(batch.recipients)
        for wid, rows in by_warning.items():
            place = next(p for p in places.values() if p["warning_id"] == wid)
            warning = {"id": wid, "level": place["level"], "title": place["title"], "hazard": place["hazard"]}
            batch.recipients[:] = rows
            _notify_groups(cur, batch, warning, "warning_escalated", f"escalate-{now:%H%M%S}")
        batch.recipients[:] = everything
        if batch.recipients:
            audit.record(
                cur,
                actor,
                "create",
                "warning_calls",
                None,
                None,
                {"escalated": len(batch.recipients), "recall": done.count("recall"), "push": done.count("push")},
            )

    db.write(work)
    out = []
    for r in batch.recipients:
        out.append({**r, "action": "recall" if r["attempt"] > 1 else "push"})
    if deliver and batch.recipients:
        _deliver(db, batch)
    return out


# Answers ------------------------------------------------------------------------------------------------
_TOKEN_SQL = (
    "SELECT c.id, c.warning_id, c.ack_id, c.name, c.role, c.township_code, c.village_code, c.step, c.attempt,"
    " c.called_at, c.limit_minutes, c.expires_at, c.answered_at, c.action, t.name AS township_name,"
    " v.name AS village_name, w.level, w.title, w.issued_at, coalesce(d.hazard, '') AS hazard,"
    " (SELECT min(o.answered_at) FROM warning_calls o WHERE o.ack_id = c.ack_id"
    "   AND coalesce(CAST(o.contact_id AS VARCHAR), o.name) = coalesce(CAST(c.contact_id AS VARCHAR), c.name))"
    "   AS person_answered_at"
    " FROM warning_calls c JOIN warnings w ON w.id = c.warning_id"
    " LEFT JOIN townships t ON t.code = c.township_code LEFT JOIN villages v ON v.code = c.village_code"
    " LEFT JOIN warning_details d ON d.warning_id = w.id WHERE c.token_hash = ?"
)


def check_token(row: dict | None, now: datetime) -> dict:
    """The call of a token (None: no such token) if it may still be answered; else AckRefused saying
    why: unknown, used (this person has answered), or expired."""
    if not row:
        raise AckRefused("确认链接无效：未找到对应的叫应记录。请核对链接是否完整，或致电县应急值班室确认。")
    answered = row["answered_at"] or row["person_answered_at"]
    if answered is not None:
        raise AckRefused(f"该确认链接已使用：您已于 {_local(answered):%Y-%m-%d %H:%M} 确认收到此预警，无需重复确认。")
    if now > row["expires_at"]:
        raise AckRefused(
            f"该确认链接已过期（有效期至 {_local(row['expires_at']):%Y-%m-%d %H:%M}），请致电县应急值班室确认收到。"
        )
    return row


def lookup(db: Database, token: str, now: datetime | None = None) -> dict:
    """The call a token belongs to, with its warning, for the ack page; raises AckRefused (unknown,
    used or expired) with a clear Chinese message."""
    token = token_from(token)
    rows = db.query_dicts(_TOKEN_SQL, [token_hash(token)]) if token else []
    return check_token(rows[0] if rows else None, _local(now))


def acknowledge(
    db: Database,
    token: str,
    *,
    action: str | None = None,
    now: datetime | None = None,
    via: str = "link",
    actor: User | None = None,
) -> dict:
    """The person (through the link, `via` link) or a duty officer (`via` cli) records "已收到" for the
    call of this token, with the optional action taken; single use. Returns the call as answered."""
    now = _local(now)
    action = clean(action) or None
    if action and len(action) > 200:
        raise ValidationError.single("采取的措施", "不能超过 200 字")
    token = token_from(token)

    def work(cur: Cursor):
        # read inside the transaction: two clicks at once give one answer (the second is refused)
        row = check_token(row_dict(cur, _TOKEN_SQL, [token_hash(token)]) if token else None, now)
        who = actor or User(None, "ack_link", f"{row['name']}（确认链接）", "township", row["township_code"])
        cur.execute(
            "UPDATE warning_calls SET answered_at = ?, answered_via = ?, answered_by = ?, action = ? WHERE id = ?",
            [now, via, row["name"], action, row["id"]],
        )
        cur.execute(
            "UPDATE warning_acks SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND acknowledged_at IS NULL",
            [now, row["name"], row["ack_id"]],
        )
        audit.record(
            cur,
            who,
            "update",
            "warning_calls",
            row["id"],
            {"answered_at": None},
            {"answered_at": now, "answered_via": via, "action": action},
        )
        return {**row, "answered_at": now, "action": action, "answered_via": via}

    return db.write(work)


def record_phone_answer(cur: Cursor, ack_id: int, at: datetime, by: str) -> None:
    """A township operator's phone record for a place (linkage.acknowledge): the place's calls not
    yet answered are answered by phone, so its chain stops."""
    cur.execute(
        "UPDATE warning_calls SET answered_at = ?, answered_via = 'phone', answered_by = ?"
        " WHERE ack_id = ? AND answered_at IS NULL AND limit_minutes IS NOT NULL",
        [at, by, ack_id],
    )


# The record -------------------------------------------------------------------------------------------
def recent_warnings(db: Database, limit: int = 50) -> list[dict]:
    return db.query_dicts(
        "SELECT w.id, w.level, w.title, w.issued_at, coalesce(d.hazard, '') AS hazard,"
        " (SELECT count(*) FROM warning_calls c WHERE c.warning_id = w.id) AS calls,"
        " (SELECT count(*) FROM warning_acks a WHERE a.warning_id = w.id) AS places,"
        " (SELECT count(*) FROM warning_acks a WHERE a.warning_id = w.id AND a.acknowledged_at IS NOT NULL) AS acknowledged"
        f" FROM warnings w LEFT JOIN warning_details d ON d.warning_id = w.id ORDER BY w.issued_at DESC, w.id DESC LIMIT {int(limit)}"
    )


def timeline(db: Database, warning_id: int) -> list[dict]:
    """Who was called on which channel, when delivered, when answered, by whom, with what action: one
    row per call and channel (the inbox and group robots of the township as "乡镇消息/群机器人")."""
    calls = db.query_dicts(
        "SELECT c.id, c.name, c.role, c.step, c.attempt, c.called_at, c.limit_minutes, c.answered_at, c.answered_via,"
        " c.answered_by, c.action, t.name AS township_name, v.name AS village_name, c.township_code"
        " FROM warning_calls c LEFT JOIN townships t ON t.code = c.township_code"
        " LEFT JOIN villages v ON v.code = c.village_code WHERE c.warning_id = ? ORDER BY c.called_at, c.id",
        [warning_id],
    )
    messages: dict[int, list[dict]] = {}
    for m in db.query_dicts(
        "SELECT m.call_id, m.channel, m.status, m.delivered_at, m.last_error FROM call_messages m"
        " JOIN warning_calls c ON c.id = m.call_id WHERE c.warning_id = ? ORDER BY m.id",
        [warning_id],
    ):
        messages.setdefault(m["call_id"], []).append(m)
    groups = db.query_dicts(
        "SELECT n.township_code, n.created_at, c.kind, d.status, d.delivered_at FROM notifications n"
        " JOIN deliveries d ON d.notification_id = n.id JOIN channels c ON c.id = d.channel_id"
        " WHERE n.subject_type = 'warning' AND n.subject_id = ? ORDER BY n.created_at",
        [str(warning_id)],
    )
    points: dict[int, list[str]] = {}
    for call_id, code, name in db.query(
        "SELECT h.call_id, p.code, p.name FROM warning_call_hazards h JOIN hazard_points p ON p.id = h.hazard_id"
        " JOIN warning_calls c ON c.id = h.call_id WHERE c.warning_id = ? ORDER BY h.call_id, p.code",
        [warning_id],
    ):
        if f"{code} {name}" not in points.get(call_id, []):
            points.setdefault(call_id, []).append(f"{code} {name}")
    out = []
    for c in calls:
        role = ROLE_LABELS.get(c["role"], c["role"])
        if c["id"] in points:  # a hazard point's person: which points
            role += f"（{'、'.join(points[c['id']])}）"
        base = {
            "place": (c["township_name"] or "") + (c["village_name"] or ""),
            "name": c["name"],
            "role": role,
            "step": c["step"],
            "attempt": c["attempt"],
            "called_at": c["called_at"],
            "limit_minutes": c["limit_minutes"],
            "answered_at": c["answered_at"],
            "answered_via": VIAS.get(c["answered_via"] or "", ""),
            "answered_by": c["answered_by"],
            "action": c["action"],
        }
        delivered = [
            g for g in groups if g["township_code"] == c["township_code"] and g["created_at"] == c["called_at"]
        ]
        channels_ = [
            {
                "channel": m["channel"],
                "status": m["status"],
                "delivered_at": m["delivered_at"],
                "error": m["last_error"],
            }
            for m in messages.get(c["id"], [])
        ] + [
            {"channel": g["kind"], "status": g["status"], "delivered_at": g["delivered_at"], "error": None}
            for g in delivered
        ]
        if not channels_:
            channels_ = [{"channel": "inbox", "status": "sent", "delivered_at": c["called_at"], "error": None}]
        else:
            channels_.insert(0, {"channel": "inbox", "status": "sent", "delivered_at": c["called_at"], "error": None})
        for ch in channels_:
            out.append({**base, **ch})
    return out


def place_rates(db: Database, warning_id: int) -> list[dict]:
    """Per township: places called, places acknowledged, within the first step's limit."""
    return db.query_dicts(
        "SELECT t.name AS township_name, count(*) AS places, count(a.acknowledged_at) AS acknowledged,"
        " count(*) FILTER (WHERE a.acknowledged_at <= w.issued_at + to_minutes(coalesce(("
        "   SELECT min(c.limit_minutes) FROM warning_calls c WHERE c.ack_id = a.id AND c.step = 1), ?))) AS within_limit"
        " FROM warning_acks a JOIN warnings w ON w.id = a.warning_id JOIN townships t ON t.code = a.township_code"
        " WHERE a.warning_id = ? GROUP BY t.name, t.sort_order ORDER BY t.sort_order",
        [DEFAULT_STEP_MINUTES, warning_id],
    )


VALID_ACTIONS = WARNING_ACTIONS


def escalation_job(db: Database, now: datetime | None = None) -> dict:
    """The server's every-minute job: one escalation run, then the personal messages still pending
    (retries after a failure). {"escalated": [...], "retried": [...]}"""
    from .notify import personal

    now = _local(now)
    escalated = escalate(db, now)
    return {"escalated": escalated, "retried": personal.deliver(db, now)}
