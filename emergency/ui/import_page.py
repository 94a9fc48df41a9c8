"""导入: template download, upload, preview with every problem, then an all-or-nothing commit."""

import streamlit as st

from emergency import imports
from emergency.auth import PermissionDenied
from emergency.hygiene import check_upload
from emergency.hygiene import escape_markdown as md
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import draw_frame, page_help, show_table

user = require_login()
db = get_db()
st.title("导入")
page_help("import")
if user.role == "viewer":
    st.error("只读账号不能导入数据。")
    st.stop()

st.caption(
    "从 Excel（.xlsx）或 CSV 导入队伍或队员。全部或全不：文件中任何一行有错，整份文件都不会写入。"
    + ("" if user.is_admin else "乡镇填报员只能导入本乡镇的数据。")
)
kind = st.radio("导入内容", list(imports.KINDS), format_func=lambda k: imports.KINDS[k], horizontal=True)
what = imports.KINDS[kind]
st.download_button(
    f"下载{what}导入模板",
    data=lambda: imports.template_xlsx(db, kind),
    file_name=f"{what}导入模板.xlsx",
    key=f"template_{kind}",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    on_click="ignore",
)
if kind == "members":
    st.caption(
        "队员按“所属乡镇 + 所属队伍”匹配到已登记的队伍；新队伍请先导入队伍。身份证号加密保存，页面只显示脱敏号码。"
    )

upload = st.file_uploader("选择文件", type=["xlsx", "csv"], key=f"upload_{kind}")
if upload is None:
    st.stop()
data = upload.getvalue()
reason = check_upload(upload.name, data, "spreadsheet")
if reason:
    st.error(f"文件未接受：{md(reason)}")
    st.stop()

bar = st.progress(0.0, text="准备校验")


def progress(fraction: float, text: str) -> None:
    bar.progress(min(1.0, max(0.0, fraction)), text=text)


try:
    preview = imports.run_import(db, user, kind, upload.name, data, dry_run=True, progress=progress)
except PermissionDenied as exc:
    st.error(f"无权操作：{md(exc)}")
    st.stop()

st.subheader("预览")
cols = st.columns(3)
cols[0].metric("数据行", f"{preview.rows}")
cols[1].metric("有问题的行", f"{len(preview.bad_rows)}")
cols[2].metric("提示", f"{len(preview.warnings)}")
if preview.problems:
    st.error(
        f"有 {len(preview.bad_rows)} 行存在问题（共 {len(preview.problems)} 处），整份文件不会写入。"
        "请在 Excel 中按行号修改后重新上传。"
    )
    show_table(preview.problems_frame(), {"行号": "行号", "列": "列", "问题": "问题"})
    st.stop()
if preview.warnings:
    st.warning("以下行可以导入，但请注意：")
    show_table(preview.warnings_frame(), {"行号": "行号", "列": "列", "提示": "提示"})

st.success(f"校验通过：{preview.rows} 行{what}数据可以导入。")
sample = preview.preview_frame(200)
st.caption(f"前 {min(200, len(sample))} 行预览（身份证号已脱敏）：")
draw_frame(sample)

if st.button(f"确认导入 {preview.rows} 行", type="primary", key="commit"):
    result = imports.run_import(db, user, kind, upload.name, data, progress=progress)
    if result.committed:
        st.success(f"已导入 {result.written} 行{what}数据（用时 {result.seconds:.1f} 秒），已记入审计日志。")
    else:
        st.error("数据在预览后发生了变化，未写入；请重新检查：")
        show_table(result.problems_frame(), {"行号": "行号", "列": "列", "问题": "问题"})
