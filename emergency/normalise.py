"""Parsing of what people type into forms and what township staff send in spreadsheets.

One parser per kind of value, shared by the pages and by the Excel/CSV import, so that a value
accepted in one place is accepted in the other. Each parser returns the normalised value (None for
an empty optional cell) or raises ValueError with the reason in Chinese; the caller adds the field
name (forms) or the row number and column header (imports).

Accepted input (DOMAIN.md section 6): full-width digits and letters (１３８…, ＡＢ), stray spaces,
township names with or without 镇/乡 or by NBS code, dates as 2024-03-05, 2024/3/5, 2024.3.5,
2024年3月5日, 20240305 or Excel serial numbers, booleans as 是/否, enumerations by Chinese label
(or by code), mobile numbers and 0379 landlines with dashes or spaces, 18-character ID numbers.

And what township rosters hold beyond that (issue 16): birth dates as year and month (1985.03,
1985年3月, 198503), completed from the ID number where there is one; landlines as (0379)6123456,
0379-6123456 or seven or eight digits without the area code; mobiles behind 86, +86 or 0086; and two
numbers in one cell (13812345678 / 0379-6123456, with 、 or ；) kept as a mobile and a second phone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from . import privacy
from .hygiene import clean, clean_code, is_blank
from .regions import short_name

if TYPE_CHECKING:
    from .db import Database

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 (Excel's 1900 leap-year bug included)
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_TIME_SUFFIX = re.compile(r"(T|\s+)\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_PLAIN_DATE_RE = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?")  # _DATE_RE, nothing to clean
_SERIAL_RE = re.compile(r"\d{5}(\.\d+)?")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_LANDLINE_RE = re.compile(r"^0379\d{7,8}$")
_LOCAL_RE = re.compile(r"^[2-9]\d{6,7}$")  # a county number without its area code
_YEAR_MONTH_RE = re.compile(r"^(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*月?|(\d{2}))$")
PHONE_SEPARATORS = re.compile(r"\s*[/／、；;,，]\s*")
TRUE_WORDS = {"是", "有", "已", "已培训", "已通过", "通过", "合格", "y", "yes", "true", "1", "√", "✓"}
FALSE_WORDS = {"否", "无", "未", "未培训", "未通过", "不合格", "n", "no", "false", "0", "×", "✗"}
LIST_SEPARATORS = re.compile(r"[、,，;；/|\s]+")


def text(value, *, max_length: int = 200) -> str | None:
    """Half-width, single spaces, trimmed; None when empty."""
    if is_blank(value):
        return None
    result = clean(_plain_number(value))
    if len(result) > max_length:
        raise ValueError(f"内容过长（{len(result)} 字，最多 {max_length} 字）")
    return result


def required_text(value, *, max_length: int = 200) -> str:
    result = text(value, max_length=max_length)
    if result is None:
        raise ValueError("不能为空")
    return result


def _plain_number(value):
    """13812345678.0 (a number cell) -> '13812345678'."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def parse_date(value) -> date | None:
    """A date from a date cell, text in the usual Chinese spellings, or an Excel serial number."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError("不是日期")
    if isinstance(value, (int, float)):
        return _serial_date(value)
    if len(value) == 10 and value.isascii():  # the common 2024-03-05 without the regular expressions
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    plain = _PLAIN_DATE_RE.fullmatch(value)  # 2024/3/5, 2024年3月5日 as typed: what the steps below come to
    if plain:
        try:
            return date(int(plain[1]), int(plain[2]), int(plain[3]))
        except ValueError:
            raise ValueError(f"日期“{value}”不存在") from None
    raw = _TIME_SUFFIX.sub("", clean(value)).replace(" ", "")  # "2024-03-05 00:00:00" from a text export
    if _SERIAL_RE.fullmatch(raw):  # a serial number that arrived as text (CSV)
        return _serial_date(float(raw))
    match = _DATE_RE.match(raw) or _COMPACT_DATE_RE.match(raw)
    if not match:
        raise ValueError(f"无法识别的日期“{clean(value)}”，请写成 2024-03-05、2024/3/5、2024.3.5 或 2024年3月5日")
    year, month, day = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"日期“{clean(value)}”不存在") from None


def _serial_date(serial: float) -> date:
    if not 1 <= serial < 2958466:  # 9999-12-31
        raise ValueError(f"日期序号 {serial:g} 超出范围")
    return EXCEL_EPOCH + timedelta(days=int(serial))


def required_date(value) -> date:
    result = parse_date(value)
    if result is None:
        raise ValueError("不能为空")
    return result


def boolean(value, *, default: bool | None = False) -> bool | None:
    """是/否 (and 有/无, Y/N, 1/0, √/×); empty gives `default`."""
    if is_blank(value):
        return default
    if isinstance(value, bool):
        return value
    word = clean(_plain_number(value)).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"应填“是”或“否”，不能是“{clean(value)}”")


def enum(value, mapping: dict, *, required: bool = True) -> str | None:
    """The code of an enumeration from its Chinese label (or the code itself)."""
    if is_blank(value):
        if required:
            raise ValueError("不能为空")
        return None
    word = clean(value)
    for code, label in mapping.items():
        label = label[0] if isinstance(label, tuple) else label
        if word in (label, code) or word == _loose(label):
            return code
    loose = _loose(word)
    for code, label in mapping.items():
        label = label[0] if isinstance(label, tuple) else label
        if loose == _loose(label):
            return code
    labels = [v[0] if isinstance(v, tuple) else v for v in mapping.values()]
    raise ValueError(f"“{word}”不是可选值，应为 {'、'.join(labels)} 之一")


def _loose(label: str) -> str:
    """Brackets of either width and spaces do not matter: 村(社区)级 == 村（社区）级."""
    return re.sub(r"[()（）\s]", "", clean(label))


def enum_list(value, mapping: dict) -> list[str]:
    """Several labels separated by 、 , ， ; ； / or spaces -> their codes, in order, without repeats."""
    if is_blank(value):
        return []
    codes: list[str] = []
    for part in LIST_SEPARATORS.split(clean(value)):
        code = enum(part, mapping) if part else None
        if code is not None:
            codes.append(code)
    return list(dict.fromkeys(codes))


def _country(number: str) -> str:
    """13812345678 behind +86, 0086 or 86 (written 86 138...) without it."""
    for prefix in ("+86", "0086", "86"):
        if number.startswith(prefix) and len(number) == len(prefix) + 11:
            return number[len(prefix) :]
    return number


def mobile(value) -> str | None:
    """An 11-digit mobile number (full-width, spaces and dashes tolerated, +86 / 86 before it); None when empty."""
    if is_blank(value):
        return None
    number = _country(clean_code(_plain_number(value)))
    reason = privacy.validate_mobile(number)
    if reason:
        raise ValueError(f"“{clean(value)}”：{reason}")
    return number


def landline(value) -> str | None:
    """A county landline kept as 0379 and its digits: 0379-6123456, (0379)6123456, or 6123456 alone."""
    if is_blank(value):
        return None
    number = re.sub(r"[()（）]", "", clean_code(_plain_number(value)))
    if _LOCAL_RE.match(number):
        number = "0379" + number
    if _LANDLINE_RE.match(number):
        return number
    raise ValueError(f"“{clean(value)}”不是 0379 开头的固定电话")


def phone(value) -> str | None:
    """A mobile number or a county landline (0379-xxxxxxx, kept without the dash)."""
    if is_blank(value):
        return None
    try:
        return mobile(value)  # the common case first: a mobile starts with 1, a landline never does
    except ValueError:
        pass
    try:
        return landline(value)
    except ValueError:
        raise ValueError(f"“{clean(value)}”应为11位手机号或 0379 开头的固定电话") from None


def phones(value) -> tuple[str | None, str | None]:
    """(mobile, second phone) from one cell: one number, or two with / 、 ； or , between them. The
    first mobile is the mobile; the other number (a landline or another mobile) the second phone; a
    landline alone is the second phone."""
    if is_blank(value):
        return None, None
    try:
        return mobile(value), None  # one mobile, by far the most common cell
    except ValueError:
        pass
    parts = [p for p in PHONE_SEPARATORS.split(clean(_plain_number(value))) if p]
    if len(parts) > 2:
        raise ValueError(f"“{clean(value)}”中有 {len(parts)} 个号码，最多两个（一个手机号和一个其他电话）")
    numbers = [phone(p) for p in parts]
    mobiles = [n for n in numbers if n and not n.startswith("0")]
    if not mobiles:
        if len(numbers) > 1:
            raise ValueError(f"“{clean(value)}”中的两个号码都是固定电话，请至少填写一个手机号")
        return None, numbers[0]
    first = mobiles[0]
    others = [n for n in numbers if n != first] or numbers[1:]
    return first, (others[0] if others else None)


def birth(value) -> date | tuple[int, int] | None:
    """A birth date, or (year, month) when the cell gives only those: 1985.03, 1985年3月, 198503, 1985-3."""
    if is_blank(value):
        return None
    if isinstance(value, float) and 1900 < value < 2100 and not value.is_integer():
        value = f"{value:.2f}"  # a number cell: 1985.03 (1985.1 is read as 1985.10, as typed in such a cell)
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (190001 <= value <= 210012 or 19000101 <= value <= 21001231)
    ):
        value = str(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1900 <= value <= 2100:
        value = str(int(value))  # a year alone, not an Excel serial number (1985 would be 1905-06-07)
    if isinstance(value, str):
        raw = clean(value).replace(" ", "")
        if re.fullmatch(r"\d{4}年?", raw):
            raise ValueError(f"只有年份“{raw}”：请至少写到月份（如 1985.03），或填写身份证号")
        match = _YEAR_MONTH_RE.match(raw)
        if match:
            year, month = int(match.group(1)), int(match.group(2) or match.group(3))
            if not 1 <= month <= 12:
                raise ValueError(f"出生年月“{raw}”的月份不存在")
            return year, month
    return parse_date(value)


def id_number(value) -> str | None:
    """An 18-character ID number (GB 11643) with a valid check character; None when empty."""
    if is_blank(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError("身份证号被存成了数字（末几位已丢失），请把该列设为“文本”格式后重新填写")
    number = clean_code(value)
    reason = privacy.validate_id_number(number)
    if reason:
        raise ValueError(reason)
    return number


def gender(value) -> str | None:
    if is_blank(value):
        return None
    word = clean(value)
    if word in ("男", "男性", "M", "m"):
        return "男"
    if word in ("女", "女性", "F", "f"):
        return "女"
    raise ValueError(f"应填“男”或“女”，不能是“{word}”")


class Places:
    """Townships and villages by name or code, loaded once (imports look up thousands of rows)."""

    def __init__(self, townships: list[tuple[str, str]], villages: list[tuple[str, str, str]]):
        self.township_names = {code: name for code, name in townships}
        self._township: dict[str, str] = {}
        for code, name in townships:
            for key in (code, name, short_name(name)):
                self._township.setdefault(key, code)
        self._village: dict[tuple[str, str], str] = {}
        self.village_names, self.village_township = {}, {}
        for code, name, township in villages:
            self.village_names[code] = name
            self.village_township[code] = township
            for key in (code, name, _short_village(name)):
                self._village.setdefault((township, key), code)

    @classmethod
    def load(cls, db: Database) -> Places:
        return cls(
            db.query("SELECT code, name FROM townships WHERE is_township ORDER BY sort_order"),
            db.query("SELECT code, name, township_code FROM villages WHERE NOT is_virtual"),
        )

    def township(self, value, *, required: bool = True) -> str | None:
        """The NBS code of a township given as 城关镇, 城关, or 410325100."""
        if is_blank(value):
            if required:
                raise ValueError("不能为空")
            return None
        word = clean(_plain_number(value)).replace(" ", "")
        code = self._township.get(word) or self._township.get(short_name(word))
        if not code:
            raise ValueError(f"找不到乡镇“{word}”（可写 城关镇、城关 或统计区划代码）")
        return code

    def village(self, value, township_code: str | None) -> str | None:
        """A village of the given township by full name, short name (西源头村) or NBS code."""
        if is_blank(value):
            return None
        word = clean(_plain_number(value)).replace(" ", "")
        if not township_code:
            raise ValueError("填写了村（社区）时必须同时填写所属乡镇")
        code = self._village.get((township_code, word)) or self._village.get((township_code, _short_village(word)))
        if not code:
            raise ValueError(f"“{word}”不是{self.township_names.get(township_code, township_code)}的村（社区）")
        return code


def _short_village(name: str) -> str:
    for suffix in ("村民委员会", "居民委员会", "村委会", "居委会"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.removesuffix("村") if len(name) > 2 else name
