"""The annual report as a 公文 (GB/T 9704-2012), read back with python-docx: A4, margins, fonts, black
text, page numbers, 落款 and 成文日期, document properties; the template is a file the bureau can edit."""

import io
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from emergency import report_template, reports
from emergency.errors import ValidationError
from emergency.stats import about
from tests.helpers import REPORT_2024, ROOT

NAMES = report_template.STYLE_NAMES
FIGURES = [
    f"{REPORT_2024['teams']}支",
    f"{REPORT_2024['members']}人",
    f"四类{REPORT_2024['plans']}项",
    f"{REPORT_2024['county_township_drills']}场次",
    "12100余人次",
    f"{REPORT_2024['sector_drills']}场次，参演{REPORT_2024['sector_participants']}人次",
    f"全县{REPORT_2024['townships']}个乡镇互联互通",
    f"{REPORT_2024['villages']}个村（社区）",
]


def east_asian_font(style) -> str | None:
    r_fonts = style.element.rPr.find(qn("w:rFonts"))
    return r_fonts.get(qn("w:eastAsia")) if r_fonts is not None else None


@pytest.fixture
def document(demo_db):
    data = reports.render(demo_db, 2024, "docx", issued_on=date(2025, 2, 5))
    return Document(io.BytesIO(data))


def test_the_page_is_a4_with_the_standard_margins(document):
    section = document.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(0.1) and abs(section.page_height - Mm(297)) < Mm(0.1)
    assert abs(section.top_margin - Mm(37)) < Mm(0.1)  # 天头
    assert abs(section.left_margin - Mm(28)) < Mm(0.1)  # 订口
    # The type area is 156 mm x 225 mm.
    assert abs(section.page_width - section.left_margin - section.right_margin - Mm(156)) < Mm(0.2)
    assert abs(section.page_height - section.top_margin - section.bottom_margin - Mm(225)) < Mm(0.2)


def test_title_body_and_headings_use_the_standard_fonts_in_black(document):
    styles = document.styles
    expected = {
        "title": ("方正小标宋简体", 22),
        "body": ("仿宋_GB2312", 16),
        "heading1": ("黑体", 16),
        "heading2": ("楷体_GB2312", 16),
    }
    for key, (font, size) in expected.items():
        style = styles[NAMES[key]]
        assert east_asian_font(style) == font, key
        assert style.font.size == Pt(size), key
        assert str(style.font.color.rgb) == "000000", key
    body = styles[NAMES["body"]].paragraph_format
    assert body.first_line_indent == Pt(32)  # two characters of 16 pt
    used = {p.style.name for p in document.paragraphs if p.text}
    assert used <= set(NAMES.values()), used - set(NAMES.values())
    # No run overrides the style with another colour or a Latin-only heading font (the old Cambria in blue).
    xml = document.element.xml
    assert "Cambria" not in xml and 'w:color w:val="4F81BD"' not in xml


def test_headings_and_paragraphs_carry_every_figure(document):
    by_style: dict[str, list[str]] = {}
    for p in document.paragraphs:
        by_style.setdefault(p.style.name, []).append(p.text)
    assert by_style[NAMES["title"]] == ["嵩县2024年度应急准备与演练工作统计报告"]
    assert by_style[NAMES["heading1"]] == ["一、总体情况", "二、主要数据", "三、演练情况", "四、预案与整改"]
    assert "（二）非煤矿山等领域（按行业）" in by_style[NAMES["heading2"]]
    body = "\n".join(by_style[NAMES["body"]])
    for figure in FIGURES:
        assert figure in body, figure
    assert "覆盖消防、防汛等多个领域" in body
    assert "{{" not in document.element.xml and "{%" not in document.element.xml
    levels = {row.cells[0].text: (row.cells[1].text, row.cells[2].text) for row in document.tables[1].rows}
    assert levels["企业（行业领域）"] == ("522", "6967")
    assert int(levels["县级"][0]) + int(levels["乡镇级"][0]) == 92
    assert len(document.tables[3].rows) == 1 + 16  # header and the sixteen townships


def test_signature_date_page_numbers_and_properties(document):
    signature = [p.text for p in document.paragraphs if p.style.name == NAMES["signature"]]
    assert signature == ["嵩县应急管理局", "2025年2月5日"]
    section = document.sections[0]
    assert document.settings.odd_and_even_pages_header_footer
    for footer in (section.footer, section.even_page_footer):
        xml = footer._element.xml
        assert 'w:instr="PAGE"' in xml and "— " in footer.paragraphs[0].text
    assert section.footer.paragraphs[0].alignment == 2  # odd pages at the right
    assert section.even_page_footer.paragraphs[0].alignment == 0  # even pages at the left
    props = document.core_properties
    assert props.author == "嵩县应急管理局" and props.title == "嵩县2024年度应急准备与演练工作统计报告"
    created = props.created.replace(tzinfo=UTC)
    assert datetime.now(UTC) - created < timedelta(minutes=10)


def test_the_shipped_template_is_what_the_code_builds():
    # The layout lives in the .docx file; report_template.py is how it was made. They must not drift.
    built = zipfile.ZipFile(io.BytesIO(report_template.build()))
    shipped = zipfile.ZipFile(report_template.TEMPLATE_PATH)
    for part in ("word/document.xml", "word/styles.xml", "word/footer1.xml", "word/fontTable.xml"):
        assert built.read(part) == shipped.read(part), part
    fonts = shipped.read("word/fontTable.xml").decode()
    assert '<w:font w:name="方正小标宋简体"><w:altName w:val="宋体"/>' in fonts


def test_a_bureau_edited_template_beside_the_database_is_used(scratch_db, tmp_path):
    # scratch_db lives in its own folder: the edited template goes beside it.
    own = reports.OWN_TEMPLATE_NAME
    edited = Document(str(report_template.TEMPLATE_PATH))
    for p in edited.paragraphs:
        if p.text == "本报告中的数字均由系统根据登记记录自动计算。":
            p.runs[0].text = "特此报告。"
    beside = scratch_db.path.parent / own
    edited.save(beside)
    try:
        assert reports.template_path(scratch_db) == beside
        text = "\n".join(p.text for p in Document(io.BytesIO(reports.render(scratch_db, 2024, "docx"))).paragraphs)
        assert "特此报告。" in text and "本报告中的数字均由系统" not in text
    finally:
        beside.unlink()
    assert reports.template_path(scratch_db) == report_template.TEMPLATE_PATH


def test_a_broken_template_is_refused_in_chinese(scratch_db, tmp_path):
    broken = Document(str(report_template.TEMPLATE_PATH))
    broken.add_paragraph("{{ paragraph ")
    path = tmp_path / "broken.docx"
    broken.save(path)
    with pytest.raises(ValidationError, match="占位符有误"):
        reports.render(scratch_db, 2024, "docx", template=path)
    not_docx = tmp_path / "not.docx"
    not_docx.write_text("不是 Word 文件", encoding="utf-8")
    with pytest.raises(ValidationError, match="不是可用的 Word"):
        reports.render(scratch_db, 2024, "docx", template=not_docx)


@pytest.mark.parametrize(
    ("count", "written"),
    [(12134, "12100余"), (12100, "12100"), (10001, "10000余"), (9999, "9999"), (6967, "6967"), (0, "0")],
)
def test_person_times_are_rounded_with_yu_from_ten_thousand(count, written):
    assert about(count) == written


def test_the_template_command_writes_the_default_template(tmp_path, demo_db_path):
    out = tmp_path / "模板.docx"
    result = subprocess.run(
        [sys.executable, "-m", "emergency", "report-template", "-o", str(out), "--db", str(demo_db_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "report_template.docx" in result.stdout
    assert out.read_bytes() == report_template.TEMPLATE_PATH.read_bytes()
