"""Every page as a township operator (town100), in a real browser: Chinese only, no raw values, no nulls in tables,
no traceback in the server log (tests/e2e/sweep.py says what is checked)."""

from tests.e2e.sweep import check_role


def test_every_page_reads_chinese_as_township(sweep_server, page):
    check_role(sweep_server, page, "township")
