"""The process-wide resources a page needs: the database (opened and prepared once per process)."""
from __future__ import annotations

import streamlit as st

from ..db import Database, default_db_path
from ..setup import ensure_ready_with_demo


@st.cache_resource(show_spinner="正在准备数据库（首次启动将生成演示数据）……")
def _database(path: str) -> Database:
    db = Database(path)
    ensure_ready_with_demo(db)
    return db


def get_db() -> Database:
    """The app's database; EMERGENCY_DB chooses the file (read at each run, so tests can point it)."""
    return _database(str(default_db_path()))


def demo_banner(db: Database) -> None:
    if db.scalar("SELECT count(*) FROM settings WHERE key = 'demo'"):
        st.caption("⚠️ 当前为演示数据：人员姓名、电话、身份证号均为程序生成的虚构信息。")
