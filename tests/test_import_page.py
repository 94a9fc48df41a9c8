"""AppTest of the import page (issue 16): the mapping step, Chinese preview, roster re-sync with the 离队 tick."""

from emergency.demo.samples import HEADERS, member_rows, synthetic_id, xlsx_bytes
from tests.test_import_files import a_team, roster_rows, snapshot

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INTERNAL = ("name", "gender", "birth_date", "role_in_team", "member", "team_id", "id_masked", "None", "nan")


def page(app, db, data: bytes, name: str = "roster.xlsx", mode: str = "add"):
    at = app("emergency/ui/import_page.py", db=db)
    at.radio[0].set_value("members").run()
    at.radio(key="import_mode_members").set_value(mode).run()
    at.file_uploader[0].set_value((name, data, XLSX)).run()
    assert not at.exception, at.exception
    return at


def mapping_box(at, header: str):
    return next(s for s in at.selectbox if s.label.startswith(header + "（"))


def test_unknown_column_is_named_then_skipped_in_the_mapping_step_and_imported(app, scratch_db):
    db = scratch_db
    rows = [[*r, "备注内容"] for r in member_rows(db, 3, seed=41)]
    headers = [{"身份证号": "身份证号码", "手机号": "联系电话"}.get(h, h) for h in HEADERS[:13]] + ["备注2"]
    at = page(app, db, xlsx_bytes(headers, rows))
    assert any("备注2" in e.value and "无法识别" in e.value for e in at.error), [e.value for e in at.error]
    assert not any(b.label.startswith("确认导入") for b in at.button)
    box = mapping_box(at, "备注2")
    assert box.value == "（请选择）" and "备注内容" in box.label  # the column's first values beside it
    assert mapping_box(at, "身份证号码").value == "身份证号" and mapping_box(at, "联系电话").value == "手机号"
    box.set_value("不导入").run()
    assert not at.error, [e.value for e in at.error]
    assert any("校验通过：3 行" in s.value for s in at.success)
    preview = at.dataframe[-1].value
    assert list(preview.columns)[:4] == ["姓名", "所属乡镇", "所属队伍", "身份证号"]
    text = " ".join(map(str, preview.columns)) + " " + preview.to_csv(index=False)
    for internal in INTERNAL:
        assert internal not in text, internal
    before = db.scalar("SELECT count(*) FROM members")
    next(b for b in at.button if b.label == "确认导入 3 行").click().run()
    assert any("已导入 3 行" in s.value for s in at.success), [s.value for s in at.success]
    assert db.scalar("SELECT count(*) FROM members") == before + 3


def test_roster_resync_preview_and_the_left_tick(app, scratch_db):
    db = scratch_db
    team = a_team(db)
    headers, rows = roster_rows(db, team, full_ids=True)
    rows[0][headers.index("手机号")] = "13944445555"
    gone = rows.pop(1)
    new = list(rows[-1])
    new[headers.index("姓名")], new[headers.index("身份证号")] = "新队员丙", synthetic_id(85_003)
    new[headers.index("性别")] = new[headers.index("出生日期")] = None
    rows.append(new)
    at = page(app, db, xlsx_bytes(headers, rows), mode="update")
    mapping_box(at, "离队日期").set_value("不导入").run()
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["新增"], metrics["修改"], metrics["文件中没有"]) == ("1", "1", "1")
    changes = next(d.value for d in at.dataframe if "字段" in d.value.columns)
    assert changes[["字段", "新值"]].values.tolist() == [["手机号", "13944445555"]]
    missing = next(
        d.value for d in at.dataframe if list(d.value.columns)[:2] == ["姓名", "所属队伍"] and len(d.value.columns) == 4
    )
    assert missing["姓名"].tolist() == [gone[0]]
    before = snapshot(db, team)
    at.checkbox(key="mark_left").check().run()
    next(b for b in at.button if b.label.startswith("确认更新")).click().run()
    assert any("已更新队员：新增 1 人，修改 1 人，1 人标记为离队" in s.value for s in at.success), [
        s.value for s in at.success
    ]
    after = snapshot(db, team)
    gone_id = next(i for i, r in before.items() if r["name"] == gone[0])
    assert after[gone_id]["left_on"] is not None and len(after) == len(before) + 1


def test_a_second_click_on_commit_during_the_write_imports_once(app, scratch_db, monkeypatch):
    """The second click of a double click on 确认导入, arriving while the first one's import writes
    (asked for inside the write, as the server asks for it when the browser sends it), meets the
    import as done: the same rows are not imported again, nor refused as changed since the preview."""
    from emergency import imports
    from tests.helpers import ask_for_the_second_click

    real = imports.run_import
    writes = []

    def second_click_during_the_write(*args, **kwargs):
        result = real(*args, **kwargs)
        if not kwargs.get("dry_run"):
            writes.append(result.written)
            ask_for_the_second_click()
        return result

    monkeypatch.setattr(imports, "run_import", second_click_during_the_write)
    db = scratch_db
    at = page(app, db, xlsx_bytes(HEADERS[:13], member_rows(db, 3, seed=43)))
    before = db.scalar("SELECT count(*) FROM members")
    next(b for b in at.button if b.label == "确认导入 3 行").click().run()
    assert writes == [3]
    assert db.scalar("SELECT count(*) FROM members") == before + 3
    assert not at.error, [e.value for e in at.error]
    assert any("roster" in s.value and "》已导入 3 行" in s.value for s in at.success), [s.value for s in at.success]
    assert not any(b.label.startswith("确认导入") for b in at.button)  # this file is not offered again
