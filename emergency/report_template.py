"""The default Word templates of the annual report and of the drill summary, laid out as a 公文 (GB/T 9704-2012).

The report is rendered by docxtpl from a .docx template: the layout (A4, margins, fonts, page numbers)
and the fixed wording live in the template, which the bureau can open and edit in Word; the code only
supplies the figures (reports.report_context). This module builds the default template, so that the file
shipped in emergency/templates/ can be regenerated and checked (`scripts/make_report_template.py`).

GB/T 9704-2012: A4; 天头 37 mm, 订口 28 mm, 版心 156 x 225 mm (so 35 mm below and 26 mm to the right);
22 lines of 28 characters; title 2号 (22 pt) 小标宋; body 3号 (16 pt) 仿宋_GB2312 with a first-line indent
of two characters; "一、" headings 黑体, "（一）" headings 楷体; black text; page numbers 4号 (14 pt)
"— 1 —", odd pages at the right, even pages at the left, one character in from the edge.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

TEMPLATES_DIR = Path(__file__).with_name("templates")
TEMPLATE_PATH = TEMPLATES_DIR / "annual_report.docx"
SUMMARY_TEMPLATE_PATH = TEMPLATES_DIR / "drill_summary.docx"

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING1_FONT = "黑体"
HEADING2_FONT = "楷体_GB2312"
LATIN_FONT = "Times New Roman"
# Word substitutes a missing font by its altName: a machine without the 方正/GB2312 fonts shows 宋体/仿宋/楷体.
FONT_FALLBACKS = {TITLE_FONT: "宋体", BODY_FONT: "仿宋", HEADING2_FONT: "楷体", HEADING1_FONT: "SimHei"}

PAGE_MM = (210, 297)
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
BODY_PT, TITLE_PT, TABLE_PT, PAGE_NUMBER_PT = 16, 22, 14, 14
LINE_PT = 28.95  # 225 mm of type area / 22 lines


def render(path: Path, context: dict, title: str, author: str) -> bytes:
    """A .docx filled by docxtpl from the template at `path` (the annual report, the drill summary, or a
    bureau's own), with its document properties: title, author (the bureau), created = modified = now.
    A broken {{ }} / {% %} tag or a file that is no .docx is a ValidationError naming the template."""
    from datetime import UTC, datetime

    from docx.opc.exceptions import PackageNotFoundError
    from docxtpl import DocxTemplate
    from jinja2 import TemplateError

    from .errors import ValidationError

    try:
        document = DocxTemplate(str(path))
        document.render(context, autoescape=True)
    except TemplateError as e:  # a bureau's own template with a broken {{ }} or {% %} tag
        raise ValidationError.single(
            "报告模板", f"{path.name} 中的占位符有误（{e.message or e}），请对照默认模板修改"
        ) from e
    except (PackageNotFoundError, KeyError, ValueError, OSError) as e:  # not a .docx file at all
        raise ValidationError.single("报告模板", f"{path.name} 不是可用的 Word（.docx）模板：{e}") from e
    props = document.docx.core_properties
    props.title, props.author, props.last_modified_by = title, author, author
    props.created = props.modified = datetime.now(UTC).replace(tzinfo=None)
    props.comments = ""
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


STYLE_NAMES = {
    "title": "公文标题",
    "heading1": "公文一级标题",
    "heading2": "公文二级标题",
    "body": "公文正文",
    "table": "公文表格",
    "signature": "公文落款",
}

# The template's content, top to bottom: (style key, text). Text in {{ }} / {%p %} is docxtpl (Jinja2).
# A tuple ("table", header, row_variable, cells) is a table whose rows repeat over row_variable.
CONTENT: list[tuple] = [
    ("title", "{{ title }}"),
    ("body", ""),
    ("heading1", "一、总体情况"),
    ("body", "{{ paragraph }}"),
    ("body", "{%p if note %}"),
    ("body", "{{ note }}"),
    ("body", "{%p endif %}"),
    ("heading1", "二、主要数据"),
    ("table", ["指标", "数值"], "figure_rows", 2),
    ("heading1", "三、演练情况"),
    ("heading2", "（一）按演练层级"),
    ("table", ["层级", "场次", "参演人次"], "level_rows", 3),
    ("heading2", "（二）非煤矿山等领域（按行业）"),
    ("table", ["行业领域", "开展演练的企业数", "场次", "参演人次"], "sector_rows", 4),
    ("heading2", "（三）按乡镇"),
    ("table", ["乡镇", "场次", "参演人次"], "township_rows", 3),
    ("heading1", "四、预案与整改"),
    ("body", "{{ plans_paragraph }}"),
    ("body", "本报告中的数字均由系统根据登记记录自动计算。"),
    ("body", ""),
    ("signature", "{{ issuer }}"),
    ("signature", "{{ issued_on }}"),
]

# The drill summary report (演练总结报告, AQ/T 9007-2019 §8.1): what was drilled, how it went, what
# was found and what is to be done, written from the drill record.
SUMMARY_CONTENT: list[tuple] = [
    ("title", "{{ title }}"),
    ("body", ""),
    ("heading1", "一、演练基本情况"),
    ("body", "{{ basics }}"),
    ("body", "演练预案：{{ plans }}。"),
    ("body", "演练目标：{{ objectives }}"),
    ("body", "演练科目：{{ scenario }}"),
    ("body", "组织情况：{{ organisation }}"),
    ("heading1", "二、演练评估"),
    ("body", "{{ assessment }}"),
    ("heading2", "（一）发现的问题及原因"),
    ("body", "{{ problems }}"),
    ("heading2", "（二）评估意见"),
    ("body", "{{ evaluation }}"),
    ("heading1", "三、经验教训与改进建议"),
    ("body", "{{ lessons }}"),
    ("body", "{{ recommendations }}"),
    ("heading1", "四、整改事项"),
    ("body", "{{ actions_summary }}"),
    ("table", ["整改事项", "责任人", "整改期限", "完成情况"], "action_rows", 4),
    ("heading1", "五、演练档案"),
    ("body", "{{ archive_summary }}"),
    ("body", ""),
    ("signature", "{{ issuer }}"),
    ("signature", "{{ issued_on }}"),
]


def _fonts(run_or_style, east_asian: str, size_pt: float, bold: bool = False) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    font = run_or_style.font
    font.name, font.size, font.bold = LATIN_FONT, Pt(size_pt), bold
    font.color.rgb = RGBColor(0, 0, 0)
    r_pr = run_or_style.element.get_or_add_rPr()
    r_fonts = r_pr.find(qn("w:rFonts"))
    if r_fonts is None:
        r_fonts = r_pr.makeelement(qn("w:rFonts"), {})
        r_pr.insert(0, r_fonts)
    for attribute in ("w:ascii", "w:hAnsi"):
        r_fonts.set(qn(attribute), LATIN_FONT)
    r_fonts.set(qn("w:eastAsia"), east_asian)


def _paragraph_style(document, key: str, east_asian: str, size_pt: float, **layout):
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_LINE_SPACING
    from docx.oxml.ns import qn
    from docx.shared import Pt

    style = document.styles.add_style(STYLE_NAMES[key], WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles["Normal"]
    style.quick_style = True
    _fonts(style, east_asian, size_pt)
    fmt = style.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(layout.get("line_pt", LINE_PT))
    fmt.alignment = layout.get("alignment")
    indent_chars = layout.get("indent_chars", 0)
    fmt.first_line_indent = Pt(size_pt * indent_chars)
    if indent_chars:  # in characters as well, so the indent follows a font size changed in Word
        ind = style.element.get_or_add_pPr().get_or_add_ind()
        ind.set(qn("w:firstLineChars"), str(indent_chars * 100))
    if "outline" in layout:  # headings appear in Word's navigation pane
        p_pr = style.element.get_or_add_pPr()
        p_pr.append(p_pr.makeelement(qn("w:outlineLvl"), {qn("w:val"): str(layout["outline"])}))
    if "right_indent_chars" in layout:
        fmt.right_indent = Pt(size_pt * layout["right_indent_chars"])
    return style


def _page_number(paragraph) -> None:
    """ "— 1 —": the PAGE field between two dashes."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph.add_run("— ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
    paragraph.add_run(" —")
    for run in paragraph.runs:
        _fonts(run, "宋体", PAGE_NUMBER_PT)


def _footers(document, section) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document.settings.odd_and_even_pages_header_footer = True
    for footer, alignment in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT), (section.even_page_footer, None)):
        paragraph = footer.paragraphs[0]
        paragraph.alignment = alignment if alignment is not None else WD_ALIGN_PARAGRAPH.LEFT
        if alignment is not None:
            paragraph.paragraph_format.right_indent = Pt(PAGE_NUMBER_PT)
        else:
            paragraph.paragraph_format.left_indent = Pt(PAGE_NUMBER_PT)
        _page_number(paragraph)


def _table(document, header: list[str], rows_variable: str, cells: int) -> None:
    """A bordered table whose body rows repeat over `rows_variable` (docxtpl {%tr %} rows)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    table = document.add_table(rows=4, cols=cells)
    table.style = "Table Grid"
    table.alignment = 1  # centred
    texts = [
        header,
        [f"{{%tr for row in {rows_variable} %}}"] + [""] * (cells - 1),
        [f"{{{{ row[{i}] }}}}" for i in range(cells)],
        ["{%tr endfor %}"] + [""] * (cells - 1),
    ]
    for row, values in zip(table.rows, texts):
        for cell, value in zip(row.cells, values):
            paragraph = cell.paragraphs[0]
            paragraph.style = document.styles[STYLE_NAMES["table"]]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(value)
            if row is table.rows[0]:
                _fonts(run, HEADING1_FONT, TABLE_PT)


def _font_fallbacks(document) -> None:
    """altName entries in the font table (python-docx keeps that part as bytes)."""
    for part in document.part.package.iter_parts():
        if str(part.partname) != "/word/fontTable.xml":
            continue
        xml = part.blob.decode("utf-8")
        entries = "".join(
            f'<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/></w:font>'
            for name, alt in FONT_FALLBACKS.items()
        )
        part._blob = re.sub(r"(</w:fonts>)", entries + r"\1", xml).encode("utf-8")


def build(content: list[tuple] | None = None) -> bytes:
    """A template as .docx bytes (deterministic but for the zip's timestamps); the annual report's by default."""
    from datetime import datetime

    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(PAGE_MM[0]), Mm(PAGE_MM[1])
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    section.footer_distance = Mm(28)  # the page number sits 7 mm below the type area

    _fonts(document.styles["Normal"], BODY_FONT, BODY_PT)
    _paragraph_style(document, "title", TITLE_FONT, TITLE_PT, alignment=WD_ALIGN_PARAGRAPH.CENTER, line_pt=36)
    _paragraph_style(document, "heading1", HEADING1_FONT, BODY_PT, indent_chars=2, outline=0)
    _paragraph_style(document, "heading2", HEADING2_FONT, BODY_PT, indent_chars=2, outline=1)
    _paragraph_style(document, "body", BODY_FONT, BODY_PT, indent_chars=2, alignment=WD_ALIGN_PARAGRAPH.JUSTIFY)
    _paragraph_style(document, "table", BODY_FONT, TABLE_PT, alignment=WD_ALIGN_PARAGRAPH.CENTER, line_pt=22)
    _paragraph_style(
        document, "signature", BODY_FONT, BODY_PT, alignment=WD_ALIGN_PARAGRAPH.RIGHT, right_indent_chars=4
    )
    _footers(document, section)

    # The default document's empty first paragraph would become a blank line before the title.
    body = document.element.body
    for paragraph in list(document.paragraphs):
        body.remove(paragraph._p)
    for item in CONTENT if content is None else content:
        if item[0] == "table":
            _table(document, *item[1:])
        else:
            key, text = item
            document.add_paragraph(text, style=STYLE_NAMES[key])
    _font_fallbacks(document)

    props = document.core_properties
    props.title, props.author, props.comments = (
        "年度报告模板",
        "",
        "可在 Word 中修改版式与固定文字；双花括号内为系统填入的数字",
    )
    props.created = props.modified = datetime(2026, 1, 1)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def write_all() -> list[Path]:
    """Rewrite the shipped templates (scripts/make_report_template.py)."""
    TEMPLATES_DIR.mkdir(parents=True, exist_ok=True)
    for path, content in SHIPPED.items():
        path.write_bytes(build(content))
    return list(SHIPPED)


SHIPPED = {TEMPLATE_PATH: CONTENT, SUMMARY_TEMPLATE_PATH: SUMMARY_CONTENT}
