"""A form saves once even when the second click of a double click arrives while the first
click's run is writing. Streamlit stops a run at its next element or session-state access once a new
run is asked for; the bookkeeping after the write (the form's new version) must not be lost there, or
the second click's run saves the same values again. The second click is asked for here, inside the
write, exactly as the server asks for it when the browser sends it: with the form's widget states,
its 保存 trigger on. An edit form's second click is checked against the record as the first saved
it, not refused as someone else's change."""

from streamlit.testing.v1 import AppTest


def _create_form_clicked_twice():
    import streamlit as st

    from emergency.ui import record_actions
    from tests.helpers import ask_for_the_second_click

    made = st.session_state.setdefault("made", [])
    record_actions.saved("thing")
    with st.form(record_actions.form_key("thing")):
        name = st.text_input("名称", key=f"name_{record_actions.version('thing')}")
        if st.form_submit_button("保存"):

            def create():
                made.append(name)
                if len(made) == 1:  # the second click, as the browser sends it, during the first one's write
                    ask_for_the_second_click()
                return len(made)

            record_actions.save_and_clear("thing", create, "已保存")


def _drill_form_clicked_twice():
    import streamlit as st

    from emergency import drills
    from emergency.ui import record_actions
    from tests.helpers import ask_for_the_second_click

    made = st.session_state.setdefault("made", [])

    def save(values, duplicate_ok):
        if made and not duplicate_ok:  # what create_drill refuses: the same title on the same day
            raise drills.PossibleDuplicate([{"id": 1, "title": made[0], "held_on": "2026-12-03"}])
        made.append(values["title"])
        if len(made) == 1:
            ask_for_the_second_click()
        return len(made)

    record_actions.saved("log")
    record_actions.duplicate_prompt("log", save, "已登记演练")
    v = record_actions.version("log")
    with st.form(f"log_{v}"):
        title = st.text_input("演练名称", key=f"title_{v}")
        if st.form_submit_button("保存"):
            record_actions.save_new_drill("log", save, {"title": title}, "已登记演练")


def _click_save(script) -> AppTest:
    at = AppTest.from_function(script, default_timeout=30)
    at.run()
    at.text_input[0].input("城关镇防汛演练")
    at.button[0].click()
    return at.run()


def test_a_second_click_during_the_write_meets_the_empty_form():
    at = _click_save(_create_form_clicked_twice)
    assert at.session_state["made"] == ["城关镇防汛演练"]
    assert [s.value for s in at.success] == ["已保存（编号 1）"]
    assert at.text_input[0].value == ""


def test_a_second_click_during_a_drills_write_is_not_taken_for_a_near_duplicate():
    at = _click_save(_drill_form_clicked_twice)
    assert at.session_state["made"] == ["城关镇防汛演练"]
    assert [s.value for s in at.success] == ["已登记演练（第 1 号）"]
    assert not at.warning, [w.value for w in at.warning]  # no "可能重复，仍要保存？"
    assert at.text_input[0].value == ""


def _edit_form_clicked_twice():
    import streamlit as st

    from emergency.stale import StaleRecord
    from emergency.ui.widgets import drawn, write_feedback
    from tests.helpers import ask_for_the_second_click

    stored = st.session_state.setdefault("stored", {"id": 1, "name": "旧名称"})  # the record in the database
    seen = drawn("thing", dict(stored))
    with st.form("edit"):
        name = st.text_input("名称", stored["name"])
        if st.form_submit_button("保存修改"):

            def update():
                if seen != stored:  # what the services do with `expected`
                    raise StaleRecord("things", 1, [], "该记录已被他人修改")
                first = stored["name"] != name
                stored["name"] = name
                if first:  # the second click, during the first one's write
                    ask_for_the_second_click()
                return dict(stored)

            write_feedback(update, "已保存。", "thing")


def test_a_second_click_during_an_edits_write_is_not_refused_as_someone_elses_change():
    at = AppTest.from_function(_edit_form_clicked_twice, default_timeout=30)
    at.run()
    at.text_input[0].input("新名称")
    at.button[0].click()
    at.run()
    assert at.session_state["stored"]["name"] == "新名称"
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["已保存。"]
