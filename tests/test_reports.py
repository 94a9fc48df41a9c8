"""The annual report: every figure of DOMAIN.md section 1, computed from the demo data, in the text,
the Word document and the workbook."""

import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from emergency import reports
from emergency.stats import year_stats

ROOT = Path(__file__).resolve().parent.parent
# The figures of the county's 2024 report as the paragraph writes them.
FIGURES = ["388支", "7349人", "四类40项", "92场次", "12100余人次", "522场次", "6967人次", "16个乡镇", "337个村（社区）"]


def test_report_command_prints_the_paragraph_with_every_figure(demo_db_path):
    result = subprocess.run(
        [sys.executable, "-m", "emergency", "report", "--year", "2024", "--db", str(demo_db_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    paragraph = result.stdout.splitlines()[2]
    for figure in FIGURES:
        assert figure in paragraph, figure
    assert paragraph.startswith("2024年，全县") and "非煤矿山等领域演练522场次，参演6967人次" in paragraph
    assert "开展县乡两级演练92场次，参演12100余人次" in paragraph
    result = subprocess.run(
        [sys.executable, "-m", "emergency", "report", "--year", "2024", "--format", "docx", "--db", str(demo_db_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "-o" in result.stderr


def test_linkage_clauses_come_from_the_linkage_module(demo_db, monkeypatch):
    figures = reports.report_figures(demo_db, 2024)
    from emergency import linkage

    assert figures["connected_townships"] == linkage.connected_townships(demo_db, 2024)
    text = reports.report_paragraph(figures)
    if figures["connected_townships"] == 16:
        assert "三级联动" in text and "全县16个乡镇互联互通" in text
    assert "三级联动" not in reports.report_paragraph({**figures, "connected_townships": 15})
    assert "16个乡镇中已有15个实现互联互通" in reports.report_paragraph({**figures, "connected_townships": 15})
    no_module = reports.report_paragraph({**figures, "connected_townships": None})
    assert "互联互通" not in no_module and "三级联动" not in no_module


def test_figures_follow_the_data_not_constants(demo_db):
    figures = reports.report_figures(demo_db, 2023)
    text = reports.report_paragraph(figures)
    assert f"开展县乡两级演练{figures['county_township_drills']}场次" in text and "92场次" not in text
    assert sum(r[2] for r in reports.sector_rows(figures)[:-1]) == figures["sector_drills"]


def test_docx_is_a_real_document_with_the_same_figures(demo_db, tmp_path):
    from docx import Document

    data = reports.render(demo_db, 2024, "docx")
    document = Document(io.BytesIO(data))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("公文") and "标题" in p.style.name]
    assert headings[0] == "嵩县2024年度应急准备与演练工作统计报告"
    assert "三、演练情况" in headings and "（二）非煤矿山等领域（按行业）" in headings
    body = "\n".join(p.text for p in document.paragraphs)
    for figure in FIGURES:
        assert figure in body, figure
    tables = document.tables
    assert len(tables) >= 3
    levels = {row.cells[0].text: (row.cells[1].text, row.cells[2].text) for row in tables[1].rows}
    assert levels["企业（行业领域）"] == ("522", "6967")
    assert int(levels["县级"][0]) + int(levels["乡镇级"][0]) == 92
    sectors = {row.cells[0].text: row.cells[2].text for row in tables[2].rows}
    assert sectors["合计"] == "522" and "非煤矿山" in sectors
    figures = {row.cells[0].text: row.cells[1].text for row in tables[0].rows}
    assert figures["应急救援队伍（支）"] == "388" and figures["队员（人）"] == "7349"


def test_xlsx_holds_the_tables(demo_db):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(reports.render(demo_db, 2024, "xlsx")))
    assert {"主要数据", "按层级", "按行业领域", "按乡镇"} <= set(book.sheetnames)
    values = {row[0]: row[1] for row in book["主要数据"].iter_rows(min_row=2, values_only=True)}
    assert values["非煤矿山等领域演练（场次）"] == 522 and values["队员（人）"] == 7349
    assert len(list(book["按乡镇"].iter_rows(min_row=2))) == 16


def test_unknown_format_is_refused(demo_db):
    with pytest.raises(ValueError, match="格式"):
        reports.render(demo_db, 2024, "pdf")


def test_year_so_far_is_year_stats_cut_at_a_day(demo_db):
    # The overview's current-status tiles are year_stats(as_of=today): the same definitions.
    whole = year_stats(demo_db, 2024)
    assert year_stats(demo_db, 2024, as_of=date(2024, 12, 31)) == whole
    assert year_stats(demo_db, 2024, as_of=date(2025, 3, 1)) == whole  # a later day is the year end
    levels = ("county_township_drills", "sector_drills", "village_drills")
    assert whole["drills"] == sum(whole[k] for k in levels)
    june = year_stats(demo_db, 2024, as_of=date(2024, 6, 30))
    held = demo_db.scalar("SELECT count(*) FROM drills WHERE held_on BETWEEN DATE '2024-01-01' AND DATE '2024-06-30'")
    assert june["drills"] == held < whole["drills"]
