"""Every enumeration of the field in one place, with its Chinese label.

The database stores the code (left); screens and exports show the label (right).
Reference rows (hazard domains, team kinds) are also loaded into their tables by
migrations/seed so that SQL can join on them.
"""

# The four categories of emergencies (突发事件应对法 2024, Art. 2).
PLAN_CATEGORIES = ["自然灾害", "事故灾难", "公共卫生事件", "社会安全事件"]

# Hazard domains a team covers and a plan addresses.
HAZARD_DOMAINS = {
    "fire": "消防",
    "flood": "防汛抗旱",
    "forest_fire": "森林防灭火",
    "geological": "地质灾害",
    "earthquake": "地震",
    "weather": "气象灾害",
    "mine": "矿山（非煤）",
    "hazchem": "危险化学品",
    "traffic": "交通运输",
    "construction": "建设施工",
    "utilities": "供水供电燃气",
    "communication": "通信保障",
    "medical": "医疗救护",
    "public_health": "公共卫生",
    "environment": "生态环境",
    "public_security": "社会安全",
}

# Kinds of rescue team (突发事件应对法 2024 Art. 39; 十四五应急救援力量建设规划).
TEAM_KINDS = {
    "fire_rescue": "国家综合性消防救援队伍",
    "professional": "专业应急救援队伍",
    "grassroots": "基层应急救援队伍",
    "enterprise": "企业专（兼）职救援队伍",
    "civil": "社会应急力量",
}

TEAM_LEVELS = {
    "county": "县级",
    "township": "乡镇级",
    "village": "村（社区）级",
    "enterprise": "企业",
    "civil": "社会组织",
}

MEMBER_ROLES = {"leader": "队长", "deputy": "副队长", "member": "队员"}

# Drill classification (突发事件应急演练指南 2009; AQ/T 9007-2019).
DRILL_LEVELS = {
    "county": "县级",
    "township": "乡镇级",
    "village": "村（社区）级",
    "enterprise": "企业（行业领域）",
}
DRILL_FORMS = {"tabletop": "桌面演练", "live": "实战演练"}
DRILL_CONTENTS = {"single": "单项演练", "comprehensive": "综合演练"}
DRILL_PURPOSES = {"testing": "检验性", "demonstration": "示范性", "research": "研究性"}

# Regulated enterprise sectors; half_yearly marks the sectors that 生产安全事故应急条例 Art. 8
# requires to drill at least every half-year.
ENTERPRISE_SECTORS = {
    "non_coal_mine": ("非煤矿山", True),
    "tailings_pond": ("尾矿库", True),
    "hazchem": ("危险化学品", True),
    "metal_smelting": ("金属冶炼", True),
    "construction": ("建筑施工", True),
    "crowded_place": ("人员密集场所", True),
    "scenic_area": ("旅游景区", True),
    "other": ("其他生产经营单位", False),
}

USER_ROLES = {"admin": "县应急管理局管理员", "township": "乡镇填报员", "viewer": "领导（只读）"}

CONTACT_ROLES = {
    "station_head": "乡镇应急站负责人",
    "station_staff": "乡镇应急站工作人员",
    "duty_room": "乡镇值班室",
    "info_officer_a": "村灾害信息员（A岗）",
    "info_officer_b": "村灾害信息员（B岗）",
    # 叫应 targets (emergency/calls.py): the township's party and government heads, the township cadre
    # responsible for a village (包村干部) and the village's flood-control responsible person.
    "party_head": "乡镇党政主要负责人",
    "village_cadre": "包村干部",
    "village_head": "村（社区）防汛责任人/村支书",
}

WARNING_LEVELS = {1: "红色", 2: "橙色", 3: "黄色", 4: "蓝色"}
WARNING_LEVEL_CODES = {"red": 1, "orange": 2, "yellow": 3, "blue": 4}  # `warn --level red`
WARNING_HAZARDS = ("暴雨", "山洪", "地质灾害", "森林火险", "大风", "高温", "寒潮", "冰雹", "雷电", "道路结冰", "干旱")
WARNING_ACTIONS = ("到岗值守", "转移群众", "巡查隐患点", "启动应急响应", "已通知村组")  # optional on the ack page


def label(mapping, code):
    """Chinese label of a code, or the code itself when unknown (never raises in a page)."""
    value = mapping.get(code, code)
    return value[0] if isinstance(value, tuple) else value


# Enterprise plan types (生产安全事故应急预案管理办法): their drill and filing clocks in deadlines.py.
ENTERPRISE_PLAN_TYPES = {"comprehensive": "综合应急预案", "special": "专项应急预案", "onsite": "现场处置方案"}
# Emergency resources (issue 18) -------------------------------------------------------------------
# Supply depots by level (应急物资储备库; 协议储备 = a supplier under an agreement to deliver).
DEPOT_LEVELS = {
    "county": "县级储备库",
    "township": "乡镇储备点",
    "village": "村（社区）储备点",
    "enterprise": "企业储备",
    "agreement": "协议储备",
}

# The item catalogue: code -> (name, unit). Stock, team equipment and minimums use these codes.
RESOURCE_ITEMS = {
    "tent": ("帐篷", "顶"),
    "folding_bed": ("折叠床", "张"),
    "quilt": ("棉被", "床"),
    "life_jacket": ("救生衣", "件"),
    "life_buoy": ("救生圈", "个"),
    "assault_boat": ("冲锋舟", "艘"),
    "pump": ("排涝水泵", "台"),
    "generator": ("发电机", "台"),
    "sandbag": ("编织袋（沙袋）", "条"),
    "chain_saw": ("油锯", "台"),
    "wind_extinguisher": ("风力灭火机", "台"),
    "extinguisher": ("灭火器", "具"),
    "rain_gear": ("雨衣雨靴", "套"),
    "flashlight": ("强光手电", "支"),
    "first_aid_kit": ("急救包", "个"),
    "drinking_water": ("饮用水", "箱"),
    "instant_food": ("方便食品", "箱"),
    "rescue_vehicle": ("抢险救援车", "辆"),
}

SHELTER_KINDS = {
    "school": "学校",
    "square": "广场",
    "park": "公园绿地",
    "stadium": "体育场馆",
    "community": "社区（村）活动中心",
    "other": "其他",
}

HAZARD_POINT_KINDS = {
    "geological": "地质灾害隐患点",
    "flash_flood": "山洪危险区",
    "major_hazard": "重大危险源",
    "waterlogging": "易涝点",
}

TEAM_STAFFING = {"full": "专职", "part": "兼职"}
TEAM_READINESS = {"standby": "备勤", "on_duty": "执勤", "resting": "休整"}
EXPERT_AVAILABILITY = {"available": "可调用", "busy": "暂不可调用", "retired": "已退出"}
STOCK_DIRECTIONS = {"in": "入库", "out": "出库"}
