"""Teams and members: the scoped, audited write paths, and the role-masked lists.

Every write takes the acting user, checks role and township (auth.require_write) before and after
the change, writes the record and its audit row in one transaction, and changes nothing when
refused or invalid. Edits read the record inside that transaction and take the record as the form
drew it (`expected`, from team_record / member_record / certificate_record): a record someone else
changed since is refused with StaleRecord (see stale.py). They return the record as saved.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from . import audit, paging, privacy, stale
from .auth import User, require_admin, require_write
from .db import first_value, insert_row, local_today, row_dict
from .db import where as sql_where
from .enterprises import reference_problems
from .enums import HAZARD_DOMAINS, MEMBER_ROLES, TEAM_KINDS, TEAM_LEVELS
from .errors import Problem, ValidationError
from .hygiene import clean, clean_code
from .normalise import Places
from .records import live, refuse_voided

if TYPE_CHECKING:
    from .db import Cursor, Database

TEAM_FIELDS = (
    "name",
    "kind",
    "level",
    "township_code",
    "village_code",
    "enterprise_id",
    "leader_name",
    "duty_phone",
    "equipment",
    "established_on",
)
MEMBER_FIELDS = (
    "team_id",
    "name",
    "gender",
    "birth_date",
    "phone",
    "role_in_team",
    "specialty",
    "training_passed",
    "training_on",
    "insurance_until",
    "joined_on",
)
# What a stale-form message calls each field (stale.py); fields without a label are compared, not shown.
TEAM_LABELS = {
    "name": "队伍名称",
    "kind": "队伍类别",
    "level": "队伍层级",
    "township_code": "所属乡镇",
    "village_code": "所属村（社区）",
    "enterprise_id": "所属企业（编号）",
    "leader_name": "负责人",
    "duty_phone": "值班电话",
    "equipment": "装备",
    "established_on": "成立日期",
    "disbanded_on": "撤销日期",
    "domains": "覆盖领域",
}
TEAM_ENUMS = {"kind": TEAM_KINDS, "level": TEAM_LEVELS, "domains": HAZARD_DOMAINS}
MEMBER_LABELS = {
    "team_id": "所属队伍（编号）",
    "name": "姓名",
    "gender": "性别",
    "birth_date": "出生日期",
    "phone": "手机号",
    "role_in_team": "职务",
    "specialty": "专长",
    "training_passed": "已培训",
    "training_on": "培训日期",
    "insurance_until": "保险到期",
    "joined_on": "入队日期",
    "id_masked": "身份证号",
    "left_on": "离队日期",
    "township_code": "所属乡镇",
}
MEMBER_ENUMS = {"role_in_team": MEMBER_ROLES}


# Who is active on a day: the one definition every query uses --------------------------------------
def team_active(on: date | str, alias: str = "t") -> tuple[str, list]:
    """The rule "team `alias` is active on the day `on`" as an SQL condition and its parameters.

    A team is active on a day when it was founded on or before that day and is not disbanded by
    then (no disbanded_on, or a later one): disbanded on the day itself means inactive that day.
    A voided team (records.py) is never active.
    `on` is a date, bound as parameters, or a string holding an SQL expression (e.g. "p.year_end"),
    written into the condition with no parameters. Plain standard SQL, for any backend.
    """
    day, params = _day(on, 2)
    return (
        f"{alias}.established_on <= {day} AND ({alias}.disbanded_on IS NULL OR {alias}.disbanded_on > {day})"
        f" AND {live('teams', alias)}",
        params,
    )


def member_active(on: date | str, alias: str = "m", team: str | None = "t") -> tuple[str, list]:
    """The rule "member `alias` is on the roster on the day `on`": joined on or before that day and
    not left by then (left on the day itself means gone that day), in a team active that day
    (`team` is the alias of the member's team row; None leaves the team's rule to the caller)."""
    day, params = _day(on, 2)
    sql = f"{alias}.joined_on <= {day} AND ({alias}.left_on IS NULL OR {alias}.left_on > {day}) AND {live('members', alias)}"
    if team is None:
        return sql, params
    team_sql, team_params = team_active(on, team)
    return f"{team_sql} AND {sql}", team_params + params


def _day(on: date | str, uses: int) -> tuple[str, list]:
    return (on, []) if isinstance(on, str) else ("?", [on] * uses)


def _team(cur: Cursor, team_id: int) -> dict:
    team = row_dict(cur, f"SELECT id, {', '.join(TEAM_FIELDS)}, disbanded_on FROM teams WHERE id = ?", [team_id])
    if not team:
        raise ValueError(f"队伍 {team_id} 不存在")
    return team


def _team_record(cur: Cursor, team_id: int) -> dict:
    """The team with its hazard domains: what the team forms draw and an edit checks against."""
    team = _team(cur, team_id)
    team["domains"] = [
        d
        for (d,) in cur.execute(
            "SELECT domain_code FROM team_domains WHERE team_id = ? ORDER BY domain_code", [team_id]
        ).fetchall()
    ]
    return team


def team_record(db: Database, team_id: int) -> dict:
    """A team as its edit forms draw it; passed back as `expected` when they save."""
    return _team_record(db.cursor(), team_id)


def _check_team(cur: Cursor, actor: User, team_id: int, expected: dict | None, what: str) -> dict:
    """Inside the write: the team as it is now, in the actor's scope and unchanged since the form."""
    before = _team_record(cur, team_id)
    require_write(actor, before["township_code"], what)
    refuse_voided(cur, "teams", team_id)
    stale.check_fresh(
        before, expected, table="teams", record_id=team_id, labels=TEAM_LABELS, viewer=actor, enums=TEAM_ENUMS
    )
    return before


def team_problems(data: dict, places: Places) -> list[Problem]:
    """What is wrong with a team record (pure: places are preloaded): field label and reason."""
    problems = []
    if not clean(data.get("name")):
        problems.append(Problem("队伍名称", "不能为空"))
    if data.get("kind") not in TEAM_KINDS:
        problems.append(Problem("队伍类别", f"必须是 {'、'.join(TEAM_KINDS.values())} 之一"))
    if data.get("level") not in TEAM_LEVELS:
        problems.append(Problem("队伍层级", f"必须是 {'、'.join(TEAM_LEVELS.values())} 之一"))
    township = data.get("township_code")
    if data.get("level") == "county" and township:
        problems.append(Problem("队伍层级", "县级队伍服务全县，不应填写所属乡镇"))
    if data.get("level") not in ("county", "civil") and not township:
        problems.append(Problem("所属乡镇", "乡镇、村级和企业队伍必须填写所属乡镇（社会组织队伍不填则服务全县）"))
    if township and township not in places.township_names:
        problems.append(Problem("所属乡镇", f"{township} 不存在"))
    village = data.get("village_code")
    if village and places.village_township.get(village) != township:
        problems.append(Problem("所属村（社区）", f"{village} 不属于所选乡镇"))
    phone = data.get("duty_phone")
    if phone and privacy.validate_mobile(phone) and not phone.startswith("0379"):
        problems.append(Problem("值班电话", "应为11位手机号或 0379 开头的固话"))
    if not isinstance(data.get("established_on"), date):
        problems.append(Problem("成立日期", "必须填写日期"))
    return problems


def validate_team(db: Database, data: dict) -> list[Problem]:
    return team_problems(data, Places.load(db)) + reference_problems(
        db, data.get("enterprise_id"), data.get("township_code")
    )


def create_team(db: Database, actor: User, data: dict, domains: list[str]) -> int:
    data = {k: data.get(k) for k in TEAM_FIELDS}
    data["name"] = clean(data["name"])
    data["duty_phone"] = clean_code(data["duty_phone"]) or None
    require_write(actor, data["township_code"], "新增该乡镇以外的队伍")
    problems = validate_team(db, data)
    if problems:
        raise ValidationError(problems)

    def work(cur: Cursor):
        team_id = insert_row(cur, "teams", data)
        for code in dict.fromkeys(domains):
            cur.execute("INSERT INTO team_domains VALUES (?, ?)", [team_id, code])
        audit.record(cur, actor, "create", "teams", team_id, None, {**data, "domains": sorted(domains)})
        return team_id

    return db.write(work)


def update_team(db: Database, actor: User, team_id: int, changes: dict, *, expected: dict | None = None) -> dict:
    def work(cur: Cursor):
        before = _check_team(cur, actor, team_id, expected, "修改其他乡镇或县级的队伍")
        after = {**before, **{k: v for k, v in changes.items() if k in TEAM_FIELDS}}
        after["name"] = clean(after["name"])
        require_write(actor, after["township_code"], "把队伍转到其他乡镇")
        problems = validate_team(db, after)
        if problems:
            raise ValidationError(problems)
        old, new = audit.changed(before, {k: after[k] for k in TEAM_FIELDS})
        if new:
            cur.execute(
                f"UPDATE teams SET {', '.join(f'{k} = ?' for k in new)}, updated_at = current_timestamp WHERE id = ?",
                [*new.values(), team_id],
            )
            audit.record(cur, actor, "update", "teams", team_id, old, new)
        return _team_record(cur, team_id)

    return db.write(work)


def disband_team(
    db: Database, actor: User, team_id: int, on: date, reason: str, *, expected: dict | None = None
) -> dict:
    """Kept in history: the team stops counting from the day after `on`."""

    def work(cur: Cursor):
        before = _check_team(cur, actor, team_id, expected, "撤销其他乡镇或县级的队伍")
        if not clean(reason):
            raise ValidationError.single("撤销原因", "不能为空")
        cur.execute(
            "UPDATE teams SET disbanded_on = ?, disband_reason = ?, updated_at = current_timestamp WHERE id = ?",
            [on, clean(reason), team_id],
        )
        audit.record(
            cur,
            actor,
            "disband",
            "teams",
            team_id,
            {"disbanded_on": before["disbanded_on"]},
            {"disbanded_on": on, "disband_reason": clean(reason)},
        )
        return _team_record(cur, team_id)

    return db.write(work)


# Members -----------------------------------------------------------------------------------
def _member(cur: Cursor, member_id: int) -> dict:
    member = row_dict(
        cur,
        f"SELECT m.id, {', '.join('m.' + f for f in MEMBER_FIELDS)}, m.id_hmac, m.id_masked,"
        " m.left_on, t.township_code FROM members m JOIN teams t ON t.id = m.team_id WHERE m.id = ?",
        [member_id],
    )
    if not member:
        raise ValueError(f"队员 {member_id} 不存在")
    return member


def member_record(db: Database, member_id: int) -> dict:
    """A member as the member forms draw it; passed back as `expected` when they save."""
    return _member(db.cursor(), member_id)


def _check_member(cur: Cursor, actor: User, member_id: int, expected: dict | None, what: str) -> dict:
    """Inside the write: the member as it is now, in the actor's scope and unchanged since the form."""
    before = _member(cur, member_id)
    require_write(actor, before["township_code"], what)
    refuse_voided(cur, "members", member_id)
    stale.check_fresh(
        before, expected, table="members", record_id=member_id, labels=MEMBER_LABELS, viewer=actor, enums=MEMBER_ENUMS
    )
    return before


def validate_member(data: dict, today: date | None = None) -> list[Problem]:
    """The form's rules for a member (`today`: the county's date, when an import has it already)."""
    problems = []
    if not data.get("name"):
        problems.append(Problem("姓名", "不能为空"))
    phone_problem = privacy.validate_mobile(data["phone"]) if data.get("phone") else None
    if phone_problem:
        problems.append(Problem("手机号", phone_problem))
    if data.get("role_in_team") not in MEMBER_ROLES:
        problems.append(Problem("队内职务", f"必须是 {'、'.join(MEMBER_ROLES.values())} 之一"))
    if not isinstance(data.get("joined_on"), date):
        problems.append(Problem("入队日期", "必须填写日期"))
    if data.get("gender") not in (None, "男", "女"):
        problems.append(Problem("性别", "应为“男”或“女”"))
    for key, label in (("birth_date", "出生日期"), ("training_on", "培训日期"), ("insurance_until", "保险到期")):
        if data.get(key) is not None and not isinstance(data[key], date):
            problems.append(Problem(label, "必须是日期"))
    born = data.get("birth_date")
    if isinstance(born, date) and (born > (today or local_today()) or born.year < 1900):
        problems.append(Problem("出生日期", "不合理"))
    if len(data.get("specialty") or "") > 100:
        problems.append(Problem("专长", "最多100字"))
    return problems


def add_member(db: Database, actor: User, data: dict, id_number: str | None = None) -> tuple[int, list[str]]:
    """(member id, warnings). A person already in another team is accepted and flagged."""
    cur = db.cursor()
    team = _team(cur, data["team_id"])
    require_write(actor, team["township_code"], "向其他乡镇或县级队伍添加队员")
    if team["disbanded_on"]:
        raise ValidationError.single("所属队伍", "该队伍已撤销，不能再添加队员")
    data = {k: data.get(k) for k in MEMBER_FIELDS}
    data["name"], data["phone"] = clean(data["name"]), clean_code(data["phone"]) or None
    data.setdefault("role_in_team", "member")
    data["role_in_team"] = data["role_in_team"] or "member"
    data["training_passed"] = bool(data["training_passed"])
    problems = validate_member(data)
    protected: tuple[str | None, str | None, str | None] = (None, None, None)
    warnings: list[str] = []
    if id_number:
        id_number = clean_code(id_number)
        reason = privacy.validate_id_number(id_number)
        if reason:
            problems.append(Problem("身份证号", reason))
        else:
            protected = privacy.protect_id(id_number)
            data["birth_date"] = privacy.birth_date_from_id(id_number)
            data["gender"] = privacy.gender_from_id(id_number)
            others = db.query(
                "SELECT t.name FROM members m JOIN teams t ON t.id = m.team_id"
                " WHERE m.id_hmac = ? AND m.left_on IS NULL",
                [protected[0]],
            )
            if others:
                warnings.append("此人已在以下队伍中登记（将被标记为重复人员）：" + "、".join(n for (n,) in others))
    if problems:
        raise ValidationError(problems)

    def work(cur: Cursor):
        stored_id = dict(zip(("id_hmac", "id_cipher", "id_masked"), protected))
        member_id = insert_row(cur, "members", {**data, **stored_id})
        audit.record(cur, actor, "create", "members", member_id, None, {**data, "id_masked": protected[2]})
        return member_id

    return db.write(work), warnings


def update_member(db: Database, actor: User, member_id: int, changes: dict, *, expected: dict | None = None) -> dict:
    """Edit a member. "Before" is read inside the write, so that a retry after DuckDB's write conflict
    reads the other save's result and checks `expected` against it again."""

    def work(cur: Cursor):
        before = _check_member(cur, actor, member_id, expected, "修改其他乡镇或县级队伍的队员")
        after = {**before, **{k: v for k, v in changes.items() if k in MEMBER_FIELDS}}
        if "phone" in changes:
            after["phone"] = clean_code(changes["phone"]) or None
        if after["team_id"] != before["team_id"]:  # moving to another team: the target must be in scope too
            target = _team(cur, after["team_id"])
            require_write(actor, target["township_code"], "把队员调到其他乡镇或县级队伍")
            if target["disbanded_on"]:
                raise ValidationError.single("所属队伍", "目标队伍已撤销")
        # A stored malformed phone (listed by the roster health check) does not block other edits.
        problems = validate_member(after if "phone" in changes else {**after, "phone": None})
        if problems:
            raise ValidationError(problems)
        old, new = audit.changed(before, {k: after[k] for k in MEMBER_FIELDS})
        if new:
            cur.execute(
                f"UPDATE members SET {', '.join(f'{k} = ?' for k in new)}, updated_at = current_timestamp WHERE id = ?",
                [*new.values(), member_id],
            )
            audit.record(cur, actor, "update", "members", member_id, old, new)
        return _member(cur, member_id)

    return db.write(work)


def member_leaves(db: Database, actor: User, member_id: int, on: date, *, expected: dict | None = None) -> dict:
    def work(cur: Cursor):
        before = _check_member(cur, actor, member_id, expected, "办理其他乡镇或县级队伍队员离队")
        cur.execute("UPDATE members SET left_on = ?, updated_at = current_timestamp WHERE id = ?", [on, member_id])
        audit.record(cur, actor, "leave", "members", member_id, {"left_on": before["left_on"]}, {"left_on": on})
        return _member(cur, member_id)

    return db.write(work)


def reveal_id_number(db: Database, actor: User, member_id: int) -> str:
    """The full ID number: an admin action, itself audited."""
    require_admin(actor, "查看完整身份证号")
    cipher = db.scalar("SELECT id_cipher FROM members WHERE id = ?", [member_id])
    if not cipher:
        raise ValueError("该队员没有登记身份证号")
    db.write(lambda cur: audit.record(cur, actor, "reveal", "members", member_id, None, None))
    return privacy.decrypt_id(cipher)


def move_member(db: Database, actor: User, member_id: int, team_id: int, *, expected: dict | None = None) -> dict:
    """Move to another team: both the member's current and the target team must be in scope."""
    return update_member(db, actor, member_id, {"team_id": int(team_id)}, expected=expected)


def record_training(
    db: Database, actor: User, member_id: int, passed: bool, on: date | None, *, expected: dict | None = None
) -> dict:
    """Training passed (生产安全事故应急条例 Art. 11: only trained members join rescues)."""
    if passed and not isinstance(on, date):
        raise ValidationError.single("培训日期", "通过培训时必须填写日期")
    return update_member(
        db,
        actor,
        member_id,
        {"training_passed": bool(passed), "training_on": on if passed else None},
        expected=expected,
    )


def set_insurance(
    db: Database, actor: User, member_id: int, until: date | None, *, expected: dict | None = None
) -> dict:
    return update_member(db, actor, member_id, {"insurance_until": until}, expected=expected)


def renew_team_insurance(db: Database, actor: User, team_id: int, until: date) -> int:
    """A group accident insurance for every current member of one team (one statement, one audit row)."""
    cur = db.cursor()
    team = _team(cur, team_id)
    require_write(actor, team["township_code"], "为其他乡镇或县级队伍登记保险")
    if not isinstance(until, date):
        raise ValidationError.single("保险到期", "必须填写日期")

    def work(cur: Cursor):
        # No RETURNING: DuckDB 2.0.1 runs an UPDATE ... RETURNING as delete + insert, which the foreign
        # key from certificates refuses (measured); count first, in the same transaction.
        n = first_value(cur, "SELECT count(*) FROM members WHERE team_id = ? AND left_on IS NULL", [team_id])
        cur.execute(
            "UPDATE members SET insurance_until = ?, updated_at = current_timestamp"
            " WHERE team_id = ? AND left_on IS NULL",
            [until, team_id],
        )
        audit.record(cur, actor, "update", "members", f"team:{team_id}", None, {"insurance_until": until, "members": n})
        return n

    return db.write(work)


def set_team_domains(
    db: Database, actor: User, team_id: int, domains: list[str], *, expected: dict | None = None
) -> dict:
    """The hazard domains a team covers (what the coverage matrix counts)."""

    def work(cur: Cursor):
        before = _check_team(cur, actor, team_id, expected, "修改其他乡镇或县级队伍的覆盖领域")["domains"]
        unknown = [d for d in domains if d not in HAZARD_DOMAINS]
        if unknown:
            raise ValidationError.single("覆盖领域", f"未知领域 {'、'.join(unknown)}")
        after = sorted(dict.fromkeys(domains))
        if before != after:
            for code in set(before) - set(after):  # only what changed: no delete and re-insert of one key
                cur.execute("DELETE FROM team_domains WHERE team_id = ? AND domain_code = ?", [team_id, code])
            for code in set(after) - set(before):
                cur.execute("INSERT INTO team_domains VALUES (?, ?)", [team_id, code])
            audit.record(cur, actor, "update", "teams", team_id, {"domains": before}, {"domains": after})
        return _team_record(cur, team_id)

    return db.write(work)


def serves(team_township: str | None, township_code: str) -> bool:
    """A team's service area: its own township, or every township for a county-wide team (no township)."""
    return team_township is None or team_township == township_code


# Certificates ------------------------------------------------------------------------------
CERTIFICATE_FIELDS = ("name", "number", "issued_on", "expires_on")
CERTIFICATE_LABELS = {
    "member_id": "队员（编号）",
    "name": "证书名称",
    "number": "证书编号",
    "issued_on": "发证日期",
    "expires_on": "有效期至",
}


def certificate_problems(data: dict) -> list[Problem]:
    problems = []
    if not clean(data.get("name")):
        problems.append(Problem("证书名称", "不能为空"))
    for key, label in (("issued_on", "发证日期"), ("expires_on", "有效期至")):
        if data.get(key) is not None and not isinstance(data[key], date):
            problems.append(Problem(label, "必须是日期"))
    issued, expires = data.get("issued_on"), data.get("expires_on")
    if isinstance(issued, date) and isinstance(expires, date) and expires < issued:
        problems.append(Problem("有效期至", "不能早于发证日期"))
    return problems


def add_certificate(db: Database, actor: User, member_id: int, data: dict) -> int:
    cur = db.cursor()
    member = _member(cur, member_id)
    require_write(actor, member["township_code"], "为其他乡镇或县级队伍的队员登记证书")
    data = {k: data.get(k) for k in CERTIFICATE_FIELDS}
    data["name"], data["number"] = clean(data["name"]), clean(data["number"]) or None
    problems = certificate_problems(data)
    if problems:
        raise ValidationError(problems)

    def work(cur: Cursor):
        cert_id = first_value(
            cur,
            "INSERT INTO certificates (member_id, name, number, issued_on, expires_on)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            [member_id, *(data[k] for k in CERTIFICATE_FIELDS)],
        )
        audit.record(cur, actor, "create", "certificates", cert_id, None, {"member_id": member_id, **data})
        return cert_id

    return db.write(work)


def _certificate(cur: Cursor, cert_id: int) -> dict:
    cert = row_dict(
        cur,
        "SELECT c.id, c.member_id, c.name, c.number, c.issued_on, c.expires_on, t.township_code"
        " FROM certificates c JOIN members m ON m.id = c.member_id JOIN teams t ON t.id = m.team_id"
        " WHERE c.id = ?",
        [cert_id],
    )
    if not cert:
        raise ValueError(f"证书 {cert_id} 不存在")
    return cert


def certificate_record(db: Database, cert_id: int) -> dict:
    """A certificate as the certificate form draws it; passed back as `expected` when it saves."""
    return _certificate(db.cursor(), cert_id)


def update_certificate(db: Database, actor: User, cert_id: int, changes: dict, *, expected: dict | None = None) -> dict:
    def work(cur: Cursor):
        before = _certificate(cur, cert_id)
        require_write(actor, before["township_code"], "修改其他乡镇或县级队伍队员的证书")
        stale.check_fresh(
            before, expected, table="certificates", record_id=cert_id, labels=CERTIFICATE_LABELS, viewer=actor
        )
        after = {**before, **{k: v for k, v in changes.items() if k in CERTIFICATE_FIELDS}}
        after["name"], after["number"] = clean(after["name"]), clean(after["number"]) or None
        problems = certificate_problems(after)
        if problems:
            raise ValidationError(problems)
        old, new = audit.changed(before, {k: after[k] for k in CERTIFICATE_FIELDS})
        if new:
            cur.execute(
                f"UPDATE certificates SET {', '.join(f'{k} = ?' for k in new)} WHERE id = ?", [*new.values(), cert_id]
            )
            audit.record(cur, actor, "update", "certificates", cert_id, old, new)
        return _certificate(cur, cert_id)

    return db.write(work)


def remove_certificate(db: Database, actor: User, cert_id: int) -> None:
    def work(cur: Cursor):
        before = _certificate(cur, cert_id)
        require_write(actor, before["township_code"], "删除其他乡镇或县级队伍队员的证书")
        cur.execute("DELETE FROM certificates WHERE id = ?", [cert_id])
        audit.record(
            cur,
            actor,
            "delete",
            "certificates",
            cert_id,
            {k: before[k] for k in ("member_id", *CERTIFICATE_FIELDS)},
            None,
        )

    db.write(work)


def certificates_of(db: Database, member_id: int):
    return db.frame(
        "SELECT id, name, number, issued_on, expires_on FROM certificates WHERE member_id = ?"
        " ORDER BY expires_on NULLS LAST, id",
        [member_id],
    )


def domain_counts(db: Database, on: date) -> list[dict]:
    """Per hazard domain covered on the day `on`: active teams and the townships they belong to,
    most teams first (the overview's chart and the report's leading domains)."""
    active, params = team_active(on)
    return db.query_dicts(
        "SELECT d.domain_code, count(DISTINCT t.id) AS teams, count(DISTINCT t.township_code) AS townships"
        f" FROM team_domains d JOIN teams t ON t.id = d.team_id WHERE {active}"
        " GROUP BY 1 ORDER BY 2 DESC, 1",
        params,
    )


# Lists ------------------------------------------------------------------------------------
def _team_filter(
    township_code: str | None = None,
    kind: str | None = None,
    level: str | None = None,
    domain: str | None = None,
    include_disbanded: bool = False,
    search: str | None = None,
) -> tuple[str, list]:
    """The one WHERE of the team list, its count and its picker (live teams only)."""
    text = clean(search) or None
    return sql_where(
        ("(position(? IN t.name) > 0 OR position(? IN coalesce(t.leader_name, '')) > 0)", text),
        ("t.township_code = ?", township_code),
        ("t.kind = ?", kind),
        ("t.level = ?", level),
        ("t.id IN (SELECT team_id FROM team_domains WHERE domain_code = ?)", domain),
        ("t.disbanded_on IS NULL", not include_disbanded),
        (live("teams", "t"), True),
    )


def team_list(db: Database, *, limit: int | None = None, offset: int = 0, **filters):
    """Teams matching every filter given; `search` finds text in the team's name or its leader's.
    limit/offset give one page (team_page); without a limit, the whole filtered list (exports)."""
    where, params = _team_filter(**filters)
    return db.frame(
        "SELECT t.id, t.name, t.kind, t.level, t.township_code, coalesce(tw.name, '全县') AS township_name,"
        " CASE WHEN t.township_code IS NULL THEN '全县各乡镇' ELSE tw.name END AS service_area,"
        " v.name AS village_name, t.leader_name, t.duty_phone, t.equipment, t.established_on, t.disbanded_on,"
        f" (SELECT count(*) FROM members m WHERE m.team_id = t.id AND m.left_on IS NULL AND {live('members', 'm')})"
        " AS member_count,"
        " (SELECT string_agg(h.name, '、' ORDER BY h.code) FROM team_domains d JOIN hazard_domains h"
        "   ON h.code = d.domain_code WHERE d.team_id = t.id) AS domains"
        f" FROM teams t LEFT JOIN townships tw ON tw.code = t.township_code"
        f" LEFT JOIN villages v ON v.code = t.village_code {where}"
        " ORDER BY tw.sort_order NULLS FIRST, t.level, t.name, t.id" + paging.limit_clause(limit, offset),
        params,
    )


def team_list_for(db: Database, viewer: User, **filters):
    """team_list with duty phones masked by the viewer's role."""
    return mask_personal(team_list(db, **filters), viewer, "duty_phone")


def team_summary(db: Database, **filters) -> dict:
    """{teams, members} of the whole filtered list (team_list's WHERE; members on the roster)."""
    where, params = _team_filter(**filters)
    return db.query_dicts(
        "SELECT count(*) AS teams, coalesce(sum((SELECT count(*) FROM members m WHERE m.team_id = t.id"
        f" AND m.left_on IS NULL AND {live('members', 'm')})), 0) AS members FROM teams t {where}",
        params,
    )[0]


def team_page(
    db: Database, viewer: User, *, page: int = 1, page_size: int | None = None, summary: dict | None = None, **filters
) -> paging.Page:
    """One page of team_list_for, with the total of the whole filtered list. `summary`: the
    team_summary of the same filters when the caller has it already (not counted twice)."""
    return paging.fetch(
        lambda: (summary or team_summary(db, **filters))["teams"],
        lambda limit, offset: team_list_for(db, viewer, limit=limit, offset=offset, **filters),
        page,
        page_size,
    )


def team_choices(
    db: Database,
    text: str | None,
    *,
    township_code: str | None = None,
    exclude_id: int | None = None,
    limit: int = paging.PICK_LIMIT,
) -> dict[int, str]:
    """{id: "name（township）"} of at most `limit` live, active teams whose name, leader or number
    matches `text`, in `township_code` when given (a searchable picker: the member forms)."""
    text = clean(text) or ""
    where, params = _team_filter(township_code=township_code)
    if text:
        where += " AND (position(? IN t.name) > 0 OR position(? IN coalesce(t.leader_name, '')) > 0"
        where += " OR CAST(t.id AS VARCHAR) = ?)"
        params += [text, text, text]
    if exclude_id is not None:
        where += " AND t.id <> ?"
        params.append(int(exclude_id))
    rows = db.query(
        f"SELECT t.id, t.name, coalesce(tw.name, '全县') FROM teams t LEFT JOIN townships tw"
        f" ON tw.code = t.township_code {where} ORDER BY tw.sort_order NULLS FIRST, t.name, t.id LIMIT {int(limit)}",
        params,
    )
    return {int(i): f"{name}（{town}）" for i, name, town in rows}


def _member_filter(
    team_id: int | None = None,
    township_code: str | None = None,
    include_left: bool = False,
    search: str | None = None,
    untrained_only: bool = False,
) -> tuple[str, list]:
    return sql_where(
        ("(m.name LIKE ? OR t.name LIKE ?)", f"%{clean(search)}%" if clean(search) else None),
        ("NOT m.training_passed", untrained_only),
        ("m.team_id = ?", team_id),
        ("t.township_code = ?", township_code),
        ("m.left_on IS NULL", not include_left),
        (live("members", "m"), True),
        (live("teams", "t"), True),
    )


def member_count(db: Database, **filters) -> int:
    where, params = _member_filter(**filters)
    return db.scalar(f"SELECT count(*) FROM members m JOIN teams t ON t.id = m.team_id {where}", params)


def member_page(db: Database, viewer: User, *, page: int = 1, page_size: int | None = None, **filters) -> paging.Page:
    """One page of member_list, with the total of the whole filtered list."""
    return paging.fetch(
        lambda: member_count(db, **filters),
        lambda limit, offset: member_list(db, viewer, limit=limit, offset=offset, **filters),
        page,
        page_size,
    )


def member_list(db: Database, viewer: User, *, limit: int | None = None, offset: int = 0, **filters):
    """Members with phones masked unless the viewer may see them (admin, or the member's own township);
    ID numbers always masked. limit/offset give one page (a county-wide list at 100 times the
    county's size is 735,000 rows: pages fetch a page, exports the whole list)."""
    where, params = _member_filter(**filters)
    page = paging.limit_clause(limit, offset)
    frame = db.frame(
        "SELECT m.id, m.name, m.gender, m.birth_date, m.phone, m.id_masked, m.role_in_team, m.specialty,"
        " m.training_passed, m.training_on, m.insurance_until, m.joined_on, m.left_on, m.team_id,"
        " t.name AS team_name, t.township_code, coalesce(tw.name, '全县') AS township_name"
        " FROM members m JOIN teams t ON t.id = m.team_id LEFT JOIN townships tw ON tw.code = t.township_code"
        f" {where} ORDER BY t.township_code NULLS FIRST, t.name, m.id{page}",
        params,
    )
    return mask_personal(frame, viewer, "phone")


def mask_personal(frame, viewer: User, phone_column: str | None = None, township_column: str = "township_code"):
    """The one masking rule of every list and export of people:

    - the phone in `phone_column` is masked on every row whose township the viewer may not see in full;
    - for every role but the administrator, a `birth_date` column keeps the year only: with the
      masked ID number, a full birth date would give back the whole number (privacy.mask_id).
    """
    if viewer.role == "admin" or frame.empty:
        return frame
    if phone_column:
        visible = frame[township_column].map(viewer.sees_full_phone).astype(bool)
        frame[phone_column] = frame[phone_column].where(visible, frame[phone_column].map(privacy.mask_phone))
    if "birth_date" in frame.columns:
        frame["birth_date"] = frame["birth_date"].map(lambda v: privacy.coarse_birth(v) or None).astype(object)
    return frame


def birth_label(viewer: User) -> str:
    """The header of the birth column as this viewer sees it."""
    return "出生日期" if viewer.is_admin else "出生年份"
