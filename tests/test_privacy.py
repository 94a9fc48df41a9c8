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
