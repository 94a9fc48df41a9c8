"""Column headers as township staff write them: the synonym table, and how a file's header row is found.

A township's roster rarely uses the template's words: 身份证号码 or 公民身份号码 for 身份证号, 联系电话
for 手机号, 乡镇（街道） for 所属乡镇, headers carrying notes such as "（必填）" or "*". A header is
compared twice, both times without spaces, asterisks and bracket characters of either width: once
with what the brackets held (所属村（社区） -> 所属村社区) and once without it (身份证号（必填） -> 身份证号).
It then matches a template header, a synonym from the table below, or a mapping the user chose
(the preview's mapping step, `--map 源列名=目标列名` on the command line), which comes first.

Nothing is dropped silently: a column that matches nothing, or a second column for a target already
taken, is "unknown" and stops the import naming it, until it is mapped or explicitly skipped
("不导入"). A few headers are known to hold nothing to import (序号) and are skipped by the table
itself, which the preview shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .hygiene import clean, is_blank

SKIP = "不导入"  # a mapping's target for a column that is deliberately not imported
SKIP_WORDS = {SKIP, "跳过", "忽略", "-"}

# Target header (the template's) -> the other ways people write it.
MEMBER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "姓名": ("名字", "队员姓名", "人员姓名", "成员姓名"),
    "所属乡镇": ("乡镇", "所在乡镇", "乡镇（街道）", "所属乡镇（街道）", "乡镇街道", "乡（镇）", "所在乡镇（街道）"),
    "所属队伍": ("队伍", "队伍名称", "所在队伍", "队名", "所属队伍名称", "所在队伍名称", "救援队伍"),
    "身份证号": ("身份证号码", "公民身份号码", "公民身份证号码", "证件号码", "身份证", "身份证件号码"),
    "性别": (),
    "出生日期": ("出生年月", "出生年月日", "生日", "出生时间"),
    "手机号": ("联系电话", "手机号码", "电话", "手机", "联系方式", "电话号码", "移动电话"),
    "其他电话": ("第二电话", "备用电话", "固定电话", "座机", "办公电话", "固话", "家庭电话"),
    "队内职务": ("职务", "队伍职务", "职位", "担任职务", "队内职位"),
    "专长": ("特长", "专业特长", "技能", "专业技能"),
    "已通过培训": ("是否培训", "是否通过培训", "培训情况", "已培训", "是否已培训"),
    "培训日期": ("培训时间",),
    "保险到期": ("保险到期日期", "保险到期日", "保险有效期至", "保险截止日期"),
    "入队日期": ("入队时间", "加入日期", "加入时间"),
}
TEAM_SYNONYMS: dict[str, tuple[str, ...]] = {
    "队伍名称": ("队伍", "名称", "队名", "队伍全称"),
    "队伍类别": ("类别", "队伍类型", "类型", "队伍性质"),
    "队伍层级": ("层级", "级别", "队伍级别"),
    "所属乡镇": MEMBER_SYNONYMS["所属乡镇"],
    "所属村（社区）": ("村（社区）", "所属村", "所在村", "村", "村社区", "所在村（社区）"),
    "覆盖领域": ("领域", "灾种", "服务领域", "覆盖灾种"),
    "负责人": ("队长", "负责人姓名", "队长姓名"),
    "值班电话": ("联系电话", "电话", "负责人电话", "值班电话号码", "联系方式"),
    "装备": ("主要装备", "装备情况", "装备物资"),
    "成立日期": ("成立时间", "组建时间", "组建日期"),
}
SYNONYMS = {"members": MEMBER_SYNONYMS, "teams": TEAM_SYNONYMS}
# Headers known to hold nothing to import: skipped by the table, and shown as skipped.
IGNORED_HEADERS = ("序号", "编号", "No.", "NO")

_MARKS = re.compile(r"[\s*＊]")
_BRACKETS = re.compile(r"[()（）\[\]【】〔〕<>《》]")
_BRACKETED = re.compile(r"[(（\[【〔<《][^)）\]】〕>》]*[)）\]】〕>》]")


def header_keys(cell) -> tuple[str, str]:
    """(brackets' content kept, brackets' content removed), both without spaces, asterisks, brackets."""
    text = _MARKS.sub("", clean(cell))
    return _BRACKETS.sub("", text), _BRACKETS.sub("", _BRACKETED.sub("", text))


def shown_header(cell, index: int) -> str:
    """A header as the messages name it; a column without one by its letter (第E列)."""
    text = clean(cell) if not is_blank(cell) else ""
    return text or f"第{column_letter(index)}列"


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class FileColumn:
    """One column of the file and what it becomes: a template header, SKIP, or None (unknown)."""

    index: int
    header: str  # as the file has it (or 第E列 when it has none)
    target: str | None
    how: str  # 模板列名 / 同义词 / 映射 / 不导入 / 未知 / 重复
    blank: bool = False  # the header cell is empty (the column is named by its letter)


def _lookup(kind: str, templates: Iterable[str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for target in templates:
        for word in (target, *SYNONYMS[kind].get(target, ())):
            for key in header_keys(word):
                table.setdefault(key, target)
    return table


def match_headers(
    kind: str, templates: list[str], cells: list, mapping: dict[str, str] | None = None
) -> list[FileColumn]:
    """What each column of a header row becomes. `mapping` (file header -> template header or SKIP)
    comes first, then the template's headers, the synonyms and IGNORED_HEADERS. A column whose target
    an earlier column took is "重复" (unknown until mapped), never merged or dropped."""
    table = _lookup(kind, templates)
    chosen: dict[str, str] = {}
    for source, wanted in (mapping or {}).items():
        for key in header_keys(source):
            chosen.setdefault(key, SKIP if clean(wanted) in SKIP_WORDS else clean(wanted))
    ignored = {k for word in IGNORED_HEADERS for k in header_keys(word)}
    exact = {k for t in templates for k in header_keys(t)[:1]}
    found_all = []
    for index, cell in enumerate(cells):
        header = shown_header(cell, index)
        keys = header_keys(cell) if not is_blank(cell) else (header, header)
        target: str | None = None
        how = "未知"
        mapped = next((chosen[k] for k in (header, *keys) if k in chosen), None)
        if mapped is not None:
            target, how = mapped, ("不导入" if mapped == SKIP else "映射")
        elif not is_blank(cell):
            found = next((table[k] for k in keys if k in table), None)
            if found is not None:
                target, how = found, ("模板列名" if keys[0] in exact else "同义词")
            elif any(k in ignored for k in keys):
                target, how = SKIP, "不导入"
        found_all.append(FileColumn(index, header, target, how, is_blank(cell)))
    # The user's mapping claims its targets first; a later or automatic claim of a taken target is 重复.
    taken: set[str] = set()
    result: dict[int, FileColumn] = {}
    for column in sorted(found_all, key=lambda c: (c.how != "映射", c.index)):
        target = column.target
        if target is not None and target != SKIP:
            if target in taken:
                column = FileColumn(column.index, column.header, None, "重复", column.blank)
            else:
                taken.add(target)
        result[column.index] = column
    return [result[i] for i in range(len(found_all))]


def recognised(columns: list[FileColumn]) -> int:
    return sum(1 for c in columns if c.target not in (None, SKIP))


def synonym_table() -> list[tuple[str, str, str]]:
    """(kind label, template header, synonyms) for the README and the closing note."""
    labels = {"members": "队员", "teams": "队伍", "depots": "储备库", "shelters": "避难场所", "hazards": "隐患点"}
    labels["experts"] = "专家"  # the resource registries register their own tables (imports.register_kind)
    labels["drills"] = "演练记录"  # so do the drill logs (drill_import.py)
    return [(labels.get(k, k), t, "、".join(s)) for k, table in SYNONYMS.items() for t, s in table.items() if s]
