"""Shared drawing of the resources pages: coordinates as text, a registry's create form, its
import (template, preview of every bad row, all or nothing) and export."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from emergency import mapview, regions
from emergency.auth import User
from emergency.db import Database
from emergency.hygiene import escape_markdown as md
from emergency.resources import registry, transfer
from emergency.ui import record_actions
from emergency.ui.folium_view import ensure_registered
from emergency.ui.widgets import (
    draw_frame,
    drawn,
    kept,
    label_of,
    lazy_expander,
    show_table,
    township_options,
    write_feedback,
)


def coordinate_text(frame: pd.DataFrame) -> pd.Series:
    """'112.09047, 34.14826' or '—' (never NaN or None on screen)."""
    if frame.empty:
        return pd.Series([], dtype=object)
    return frame.apply(
        lambda r: "—" if pd.isna(r["lon"]) or pd.isna(r["lat"]) else f"{r['lon']:.5f}, {r['lat']:.5f}", axis=1
    )


def registry_form(db: Database, user: User, key: str) -> None:
    """登记: a create form for a registry, every field of its description (registry.Registry)."""
    spec = registry.registry(key)
    if user.role == "viewer":
        return
    box = lazy_expander(f"登记{spec.what}", f"create_{key}_open")  # its form costs nothing while closed
    with box:
        if box.open:
            slot = f"create_{key}"
            record_actions.saved(slot)  # what the last save made, with its number
            form = record_actions.form_key(slot)  # new after each save: the form is drawn empty
            if spec.coordinates:
                coordinate_picker(db, form, f"{form}_lon", f"{form}_lat")
            _create_form(db, user, key, spec, _towns_for(db, user, spec), form)


def _towns_for(db: Database, user: User, spec: registry.Registry) -> dict[str, str]:
    """The townships a record of this registry may be put in by this user (a township operator: their
    own; "" for county level where the registry allows it)."""
    towns = township_options(db, include_all=False)
    if user.role == "township":
        return {n: c for n, c in towns.items() if c == user.township_code}
    if not spec.township_required:
        return {"县级（不属于乡镇）": "", **towns}
    return towns


def _create_form(db: Database, user: User, key: str, spec: registry.Registry, towns: dict, form: str) -> None:
    with st.form(form):
        values = _record_fields(db, user, spec, towns, None, form)
        if st.form_submit_button(f"保存{spec.what}"):
            record_actions.save_and_clear(
                f"create_{key}", lambda: registry.create(db, user, key, values), f"已登记{spec.what}"
            )


def registry_edit(db: Database, user: User, key: str, frame: pd.DataFrame) -> None:
    """修改: one of the records listed on this page that the user may change, every field filled in
    from the record (a phone only when retyped: the form never shows it); saved against the record
    as the form drew it (someone else's save in between is refused, not overwritten)."""
    spec = registry.registry(key)
    if user.role == "viewer" or frame.empty:
        return
    # user.may_write per row: an admin any, a township operator their own township's
    writable = frame if user.is_admin else frame[frame["township_code"] == user.township_code]
    if writable.empty:
        return
    box = lazy_expander(f"修改{spec.what}", f"edit_{key}_open")  # the record is read only while open
    with box:
        if box.open:
            editable = {  # by id: a record renamed by this very form stays chosen
                int(i): f"{i} {name}" for i, name in zip(writable["id"], writable["name"], strict=True)
            }
            _edit_form(db, user, key, spec, editable)


def _edit_form(db: Database, user: User, key: str, spec: registry.Registry, editable: dict[int, str]) -> None:
    towns = _towns_for(db, user, spec)
    ids: list[int] = list(editable)
    chosen = int(st.selectbox(f"要修改的{spec.what}", ids, format_func=lambda i: editable[i], key=f"edit_{key}_pick"))
    record = registry.record_of(db, key, chosen)
    seen = drawn(f"{key}_edit", record)
    slot = f"edit_{key}_{chosen}"
    if spec.coordinates:
        st.session_state.setdefault(f"{slot}_lon", record["lon"])
        st.session_state.setdefault(f"{slot}_lat", record["lat"])
        coordinate_picker(db, slot, f"{slot}_lon", f"{slot}_lat")
    with st.form(slot):
        values = _record_fields(db, user, spec, towns, record, slot)
        if st.form_submit_button("保存修改"):
            changes = {k: v for k, v in values.items() if not (k in spec.phones and not v)}
            write_feedback(
                lambda: registry.update(db, user, key, chosen, changes, expected=seen), "已保存。", f"{key}_edit"
            )


def _record_fields(
    db: Database, user: User, spec: registry.Registry, towns: dict, current: dict | None, slot: str
) -> dict:
    """The inputs of every field of a registry, inside the caller's form: empty for a new record,
    the record's values when `current` is given (phones excepted: typed again or left as they are)."""
    current = current or {}

    def index(options: list, value) -> int:
        return options.index(value) if value in options else 0

    values: dict = {}
    for name in spec.fields:
        label, now, widget = spec.labels[name], current.get(name), f"{slot}_{name}"
        if name == "township_code":
            codes = list(towns.values())
            values[name] = towns[st.selectbox(label, list(towns), index=index(codes, now or ""), key=widget)] or None
        elif name == "village_code":
            villages: dict[str, str | None] = {"（不填）": None}
            for town in regions.townships(db):
                if user.role != "township" or town["code"] == user.township_code:
                    for code, vname in regions.village_names(db, town["code"]).items():
                        villages[f"{town['name']} / {vname}"] = code
            chosen = st.selectbox(label, list(villages), index=index(list(villages.values()), now), key=widget)
            values[name] = villages[chosen]
        elif name in spec.enums:
            mapping = spec.enums[name]
            values[name] = st.selectbox(
                label, list(mapping), index=index(list(mapping), now), format_func=label_of(mapping), key=widget
            )
        elif name in spec.flags:
            values[name] = st.checkbox(label, value=True if now is None else bool(now), key=widget)
        elif name == "shelter_id":
            shelters = {"（不填）": None, **registry.options(db, "shelters")}
            chosen = st.selectbox(label, list(shelters), index=index(list(shelters.values()), now), key=widget)
            values[name] = shelters[chosen]
        elif name in ("lon", "lat"):  # the coordinate picker above fills these keys
            values[name] = st.number_input(f"{label}（WGS-84，不知道就不填）", value=None, format="%.6f", key=widget)
        elif name in (*spec.integers, *spec.numbers):
            values[name] = st.number_input(
                label, min_value=0, value=None if now is None else int(now), step=1, key=widget
            )
        elif name in spec.phones and current:
            values[name] = st.text_input(f"{label}（留空不修改）", key=widget)
        else:
            values[name] = st.text_input(label, value=now or "", key=widget)
    return values


def coordinate_picker(db: Database, slot: str, lon_key: str, lat_key: str) -> None:
    """在地图上点选坐标: an offline map of the county (mapview.picker_map); a click fills the form's
    经度 / 纬度 inputs (session keys lon_key, lat_key; call before the form draws them). Never a
    guess: without a click the inputs keep what was typed, or stay empty."""
    st.session_state.setdefault(lon_key, None)
    st.session_state.setdefault(lat_key, None)
    if not st.checkbox("在地图上点选坐标", key=f"pick_on_{slot}"):
        return
    lon, lat = st.session_state[lon_key], st.session_state[lat_key]
    marker = (float(lon), float(lat)) if lon is not None and lat is not None else None
    ensure_registered()  # streamlit_folium may have been imported outside a run (the server's preload)
    result = st_folium(
        mapview.picker_map(db),
        feature_group_to_add=mapview.picked_layer(db, marker),
        key=f"pick_map_{slot}",
        height=420,
        use_container_width=True,
        returned_objects=["last_clicked"],
    )
    picked = mapview.picked_coordinate(db, result)
    if picked is not None and st.session_state.get(f"_picked_{slot}") != picked:
        st.session_state[f"_picked_{slot}"] = picked
        st.session_state[lon_key], st.session_state[lat_key] = picked
        st.rerun()  # draw the chosen point on the map
    st.caption(
        "点击地图上的准确位置，经纬度（WGS-84）即填入下方表单；位置不确定就不要点，坐标留空（不做推测）。"
        + (f"已选：{picked[0]:.6f}, {picked[1]:.6f}" if picked else "")
    )


def transfer_section(db: Database, user: User, key: str) -> None:
    """导入 / 导出 of one registry: the template, a checked preview, every bad row named, all or nothing."""
    what = transfer.WHAT[key]
    exported = key in transfer.COLUMNS  # stock, team bases and equipment are imported only
    box = lazy_expander(f"导入、导出{what}" if exported else f"导入{what}", f"transfer_{key}_open")
    with box:
        if box.open:
            _transfer(db, user, key, what, exported)


def _transfer(db: Database, user: User, key: str, what: str, exported: bool) -> None:
    cols = st.columns(2)
    cols[0].download_button(
        f"下载{what}导入模板",
        lambda: transfer.template_xlsx(key),  # built at the click, not on every run
        file_name=f"{what}导入模板.xlsx",
        on_click="ignore",
        key=f"template_{key}",
    )
    if exported:
        cols[1].download_button(
            f"导出{what}（Excel）",
            lambda: transfer.export_xlsx(db, user, key),
            file_name=f"{what}.xlsx",
            on_click="ignore",
            key=f"export_{key}",
        )
    if user.role == "viewer":
        return
    upload = st.file_uploader(f"上传{what}文件（.xlsx 或 .csv）", type=["xlsx", "csv"], key=f"upload_{key}")
    if upload is None:
        return
    result = transfer.run_import(db, user, key, upload.name, upload.getvalue(), dry_run=True)
    if result.problems:
        st.error(f"有 {len(result.bad_rows)} 行有问题，整份文件不会导入：")
        st.dataframe(result.problems_frame(), hide_index=True)
        return
    if not exported:
        st.caption(f"校验通过，将写入以下 {result.rows} 行（最多显示 200 行）：")
        draw_frame(transfer.preview_frame(db, key, result.records))
    if st.button(f"校验通过（{result.rows} 行），确认导入", key=f"commit_{key}"):
        done = transfer.run_import(db, user, key, upload.name, upload.getvalue())
        if done.problems:
            st.error(md("；".join(str(p) for p in done.problems[:5])))
        else:
            st.success(f"已导入 {done.written} 行{what}数据")


def hazard_record(db: Database, user: User, township: str | None) -> None:
    """隐患点详情: one point's shelter, evacuation route, the people the village's 叫应 chain calls for it,
    the drills held for it (and linking one), 作废."""
    from emergency.ui.record_actions import voided_note

    voided_note("hazard_points")
    points = kept(db, ("hazard_options", township), lambda: registry.options(db, "hazards", township))
    if not points:
        return
    box = lazy_expander("隐患点详情（撤离路线、关联演练、作废）", "hazard_record_open")
    with box:
        if box.open:
            _hazard_detail(db, user, points)


def _hazard_detail(db: Database, user: User, points: dict[str, int]) -> None:
    from emergency.ui.record_actions import void_section

    chosen = st.selectbox("隐患点", list(points), key="hazard_record")
    hazard_id = points[chosen]
    detail = registry.hazard_detail(db, user, hazard_id)
    st.markdown(f"**{md(detail['code'])} {md(detail['name'])}**")
    st.markdown(f"撤离路线：{md(detail['evacuation_route'] or '未登记')}")
    st.markdown(f"避险场所：{md(detail['shelter_name'] or '未指定')}")
    called = "；".join(f"{c['role']} {md(c['name'])} {c['phone'] or '无电话'}" for c in detail["called"])
    st.markdown(f"叫应时呼叫：{called or '未登记责任人和监测员'}（随所在村叫应链第一步）")
    if detail["drills"]:
        show_table(
            pd.DataFrame(detail["drills"]).assign(place=lambda f: f["place"].fillna("—")),
            {"held_on": "演练日期", "title": "关联演练", "place": "地点"},
        )
    else:
        st.caption("尚未关联演练。")
    if user.may_write(detail["township_code"]):
        choices = registry.drill_choices(db, detail["township_code"], hazard_id)
        if choices:
            with st.form(f"link_drill_{hazard_id}"):
                drill = st.selectbox("关联本乡镇的演练", list(choices))
                if st.form_submit_button("关联演练"):
                    write_feedback(lambda: registry.link_drill(db, user, hazard_id, choices[drill]), "已关联演练")
        void_section(db, user, "hazard_points", hazard_id, detail["township_code"], chosen)
