from emergency.demo import DEMO_PASSWORDS
from tests.helpers import go_to, login, screenshot


def test_plans_page_in_a_real_browser(server, page):
    login(page, server["url"], "admin", DEMO_PASSWORDS["admin"])
    page.get_by_role("heading", name="总览").wait_for(timeout=90_000)
    go_to(page, "专项应急预案")
    page.get_by_role("heading", name="专项应急预案").wait_for(timeout=60_000)
    page.get_by_role("heading", name="社会安全事件").wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    body = page.inner_text("body")
    for text in ("自然灾害", "事故灾难", "公共卫生事件", "按期", "已逾期", "未备案", "需修订", "期限规则及法律依据"):
        assert text in body, text
    path = screenshot(page, "plans")
    assert path.stat().st_size > 20_000
    more = page.get_by_text("View 10 more")
    if more.count():
        more.first.click()
    go_to(page, "年度报告")
    page.get_by_role("heading", name="年度报告").wait_for(timeout=60_000)
    page.get_by_text("现有应急救援队伍").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="下载 Word").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    screenshot(page, "report")
    assert page.outside_requests == [], page.outside_requests
