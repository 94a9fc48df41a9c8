"""The pages of the app: file, title, URL, sidebar section and the roles that see them.

app.py builds st.navigation from this list (filtered by the user's role). Keep one block per
feature; sections appear in the order of their first page.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_ROLES = ("admin", "township", "viewer")


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    url_path: str
    section: str
    roles: tuple[str, ...] = ALL_ROLES


PAGES: list[PageSpec] = [
    # --- overview and dashboard ---
    PageSpec("emergency/ui/overview.py", "总览", "overview", "概览"),
    PageSpec("emergency/ui/map_page.py", "地图", "map", "概览"),
    PageSpec("emergency/ui/linkage_page.py", "三级联动", "linkage", "概览"),
    # --- registry: teams, members ---
    PageSpec("emergency/ui/teams_page.py", "救援队伍", "teams", "队伍"),
    PageSpec("emergency/ui/members_page.py", "队员", "members", "队伍"),
    PageSpec("emergency/ui/coverage_page.py", "覆盖分析", "coverage", "队伍"),
    PageSpec("emergency/ui/roster_page.py", "队伍健康检查", "roster-health", "队伍"),
    PageSpec("emergency/ui/import_page.py", "导入", "import", "队伍", ("admin", "township")),
    # --- plans and drills ---
    PageSpec("emergency/ui/drills_page.py", "演练记录", "drills", "预案与演练"),
    PageSpec("emergency/ui/archive_page.py", "档案检查", "drill-archives", "预案与演练"),
    PageSpec("emergency/ui/plans_page.py", "专项应急预案", "plans", "预案与演练"),
    PageSpec("emergency/ui/calendar_page.py", "演练计划", "drill-calendar", "预案与演练"),
    PageSpec("emergency/ui/actions_page.py", "整改跟踪", "corrective-actions", "预案与演练"),
    PageSpec("emergency/ui/enterprises_page.py", "重点企业", "enterprises", "预案与演练"),
    PageSpec("emergency/ui/report_page.py", "年度报告", "annual-report", "预案与演练"),
    # --- emergency resources ---
    PageSpec("emergency/ui/resources_stock_page.py", "物资储备", "resources-stock", "应急资源"),
    PageSpec("emergency/ui/resources_registry_page.py", "避难场所与隐患点", "resources-registry", "应急资源"),
    PageSpec("emergency/ui/resources_coverage_page.py", "资源覆盖", "resources-coverage", "应急资源"),
    # --- reminders ---
    PageSpec("emergency/ui/inbox_page.py", "消息", "inbox", "消息与提醒"),
    PageSpec("emergency/ui/settings_page.py", "提醒设置", "reminder-settings", "消息与提醒", ("admin",)),
    PageSpec("emergency/ui/scheduler_page.py", "定时任务", "scheduler", "消息与提醒", ("admin",)),
    # --- reference data ---
    PageSpec("emergency/ui/places.py", "乡镇与村（社区）", "places", "基础数据"),
    # --- administration ---
    PageSpec("emergency/ui/users_page.py", "用户管理", "users", "系统管理", ("admin",)),
    PageSpec("emergency/ui/audit_page.py", "审计日志", "audit", "系统管理", ("admin",)),
]


# Pages reachable without log-in, hidden from the sidebar: the personal 叫应 link's page (its token is
# the credential; it shows only that call's warning). app.py adds them for visitors and users alike.
PUBLIC_PAGES: list[PageSpec] = [
    PageSpec("emergency/ui/ack_page.py", "确认收到预警", "ack", "", ()),
]


def pages_for(role: str) -> dict[str, list[PageSpec]]:
    sections: dict[str, list[PageSpec]] = {}
    for spec in PAGES:
        if role in spec.roles:
            sections.setdefault(spec.section, []).append(spec)
    return sections
