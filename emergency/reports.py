"""The emergency paragraph of the county's annual report, written from the year's figures."""
from __future__ import annotations

from .stats import about


def paragraph(figures: dict) -> str:
    """The sentence of the county report, in its own style, from year_stats() output."""
    categories = "一二三四五六七八九十"[figures["plan_categories"] - 1] if 0 < figures["plan_categories"] <= 10 \
        else str(figures["plan_categories"])
    return (
        f"{figures['year']}年，全县"
        f"现有应急救援队伍{figures['teams']}支、队员{figures['members']}人，"
        f"修订完善{categories}类{figures['plans']}项专项应急预案，"
        f"开展县乡两级演练{figures['county_township_drills']}场次，参演{about(figures['county_township_participants'])}人次；"
        f"非煤矿山等领域演练{figures['sector_drills']}场次，参演{figures['sector_participants']}人次。"
    )
