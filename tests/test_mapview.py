"""The map: datum conversion against the source pairs, offline output, escaping, the optional tiles
and boundaries, coordinates set by an administrator, and which township a click hits."""

import csv
import json

import pytest

from emergency import auth, mapview, regions
from tests.helpers import user_row


def source_pairs():
    with open(regions.TOWNSHIPS_CSV, encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["lon_wgs84_converted"]]


def test_wgs84_to_gcj02_reproduces_the_source_pairs():
    pairs = source_pairs()
    assert len(pairs) == 16  # 15 townships and 王莽寨林场
    for row in pairs:
        lon, lat = mapview.wgs84_to_gcj02(float(row["lon_wgs84_converted"]), float(row["lat_wgs84_converted"]))
        assert abs(lon - float(row["lon_gcj02"])) < 1e-5 and abs(lat - float(row["lat_gcj02"])) < 1e-5, row["name"]
        back = mapview.gcj02_to_wgs84(float(row["lon_gcj02"]), float(row["lat_gcj02"]))
        assert abs(back[0] - float(row["lon_wgs84_converted"])) < 1e-5
        assert abs(back[1] - float(row["lat_wgs84_converted"])) < 1e-5


def test_gcj02_offset_is_about_600_m_here_and_none_abroad():
    lon, lat = mapview.wgs84_to_gcj02(112.09, 34.15)
    assert 0.0055 < lon - 112.09 < 0.0065 and -0.0017 < lat - 34.15 < -0.0010
    assert mapview.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)


def markers(script: str) -> int:
    """The circle markers drawn (seats, villages, resources): the rows of the circle layers."""
    return sum(len(rows) for style, rows in mapview.drawn_points(script) if "style" in style)


def test_map_is_offline_with_one_marker_per_seat(demo_db):
    data = mapview.map_data(demo_db)
    html = mapview.map_script(mapview.build_map(data))
    assert mapview.external_urls(html) == []
    assert '<script src="/app/static/leaflet/leaflet.js">' in html and "/app/static/leaflet/leaflet.css" in html
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower() and "tile_layer" not in html
    assert 'L.Icon.Default.imagePath = "/app/static/leaflet/images/"' in html
    seats = [t for t in data["townships"] if t["lon"] is not None]
    placed = sum(len(rows) for rows in data["resources"].values())  # the resource layers' markers
    assert len(seats) == 15 and markers(html) == 15 + placed
    assert markers(mapview.map_script(mapview.build_map({**data, "resources": {}}))) == 15
    assert "白河镇" not in [t["name"] for t in seats]
    for t in seats:
        assert f"[{t['lat']}, {t['lon']}]" in html  # drawn where it is stored, WGS-84
    assert "嵩县县界" in html and str(data["outline"]["features"][0]["geometry"]["coordinates"][0][0][0])[:8] in html
    for layer in ("救援队伍", "重点企业", "近12个月演练"):
        assert json.dumps(layer)[1:-1] in html  # layer names are JSON-escaped in the script


def test_popup_escapes_every_text():
    town = {
        "name": "<script>x</script>镇",
        "status": "red",
        "teams": 1,
        "members": 2,
        "enterprises": 0,
        "drills": 0,
        "participants": 0,
        "reasons": ["<b>"],
        "team_names": ["<img src=x onerror=alert(1)>", "`);alert(2);//${document.cookie}"],
    }
    html = mapview.popup_html(town)
    assert "`" not in html and "${" not in html  # folium wraps popups in a JS template literal
    assert "<script>" not in html and "<img" not in html and "<b>" not in html.replace("<b>&lt;", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;script&gt;x&lt;/script&gt;镇" in html


def test_tile_layer_is_the_only_url_and_gcj02_tiles_move_every_overlay(scratch_db):
    db = scratch_db
    admin, viewer = user_row(db, "admin"), user_row(db, "leader")
    url = "https://webrd01.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
    with pytest.raises(auth.PermissionDenied):
        mapview.set_tile_config(db, viewer, url, "gcj02", "高德地图")
    with pytest.raises(ValueError, match="占位符"):
        mapview.set_tile_config(db, admin, "https://example.org/tiles.png", "wgs84", "x")
    with pytest.raises(ValueError, match="版权"):
        mapview.set_tile_config(db, admin, url, "gcj02", "")
    mapview.set_tile_config(db, admin, url, "gcj02", "高德地图")
    data = mapview.map_data(db)
    html = mapview.map_script(mapview.build_map(data))
    urls = mapview.external_urls(html)
    assert urls and all(u.startswith("https://webrd01.is.autonavi.com/appmaptile") for u in urls)
    town = next(t for t in data["townships"] if t["name"] == "城关镇")
    g_lon, g_lat = mapview.wgs84_to_gcj02(town["lon"], town["lat"])
    assert f"[{round(g_lat, 6)}, {round(g_lon, 6)}]" in html and f"[{town['lat']}, {town['lon']}]" not in html
    outline_point = data["outline"]["features"][0]["geometry"]["coordinates"][0][0]
    moved = mapview.wgs84_to_gcj02(*outline_point)
    assert str(round(moved[0], 6))[:9] in html
    mapview.set_tile_config(db, admin, "", "wgs84", "")  # back to offline
    assert mapview.tile_config(db) is None
    assert mapview.external_urls(mapview.map_script(mapview.build_map(mapview.map_data(db)))) == []


def square(lon, lat, d=0.01):
    return [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]


def test_boundary_upload_is_validated_and_becomes_a_choropleth(scratch_db):
    db = scratch_db
    admin, town = user_row(db, "admin"), user_row(db, "town100")
    good = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "410325100", "name": "城关镇"},
                "geometry": {"type": "Polygon", "coordinates": square(112.08, 34.14)},
            },
            {
                "type": "Feature",
                "properties": {"name": "田湖镇"},
                "geometry": {"type": "MultiPolygon", "coordinates": [square(112.19, 34.22)]},
            },
        ],
    }
    bad = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "北京市"},
                "geometry": {"type": "Polygon", "coordinates": square(112, 34)},
            },
            {
                "type": "Feature",
                "properties": {"code": "410325101"},
                "geometry": {"type": "Polygon", "coordinates": square(116.4, 39.9)},
            },
            {
                "type": "Feature",
                "properties": {"code": "410325102"},
                "geometry": {"type": "Point", "coordinates": [112, 34]},
            },
        ],
    }
    with pytest.raises(auth.PermissionDenied):
        mapview.set_boundaries(db, town, json.dumps(good).encode())
    with pytest.raises(ValueError) as refused:
        mapview.set_boundaries(db, admin, json.dumps(bad).encode())
    message = str(refused.value)
    assert "北京市" in message and "不在本县范围内" in message and "Polygon" in message
    with pytest.raises(ValueError, match="GeoJSON"):
        mapview.set_boundaries(db, admin, b"not json")
    assert mapview.boundaries(db) is None  # nothing stored on refusal
    assert mapview.set_boundaries(db, admin, json.dumps(good).encode()) == 2
    html = mapview.map_script(mapview.build_map(mapview.map_data(db)))
    assert json.dumps("乡镇边界（联动状态）")[1:-1] in html  # the layer (names are JSON-escaped in the script)
    assert html.count('"type": "Polygon"') == 2 and html.count('"type": "MultiPolygon"') == 1  # outline + 2
    assert mapview.external_urls(html) == []
    mapview.set_boundaries(db, admin, None)
    assert mapview.boundaries(db) is None


def test_admin_sets_a_missing_coordinate_and_the_seat_appears(scratch_db):
    db = scratch_db
    admin, town = user_row(db, "admin"), user_row(db, "town107")
    with pytest.raises(auth.PermissionDenied):
        regions.set_coordinates(db, town, "410325107", 111.75, 33.9)
    with pytest.raises(ValueError, match="经度"):
        regions.set_coordinates(db, admin, "410325107", 33.9, 111.75)  # swapped
    with pytest.raises(ValueError, match="不存在"):
        regions.set_coordinates(db, admin, "999", 111.75, 33.9)
    assert markers(mapview.map_script(mapview.build_map({**mapview.map_data(db), "resources": {}}))) == 15
    regions.set_coordinates(db, admin, "410325107", 111.75, 33.9, "乡镇政府提供")
    assert "白河镇" not in [m["name"] for m in regions.missing_coordinates(db)]
    assert markers(mapview.map_script(mapview.build_map({**mapview.map_data(db), "resources": {}}))) == 16
    assert db.scalar("SELECT count(*) FROM audit_log WHERE table_name = 'townships' AND record_id = '410325107'") == 1


def test_click_finds_the_township():
    data = {
        "tiles": None,
        "townships": [
            {"code": "a", "lon": 112.0, "lat": 34.0},
            {"code": "b", "lon": 112.2, "lat": 34.1},
            {"code": "c", "lon": None, "lat": None},
        ],
    }
    assert mapview.clicked_township(data, None) is None
    assert mapview.clicked_township(data, {"last_object_clicked": {"lat": 34.0, "lng": 112.0}}) == "a"
    assert mapview.clicked_township(data, {"last_object_clicked": {"lat": 34.1001, "lng": 112.2001}}) == "b"
    assert mapview.clicked_township(data, {"last_object_clicked": {"lat": 33.0, "lng": 111.0}}) is None
    assert (
        mapview.clicked_township(
            data,
            {"last_active_drawing": {"properties": {"code": "c"}}, "last_object_clicked": {"lat": 34.0, "lng": 112.0}},
        )
        == "c"
    )
    gcj = {**data, "tiles": {"url": "x", "datum": "gcj02"}}
    lon, lat = mapview.wgs84_to_gcj02(112.0, 34.0)
    assert mapview.clicked_township(gcj, {"last_object_clicked": {"lat": lat, "lng": lon}}) == "a"


def test_resource_layers_drawn_where_stored_with_escaped_popups():
    from emergency.resources import registry  # noqa: F401 - the layer rows are registry rows

    data = {
        "townships": [],
        "outline": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[111.7, 33.6], [112.4, 33.6], [112.4, 34.3], [111.7, 33.6]]],
                    },
                }
            ],
        },
        "resources": {
            "depots": [
                {
                    "id": 1,
                    "name": "县库<b>",
                    "level": "county",
                    "township_name": None,
                    "lon": 112.0,
                    "lat": 34.0,
                    "stock": [{"name": "帐篷", "quantity": 12, "unit": "顶"}],
                    "custodian_name": "张三",
                }
            ],
            "shelters": [
                {
                    "name": "一中",
                    "kind": "school",
                    "township_name": "城关镇",
                    "is_open": True,
                    "capacity": 800,
                    "lon": 112.1,
                    "lat": 34.1,
                }
            ],
            "hazards": [
                {
                    "name": "滑坡`${x}`",
                    "kind": "geological",
                    "code": "H-1",
                    "township_name": "城关镇",
                    "people_threatened": 30,
                    "households": 8,
                    "responsible_name": "王五",
                    "monitor_name": None,
                    "lon": 112.2,
                    "lat": 34.2,
                }
            ],
            "team_bases": [
                {
                    "name": "城关镇应急救援队",
                    "township_name": "城关镇",
                    "staffing": "part",
                    "readiness": "standby",
                    "members": 20,
                    "equipment": "冲锋舟2艘",
                    "lon": 112.05,
                    "lat": 34.05,
                }
            ],
        },
    }
    html = mapview.map_script(mapview.build_map(data))
    assert markers(html) == 4 and mapview.external_urls(html) == []
    for name in ("应急物资储备库", "应急避难场所", "隐患点（威胁人数）", "队伍驻地（备勤）"):
        assert json.dumps(name)[1:-1] in html
    assert "[34.2, 112.2]" in html and "resource-hazards" in html
    popup = mapview.resource_popup("depots", data["resources"]["depots"][0])
    assert "帐篷12顶" in popup and "<b>县库&lt;b&gt;</b>" in popup
    hazard = mapview.resource_popup("hazards", data["resources"]["hazards"][0])
    assert "威胁 30 人 / 8 户" in hazard and "`" not in hazard and "${" not in hazard
    assert "冲锋舟2艘" in mapview.resource_popup("team_bases", data["resources"]["team_bases"][0])


def test_point_layers_share_their_style_and_stay_small_per_point():
    """Issue 19: the seats, labels and resources are drawn by one function from compact rows: the
    style of a layer is written once, a point costs its position, size and texts, and a county a
    hundred times larger draws seats of the same sizes."""

    def town(n: int, teams: int) -> dict:
        return {
            "code": f"41{n}",
            "name": f"镇{n}",
            "lon": 111.8 + n / 100,
            "lat": 33.9 + n / 100,
            "status": ["green", "amber", "red"][n % 3],
            "teams": teams,
            "members": 10 * teams,
            "enterprises": n,
            "drills": n,
            "participants": 0,
            "reasons": [],
            "team_names": [],
        }

    outline = regions.county_outline()
    depot = {"name": "库", "level": "county", "township_name": None, "stock": [], "custodian_name": None}

    def script(towns: int, depots: int, scale: int = 1) -> str:
        data = {
            "outline": outline,
            "townships": [town(n, scale * (n + 1)) for n in range(towns)],
            "resources": {"depots": [{**depot, "lon": 112.0 + i / 1000, "lat": 34.0} for i in range(depots)]},
        }
        return mapview.map_script(mapview.build_map(data))

    base, more = script(15, 10), script(15, 110)
    assert markers(more) - markers(base) == 100
    assert (len(more.encode()) - len(base.encode())) / 100 < 320  # folium wrote about 2 kB per marker
    assert more.count('"fillOpacity": 0.85') == 1  # the depots' style once, not once per depot
    layers = dict(
        (style.get("className") or style["style"].get("className"), rows) for style, rows in mapview.drawn_points(base)
    )
    assert len(layers["township-label"]) == 15 and len(layers["resource-depots"]) == 10
    radii = [
        r[1]
        for r in next(
            rows for style, rows in mapview.drawn_points(base) if "style" in style and "className" not in style["style"]
        )
    ]
    big = [r[1] for r in next(rows for style, rows in mapview.drawn_points(script(15, 0, 100)) if "style" in style)]
    assert radii == big and max(radii) == 20  # scaled to the township with the most teams
    assert [r[2] for r in next(rows for style, rows in mapview.drawn_points(base) if "style" in style)][:3] == [
        "#2e7d32",
        "#f39c12",
        "#c0392b",
    ]  # each seat's linkage status colour


def test_labels_and_tooltips_are_escaped_in_the_point_rows():
    town = {
        "code": "x",
        "name": "</script><img src=x>`${1}`",
        "lon": 112.0,
        "lat": 34.0,
        "status": "red",
        "teams": 1,
        "members": 1,
        "enterprises": 0,
        "drills": 0,
        "participants": 0,
        "reasons": [],
        "team_names": [],
    }
    html = mapview.map_script(mapview.build_map({"outline": regions.county_outline(), "townships": [town]}))
    assert "<img" not in html and "</script><img" not in html and "${1}" not in html
    rows = [rows for style, rows in mapview.drawn_points(html)]
    assert rows[0][0][3] == "&lt;/script&gt;&lt;img src=x&gt;&#96;&#36;{1}&#96;"  # the seat's tooltip
    assert rows[1][0][1] == rows[0][0][3]  # its label
