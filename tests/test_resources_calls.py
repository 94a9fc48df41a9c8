"""Hazard points in the 叫应 chain of their village (issue 18 joined to issue 14's calls.py), against
the real local SMTP and SMS/robot servers: a warning to the village reaches the point's responsible
person and monitor at the village's first step with their own links; an answer by token counts; an
unanswered person is called again and the village's next step is pushed; voided points are never
called; the record (timeline) says which point; `warn --json` lists them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from emergency import auth, calls, records
from emergency.db import Database
from emergency.resources import registry
from emergency.setup import initialise
from tests.helpers import ROOT, RobotServer
from tests.test_calls import CG, T, county, red_warning

RESPONSIBLE, MONITOR, VOIDED_MONITOR = "13700000011", "13600000012", "13600000013"


def hazard_points(db, village: str) -> dict[str, int]:
    """Three points in the chain's village (one voided) and one in another village of 城关镇."""
    other = db.scalar(
        "SELECT code FROM villages WHERE township_code = ? AND NOT is_virtual AND code <> ? ORDER BY code",
        [CG, village],
    )
    base = {"kind": "geological", "township_code": CG, "village_code": village}
    ids = {
        "H-1": registry.create(
            db,
            auth.SYSTEM,
            "hazards",
            {
                **base,
                "code": "H-1",
                "name": "后沟滑坡",
                "responsible_name": "周责任",
                "responsible_phone": RESPONSIBLE,
                "monitor_name": "吴监测",
                "monitor_phone": MONITOR,
            },
        ),
        # the same monitor at a second point: one call, standing for both points
        "H-2": registry.create(
            db,
            auth.SYSTEM,
            "hazards",
            {**base, "code": "H-2", "name": "西坡崩塌", "monitor_name": "吴监测", "monitor_phone": MONITOR},
        ),
        "H-3": registry.create(
            db,
            auth.SYSTEM,
            "hazards",
            {**base, "code": "H-3", "name": "旧点", "monitor_name": "郑作废", "monitor_phone": VOIDED_MONITOR},
        ),
        "H-9": registry.create(
            db,
            auth.SYSTEM,
            "hazards",
            {
                **base,
                "village_code": other,
                "code": "H-9",
                "name": "别村",
                "monitor_name": "冯别村",
                "monitor_phone": "13600000019",
            },
        ),
    }
    records.void(db, auth.SYSTEM, "hazard_points", ids["H-3"], "重复登记")
    return ids


def sms_phones(robot: RobotServer) -> list[str]:
    return sorted(r["json"]["phone"] for r in robot.requests if r["path"] == "/sms")


def test_a_warning_to_the_village_reaches_its_hazard_points_people_at_step_1(fresh_db, mail, robot):
    db = fresh_db
    village = county(db, mail, robot)
    hazard_points(db, village)
    result = red_warning(db, village)
    hazard = [r for r in result["recipients"] if r["role_code"].startswith("hazard_")]
    assert sorted((r["name"], r["role"], r["step"], r["village_code"]) for r in hazard) == [
        ("吴监测", "隐患点监测员", 1, village),
        ("周责任", "隐患点责任人", 1, village),
    ]
    monitor = next(r for r in hazard if r["name"] == "吴监测")
    assert monitor["hazard_codes"] == ["H-1", "H-2"] and monitor["limit_minutes"] == 10
    assert all(r["ack_url"] and r["township"] == "城关镇" for r in hazard)
    # delivered at once through the SMS gateway, each with their own link; voided and other villages' not
    phones = sms_phones(robot)
    assert RESPONSIBLE in phones and MONITOR in phones
    assert VOIDED_MONITOR not in phones and "13600000019" not in phones
    text = next(r["json"]["text"] for r in robot.requests if r["path"] == "/sms" and r["json"]["phone"] == MONITOR)
    assert monitor["ack_url"] in text and "隐患点监测员吴监测" in text
    assert db.query(
        "SELECT h.hazard_role, p.code FROM warning_call_hazards h JOIN hazard_points p ON p.id = h.hazard_id"
        " ORDER BY 2, 1"
    ) == [("monitor", "H-1"), ("responsible", "H-1"), ("monitor", "H-2")]
    # the warning's record (the linkage page's timeline) says who and for which point
    roles = {e["role"] for e in calls.timeline(db, result["warning_id"]) if e["name"] == "吴监测"}
    assert roles == {"隐患点监测员（H-1 后沟滑坡、H-2 西坡崩塌）"}
    group = next(r for r in robot.accepted if r["path"].startswith("/dingtalk"))
    assert "隐患点责任人 周责任" in group["json"]["text"]["content"]


def test_the_monitors_answer_by_token_reaches_the_village_and_stops_its_escalation(fresh_db, robot):
    db = fresh_db
    village = county(db, None, robot)
    hazard_points(db, village)
    result = red_warning(db, village)
    monitor = next(r for r in result["recipients"] if r["name"] == "吴监测")
    answered = calls.acknowledge(db, monitor["ack_url"], action="已组织撤离", now=T + timedelta(minutes=4))
    assert answered["name"] == "吴监测" and answered["village_code"] == village
    assert db.scalar("SELECT acknowledged_by FROM warning_acks WHERE village_code = ?", [village]) == "吴监测"
    with pytest.raises(calls.AckRefused, match="已使用"):
        calls.acknowledge(db, monitor["ack_url"], now=T + timedelta(minutes=5))
    done = {(d["name"], d["action"]) for d in calls.escalate(db, T + timedelta(minutes=10))}
    assert ("吴监测", "recall") not in done  # answered
    assert ("周责任", "recall") in done  # not answered: called again once
    assert ("孙包村", "push") not in done  # the village is reached: no next step


def test_unanswered_hazard_people_are_called_again_and_the_village_escalates(fresh_db, robot):
    db = fresh_db
    village = county(db, None, robot)
    hazard_points(db, village)
    red_warning(db, village)
    robot.requests.clear()
    assert calls.escalate(db, T + timedelta(minutes=9)) == []
    done = calls.escalate(db, T + timedelta(minutes=10))
    village_done = sorted((d["action"], d["step"], d["name"]) for d in done if d["village_code"] == village)
    assert village_done == [
        ("push", 2, "孙包村"),
        ("recall", 1, "吴监测"),
        ("recall", 1, "周责任"),
        ("recall", 1, "赵支书"),
        ("recall", 1, "钱信息"),
    ]
    again = [r["json"] for r in robot.requests if r["path"] == "/sms" and r["json"]["phone"] in (RESPONSIBLE, MONITOR)]
    assert len(again) == 2 and all(m["text"].startswith("【再次叫应】") for m in again)
    recalled = db.query(
        "SELECT h.hazard_role, count(*) FROM warning_call_hazards h JOIN warning_calls c ON c.id = h.call_id"
        " WHERE c.attempt = 2 GROUP BY 1 ORDER BY 1"
    )
    assert recalled == [("monitor", 2), ("responsible", 1)]  # the recall stands for the same points
    assert calls.escalate(db, T + timedelta(minutes=15)) == []  # called again once only


def test_a_point_voided_after_the_warning_is_not_called_again(fresh_db, robot):
    db = fresh_db
    village = county(db, None, robot)
    ids = hazard_points(db, village)
    red_warning(db, village)
    records.void(db, auth.SYSTEM, "hazard_points", ids["H-1"], "已治理销号")
    done = {(d["name"], d["action"]) for d in calls.escalate(db, T + timedelta(minutes=10))}
    assert ("周责任", "recall") not in done  # responsible only for the voided H-1
    assert ("吴监测", "recall") in done  # still monitor of the live H-2
    recall = db.query(
        "SELECT p.code FROM warning_call_hazards h JOIN warning_calls c ON c.id = h.call_id"
        " JOIN hazard_points p ON p.id = h.hazard_id WHERE c.attempt = 2"
    )
    assert recall == [("H-2",)]


def test_a_contact_who_is_also_the_points_responsible_person_is_called_once(fresh_db):
    db = fresh_db
    village = county(db)
    registry.create(
        db,
        auth.SYSTEM,
        "hazards",
        {
            "kind": "flash_flood",
            "township_code": CG,
            "village_code": village,
            "code": "S-1",
            "name": "山洪沟",
            "responsible_name": "赵支书",
            "responsible_phone": "13800000004",
        },  # the village head's own phone
    )
    result = red_warning(db, village, deliver=False)
    heads = [r for r in result["recipients"] if r["name"] == "赵支书"]
    assert [r["role_code"] for r in heads] == ["village_head"]


def test_a_township_warning_calls_its_points_without_a_village(fresh_db):
    db = fresh_db
    county(db)
    registry.create(
        db,
        auth.SYSTEM,
        "hazards",
        {
            "kind": "major_hazard",
            "township_code": CG,
            "code": "M-1",
            "name": "加油站",
            "responsible_name": "陈站长",
            "responsible_phone": "13900000001",
        },
    )
    result = calls.issue(
        db, auth.SYSTEM, level=3, hazard="大风", title="大风黄色预警", township_codes=[CG], now=T, deliver=False
    )
    (point,) = [r for r in result["recipients"] if r["role_code"] == "hazard_responsible"]
    assert point["name"] == "陈站长" and point["village"] is None and point["step"] == 1


def test_cli_warn_json_lists_the_hazard_points_people(tmp_path, robot):
    path = tmp_path / "cli.duckdb"
    db = Database(path)
    initialise(db)
    village = county(db, None, robot)
    hazard_points(db, village)
    village_name = db.scalar("SELECT name FROM villages WHERE code = ?", [village])
    db.close()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "emergency",
            "warn",
            "--level",
            "red",
            "--type",
            "地质灾害",
            "--title",
            "地灾红色预警",
            "--township",
            "城关镇",
            "--village",
            village_name,
            "--now",
            "2025-07-20T22:00",
            "--json",
            "--db",
            str(path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, EMERGENCY_PUBLIC_URL="https://yj.example.cn"),
    )
    assert out.returncode == 0, out.stderr
    recipients = json.loads(out.stdout)["recipients"]
    hazard = [r for r in recipients if r["role"] in ("隐患点责任人", "隐患点监测员")]
    assert sorted(r["name"] for r in hazard) == ["吴监测", "周责任"]
    for r in hazard:
        assert r["township"] == "城关镇" and r["village"] == village_name and r["step"] == 1
        assert r["ack_url"].startswith("https://yj.example.cn/ack?token=")
    assert len(recipients) == 6  # the four contacts of step 1 and the two people of the points
    assert MONITOR in sms_phones(robot)  # pushed by the command itself
