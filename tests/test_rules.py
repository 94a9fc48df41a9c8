from datetime import date

import pytest

from emergency import rules


@pytest.mark.parametrize(
    "day, months, expected",
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 3, 5), 36, date(2027, 3, 5)),
        (date(2024, 11, 30), 6, date(2025, 5, 30)),
        (date(2024, 12, 15), 1, date(2025, 1, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_add_months(day, months, expected):
    assert rules.add_months(day, months) == expected


@pytest.mark.parametrize(
    "due, today, expected",
    [
        (None, date(2024, 1, 1), rules.OVERDUE),  # nothing to count from: due at once
        (date(2024, 1, 1), date(2024, 1, 2), rules.OVERDUE),
        (date(2024, 1, 1), date(2024, 1, 1), rules.DUE_SOON),
        (date(2024, 3, 31), date(2024, 1, 1), rules.DUE_SOON),  # exactly 90 days ahead
        (date(2024, 4, 1), date(2024, 1, 1), rules.ON_TIME),  # 91 days ahead
    ],
)
def test_deadline_status_boundaries(due, today, expected):
    assert rules.deadline_status(due, today) == expected


def test_due_date():
    assert rules.due_date(None, 36) is None
    assert rules.due_date(date(2021, 6, 1), 36) == date(2024, 6, 1)


def test_every_default_rule_names_its_source():
    assert all(r["source"] and r["label"] for r in rules.DEFAULT_RULES)


def test_rule_period_names_the_season_the_working_days_or_the_months():
    from emergency.rules import rule_period

    rule = {"season_start": None, "season_end": None, "working_days": None, "interval_months": None}
    assert rule_period({**rule, "season_start": "11-01", "season_end": "05-31"}) == "11-01至05-31"
    assert rule_period({**rule, "working_days": 20}) == "20个工作日内"
    assert rule_period({**rule, "interval_months": 24}) == "每24个月"
    assert rule_period(rule) == "—"  # a rule that sets none: never "每None个月"
