"""A drill's archive on its record: the files by kind, what its level still lacks, the upload form and
the generated summary report (演练总结报告)."""

from __future__ import annotations

from functools import partial

import streamlit as st

from emergency import archive, drills
from emergency.enums import DRILL_LEVELS
from emergency.hygiene import UPLOAD_TYPES
from emergency.hygiene import escape_markdown as md
from emergency.ui import record_actions
from emergency.ui.widgets import label_of


def _file(db, attachment_id: int) -> bytes:
    return drills.attachment_bytes(db, attachment_id)[1]


def _suffixes(kind: str) -> list[str]:
    return [s.lstrip(".") for s in UPLOAD_TYPES[archive.KINDS[kind][1]]]


def draw(db, user, detail: dict, may_write: bool) -> None:
    drill_id = detail["id"]
    status = archive.archive_status(db, drill_id)
    st.markdown("**演练档案**")
    if status["missing"]:
        st.warning(
            f"档案不完整：{DRILL_LEVELS.get(detail['level'], '')}须有{archive.labels(status['required'])}，尚缺{archive.labels(status['missing'])}。"
        )
    elif status["required"]:
        st.success(f"档案齐全（{archive.labels(status['required'])}）。")
    for att in detail["attachments"]:
        a, b = st.columns([3, 1])
        label = archive.KIND_LABELS.get(att["kind"], att["kind"])
        a.markdown(f"{label}：{md(att['original_name'])}（{max(1, att['size_bytes'] // 1024)} KB）")
        if not drills.attachment_exists(db, att):
            b.error("文件缺失")
            continue
        b.download_button(
            "下载",
            data=partial(_file, db, att["id"]),
            file_name=att["original_name"],
            key=f"att{att['id']}",
            on_click="ignore",
        )
        if att["kind"] in ("photo", "sign_in") and att["original_name"].lower().endswith((".jpg", ".jpeg", ".png")):
            st.image(drills.attachment_bytes(db, att["id"])[1], width=320)
    if not detail["attachments"]:
        st.caption("暂无附件")
    st.download_button(
        "生成演练总结报告（Word）",
        data=lambda: archive.summary_docx(db, drill_id),
        file_name=f"演练总结报告_{drill_id}.docx",
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        on_click="ignore",
        key=f"summary{drill_id}",
    )
    if not may_write:
        return
    kinds = list(archive.KINDS)
    default = kinds.index(status["missing"][0]) if status["missing"] else 0
    kind = st.selectbox("附件类别", kinds, index=default, format_func=label_of(archive.KIND_LABELS), key="attach_kind")
    limit = archive.KINDS[kind][2]
    record_actions.saved("attach")
    with record_actions.once_form("attach", clear_on_submit=True):
        upload = st.file_uploader(
            f"上传{archive.KIND_LABELS[kind]}（{' / '.join(_suffixes(kind))}，{limit} MB 以内）", type=_suffixes(kind)
        )
        if st.form_submit_button("上传") and upload is not None:
            record_actions.submit_once(
                "attach",
                lambda: drills.add_attachment(db, user, drill_id, upload.name, upload.getvalue(), kind),
                "已上传附件。",
            )
