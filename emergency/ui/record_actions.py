"""Shared page sections for correcting, voiding and deleting records (records.py), and for forms that
must not save twice. Pages call one function per section, so they change little:

- `saved(slot)` / `save_and_clear(slot, create, success)`: a create form is drawn afresh after a
  successful save (its widgets' keys carry a version that the save bumps), and the next run shows
  what was saved, with its number; a second click on 保存, even one that arrives while the first
  click's save is writing, meets an empty form.
- `duplicate_prompt(slot, save)`: a near-duplicate refused by the service (drills.PossibleDuplicate)
  waits here for "仍要保存" or "取消".
- `void_section(...)`: 作废 with a reason for whoever may edit the record; 彻底删除 for an admin
  within 24 hours of its creation.
- `voided_section(...)`: the "已作废" list of a page, with 恢复 for an admin.
- `edit_drill(...)`: the whole drill record as one form (title, date, participants, plans, level,
  place, ...), checked against the record as drawn (stale.py); `team_basics`, `member_basics`,
  `enterprise_basics`, `edit_planned`, `edit_action`, `edit_contact`, `plan_status`: the fields the
  pages' own edit forms lacked, each saved against what the page drew (widgets.drawn).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from emergency import drills, enterprises, enums, linkage, plans, records, regions, teams
from emergency.db import local_today
from emergency.hygiene import escape_markdown as md
from emergency.ui.widgets import drawn, forget_drawn, label_of, lazy_expander, picker, show_table, write_feedback

if TYPE_CHECKING:
    from emergency.auth import User
    from emergency.db import Database


# Saving once ---------------------------------------------------------------------------------------
# Streamlit may stop a run at any element or session-state access once a new run is asked for: the
# second click of a double click, arriving while the first click's run writes. What a save must
# remember (the form's new version, the message, the near-duplicate no longer held) therefore goes in
# one dict read from session state before the write and changed in place after it, with no Streamlit
# call in between; the second click's run then meets the new, empty form instead of saving again.
def _ledger() -> dict:
    """This session's create forms: their versions, what each last saved, the near-duplicates held."""
    return st.session_state.setdefault("_save_ledger", {"version": {}, "saved": {}, "pending": {}, "fresh": set()})


def version(slot: str) -> int:
    """The current version of a create form: part of its widgets' keys, bumped by each save."""
    return int(_ledger()["version"].get(slot, 0))


def _note_saved(ledger: dict, slot: str, message: str, record_id: int | None) -> None:
    """Right after the write, before any Streamlit call: the form is drawn afresh on the next run."""
    ledger["version"][slot] = ledger["version"].get(slot, 0) + 1
    ledger["saved"][slot] = (message, record_id)
    ledger["fresh"].add(slot)  # said once more as a toast: the form's button may be far below
    ledger["pending"].pop(slot, None)


def form_key(slot: str) -> str:
    """The key of a create form, new after each save (Streamlit then draws its widgets empty)."""
    return f"{slot}_{version(slot)}"


def save_and_clear(
    slot: str,
    create: Callable[[], object],
    success: str,
    number: Callable[[Any], int] = int,
    notes: Callable[[Any], list[str]] = lambda _: [],
) -> None:
    """Run a create form's service call: a refusal is shown (write_feedback) and the form keeps its
    values; a success draws the form afresh and says what was saved, with its number."""
    ledger = _ledger()

    def note(made) -> None:
        extra = "".join(f"  \n{md(n)}" for n in notes(made))
        _note_saved(ledger, slot, f"{success}（编号 {number(made)}）{extra}", number(made))

    if write_feedback(create, success, then=note):
        st.rerun()


def once_form(slot: str, **kwargs):
    """st.form keyed by its version (form_key), for a form whose save is not to be repeated (stock
    out, a certificate added): submit_once draws it afresh after a save, so a double click's second
    click, made on the form as it was, presses no button. Its widgets keep what was typed."""
    return st.form(form_key(slot), **kwargs)


def submit_once(slot: str, action: Callable[[], object], success: str, saved_as: str | None = None) -> None:
    """write_feedback for a once_form: a success bumps the form's version (in the ledger, before
    any Streamlit call) and reruns; saved(slot), drawn above the form, says `success` there. A form
    checked against a drawn record (saved_as) needs it too: after a save that returns no record the
    check would pass the second click against the record as saved."""
    ledger = _ledger()
    if write_feedback(action, success, saved_as, then=lambda _: _note_saved(ledger, slot, success, None)):
        st.rerun()


def saved(slot: str, open_record: Callable[[int], None] | None = None, what: str = "记录") -> None:
    """After a save: its message, the new record's number, and a button that opens it."""
    ledger = _ledger()
    notice = ledger["saved"].get(slot)
    if not notice:
        return
    message, record_id = notice
    st.success(message)
    if slot in ledger["fresh"]:
        ledger["fresh"].discard(slot)
        st.toast(message, icon="✅")
    if record_id is not None and open_record is not None:
        st.button(
            f"查看第 {record_id} 号{what}",
            key=f"_open_{slot}_{record_id}",
            on_click=open_record,
            args=(record_id,),
        )


def duplicate_prompt(slot: str, save: Callable[[dict, bool], int], success: str) -> None:
    """A near-duplicate waiting for the user's word: "可能重复，仍要保存？" with 仍要保存 / 取消.
    `save(values, True)` saves the held values with duplicates allowed and returns the new id."""
    ledger = _ledger()
    pending = ledger["pending"].get(slot)
    if not pending:
        return
    found = "、".join(f"第 {d['id']} 号《{md(d['title'])}》（{d['held_on']}）" for d in pending["duplicates"])
    st.warning(f"可能重复，仍要保存？同一乡镇同一天已有：{found}")
    yes, no = st.columns(2)
    if yes.button("仍要保存", key=f"_dup_yes_{slot}", type="primary"):
        if write_feedback(
            lambda: save(pending["values"], True),
            success,
            then=lambda new_id: _note_saved(ledger, slot, f"{success}（第 {new_id} 号）", new_id),
        ):
            st.rerun()
    if no.button("取消", key=f"_dup_no_{slot}"):
        ledger["pending"].pop(slot, None)
        st.rerun()


def hold_duplicate(slot: str, duplicates: list[dict], **values) -> None:
    """Keep a refused near-duplicate's values for duplicate_prompt (drawn on the next run)."""
    _ledger()["pending"][slot] = {"duplicates": duplicates, **values}
    st.rerun()


# Void, delete, restore -------------------------------------------------------------------------------
def void_section(
    db: Database, user: User, table: str, record_id: int, township_code: str | None, name: str = ""
) -> None:
    """作废 (with a reason) for whoever may edit the record, 彻底删除 for an admin within 24 hours."""
    if not user.may_write(township_code):
        return
    label = records.KINDS[table].label
    key = f"{table}_{record_id}"
    with st.container(border=True):  # not an expander: pages call this inside their own
        st.markdown(f"**作废或删除此{label}**")
        st.caption(
            f"作废后该{label}不再出现在列表和统计中，但保留在审计日志和“已作废”列表里，管理员可以恢复。"
            + ("作废队伍时其队员一并作废；作废演练时其整改事项一并作废。" if table in records.CASCADES else "")
        )
        notes = _notes()  # read before the write (see "Saving once")
        with st.form(f"void_{key}"):
            reason = st.text_input("作废原因 *", key=f"void_reason_{key}")
            if st.form_submit_button("作废"):
                if write_feedback(
                    lambda: records.void(db, user, table, record_id, reason),
                    "已作废。",
                    then=lambda _: notes.__setitem__(table, f"已作废第 {record_id} 号{label}{md(name)}。"),
                ):
                    st.rerun()
        if records.deletable(db, user, table, record_id):
            sure = st.checkbox("确认彻底删除（24小时内新建的记录，删除后不可恢复）", key=f"delete_sure_{key}")
            if st.button("彻底删除", key=f"delete_{key}", disabled=not sure):
                if write_feedback(
                    lambda: records.delete(db, user, table, record_id),
                    "已删除。",
                    then=lambda _: notes.__setitem__(table, f"已彻底删除第 {record_id} 号{label}。"),
                ):
                    st.rerun()


def voided_banner(db: Database, table: str, record_id: int) -> bool:
    """A voided record opened directly (a link, ?drill=N): say so, with the reason. True if voided."""
    row = records.voided_record(db, table, record_id)
    if row is None:
        return False
    st.warning(
        f"该{records.KINDS[table].label}已于 {row['voided_at']:%Y-%m-%d %H:%M} 作废（{md(row['voided_by'])}："
        f"{md(row['reason'])}），不计入列表和统计；管理员可在“已作废”列表中恢复。"
    )
    return True


def _notes() -> dict:
    """What the last void, delete, restore or drill correction of each table did, for the next run:
    one dict, read before the write and changed in place after it (see "Saving once")."""
    return st.session_state.setdefault("_voided_notes", {})


def voided_note(table: str) -> None:
    """What the last void, delete or restore on this page did (shown at the next run)."""
    note = _notes().pop(table, None)
    if note:
        st.success(note)


def voided_section(db: Database, user: User, table: str) -> None:
    """The page's "已作废" list (a township operator sees its own township's), 恢复 for an admin."""
    rows = records.voided_list(db, table=table, township_code=None if user.role != "township" else user.township_code)
    label = records.KINDS[table].label
    box = lazy_expander(f"已作废的{label}（{len(rows)}）", f"voided_{table}_open")  # drawn only while open
    if not box.open:
        return
    with box:
        if not rows:
            st.caption("暂无")
            return
        frame = pd.DataFrame(rows)
        frame["voided_at"] = frame["voided_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M}")
        frame["cascade_of"] = frame["cascade_of"].map(lambda c: "随上级记录作废" if c else "—")
        show_table(
            frame,
            {
                "record_id": "编号",
                "name": "名称",
                "day": "日期",
                "reason": "作废原因",
                "voided_by": "作废人",
                "voided_at": "作废时间",
                "cascade_of": "说明",
            },
        )
        if not user.is_admin:
            return
        choices = {int(r["record_id"]): r["name"] for r in rows if not r["cascade_of"]}
        if not choices:
            return
        chosen = st.selectbox(
            "恢复已作废的记录",
            list(choices),
            format_func=lambda i: f"{i} {choices.get(i, '')}",
            key=f"restore_pick_{table}",
        )
        notes = _notes()
        # keyed by the record: a second click, made for a record restored since, presses no button
        if st.button("恢复", key=f"restore_{table}_{chosen}"):
            if write_feedback(
                lambda: records.restore(db, user, table, chosen),
                "已恢复。",
                then=lambda _: notes.__setitem__(table, f"已恢复第 {chosen} 号{label}。"),
            ):
                st.rerun()


# Correcting a drill ----------------------------------------------------------------------------------
EVALUATION_FIELDS = ("problems", "evaluation", "plan_problems_found", "lessons", "recommendations")
EDIT_FIELDS = ("id", "plans", *(f for f in drills.DRILL_FIELDS if f not in EVALUATION_FIELDS))


def _same_or_new(held: date, chosen, before: datetime | None, old_day: date):
    """The start or end time as the form gives it; unchanged when the user left it as it was."""
    if chosen is None:
        return None
    if before is not None and held == old_day and chosen == before.time():
        return before
    return datetime.combine(held, chosen)


def edit_drill(db: Database, user: User, drill_id: int, active_plans: dict[str, str], today: date) -> None:
    """The whole drill record in one form, saved against the record as drawn (a stale form is refused)."""
    record = drills.drill_record(db, drill_id)
    # Checked against the fields this form shows (and saves) only: an evaluation saved meanwhile on
    # the same page changes other fields, which this form leaves as they are.
    seen = {k: v for k, v in drawn("drill_edit", record).items() if k in EDIT_FIELDS}
    town_names = {t["code"]: t["name"] for t in regions.townships(db)}
    levels = list(enums.DRILL_LEVELS) if user.is_admin else ["township", "village", "enterprise"]
    if record["level"] not in levels:
        levels = [record["level"], *levels]
    # The widgets' keys carry the record's fingerprint: when someone else saves meanwhile, the form is
    # drawn afresh from the record as it is (an open form with the old values could not overwrite it).
    fingerprint = hashlib.sha256(repr([(k, record[k]) for k in EDIT_FIELDS]).encode()).hexdigest()[:10]
    key = f"edit_drill_{drill_id}_{fingerprint}"
    if seen.get("id") == drill_id and {k: record[k] for k in EDIT_FIELDS} != seen:
        st.info("该演练记录已被修改，下面的修改表单已按最新内容刷新。")
    with st.expander("修改演练记录（名称、日期、人次、预案、层级、地点等）"):
        c1, c2, c3 = st.columns(3)
        level = c1.selectbox(
            "演练层级",
            levels,
            index=levels.index(record["level"]),
            format_func=label_of(enums.DRILL_LEVELS),
            key=f"{key}_level",
        )
        township = record["township_code"]
        if user.is_admin and level != "county":
            codes = list(town_names)
            township = c2.selectbox(
                "所属乡镇",
                codes,
                index=codes.index(township) if township in codes else 0,
                format_func=lambda c: town_names.get(c, c),
                key=f"{key}_town",
            )
        elif level == "county":
            township = None
            c2.text_input("所属乡镇", "全县", disabled=True, key=f"{key}_town_shown")
        else:
            c2.text_input("所属乡镇", town_names.get(township or "", ""), disabled=True, key=f"{key}_town_shown")
        village = enterprise = None
        if level == "village" and township:
            villages = regions.village_names(db, township)
            codes = list(villages)
            village = c3.selectbox(
                "村（社区）",
                codes,
                index=codes.index(record["village_code"]) if record["village_code"] in codes else 0,
                format_func=lambda c: villages.get(c, c),
                key=f"{key}_village",
            )
        if level == "enterprise" and township:
            current = record["enterprise_id"]

            def matches(text: str, town: str = township) -> dict[int, str]:
                found = {v: k for k, v in enterprises.enterprise_choices(db, text, town).items()}
                if not text and current is not None:  # the drill's enterprise first, as it was
                    mine = {v: k for k, v in enterprises.enterprise_choices(db, str(current), town).items()}
                    found = {**{i: n for i, n in mine.items() if i == current}, **found}
                return found

            enterprise = picker("企业（单位）", f"{key}_enterprise", matches, container=c3)
        plan_options = list(dict.fromkeys([*active_plans, *record["plans"]]))
        with st.form(key):
            title = st.text_input("演练名称 *", record["title"], key=f"{key}_title")
            a, b, c = st.columns(3)
            held = a.date_input("演练日期 *", record["held_on"], max_value=today, key=f"{key}_held")
            participants = b.number_input(
                "参演人次 *", min_value=0, step=1, value=int(record["participants"]), key=f"{key}_participants"
            )
            forms = list(enums.DRILL_FORMS)
            form = c.selectbox(
                "演练形式 *",
                forms,
                index=forms.index(record["form"]),
                format_func=label_of(enums.DRILL_FORMS),
                key=f"{key}_form",
            )
            plan_codes = st.multiselect(
                "演练预案 *",
                plan_options,
                default=record["plans"],
                format_func=lambda c: f"{c} {active_plans.get(c, '')}",
                placeholder="请选择预案",
                key=f"{key}_plans",
            )
            organiser = st.text_input("组织单位 *", record["organiser"], key=f"{key}_organiser")
            d, e, f = st.columns(3)
            contents, purposes = list(enums.DRILL_CONTENTS), list(enums.DRILL_PURPOSES)
            content = d.selectbox(
                "演练内容",
                contents,
                index=contents.index(record["content"]),
                format_func=label_of(enums.DRILL_CONTENTS),
                key=f"{key}_content",
            )
            purpose = e.selectbox(
                "演练目的",
                purposes,
                index=purposes.index(record["purpose"]),
                format_func=label_of(enums.DRILL_PURPOSES),
                key=f"{key}_purpose",
            )
            place = f.text_input("演练地点", record["place"] or "", key=f"{key}_place")
            g, h = st.columns(2)
            started = record["started_at"]
            ended = record["ended_at"]
            start_time = g.time_input("开始时间", started.time() if started else None, key=f"{key}_start")
            end_time = h.time_input("结束时间", ended.time() if ended else None, key=f"{key}_end")
            units = st.text_input("参演单位", record["participating_units"] or "", key=f"{key}_units")
            scenario = st.text_area("演练科目（情景）", record["scenario"] or "", key=f"{key}_scenario")
            if st.form_submit_button("保存修改", type="primary"):
                changes = {
                    "title": title,
                    "level": level,
                    "township_code": None if level == "county" else township,
                    "village_code": village,
                    "enterprise_id": enterprise,
                    "held_on": held,
                    "participants": int(participants),
                    "form": form,
                    "organiser": organiser,
                    "content": content,
                    "purpose": purpose,
                    "place": place,
                    "started_at": _same_or_new(held, start_time, started, record["held_on"]),
                    "ended_at": _same_or_new(held, end_time, ended, record["held_on"]),
                    "participating_units": units,
                    "scenario": scenario,
                }
                notes = _notes()
                if write_feedback(
                    lambda: drills.update_drill(db, user, drill_id, changes, plan_codes, expected=seen),
                    "已保存修改。",
                    "drill_edit",
                    then=lambda _: notes.__setitem__("drills", f"已保存第 {drill_id} 号演练的修改。"),
                ):
                    forget_drawn("drill")  # the evaluation form: drawn afresh
                    st.rerun()


# Saving a new drill once -----------------------------------------------------------------------------
def _refusal(exc: Exception, success: str) -> None:
    """Show a refused save exactly as write_feedback shows it."""

    def again():
        raise exc

    write_feedback(again, success)


def save_new_drill(slot: str, save: Callable[[dict, bool], int], values: dict, success: str) -> None:
    """Save a new record from a create form: a near-duplicate is held for the user's word
    (duplicate_prompt), a refusal shown as write_feedback shows it, a success clears the form."""
    ledger = _ledger()  # read before the write: see "Saving once"
    try:
        new_id = save(values, False)
        _note_saved(ledger, slot, f"{success}（第 {new_id} 号）", new_id)
    except drills.PossibleDuplicate as exc:
        hold_duplicate(slot, exc.drills, values=values)
    except (ValueError, PermissionError) as exc:  # ValidationError, StaleRecord; PermissionDenied
        _refusal(exc, success)
    else:
        st.rerun()


# Correcting the other records ------------------------------------------------------------------------
def team_basics(db: Database, user: User, team_id: int, seen: dict) -> None:
    """A team's kind and founding date (the page's own form edits name, leader, equipment, phone)."""
    record = teams.team_record(db, team_id)
    kinds = list(enums.TEAM_KINDS)
    with st.form(f"team_basics_{team_id}"):
        st.markdown("**更正队伍类别、成立日期**")
        kind = st.selectbox(
            "队伍类别",
            kinds,
            index=kinds.index(record["kind"]) if record["kind"] in kinds else 0,
            format_func=label_of(enums.TEAM_KINDS),
        )
        founded = st.date_input("成立日期", record["established_on"], max_value=local_today())
        if st.form_submit_button("保存更正"):
            write_feedback(
                lambda: teams.update_team(db, user, team_id, {"kind": kind, "established_on": founded}, expected=seen),
                "已保存。",
                "team",
            )


def member_basics(db: Database, user: User, member_id: int, seen: dict) -> None:
    """A member's name, gender and joining date (the page's own form edits phone, role, specialty)."""
    record = teams.member_record(db, member_id)
    genders = ["男", "女"]
    with st.form(f"member_basics_{member_id}"):
        st.markdown("**更正姓名、性别、入队日期**")
        name = st.text_input("姓名", record["name"])
        gender = st.selectbox(
            "性别",
            [None, *genders],
            index=([None, *genders].index(record["gender"])),
            format_func=lambda g: g or "未填写",
        )
        joined = st.date_input("入队日期", record["joined_on"], max_value=local_today())
        if st.form_submit_button("保存更正"):
            changes = {"name": name, "gender": gender, "joined_on": joined}
            write_feedback(
                lambda: teams.update_member(db, user, member_id, changes, expected=seen), "已保存。", "member"
            )


def enterprise_basics(db: Database, user: User, enterprise_id: int, seen: dict) -> None:
    """An enterprise's address and registration date (the page's own form edits name, sector, contact)."""
    record = enterprises.enterprise_record(db, enterprise_id)
    with st.form(f"enterprise_basics_{enterprise_id}"):
        st.markdown("**更正地址、登记日期**")
        address = st.text_input("地址", record.get("address") or "")
        registered = st.date_input("登记日期", record.get("registered_on"), max_value=local_today())
        if st.form_submit_button("保存更正"):
            changes = {"address": address, "registered_on": registered}
            write_feedback(
                lambda: enterprises.update_enterprise(db, user, enterprise_id, changes, expected=seen),
                "已保存。",
                "enterprise",
            )


def edit_planned(db: Database, user: User, planned_id: int, active_plans: dict[str, str]) -> None:
    """A planned drill's title, plan, date and note, saved against the record as drawn."""
    record = drills.planned_record(db, planned_id)
    seen = drawn("planned_edit", record)
    codes = list(dict.fromkeys([*active_plans, *([record["plan_code"]] if record["plan_code"] else [])]))
    with st.form(f"edit_planned_{planned_id}"):
        st.markdown("**修改演练计划**")
        title = st.text_input("演练名称 *", record["title"])
        plan_code = st.selectbox(
            "演练预案",
            [None, *codes],
            index=[None, *codes].index(record["plan_code"]),
            format_func=lambda c: "未指定" if c is None else f"{c} {active_plans.get(c, '')}",
        )
        planned_on = st.date_input("计划日期 *", record["planned_on"])
        note = st.text_input("备注", record["note"] or "")
        if st.form_submit_button("保存修改"):
            changes = {"title": title, "plan_code": plan_code, "planned_on": planned_on, "note": note}
            write_feedback(
                lambda: drills.update_planned(db, user, planned_id, changes, expected=seen),
                "已保存修改。",
                "planned_edit",
            )
            forget_drawn("planned")  # the complete / cancel forms: drawn afresh


def action_tools(db: Database, user: User, rows: list[dict]) -> None:
    """Correct or void a corrective action of the user's scope (open or closed)."""
    writable = {int(r["id"]): r for r in rows if user.may_write(r["township_code"])}
    if not writable:
        return
    box = lazy_expander("修改或作废整改事项", "edit_action_open")  # its forms run only while open
    if not box.open:
        return
    with box:
        action_id = st.selectbox(
            "整改事项",
            list(writable),
            format_func=lambda i: f"{i} {writable[i]['description'][:30]}（{writable[i]['owner']}）",
            key="edit_action_pick",
        )
        record = drills.action_record(db, action_id)
        seen = drawn("action_edit", record)
        with st.form(f"edit_action_{action_id}"):
            description = st.text_input("整改事项 *", record["description"])
            owner = st.text_input("责任人 *", record["owner"])
            due_on = st.date_input("整改期限 *", record["due_on"])
            closed = record["closed_on"] is not None
            note = st.text_input("整改情况", record["closure_note"] or "", disabled=not closed)
            if st.form_submit_button("保存修改"):
                changes = {"description": description, "owner": owner, "due_on": due_on}
                if closed:
                    changes["closure_note"] = note
                write_feedback(
                    lambda: drills.update_action(db, user, action_id, changes, expected=seen),
                    "已保存修改。",
                    "action_edit",
                )
                forget_drawn("action")
        void_section(db, user, "corrective_actions", action_id, record["township_code"])


def contact_tools(db: Database, user: User, contacts: pd.DataFrame | None = None) -> None:
    """Correct (name, phone, start date) or void a current contact of the user's scope (`contacts`:
    linkage.contact_list of that scope, when the page has it already)."""
    frame = (
        linkage.contact_list(db, user, None if user.is_admin else user.township_code) if contacts is None else contacts
    )
    if frame.empty:
        return
    names = {int(i): f"{t} {n}" for i, t, n in zip(frame["id"], frame["township_name"], frame["name"])}
    box = lazy_expander("修改或作废联络人", "edit_contact_open")  # its forms run only while open
    if not box.open:
        return
    with box:
        contact_id = st.selectbox("联络人", list(names), format_func=label_of(names), key="edit_contact_pick")
        record = linkage.contact_record(db, contact_id)
        seen = drawn("contact", record)
        full = user.sees_full_phone(record["township_code"])
        with st.form(f"edit_contact_{contact_id}"):
            name = st.text_input("姓名", record["name"])
            phone = st.text_input("电话（留空不修改）", (record["phone"] or "") if full else "")
            since = st.date_input("到岗日期", record["active_from"])
            if st.form_submit_button("保存修改"):
                changes = {"name": name, "active_from": since}
                if phone.strip():
                    changes["phone"] = phone
                write_feedback(
                    lambda: linkage.update_contact(db, user, contact_id, changes, expected=seen), "已保存。", "contact"
                )
        void_section(db, user, "contacts", contact_id, record["township_code"], record["name"])


def plan_status(db: Database, user: User, code: str, seen: dict) -> None:
    """An admin sets a plan in force or retired, and its "needs revision" flag."""
    if not user.is_admin:
        return
    record = plans.plan_record(db, code)
    statuses = list(plans.PLAN_STATUSES)
    with st.form(f"plan_status_{code}"):
        st.markdown("**预案状态**（名称、牵头部门、演练与评估周期请在 plans/ 目录的预案文件中修改）")
        status = st.selectbox(
            "状态", statuses, index=statuses.index(record["status"]), format_func=label_of(plans.PLAN_STATUSES)
        )
        flag = st.checkbox("需修订", bool(record["needs_revision"]))
        if st.form_submit_button("保存状态"):
            write_feedback(
                lambda: plans.update_plan(db, user, code, {"status": status, "needs_revision": flag}, expected=seen),
                "已保存。",
                "plan",
            )
