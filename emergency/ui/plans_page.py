"""预案: the contingency plans by category."""
import streamlit as st

from emergency.enums import PLAN_CATEGORIES
from emergency.ui.session import require_login
from emergency.ui.state import get_db

user = require_login()
db = get_db()
st.title("专项应急预案")
counts = dict(db.query("SELECT category, count(*) FROM plans WHERE status = 'active' GROUP BY category"))
st.caption("、".join(f"{c} {counts.get(c, 0)} 项" for c in PLAN_CATEGORIES))
for category in PLAN_CATEGORIES:
    st.subheader(category)
    st.dataframe(
        db.frame(
            "SELECT p.code AS 编号, p.name AS 名称, p.lead_department AS 牵头单位, p.version AS 版本,"
            " p.revised_on AS 修订日期, p.drill_every_months AS 演练周期（月）, p.review_every_months AS 评估周期（月）,"
            " (SELECT max(d.held_on) FROM drill_plans dp JOIN drills d ON d.id = dp.drill_id"
            "   WHERE dp.plan_code = p.code) AS 最近演练"
            " FROM plans p WHERE p.category = ? AND p.status = 'active' ORDER BY p.code", [category]),
        hide_index=True, width="stretch",
    )
