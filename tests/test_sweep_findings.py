"""The browser sweep's check of a page's text (tests/e2e/sweep.findings) on its own: what it lets
through and what it reports."""

import pytest

from tests.e2e.sweep import findings


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("共 12 场次", False),
        ("参演 54.5%", False),
        ("2026-11-11 18:06", False),
        ("下载 Excel 或 Word", False),
        ("Choose options", True),
        ("应答率 54.500000", True),
        ("最近演练 None", True),
        ("nan", True),
        ("no coordinate in any source found", True),
        ("Limit 20MB per file", True),
    ],
)
def test_the_sweep_check_itself(text, bad):
    assert bool(findings(text)) is bad, findings(text)
