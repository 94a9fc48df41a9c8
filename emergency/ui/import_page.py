"""导入: template download, upload, the column mapping step, preview with every problem (and, for a
roster re-sync, what is added, changed field by field, unchanged and missing), then an all-or-nothing commit.
Teams and members (imports.py) and drill records (drill_import.py, the same engine)."""

import streamlit as st

from emergency import drill_import, imports, normalise
from emergency.auth import PermissionDenied
from emergency.hygiene import check_upload
from emergency.hygiene import escape_markdown as md
from emergency.import_headers import SKIP
from emergency.ui.session import require_login
from emergency.ui.state import get_db
from emergency.ui.widgets import draw_frame, page_help, show_table

CHOOSE = "（请选择）"
KINDS = {**imports.KINDS, drill_import.KIND: drill_import.WHAT}

user = require_login()
db = get_db()
st.title("导入")
page_help("import")
if user.role == "viewer":
    st.error("只读账号不能导入数据。")
    st.stop()

st.caption(
    "从 Excel（.xlsx、.xls）或 CSV 导入队伍、队员或演练记录。全部或全不：文件中任何一行有错，整份文件都不会写入。"
    + ("" if user.is_admin else "乡镇填报员只能导入本乡镇的数据。")
)
kind = st.radio("导入内容", list(KINDS), format_func=lambda k: KINDS[k], horizontal=True)
what = KINDS[kind]
drills = kind == drill_import.KIND
st.download_button(
    f"下载{what}导入模板",
    data=lambda: drill_import.template_xlsx(db) if drills else imports.template_xlsx(db, kind),
    file_name=f"{what}导入模板.xlsx",
    key=f"template_{kind}",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    on_click="ignore",
)
if kind == "members":
    st.caption(
        "队员按“所属乡镇 + 所属队伍”匹配到已登记的队伍（没有“所属队伍”列时以工作表名称为队伍）；新队伍请先导入队伍。"
        "身份证号加密保存，页面只显示脱敏号码。"
    )
if drills:
    st.caption(
        "每行一次已开展的演练：关联预案可写预案编号或名称（多个用顿号、逗号或分号分隔）；"
        "与已登记演练同一乡镇、同一天、同名的行视为重复，不会导入。"
    )
MODES = {
    "members": {"add": "只新增队员", "update": "更新名单（已登记的队员按身份证号或姓名+出生日期匹配并更新）"},
    "teams": {"add": "只新增队伍", "update": "更新队伍（已登记的队伍按乡镇+队伍名称匹配并更新）"},
}.get(kind, {})
update = False
if MODES:  # drill records are only added
    update = st.radio("导入方式", list(MODES), format_func=MODES.get, key=f"import_mode_{kind}") == "update"

upload = st.file_uploader("选择文件", type=["xlsx", "xls", "csv"], key=f"upload_{kind}")
if upload is None:
    st.stop()
# Imports this session has written, by file, read before any write: a commit notes itself here right
# after the write, before any Streamlit call (where a double click's second click may stop the run;
# record_actions, "Saving once"), so the same file is not offered for a second commit.
committed = st.session_state.setdefault("_imports_committed", {})
upload_token = f"{kind}:{'update' if update else 'add'}:{upload.file_id}"
if upload_token in committed:
    st.success(committed[upload_token])
    st.caption("该文件已导入。如需导入另一份文件，请重新选择文件。")
    st.stop()
data = upload.getvalue()
reason = check_upload(upload.name, data, "spreadsheet")
if reason:
    st.error(f"文件未接受：{md(reason)}")
    st.stop()

# The mapping step: each column of the file, its first values, and what it becomes.
try:
    sheets = [s for s in imports.layout(kind, upload.name, data) if s.header_index >= 0]
except ValueError as exc:
    st.error(md(exc))
    st.stop()
targets = [c.header for c in imports.COLUMNS[kind]]
options = [CHOOSE, *targets, SKIP]
mapping: dict[str, str] = {}
with st.expander("列对应（文件中的列 → 导入为）", expanded=any(c.target is None for s in sheets for c in s.columns)):
    st.caption("已按列名和常见写法自动对应；无法识别的列请选择要导入到哪一列，或选“不导入”。")
    shown: set[str] = set()
    for sheet in sheets:
        for column in sheet.columns:
            if column.header in shown or not sheet.counts(column):
                continue
            shown.add(column.header)
            samples = "、".join(sheet.samples(column.index)) or "（空）"
            choice = st.selectbox(
                md(f"{column.header}（前几个值：{samples}）"),
                options,
                index=options.index(column.target) if column.target in options else 0,
                key=f"map_{kind}_{upload.file_id}_{len(shown)}",
            )
            if choice != CHOOSE:
                mapping[column.header] = choice

bar = st.progress(0.0, text="准备校验")


def progress(fraction: float, text: str) -> None:
    bar.progress(min(1.0, max(0.0, fraction)), text=text)


def progress_before_the_write(fraction: float, text: str) -> None:
    """The commit's progress up to its write: the import's last report comes after the write, where
    drawing could let a second click stop the run before the commit is noted (`committed`)."""
    if fraction < 1.0:
        progress(fraction, text)


try:
    if drills:
        preview = drill_import.run_import(db, user, upload.name, data, dry_run=True, mapping=mapping)
        progress(1.0, "校验完成")
    else:
        preview = imports.run_import(
            db, user, kind, upload.name, data, dry_run=True, progress=progress, mapping=mapping, update=update
        )
except PermissionDenied as exc:
    st.error(f"无权操作：{md(exc)}")
    st.stop()

st.subheader("预览")
for note in preview.notes:
    st.caption(md(note))
cols = st.columns(3)
cols[0].metric("数据行", f"{preview.rows}")
cols[1].metric("有问题的行", f"{len(preview.bad_rows)}")
cols[2].metric("提示", f"{len(preview.warnings)}")
if preview.problems:
    unknown = preview.unknown_columns
    if unknown:
        st.error("文件中有无法识别的列：" + md("、".join(unknown)) + "。请在上方“列对应”中选择目标列或“不导入”。")
    st.error(
        f"有 {len(preview.bad_rows)} 行存在问题（共 {len(preview.problems)} 处），整份文件不会写入。"
        "请在 Excel 中按行号修改后重新上传。"
    )
    show_table(preview.problems_frame(), {"行号": "行号", "列": "列", "问题": "问题"})
    st.stop()
if preview.warnings:
    st.warning("以下行可以导入，但请注意：")
    show_table(preview.warnings_frame(), {"行号": "行号", "列": "列", "提示": "提示"})

mark_left = False
if update:
    sync = st.columns(4)
    sync[0].metric("新增", f"{len(preview.added)}")
    sync[1].metric("修改", f"{len(preview.changes)}")
    sync[2].metric("未变", f"{len(preview.unchanged)}")
    if kind == "members":
        sync[3].metric("文件中没有", f"{len(preview.missing)}")
    if preview.changes:
        st.markdown("**将修改的字段（原值 → 新值）**")
        frame = preview.changes_frame()
        show_table(frame, {c: c for c in frame.columns})
    if kind == "members" and preview.missing:
        st.markdown("**在册但文件中没有的队员**（默认不处理）")
        frame = preview.missing_frame()
        show_table(frame, {c: c for c in frame.columns})
        mark_left = st.checkbox(f"把以上 {len(preview.missing)} 名队员标记为离队（离队日期为今天）", key="mark_left")

st.success(f"校验通过：{preview.rows} 行{what}数据可以导入。")
places = normalise.Places.load(db)
if drills:
    sample = drill_import.preview_frame(preview, places, drill_import.plan_names(db))
else:
    sample = preview.preview_frame(200, places)
if update:
    sample = imports.ImportResult(kind, upload.name, records=preview.added).preview_frame(200, places)
masked = "" if drills else "（身份证号已脱敏）"
st.caption(f"{'新增' + what if update else '前'} {min(200, len(sample))} 行预览{masked}：")
draw_frame(sample)

unit = {"members": "人", "teams": "支"}.get(kind, "条")
label = (
    f"确认更新（新增 {len(preview.added)} {unit}，修改 {len(preview.changes)} {unit}）"
    if update
    else f"确认导入 {preview.rows} 行"
)
if st.button(label, type="primary", key="commit"):
    try:
        if drills:
            result = drill_import.run_import(db, user, upload.name, data, mapping=mapping)
        else:
            result = imports.run_import(
                db,
                user,
                kind,
                upload.name,
                data,
                progress=progress_before_the_write,
                mapping=mapping,
                update=update,
                mark_left=mark_left,
            )
    except ValueError as exc:
        st.error(f"未写入：{md(exc)}")
        st.stop()
    if result.committed:
        if update:
            left = f"，{result.marked_left} 人标记为离队" if mark_left else ""
            done = f"已更新{what}：新增 {len(result.added)} {unit}，修改 {len(result.changes)} {unit}{left}，每条变更已记入审计日志。"
        elif drills:
            done = f"已导入 {result.written} 条演练记录，已记入审计日志。"
        else:
            done = f"已导入 {result.written} 行{what}数据（用时 {result.seconds:.1f} 秒），已记入审计日志。"
        committed[upload_token] = f"《{md(upload.name)}》{done}"
        st.success(done)
    else:
        st.error("数据在预览后发生了变化，未写入；请重新检查：")
        show_table(result.problems_frame(), {"行号": "行号", "列": "列", "问题": "问题"})
