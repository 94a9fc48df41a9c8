"""Input and output hygiene shared by every page and export: text normalisation, HTML escaping,
spreadsheet-formula neutralisation, and checks on uploaded files.
"""

from __future__ import annotations

import html
import re
from pathlib import PurePath

FORMULA_PREFIXES = ("=", "+", "-", "@")
# Excel (and LibreOffice) skip these before a formula sign, and a cell starting with TAB or CR is itself
# treated as a formula lead-in by some importers (OWASP "CSV injection").
FORMULA_LEADING = " \t\r\n\u3000"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

MAX_MEDIA_BYTES = 200 * 1024 * 1024  # a drill's video or audio recording (server.maxUploadSize is 200)

_JPEG, _PNG, _PDF, _ZIP = [b"\xff\xd8\xff"], [b"\x89PNG\r\n\x1a\n"], [b"%PDF-"], [b"PK\x03\x04"]
_ISO_MEDIA = [(4, b"ftyp")]  # MP4 / MOV / M4A: the "ftyp" box after a 4-byte size
# Allowed uploads by purpose: extension -> the file's leading bytes ("magic"), or (offset, bytes).
UPLOAD_TYPES: dict[str, dict[str, list]] = {
    # Documents of a drill's archive: scanned (photos, PDF) or written (Word, an Excel sign-in sheet).
    "attachment": {".jpg": _JPEG, ".jpeg": _JPEG, ".png": _PNG, ".pdf": _PDF, ".docx": _ZIP, ".xlsx": _ZIP},
    "photo": {".jpg": _JPEG, ".jpeg": _JPEG, ".png": _PNG},
    "video": {".mp4": _ISO_MEDIA, ".mov": _ISO_MEDIA},
    "audio": {".mp3": [b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"], ".m4a": _ISO_MEDIA, ".wav": [b"RIFF"]},
    "spreadsheet": {".xlsx": [b"PK\x03\x04"], ".xls": [b"\xd0\xcf\x11\xe0"], ".csv": []},  # .xls: OLE2
}


# Full-width digits and Latin letters (what Chinese input methods produce in spreadsheets) and the
# ideographic space, mapped to ASCII. Chinese punctuation such as ，。（） is left as it is.
FULL_WIDTH = {0xFF10 + i: ord("0") + i for i in range(10)}
FULL_WIDTH.update({0xFF21 + i: ord("A") + i for i in range(26)})
FULL_WIDTH.update({0xFF41 + i: ord("a") + i for i in range(26)})
FULL_WIDTH[0x3000] = ord(" ")
_CODE_SEPARATORS = {ord(c): None for c in " -－—_·"}


def is_blank(value) -> bool:
    """None, NaN/NaT/pd.NA (pandas' empty cells), or only spaces (str.strip also removes U+3000)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if type(value).__name__ == "NAType":
        return True
    try:
        return bool(value != value)  # NaN and NaT are the values unequal to themselves
    except (TypeError, ValueError):
        return False


def clean(value) -> str:
    """Full-width digits and letters to half-width (１３８ -> 138, ＡＢ -> AB); stray spaces removed."""
    if is_blank(value):  # None, NaN: never the text "nan"
        return ""
    return " ".join(str(value).translate(FULL_WIDTH).split())


def clean_text(value: str) -> str:
    """clean() of a str (an import's thousands of text cells, without the blank test)."""
    return " ".join(value.translate(FULL_WIDTH).split())


def clean_code(value) -> str:
    """Phones, ID numbers: half-width, no spaces or dashes inside, upper-case X."""
    return clean(value).translate(_CODE_SEPARATORS).upper()


def escape_html(value) -> str:
    """For anything rendered as HTML (map popups, unsafe_allow_html): user text stays text."""
    return html.escape("" if value is None else str(value), quote=True)


# Every ASCII punctuation character may be backslash-escaped in CommonMark, and escaping them all is
# the one rule that leaves no Markdown construct alive: images and links ![](…) […](…), autolinks
# (http:// www. a@b), emphasis, headings, lists, tables, HTML, Streamlit's :colour[…] and :emoji:
# directives and $LaTeX$.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
# GFM's autolinks (http://…, www.…, a@b.cn) are found in the text after escapes are resolved, so no
# backslash stops them: an invisible word joiner (U+2060) inside the pattern does.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|file)(?=:)|(www)(?=\.)|(?=@)")
WORD_JOINER = "\u2060"


def escape_markdown(value) -> str:
    """User text for st.markdown, st.caption, st.info, headers and labels: shown as typed, never as
    Markdown (a place of ![b](http://…) would make every viewer's browser fetch that URL).
    An empty cell (None, NaN) gives ""; line breaks are kept as Markdown line breaks."""
    if is_blank(value):
        return ""
    text = _AUTOLINK.sub(lambda m: (m.group(0) or "") + WORD_JOINER, str(value))
    lines = (_MARKDOWN_SPECIAL.sub(r"\\\1", line.strip()) for line in text.splitlines())
    return "  \n".join(line for line in lines if line)


def neutralise_formula(value):
    """A cell that starts with = + - @, a tab or a CR, or with spaces or line breaks before = + - @,
    would run as a formula in a spreadsheet: prefix it with a quote so that it stays text."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "\t\r" or value.lstrip(FORMULA_LEADING).startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _starts_with(data: bytes, magic) -> bool:
    offset, marker = magic if isinstance(magic, tuple) else (0, magic)
    return data[offset : offset + len(marker)] == marker


def check_upload(name: str, data: bytes, purpose: str = "attachment", max_bytes: int = MAX_UPLOAD_BYTES) -> str | None:
    """None when acceptable, else the reason in Chinese (size, extension, or content not matching it)."""
    allowed = UPLOAD_TYPES[purpose]
    suffix = PurePath(name or "").suffix.lower()
    if suffix not in allowed:
        return f"文件类型 {suffix or '（无扩展名）'} 不允许，仅支持：{'、'.join(allowed)}"
    if len(data) > max_bytes:
        return f"文件过大（{len(data) / 1048576:.1f} MB），上限 {max_bytes / 1048576:.0f} MB"
    if not data:
        return "文件为空"
    magics = allowed[suffix]
    if magics and not any(_starts_with(data, m) for m in magics):
        return f"文件内容与扩展名 {suffix} 不符"
    return None
