from datetime import date

import pytest

from emergency import privacy

VALID = "11010519491231002X"  # the GB 11643 standard's own example


def test_check_character_of_the_standard_example():
    assert privacy.id_check_char(VALID[:17]) == "X"
    assert privacy.validate_id_number(VALID) is None
    assert privacy.birth_date_from_id(VALID) == date(1949, 12, 31)
    assert privacy.gender_from_id(VALID) == "女"


@pytest.mark.parametrize(
    "value, reason",
    [
        ("11010519491231002", "18位"),
        ("110105194912310021", "校验位"),
        ("110105194913310024", "出生日期"),
        ("11010519491231002x", "18位"),
        ("", "18位"),
    ],
)
def test_invalid_id_numbers_say_why(value, reason):
    assert reason in privacy.validate_id_number(value)


def test_encryption_round_trip_and_hmac():
    token = privacy.encrypt_id(VALID)
    assert VALID not in token and privacy.decrypt_id(token) == VALID
    assert privacy.id_hmac(VALID) == privacy.id_hmac(VALID) != privacy.id_hmac("110105194912310029")


def test_masks():
    assert privacy.mask_phone("13812341234") == "138****1234"
    assert privacy.mask_id(VALID) == "110105**********2X"
    assert privacy.validate_mobile("13812341234") is None
    assert privacy.validate_mobile("12812341234")


def test_database_file_holds_no_id_number_in_clear(demo_db, demo_db_path):
    demo_db.cursor().execute("CHECKPOINT")
    raw = demo_db_path.read_bytes()
    numbers = [privacy.decrypt_id(c) for (c,) in demo_db.query("SELECT id_cipher FROM members LIMIT 300")]
    assert numbers and not any(n.encode() in raw for n in numbers)
    assert not any(n[:14].encode() in raw for n in numbers)  # not even region + birth date + sequence


def _with_check(first17: str) -> str:
    return first17 + privacy.id_check_char(first17)


# Numbers of every kind validate_id_number tells apart: valid, leap days, impossible and future dates,
# before 1900, wrong check characters, a lower-case x, full-width digits, a trailing newline, too short.
ID_CASES = [
    VALID,
    _with_check("41030320000229123"),
    _with_check("41030319000229123"),
    _with_check("41030320240230123"),
    _with_check("41030318991231123"),
    _with_check("41030300000101123"),
    _with_check("41030399991231123"),
    _with_check("41030320261130123"),
    _with_check("41030319991301123"),
    _with_check("41030319990001123"),
    _with_check("41030319990100123"),
    "110105194912310021",
    "110105194913310024",
    "11010519491231002x",
    "１１０１０５19491231002X",
    "11010519491231002X\n",
    "11010519491231002",
    "",
] + [VALID[:17] + c for c in "0123456789X"]


def test_batch_id_check_gives_each_numbers_own_reason():
    """id_number_problems (an import's whole column at once) says exactly what validate_id_number says."""
    today = date(2026, 12, 1)
    assert privacy.id_number_problems(ID_CASES, today) == [privacy.validate_id_number(v, today) for v in ID_CASES]
    reasons = set(privacy.id_number_problems(ID_CASES, today))
    assert {None, "身份证号中的出生日期无效", "身份证号中的出生日期不合理", "身份证号校验位错误"} <= reasons
    assert privacy.id_number_problems([_with_check("41030320261202123")], date(2026, 12, 1)) == [
        "身份证号中的出生日期不合理"  # born tomorrow
    ]


def test_import_hasher_and_encrypter_match_the_single_number_functions():
    hasher = privacy.id_hasher()
    numbers = [VALID, _with_check("41030320000229123"), "410303199001011234"]
    assert [hasher(n) for n in numbers] == [privacy.id_hmac(n) for n in numbers]
    tokens = privacy.encrypt_ids([numbers[0], None, *numbers[1:], ""])
    assert tokens[1] is None and tokens[4] is None  # an empty number has no cipher
    assert [privacy.decrypt_id(t) for t in tokens if t] == numbers
    assert len({t[:16] for t in tokens if t}) == 3  # a fresh nonce for every number
