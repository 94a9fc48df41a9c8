"""The server entry (`./start.sh` runs `streamlit run server.py`): app.py as an ASGI app whose
lifespan opens the database and starts the scheduler when the server starts, so that reminders
run after a restart even before anybody opens a page.
"""

from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def lifespan(_app):
    from emergency.ui import state

    state.get_db()  # creates and fills the database on the very first start; starts the scheduler
    preload = state.preload_modules()  # folium and the other pages' modules imported before the first view
    state.keep_warm_in_background(after=preload)  # 地图's and 三级联动's first-view caches, now and each period
    yield


app = st.App("app.py", lifespan=lifespan)
