"""AppTest: each page runs headless against the demo database."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(demo_db_path, monkeypatch):
    monkeypatch.setenv("EMERGENCY_DB", str(demo_db_path))
    monkeypatch.chdir(ROOT)

    def run(page: str | None = None, **query) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, at.exception
        return at

    return run


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [m.label + " " + str(m.value) for m in at.metric]
    parts += [str(e.value) for e in at.title] + [str(e.value) for e in at.subheader]
    return "\n".join(parts)


def test_overview_shows_the_2024_figures(app):
    at = app(year="2024")
    assert at.title[0].value == "总览"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["应急救援队伍（支）"] == "388"
    assert metrics["队员（人）"] == "7,349"
    assert metrics["县乡两级演练（场次）"] == "92"
    assert metrics["非煤矿山等领域参演（人次）"] == "6,967"
    assert "现有应急救援队伍388支、队员7349人" in texts(at)


def test_overview_year_switch_recomputes(app):
    at = app(year="2024")
    at.selectbox[0].set_value(2023).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["县乡两级演练（场次）"] != "92"


def test_places_page_shows_missing_coordinates(app):
    at = app("emergency/ui/places.py")
    assert any("白河镇" in w.value for w in at.warning)
    frame = at.dataframe[0].value
    assert len(frame) == 19 and "坐标缺失" in frame["驻地坐标WGS84"].tolist()


def test_plans_page_lists_the_four_categories(app):
    at = app("emergency/ui/plans_page.py")
    assert [s.value for s in at.subheader] == ["自然灾害", "事故灾难", "公共卫生事件", "社会安全事件"]
    assert sum(len(d.value) for d in at.dataframe) == 40
