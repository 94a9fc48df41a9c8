"""Large member imports (issue 19, item 5): the column-at-a-time parsers give what the cell parsers
give, a 20,000-row workbook is imported whole, and one bad row among 20,000 is named and stops it."""

from __future__ import annotations

from datetime import date

import pytest

from emergency import imports, normalise, privacy
from emergency.demo.samples import HEADERS, excel_xlsx_bytes, member_rows, synthetic_id, xlsx_bytes
from emergency.errors import Problem
from emergency.hygiene import clean_text
from tests.helpers import user_row

LARGE = 20_000


def counts(db):
    return {t: db.scalar(f"SELECT count(*) FROM {t}") for t in ("members", "member_phones", "audit_log")}


# Column parsers, table by table: every cell gives what the cell parser gives (value or reason) -------
MESSY = {
    "name": ["队员1", " 队员2 ", "张　三", "Ｌｉ Ｓｉ", "", None, "  ", "甲" * 50, "甲" * 51, 12.0, 7, True, "a  b"],
    "phone": [
        "13812345678",
        "１３８１２３４５６７８",
        "　１３８１２３４５６７８ ",
        "１３８１２３４５６７",
        "１２８１２３４５６７８",
        "138-1234-5678",
        "+86 13812345678",
        "8613812345678",
        "12812345678",
        "1381234567",
        13812345678.0,
        "13812345678 / 0379-6123456",
        "0379-6123456",
        "6123456",
        "",
        None,
        "abc",
        "13812345678\n",
    ],
    "id_number": [
        synthetic_id(1),
        synthetic_id(2)[:17] + ("0" if synthetic_id(2)[17] != "0" else "1"),
        "11010519491231002X",
        "11010519491231002x",
        "１１０１０５１９４９１２３１００２Ｘ",
        "110105 19491231 002X",
        "410325**********2X",
        "110105194913310024",
        "41030320991231001" + privacy.id_check_char("41030320991231001"),
        11010519491231002.0,
        "",
        None,
        "1101051949123100",
    ],
}


@pytest.fixture
def checker(demo_db):
    places = normalise.Places.load(demo_db)
    rows = imports._MemberRows(demo_db, user_row(demo_db, "admin"), places)
    return rows, imports._MemberRows(demo_db, user_row(demo_db, "admin"), places)


@pytest.mark.parametrize("key", sorted(MESSY))
def test_column_parser_gives_what_the_cell_parser_gives(checker, key):
    batch, cells = checker
    column = batch.batch_parsers()[key]
    parser = cells.parsers()[key]
    expected = []
    for raw in MESSY[key]:
        try:
            expected.append((parser(raw), None))
        except ValueError as exc:
            expected.append((None, str(exc)))
    values, errors = column(MESSY[key])
    assert [(None, errors[i]) if i in errors else (v, None) for i, v in enumerate(values)] == expected
    assert all(values[i] is None for i in errors)
    assert any(error for _, error in expected) and any(value for value, _ in expected)  # both kinds tested
    assert batch.masked_ids == cells.masked_ids  # the exported roster's masked numbers counted alike


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024/3/5", date(2024, 3, 5)),
        ("2024.12.31", date(2024, 12, 31)),
        ("2024-3-5", date(2024, 3, 5)),
        ("2024年3月5日", date(2024, 3, 5)),
        ("2024年3月5", date(2024, 3, 5)),
        ("2024/3/5日", date(2024, 3, 5)),
        ("2024 年 3 月 5 日", date(2024, 3, 5)),
    ],
)
def test_plain_dates_read_as_before(text, expected):
    assert normalise.parse_date(text) == expected


@pytest.mark.parametrize("text", ["2024/2/30", "2023年2月29日", "2024.13.1"])
def test_a_plain_date_that_does_not_exist_says_so(text):
    with pytest.raises(ValueError, match=f"日期“{text}”不存在"):
        normalise.parse_date(text)


# Whole files -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def large_file(demo_db):
    rows = member_rows(demo_db, LARGE, seed=LARGE)
    return rows, excel_xlsx_bytes(HEADERS, rows)  # as the benchmark imports it


def test_a_file_saved_as_excel_saves_it_reads_and_checks_as_the_openpyxl_file(demo_db):
    """The benchmark's file (shared strings, empty cells left out) gives the import the cells and the
    records that the same rows written by openpyxl (inline strings) give, Markdown, markup and
    entities in the texts included; openpyxl reads it too."""
    import io

    from openpyxl import load_workbook

    rows = member_rows(demo_db, 600, seed=3)
    rows[1][HEADERS.index("专长")] = "**抢险** <b>&amp;</b> & < >"
    rows[2][HEADERS.index("姓名")] = " 张 三 "
    shared, inline = excel_xlsx_bytes(HEADERS, rows), xlsx_bytes(HEADERS, rows)
    assert imports.read_rows("a.xlsx", shared) == imports.read_rows("a.xlsx", inline)
    book = load_workbook(io.BytesIO(shared), read_only=True)
    assert book.sheetnames == ["队员"]
    cells = [[("" if c is None else c) for c in r] for r in book["队员"].iter_rows(values_only=True)]
    assert cells[0] == HEADERS and cells[2][HEADERS.index("专长")] == "**抢险** <b>&amp;</b> & < >"
    admin = user_row(demo_db, "admin")
    checked = [imports.run_import(demo_db, admin, "members", "a.xlsx", data, dry_run=True) for data in (shared, inline)]
    assert checked[0].ok and len(checked[0].records) == 600
    assert list(checked[0].records) == list(checked[1].records)


def test_twenty_thousand_members_import_whole(scratch_db, large_file):
    db = scratch_db
    rows, data = large_file
    before = counts(db)
    top = db.scalar("SELECT max(id) FROM members")
    result = imports.run_import(db, user_row(db, "admin"), "members", "large.xlsx", data)
    assert result.committed and result.written == LARGE, [str(p) for p in result.problems[:5]]
    after = counts(db)
    assert after["members"] == before["members"] + LARGE
    assert after["audit_log"] == before["audit_log"] + 1  # the rule: one audit row for the whole import
    log = db.query_dicts("SELECT action, CAST(after AS VARCHAR) AS after FROM audit_log ORDER BY id DESC LIMIT 1")[0]
    assert log["action"] == "import" and f'"rows": {LARGE}' in log["after"]
    stored = db.query_dicts(
        "SELECT m.*, t.name AS team_name FROM members m JOIN teams t ON t.id = m.team_id WHERE m.id > ? ORDER BY m.id",
        [top],
    )
    assert [m["name"] for m in stored] == [f"队员{i}" for i in range(LARGE)]  # every row, in the file's order
    assert len({m["id_hmac"] for m in stored}) == LARGE
    for i in (0, 1, 5, 7, 12_345, LARGE - 1):  # full-width phones (i % 5 == 0), 否 (i % 7 == 0), each date style
        member, row, number = stored[i], rows[i], synthetic_id(i)
        assert member["team_name"] == row[HEADERS.index("所属队伍")]
        assert privacy.decrypt_id(member["id_cipher"]) == number and member["id_hmac"] == privacy.id_hmac(number)
        assert member["id_masked"] == privacy.mask_id(number) and member["id_masked"].count("*") == 10
        assert member["birth_date"] == privacy.birth_date_from_id(number)
        assert member["gender"] == privacy.gender_from_id(number)
        assert member["phone"] == normalise.mobile(row[HEADERS.index("手机号")]) and member["phone"].isascii()
        assert member["training_passed"] == (i % 7 != 0)
        assert member["training_on"] == (date(2024, 5, 20) if i % 7 else None)
        assert member["joined_on"] == normalise.parse_date(row[HEADERS.index("入队日期")])
        assert member["insurance_until"] == date(2027, 6, 30)
        assert member["role_in_team"] == ("member", "deputy", "member")[i % 3]
    assert not any(synthetic_id(i) in str(db.query("SELECT * FROM members WHERE id > ?", [top])) for i in (0, 99))


def test_one_bad_row_among_twenty_thousand_is_named_and_nothing_is_written(scratch_db, large_file):
    db = scratch_db
    rows, _ = large_file
    rows = [list(r) for r in rows]
    wrong = synthetic_id(12_345)[:17] + ("0" if synthetic_id(12_345)[17] != "0" else "1")
    rows[12_345][HEADERS.index("身份证号")] = wrong
    before = counts(db)
    result = imports.run_import(db, user_row(db, "admin"), "members", "large.xlsx", xlsx_bytes(HEADERS, rows))
    assert not result.committed and result.rows == LARGE
    assert result.problems == [Problem("身份证号", "身份证号校验位错误", 12_347)]  # the header is row 1
    assert counts(db) == before


def test_a_township_operator_cannot_slip_other_townships_rows_into_a_large_file(scratch_db, large_file):
    db = scratch_db
    rows, data = large_file
    operator = user_row(db, "town100")
    before = counts(db)
    result = imports.run_import(db, operator, "members", "large.xlsx", data)
    assert not result.committed and counts(db) == before
    own = {
        name for (name,) in db.query("SELECT name FROM townships WHERE code = ?", [operator.township_code])
    }  # the operator's own township's rows pass the scope rule
    outside = [i for i, r in enumerate(rows) if r[HEADERS.index("所属乡镇")] not in own | {n[:-1] for n in own}]
    scoped = [p for p in result.problems if p.column == "所属乡镇"]
    assert [p.row for p in scoped] == [i + 2 for i in outside]
    assert all("本乡镇" in p.reason for p in scoped)


# The whole-sheet pass (clean_records) against check_row alone, on a file that trips every rule ------
def _messy_sheets(db) -> dict[str, tuple[list[str], list[list]]]:
    rows = [[*r, *[""] * (len(HEADERS) - len(r))] for r in member_rows(db, 400, seed=3)]
    col = {h: HEADERS.index(h) for h in HEADERS}
    registered = db.query_dicts(
        "SELECT m.id_cipher, m.name, t.name AS team, coalesce(tw.name, '') AS township FROM members m"
        " JOIN teams t ON t.id = m.team_id LEFT JOIN townships tw ON tw.code = t.township_code"
        " WHERE m.left_on IS NULL AND m.id_cipher IS NOT NULL ORDER BY m.id LIMIT 2"
    )
    first, second = rows[:200], rows[200:]
    first[3][col["身份证号"]] = first[2][col["身份证号"]]  # the same person twice in the same team
    first[10][col["身份证号"]] = first[4][col["身份证号"]]  # the same person in another team: a warning
    first[11][col["出生日期"]] = "1971.02"  # a year and month beside an ID number (checked)
    first[12][col["出生日期"]] = "1999-01-01"  # a birth date that is not the ID number's
    first[13][col["性别"]] = "男" if privacy.gender_from_id(synthetic_id(13)) == "女" else "女"
    first[14][col["身份证号"]], first[14][col["出生日期"]] = "", "1985.03"  # a year and month alone: a warning
    first[15][col["身份证号"]] = "410325**********2X"  # an exported, masked number
    first[16][col["手机号"]], first[16][col["其他电话"]] = "13812345678 / 0379-6123456", "0379-6234567"
    first[17][col["所属队伍"]] = "没有这支队伍"
    first[18][col["入队日期"]] = "2099-01-01"
    first[19][col["手机号"]] = "12345"
    first[20][col["所属乡镇"]] = "不存在镇"
    first[21][col["队内职务"]] = "总指挥"
    first[22][col["姓名"]] = ""
    first[23][col["身份证号"]] = synthetic_id(23)[:17] + ("0" if synthetic_id(23)[17] != "0" else "1")
    first[24][col["手机号"]], first[24][col["其他电话"]] = "13812345678 / 0379-6123456", ""  # two in one cell
    first[25][col["出生日期"]], first[25][col["身份证号"]] = "2099-01-01", ""  # born in the future
    first[26][col["性别"]], first[26][col["身份证号"]] = "女", ""
    for row, member in zip(first[30:32], registered):  # people already in that team: refused
        row[col["身份证号"]] = privacy.decrypt_id(member["id_cipher"])
        row[col["所属队伍"]], row[col["所属乡镇"]] = member["team"], member["township"]
    first[32][col["身份证号"]] = privacy.decrypt_id(registered[0]["id_cipher"])  # registered elsewhere: a warning
    second[0][col["身份证号"]] = first[40][col["身份证号"]]  # a person of the first sheet again
    second[1][col["身份证号"]] = first[41][col["身份证号"]]
    second[1][col["所属队伍"]], second[1][col["所属乡镇"]] = first[41][col["所属队伍"]], first[41][col["所属乡镇"]]
    return {"一队": (HEADERS, first), "二队": (HEADERS, second)}


def test_the_whole_sheet_pass_reports_what_row_by_row_checking_reports(scratch_db, monkeypatch):
    from emergency.demo.samples import workbook_bytes

    db = scratch_db
    data = workbook_bytes(_messy_sheets(db))
    admin = user_row(db, "admin")
    quick = imports.run_import(db, admin, "members", "messy.xlsx", data, dry_run=True)
    monkeypatch.setattr(imports._MemberRows, "quick", False)
    slow = imports.run_import(db, admin, "members", "messy.xlsx", data, dry_run=True)
    assert quick.problems == slow.problems and quick.warnings == slow.warnings and quick.notes == slow.notes
    assert quick.records == slow.records and quick.rows == slow.rows == 400
    reasons = " ".join(p.reason for p in quick.problems)
    for words in ("同一队伍的同一人", "不符", "找不到", "不能晚于今天", "已在该队伍中登记", "校验位", "其他电话"):
        assert words in reasons, words
    assert len(quick.warnings) >= 4 and any("1985年3月1日" in w.reason for w in quick.warnings)
    assert any(p.column.startswith("二队 · ") and "一队 · 第" in p.reason for p in quick.problems)


# Teams found by a query over the names the file gives (not an index of every team) -------------
TEAM_NAMES = [
    "城关镇（演示）队",
    "城关镇(演示) 队",
    "Ｌｉ　队",
    "a\tb\xa0c\u2003d\u3000e",
    "救援１队",
    "（ ）",
    "普通队",
    "a]b^-[\\",
]


@pytest.mark.parametrize("name", TEAM_NAMES)
def test_a_team_names_key_is_what_it_was_and_sql_reads_every_name_that_is_not_its_own_key(demo_db, name):
    assert imports._name_key(name) == normalise._loose(name)
    not_plain = demo_db.scalar("SELECT regexp_matches(?, ?)", [name, imports._SQL_NOT_PLAIN])
    assert not_plain == (imports._name_key(name) != name)


def test_the_whitespace_deleted_is_every_character_python_calls_whitespace():
    assert set(imports.WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


def test_members_find_their_teams_whatever_the_width_of_brackets_digits_and_spaces(scratch_db):
    db = scratch_db
    admin = user_row(db, "admin")
    team, township = db.query(
        "SELECT t.name, tw.name FROM teams t JOIN townships tw ON tw.code = t.township_code"
        " WHERE t.disbanded_on IS NULL AND t.name LIKE '%（演示）%' ORDER BY t.id LIMIT 1"
    )[0]
    typed = team.replace("（", "(").replace("）", ") ").replace("嵩县", "嵩　县")
    twins = [
        n for (n,) in db.query("SELECT name FROM teams WHERE disbanded_on IS NULL GROUP BY name HAVING count(*) > 1")
    ]
    rows = [
        [
            "张三",
            township,
            typed,
            synthetic_id(70_001),
            "",
            "",
            "13812345678",
            "队员",
            "",
            "是",
            "",
            "",
            "2024-03-05",
            "",
        ],
        [
            "李四",
            township,
            team,
            synthetic_id(70_002),
            "",
            "",
            "13812345679",
            "队员",
            "",
            "是",
            "",
            "",
            "2024-03-05",
            "",
        ],
    ]
    result = imports.run_import(db, admin, "members", "t.xlsx", xlsx_bytes(HEADERS, rows), dry_run=True)
    assert result.ok, [str(p) for p in result.problems]
    assert {r["team_name"] for r in result.records} == {team}
    # without a township column, a name two teams share is refused as ambiguous, naming the count
    headers = [h for h in HEADERS if h != "所属乡镇"]
    alone = [[c for j, c in enumerate(r) if j != 1] for r in rows]
    alone[1][1] = twins[0].replace("（", "(").replace("）", ")")
    result = imports.run_import(db, admin, "members", "t.xlsx", xlsx_bytes(headers, alone), dry_run=True)
    assert result.problems == [
        Problem(
            "所属队伍",
            f"“{alone[1][1]}”有 2 支同名队伍，无法确定是哪一支（请填写所属乡镇，或先在“救援队伍”页面为其改名）",
            3,
        )
    ]
    assert result.records[0]["team_name"] == team


# The column-wise pass (issue 19, item 5: records kept as columns, plain cells found a column at a time) ----
def test_the_texts_clean_text_changes_are_found_by_one_search_over_the_column():
    spaces = sorted(imports.WHITESPACE)
    texts = ["队员1", "", "a b", "a  b", " a", "a ", "Ｌｉ", "１", "甲\x00乙", "x" * 60, "abc"]
    texts += [f"张{s}三" for s in spaces] + [f"{s}张" for s in spaces] + [f"张{s}" for s in spaces]
    texts += [chr(c) for c in range(0xFF00, 0xFF60)]
    expected = {i for i, t in enumerate(texts) if t != clean_text(t)}
    assert imports._unclean(texts) == expected and expected  # NUL inside a text: one at a time
    without_nul = [t for t in texts if "\x00" not in t]
    assert imports._unclean(without_nul) == {i for i, t in enumerate(without_nul) if t != clean_text(t)}
    assert imports._unclean(["甲", "乙"]) == set() and imports._unclean([]) == set()


MIXED_CELLS = [1, 1.0, True, "1", None, "", "  ", "是", "否", 0, False, 0.0, "2024-03-05", 45000, 45000.0, 2.5]
MIXED_CELLS += [date(2024, 3, 5), "2024年3月5日", "城关镇", "城关", "410303197001010010", "队员", "副队长", "x"]


@pytest.mark.parametrize("cells", [MIXED_CELLS, ["抢险救援", "通信保障", None, "抢险救援"], [None] * 5])
def test_a_column_parsed_once_per_distinct_cell_gives_each_cell_what_its_parser_gives(checker, cells):
    rows, _ = checker
    parsers = rows.parsers()
    rows.positions = {c.key: i for i, c in enumerate(imports.MEMBER_COLUMNS)}
    rows.headers = [c.header for c in imports.MEMBER_COLUMNS]
    numbers = list(range(2, 2 + len(cells)))
    for i, column in enumerate(imports.MEMBER_COLUMNS):
        batch = rows.batch_parsers().get(column.key)
        entry = (column.key, column.header, i, parsers[column.key], {}, None)
        table = imports._Columns([[*([None] * i), cell] for cell in cells])
        before = len(rows.problems)
        values = rows._parse_column(table, numbers, entry, batch)
        expected = []
        for cell in cells:
            try:
                expected.append((parsers[column.key](cell), None))
            except ValueError as exc:
                expected.append((None, str(exc)))
        assert [(type(v), v) for v in values] == [(type(v), v) for v, _ in expected], column.key
        reported = [(p.row, p.reason) for p in rows.problems[before:]]
        assert reported == [(n, e) for n, (_, e) in zip(numbers, expected) if e], column.key


def _planted(db, n: int):
    """A one-sheet roster of n rows with a problem planted at chosen rows (list index -> what the
    report says: header, reason), and rows the import reads in a changed but valid form."""
    rows = [list(r) for r in member_rows(db, n, seed=n)]
    col = {h: HEADERS.index(h) for h in HEADERS}
    wrong_check = synthetic_id(500)[:17] + ("0" if synthetic_id(500)[17] != "0" else "1")
    planted = {
        200: ("姓名", "不能为空", ""),
        300: ("姓名", "内容过长（51 字，最多 50 字）", "甲" * 51),
        500: ("身份证号", "身份证号校验位错误", wrong_check),
        600: ("入队日期", "不能晚于今天", "2099-01-01"),
        1500: ("已通过培训", "应填“是”或“否”，不能是“2.5”", 2.5),
        n - 1: ("保险到期", None, "2027-02-30"),
    }
    for i, (header, _, cell) in planted.items():
        rows[i][col[header]] = cell
    rows[400][col["手机号"]] = "12345"
    rows[700][col["所属队伍"]] = "没有这支队伍"
    rows[800][col["身份证号"]] = rows[2][col["身份证号"]]  # the same person in the same team as row 4
    rows[800][col["所属队伍"]], rows[800][col["所属乡镇"]] = rows[2][col["所属队伍"]], rows[2][col["所属乡镇"]]
    rows[1400][col["性别"]] = "男" if privacy.gender_from_id(synthetic_id(1400)) == "女" else "女"
    # Valid, read in a changed form: spaces and full-width letters in a name, 1 / 1.0 / True for 是
    rows[100][col["姓名"]], rows[101][col["姓名"]], rows[102][col["姓名"]] = "张  三", " Ｌｉ　Ｓｉ ", "王\u3000五"
    rows[900][col["已通过培训"]], rows[901][col["已通过培训"]], rows[902][col["已通过培训"]] = 1, 1.0, True
    rows[1100] = [""] * len(HEADERS)  # a blank row: skipped, the rows below keep their numbers
    rows.append(["合计", *[""] * (len(HEADERS) - 1)])
    return rows, planted


def test_a_large_mixed_file_names_every_planted_problem_at_its_row_and_writes_nothing(scratch_db, monkeypatch):
    db = scratch_db
    admin = user_row(db, "admin")
    rows, planted = _planted(db, 6000)
    data = xlsx_bytes(HEADERS, rows)
    before = counts(db)
    result = imports.run_import(db, admin, "members", "mixed.xlsx", data)
    assert not result.committed and counts(db) == before  # nothing half-written
    assert result.rows == 6000 - 1 and "已忽略 1 行合计、小计或签名行" in result.notes
    gender = "女" if rows[1400][HEADERS.index("性别")] == "男" else "男"
    try:
        normalise.phones("12345")
    except ValueError as exc:
        phone_reason = str(exc)
    expected = [Problem(h, r, i + 2) for i, (h, r, _) in planted.items() if r] + [
        Problem("手机号", phone_reason, 402),
        Problem("所属队伍", "找不到", 702),
        Problem("身份证号", "与第4行是同一队伍的同一人", 802),
        Problem("性别", f"与身份证号中的性别（{gender}）不符", 1402),
        Problem("保险到期", "2027-02-30", 6001),
    ]
    got = sorted(result.problems, key=lambda p: (p.row, p.column))
    want = sorted(expected, key=lambda p: (p.row, p.column))
    assert [(p.row, p.column) for p in got] == [(p.row, p.column) for p in want]
    for g, w in zip(got, want):
        assert w.reason in g.reason, (g, w)
    monkeypatch.setattr(imports._MemberRows, "quick", False)
    slow = imports.run_import(db, admin, "members", "mixed.xlsx", data, dry_run=True)
    assert slow.problems == result.problems and slow.warnings == result.warnings and slow.notes == result.notes
    assert slow.records == result.records


def test_a_large_clean_file_is_stored_as_check_row_would_store_it(scratch_db, monkeypatch):
    db = scratch_db
    admin = user_row(db, "admin")
    rows, planted = _planted(db, 6000)
    fresh = member_rows(db, 6000, seed=6000)
    for i in [*planted, 400, 700, 800, 1400]:
        rows[i] = list(fresh[i])
    data = xlsx_bytes(HEADERS, rows)
    quick = imports.run_import(db, admin, "members", "clean.xlsx", data, dry_run=True)
    monkeypatch.setattr(imports._MemberRows, "quick", False)
    slow = imports.run_import(db, admin, "members", "clean.xlsx", data, dry_run=True)
    assert quick.ok and slow.ok and quick.records == slow.records and quick.warnings == slow.warnings
    assert (
        len(quick.records) == 5999 and quick.records[-1] == slow.records[-1] and quick.records[:3] == slow.records[:3]
    )
    assert isinstance(quick.records, imports.Records) and quick.added is quick.records
    monkeypatch.setattr(imports._MemberRows, "quick", True)
    top = db.scalar("SELECT max(id) FROM members")
    result = imports.run_import(db, admin, "members", "clean.xlsx", data)
    assert result.committed and result.written == 5999
    stored = db.query_dicts("SELECT * FROM members WHERE id > ? ORDER BY id", [top])
    assert [m["name"] for m in stored[100:103]] == ["张 三", "Li Si", "王 五"]
    assert [m["training_passed"] for m in stored[900:903]] == [True, True, True]
    assert [m["name"] for m in stored[1099:1101]] == ["队员1099", "队员1101"]  # the blank row skipped
    for record, member in zip(slow.records, stored):  # the row-by-row records, field by field
        for key in ("name", "gender", "birth_date", "phone", "role_in_team", "specialty", "training_passed"):
            assert member[key] == record[key], key
        assert member["team_id"] == record["team_id"] and member["joined_on"] == record["joined_on"]
        assert member["id_hmac"] == record.get("id_hmac") and member["id_masked"] == privacy.mask_id(
            record["id_number"]
        )
        assert privacy.decrypt_id(member["id_cipher"]) == record["id_number"]


def test_new_ids_are_the_sequences_next_values_consecutive_or_not():
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE SEQUENCE seq_plain")
    con.execute("CREATE SEQUENCE seq_stepped INCREMENT BY 2")  # never consecutive: the values drawn are fetched
    assert imports._new_ids(con, "plain", 5) == [1, 2, 3, 4, 5]
    assert imports._new_ids(con, "plain", 3) == [6, 7, 8] and imports._new_ids(con, "plain", 0) == []
    stepped = imports._new_ids(con, "stepped", 4)
    assert stepped == sorted(set(stepped)) and len(stepped) == 4 and all(i % 2 for i in stepped)
    assert con.execute("SELECT nextval('seq_stepped')").fetchall()[0][0] > stepped[-1]
