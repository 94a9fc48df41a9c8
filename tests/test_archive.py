"""A drill's archive (AQ/T 9007 §8.2): kinds with their own file types, completeness per level, the list
of incomplete archives, and the summary report written from the record as a 公文 .docx."""

import io
from datetime import date

import pytest
from docx import Document
from docx.shared import Mm

from emergency import archive, drills, report_template
from emergency.demo.archive import sample_pdf, sample_png
from emergency.errors import ValidationError
from tests.helpers import user_row

RULE = archive.DEFAULT_REQUIRED
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


@pytest.mark.parametrize(
    ("level", "present", "missing"),
    [
        ("county", [], ["scheme", "sign_in", "evaluation", "summary"]),
        ("county", ["sign_in", "evaluation", "summary", "photo"], ["scheme"]),
        ("county", ["scheme", "sign_in", "evaluation", "summary"], []),
        ("township", ["scheme", "sign_in"], ["summary"]),
        ("village", ["sign_in", "photo", "video"], []),
        ("enterprise", ["pdf"], ["scheme", "sign_in", "evaluation", "summary"]),
        ("unknown", [], []),
    ],
)
def test_missing_kinds_by_level(level, present, missing):
    assert archive.missing_kinds(level, present, RULE) == missing


def _county_drill(db) -> int:
    return db.scalar("SELECT id FROM drills WHERE level = 'county' AND year(held_on) = 2024 ORDER BY id LIMIT 1")


def test_a_county_drill_without_its_scheme_is_listed_until_the_scheme_is_filed(scratch_db):
    admin = user_row(scratch_db, "admin")
    drill_id = _county_drill(scratch_db)
    scratch_db.write(lambda cur: cur.execute("DELETE FROM drill_attachments WHERE drill_id = ?", [drill_id]))
    for kind in ("sign_in", "evaluation", "summary"):
        drills.add_attachment(scratch_db, admin, drill_id, f"{kind}.pdf", sample_pdf(kind), kind)
    listed = {r["id"]: r for r in archive.incomplete_archives(scratch_db, 2024)}
    assert listed[drill_id]["missing"] == ["scheme"]
    assert archive.archive_status(scratch_db, drill_id)["missing"] == ["scheme"]
    drills.add_attachment(scratch_db, admin, drill_id, "演练方案.docx", b"PK\x03\x04" + b"\x00" * 40, "scheme")
    assert drill_id not in {r["id"] for r in archive.incomplete_archives(scratch_db, 2024)}
    # A township's list holds only its own drills.
    town = archive.incomplete_archives(scratch_db, 2024, "410325100")
    assert town and all(r["township_name"] == "城关镇" for r in town)


def test_the_rule_is_a_setting(scratch_db):
    from emergency.db import put_setting

    drill_id = _county_drill(scratch_db)
    scratch_db.write(lambda cur: cur.execute("DELETE FROM drill_attachments WHERE drill_id = ?", [drill_id]))
    scratch_db.write(lambda cur: put_setting(cur, "archive_required", {"county": ["video", "nonsense"]}))
    assert archive.required_kinds(scratch_db)["county"] == ["video"]
    assert archive.archive_status(scratch_db, drill_id)["missing"] == ["video"]
    assert archive.required_kinds(scratch_db)["township"] == RULE["township"]  # the others keep their default


def test_each_kind_takes_its_own_file_types_and_sizes(scratch_db):
    admin = user_row(scratch_db, "admin")
    drill_id = _county_drill(scratch_db)
    big_video = MP4 + b"\x00" * (25 * 1024 * 1024)
    assert drills.add_attachment(scratch_db, admin, drill_id, "实战.mp4", big_video, "video")
    with pytest.raises(ValidationError, match="文件过大"):
        drills.add_attachment(
            scratch_db, admin, drill_id, "方案.pdf", b"%PDF-" + b"\x00" * (21 * 1024 * 1024), "scheme"
        )
    with pytest.raises(ValidationError, match="不允许"):
        drills.add_attachment(scratch_db, admin, drill_id, "方案.pdf", sample_pdf("x"), "video")
    with pytest.raises(ValidationError, match="不符"):
        drills.add_attachment(scratch_db, admin, drill_id, "假视频.mp4", b"%PDF-1.4 not a video", "video")
    assert drills.add_attachment(scratch_db, admin, drill_id, "签到表.png", sample_png(), "sign_in")
    assert drills.add_attachment(scratch_db, admin, drill_id, "喊话.mp3", b"ID3" + b"\x00" * 64, "audio")


def test_the_summary_report_is_a_document_from_the_record(scratch_db):
    admin = user_row(scratch_db, "admin")
    drill_id = _county_drill(scratch_db)
    scratch_db.write(lambda cur: cur.execute("DELETE FROM drill_attachments WHERE drill_id = ?", [drill_id]))
    drills.add_attachment(scratch_db, admin, drill_id, "签到表.png", sample_png(), "sign_in")
    action = drills.add_action(scratch_db, admin, drill_id, "补充<b>应急广播</b>覆盖", "县应急局", date(2025, 3, 1))
    detail = drills.drill_detail(scratch_db, drill_id)
    document = Document(io.BytesIO(archive.summary_docx(scratch_db, drill_id, issued_on=date(2024, 6, 1))))
    section = document.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(0.1) and abs(section.top_margin - Mm(37)) < Mm(0.1)
    names = report_template.STYLE_NAMES
    paragraphs = {p.style.name: [] for p in document.paragraphs}
    for p in document.paragraphs:
        paragraphs[p.style.name].append(p.text)
    assert paragraphs[names["title"]] == [f"{detail['title']}总结报告"]
    body = "\n".join(paragraphs[names["body"]])
    assert f"参演{detail['participants']}人次" in body
    assert all(p["code"] in body for p in detail["plans"])
    assert "尚缺：演练方案、评估报告、总结报告" in body
    rows = [[c.text for c in row.cells] for row in document.tables[0].rows]
    assert ["补充<b>应急广播</b>覆盖", "县应急局", "2025-03-01", "未完成"] in rows  # user text kept as text
    assert paragraphs[names["signature"]][-1] == "2024年6月1日"
    assert action


def test_the_demo_archives_are_mostly_complete(demo_db):
    total = demo_db.scalar("SELECT count(*) FROM drills WHERE year(held_on) = 2024")
    incomplete = archive.incomplete_archives(demo_db, 2024)
    assert 0 < len(incomplete) < total * 0.3
    # The sample files exist, so every demo attachment can be downloaded.
    row = demo_db.query_dicts("SELECT * FROM drill_attachments ORDER BY id LIMIT 1")[0]
    assert drills.attachment_exists(demo_db, row)
    assert drills.attachment_bytes(demo_db, row["id"])[1][:5] in (b"%PDF-", b"\x89PNG\r")


def test_archive_page_and_drill_record_show_what_is_missing(app, scratch_db):
    drill_id = _county_drill(scratch_db)
    scratch_db.write(
        lambda cur: cur.execute("DELETE FROM drill_attachments WHERE drill_id = ? AND kind = 'scheme'", [drill_id])
    )
    at = app("emergency/ui/archive_page.py", as_user="admin", db=scratch_db)
    assert not at.exception and at.title[0].value == "演练档案检查"
    next(s for s in at.selectbox if s.label == "年度").set_value(2024).run()
    table = at.dataframe[0].value
    while drill_id not in table["编号"].tolist():  # paged: 下一页 until the drill's page
        assert not at.button(key="archives_next").disabled, "the drill is on no page"
        at.button(key="archives_next").click().run()
        table = at.dataframe[0].value
    row = table[table["编号"] == drill_id].iloc[0]
    assert "演练方案" in row["尚缺"] and row["层级"] == "县级"
    at = app("emergency/ui/drills_page.py", as_user="admin", db=scratch_db, drill=str(drill_id))
    assert not at.exception
    assert any("档案不完整" in w.value and "演练方案" in w.value for w in at.warning)
    assert any(b.label == "生成演练总结报告（Word）" for b in at.get("download_button"))


def test_incomplete_archives_are_counted_and_paged_in_sql(demo_db):
    everything = archive.incomplete_archives(demo_db, 2024)
    assert archive.incomplete_count(demo_db, 2024) == len(everything) > 100
    second = archive.incomplete_page(demo_db, 2024, None, page=2)
    assert second.total == len(everything) and second.page == 2
    assert [r["id"] for r in second.rows] == [r["id"] for r in everything[100:200]]
    for row in everything:  # the rule, as the one drill's status says
        assert row["missing"] == archive.archive_status(demo_db, row["id"])["missing"]


def test_a_page_of_incomplete_archives_runs_the_rule_once(demo_db):
    """The page's rows and the whole count come from one statement (issue 19: a cache miss of 档案检查
    ran the rule's aggregate twice); a page past the end reads the last page."""
    everything = archive.incomplete_archives(demo_db, 2024)
    demo_db.trace = []
    try:
        first = archive.incomplete_page(demo_db, 2024, None, page=1)
        statements = [sql for sql, _ in demo_db.trace if "drilled AS" in sql]
    finally:
        demo_db.trace = None
    assert len(statements) == 1
    assert first.total == len(everything) and [r["id"] for r in first.rows] == [r["id"] for r in everything[:100]]
    assert all("whole_list" not in r for r in first.rows)
    last = archive.incomplete_page(demo_db, 2024, None, page=10_000)
    assert last.page == last.pages and last.total == len(everything)
    assert [r["id"] for r in last.rows] == [r["id"] for r in everything[(last.page - 1) * 100 :]]
    nothing = archive.incomplete_page(demo_db, 1990, None, page=1)
    assert nothing.total == 0 and nothing.rows == [] and nothing.pages == 1
