"""The township map: a folium.Map built from plain data, offline by default.

Offline (docs/ARCHITECTURE.md "Offline"): Leaflet is served by this server at LEAFLET_URL; the
map's default_js / default_css point there and nowhere else (folium's jQuery, Bootstrap and
awesome-markers CDN links are dropped: only Leaflet layers are used: GeoJson, CircleMarker and
DivIcon markers). No tile layer unless an administrator configures a tile URL (settings key
`map_tiles`); GCJ-02 tiles (AMap, Tencent) get every overlay converted from the stored WGS-84.

Nothing is invented: a place without a coordinate is not drawn but listed; drills, teams and
enterprises are aggregated at their township seat (villages have no coordinates); township
polygons appear only if an administrator uploads them (settings key `township_boundaries`).
Every text that goes into a popup, tooltip or label is escaped with hygiene.escape_html.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import folium
from branca.element import MacroElement
from jinja2 import Template

from . import audit, linkage, regions
from .assets import LEAFLET_URL
from .auth import User, require_admin
from .db import put_setting
from .errors import Problem, ValidationError
from .hygiene import clean, escape_html
from .records import live
from .teams import member_active, team_active

if TYPE_CHECKING:
    from .db import Cursor, Database

TILES_KEY = "map_tiles"
BOUNDARIES_KEY = "township_boundaries"
DATUMS = {"wgs84": "WGS-84（天地图、OpenStreetMap、GPS）", "gcj02": "GCJ-02（高德、腾讯）"}
MAX_BOUNDARY_BYTES = 8 * 1024 * 1024
NO_COORDINATE_COLOUR = "#7f8c8d"
POPUP_TEAM_NAMES = 30  # the newest teams named in a popup; the count covers all

# GCJ-02 ("Mars coordinates", DOMAIN.md section 2): the published obfuscation formula ---------------
_A = 6378245.0
_EE = 0.00669342162296594323


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def outside_china(lon: float, lat: float) -> bool:
    return not (73.66 < lon < 135.05 and 3.86 < lat < 53.55)


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 -> GCJ-02 (the datum of AMap and Tencent tiles); unchanged outside China."""
    if outside_china(lon, lat):
        return lon, lat
    d_lat = _transform_lat(lon - 105.0, lat - 35.0)
    d_lon = _transform_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon: float, lat: float, tolerance: float = 1e-9) -> tuple[float, float]:
    """GCJ-02 -> WGS-84 by iteration (the forward formula has no closed inverse); for coordinates
    an administrator reads off an AMap-based tool."""
    w_lon, w_lat = lon, lat
    for _ in range(30):
        g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
        d_lon, d_lat = g_lon - lon, g_lat - lat
        w_lon, w_lat = w_lon - d_lon, w_lat - d_lat
        if abs(d_lon) < tolerance and abs(d_lat) < tolerance:
            break
    return w_lon, w_lat


def transform_geojson(obj, point_fn):
    """A copy of a GeoJSON object with every [lon, lat] position passed through point_fn."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            out[key] = (
                _transform_coords(value, point_fn) if key == "coordinates" else transform_geojson(value, point_fn)
            )
        return out
    if isinstance(obj, list):
        return [transform_geojson(v, point_fn) for v in obj]
    return obj


def _transform_coords(coords, point_fn):
    if coords and isinstance(coords[0], (int, float)):
        return list(point_fn(coords[0], coords[1])) + list(coords[2:])
    return [_transform_coords(c, point_fn) for c in coords]


# Configuration (settings table), admin only ------------------------------------------------------
def _setting(db: Database, key: str):
    return db.setting(key)


def tile_config(db: Database) -> dict | None:
    """{"url", "datum", "attribution"} or None: no tiles (the offline default)."""
    config = _setting(db, TILES_KEY)
    return config if config and config.get("url") else None


_TILE_URL = re.compile(r"^(https?://[^\s\"'<>]+|/[^\s\"'<>]*)$")


def validate_tile_config(url: str, datum: str, attribution: str) -> list[Problem]:
    problems = []
    if not _TILE_URL.match(url):
        problems.append(Problem("瓦片地址", "须为 http(s):// 开头（或本服务器的 / 路径）且不含空格和引号"))
    elif not all(part in url for part in ("{z}", "{x}", "{y}")):
        problems.append(Problem("瓦片地址", "须包含 {z}、{x}、{y} 占位符"))
    if datum not in DATUMS:
        problems.append(Problem("坐标系", f"必须是 {'、'.join(DATUMS.values())} 之一"))
    if not attribution:
        problems.append(
            Problem("版权说明", "使用在线底图须注明来源（如“天地图”“© OpenStreetMap contributors”“高德地图”）")
        )
    return problems


def set_tile_config(db: Database, actor: User, url: str | None, datum: str = "wgs84", attribution: str = "") -> None:
    """Configure (or, with an empty url, remove) the optional tile layer. Audited."""
    require_admin(actor, "设置地图底图")
    url, attribution = (url or "").strip(), clean(attribution)
    before = tile_config(db) or {}
    if url:
        problems = validate_tile_config(url, datum, attribution)
        if problems:
            raise ValidationError(problems)
        after = {"url": url, "datum": datum, "attribution": attribution}
    else:
        after = {}

    def work(cur: Cursor):
        put_setting(cur, TILES_KEY, after or None)
        audit.record(cur, actor, "update", "settings", TILES_KEY, before, after)

    db.write(work)


def boundaries(db: Database) -> dict | None:
    return _setting(db, BOUNDARIES_KEY)


def validate_boundaries(
    obj, townships: list[dict], bounds: tuple[float, float, float, float]
) -> tuple[dict, list[Problem]]:
    """A township boundary FeatureCollection: Polygon / MultiPolygon features, each naming a township
    of this county by `code` (NBS) or `name` in its properties, every position WGS-84 inside the
    county's bounding box. Returns (cleaned collection with properties {code, name}, problems)."""
    problems: list[Problem] = []
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection" or not isinstance(obj.get("features"), list):
        return {}, [Problem("文件", "须为 GeoJSON FeatureCollection")]
    by_code = {t["code"]: t for t in townships}
    by_name = {t["name"]: t for t in townships}
    min_lon, min_lat, max_lon, max_lat = bounds
    features, seen = [], set()
    for n, feature in enumerate(obj["features"], start=1):
        where = f"第 {n} 个要素"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(Problem(where, "不是 Feature"))
            continue
        props = feature.get("properties") or {}
        geometry = feature.get("geometry") or {}
        code, name = str(props.get("code") or "").strip(), str(props.get("name") or "").strip()
        town = by_code.get(code) or by_name.get(name)
        if town is None:
            problems.append(Problem(where, f"properties 中的 code/name（{code or name or '空'}）不是本县乡镇"))
            continue
        if town["code"] in seen:
            problems.append(Problem(where, f"{town['name']} 重复"))
            continue
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            problems.append(Problem(f"{where}（{town['name']}）", "几何类型须为 Polygon 或 MultiPolygon"))
            continue
        positions = []
        try:
            polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
            for polygon in polygons:
                for ring in polygon:
                    if len(ring) < 4:
                        raise ValueError
                    for p in ring:
                        positions.append((float(p[0]), float(p[1])))
        except (TypeError, ValueError, IndexError, KeyError):
            problems.append(Problem(f"{where}（{town['name']}）", "坐标格式错误（每个环至少4个 [经度, 纬度] 点）"))
            continue
        outside = [p for p in positions if not (min_lon <= p[0] <= max_lon and min_lat <= p[1] <= max_lat)]
        if outside:
            problems.append(
                Problem(f"{where}（{town['name']}）", f"{len(outside)} 个点不在本县范围内（须为 WGS-84 经纬度）")
            )
            continue
        seen.add(town["code"])
        features.append(
            {
                "type": "Feature",
                "properties": {"code": town["code"], "name": town["name"]},
                "geometry": {"type": geometry["type"], "coordinates": geometry["coordinates"]},
            }
        )
    if not features and not problems:
        problems.append(Problem("文件", "没有任何要素"))
    return {"type": "FeatureCollection", "features": features}, problems


def set_boundaries(db: Database, actor: User, data: bytes | None) -> int:
    """Store an uploaded township boundary GeoJSON (validated; nothing stored on any problem), or
    remove it with data=None. Returns the number of townships with a boundary."""
    require_admin(actor, "上传乡镇边界")
    if data is None:
        collection = None
    else:
        if len(data) > MAX_BOUNDARY_BYTES:
            raise ValidationError.single("文件", f"超过 {MAX_BOUNDARY_BYTES // 1048576} MB")
        try:
            obj = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationError.single("文件", f"不是有效的 GeoJSON（{exc}）") from None
        collection, problems = validate_boundaries(obj, regions.townships(db), regions.county_bounds())
        if problems:
            raise ValidationError(problems[:20])
    before = boundaries(db)
    count = len(collection["features"]) if collection else 0

    def work(cur: Cursor):
        put_setting(cur, BOUNDARIES_KEY, collection or None)
        audit.record(
            cur,
            actor,
            "update",
            "settings",
            BOUNDARIES_KEY,
            {"townships": len(before["features"]) if before else 0},
            {"townships": count},
        )

    db.write(work)
    return count


# Data for the map (reads) ----------------------------------------------------------------------
# The table families map_data reads (db.FAMILIES): what its cache keys on. Not the notifications the
# scheduler delivers nor the bookkeeping, so the map stays cached while the scheduler runs.
MAP_READS = ("places", "registry", "records", "drills", "calls", "resources", "settings")
TEAM_READS = ("registry", "places", "records")  # a township's teams below the map
DRILL_READS = ("drills", "places", "records")  # a township's drills below the map


def township_figures(db: Database, now: datetime | None = None) -> list[dict]:
    """Per township: seat (WGS-84 or None), teams and members now, enterprises, drills and
    participants in the last 12 months, and the linkage status with its indicators."""
    indicators = {i["code"]: i for i in linkage.township_indicators(db, now)}
    today = (now or linkage._now()).date()
    team, team_params = team_active(today, "x")
    member, member_params = member_active(today, "m", team="x")
    rows = db.query_dicts(
        "SELECT t.code, t.name, t.lon, t.lat, t.coord_note,"
        f" (SELECT count(*) FROM teams x WHERE x.township_code = t.code AND {team}) AS teams,"
        " (SELECT count(*) FROM members m JOIN teams x ON x.id = m.team_id WHERE x.township_code = t.code"
        f"   AND {member}) AS members,"
        " (SELECT count(*) FROM enterprises e WHERE e.township_code = t.code AND e.closed_on IS NULL"
        f"   AND {live('enterprises', 'e')}) AS enterprises,"
        " (SELECT count(*) FROM drills d WHERE d.township_code = t.code"
        f"   AND d.held_on > CAST(? AS DATE) - INTERVAL 12 MONTH AND d.held_on <= ? AND {live('drills', 'd')}) AS drills,"
        " (SELECT coalesce(sum(participants), 0) FROM drills d WHERE d.township_code = t.code"
        f"   AND d.held_on > CAST(? AS DATE) - INTERVAL 12 MONTH AND d.held_on <= ? AND {live('drills', 'd')})"
        " AS participants"
        " FROM townships t WHERE t.is_township ORDER BY t.sort_order",
        [*team_params, *member_params, *[today] * 4],
    )
    names: dict[str, list[str]] = {}
    named, named_params = team_active(today, "teams")
    for code, name in db.query(
        "SELECT township_code, name FROM (SELECT township_code, name, row_number() OVER ("
        "   PARTITION BY township_code ORDER BY established_on DESC, id DESC) AS n FROM teams"
        f"   WHERE township_code IS NOT NULL AND {named})"
        " WHERE n <= ? ORDER BY township_code, n",
        [*named_params, POPUP_TEAM_NAMES],
    ):
        names.setdefault(code, []).append(name)
    for row in rows:
        row["team_names"] = names.get(row["code"], [])
        ind = indicators.get(row["code"], {})
        row["status"] = ind.get("status", linkage.AMBER)
        row["reasons"] = ind.get("reasons", [])
        row["roll_call_rate"] = ind.get("roll_call_rate")
        row["ack_rate"] = ind.get("ack_rate")
        row["officer_coverage"] = ind.get("officer_coverage")
        for key in ("teams", "members", "enterprises", "drills", "participants"):
            row[key] = int(row[key])
    return rows


def map_data(db: Database, now: datetime | None = None) -> dict:
    """Everything build_map needs, as plain data."""
    return {
        "townships": township_figures(db, now),
        "outline": regions.county_outline(),
        "tiles": tile_config(db),
        "boundaries": boundaries(db),
        "villages": regions.villages_with_coordinates(db),
        "attribution": regions.ATTRIBUTION,
        "resources": resource_layers(db),
    }


def resource_layers(db: Database) -> dict[str, list[dict]]:
    """The emergency resources with a coordinate, as plain rows for the four resource layers: depots
    (with their stock per item), open and closed shelters (capacity), hazard points (people
    threatened), team bases. Records without a coordinate are not drawn (the resources pages list them)."""
    from .resources import bases, registry, stock

    totals = stock.depot_totals(db)
    depots = [{**d, "stock": totals.get(d["id"], [])} for d in registry.rows(db, "depots") if d["lat"] is not None]
    return {
        "depots": depots,
        "shelters": [r for r in registry.rows(db, "shelters") if r["lat"] is not None],
        "hazards": [r for r in registry.rows(db, "hazards") if r["lat"] is not None],
        "team_bases": bases.team_bases(db),
    }


# The map (pure: plain data in, folium.Map out) -----------------------------------------------------
# The one function that draws a layer's points (_Points): the layer's shared style once, then per
# point only what differs. Circles: [[lat, lon], radius, fill colour or null, tooltip, popup]; labels
# (the layer has a `label` style): [[lat, lon], text]. Texts arrive escaped (js_safe_html); a popup is
# bound as a string and Leaflet builds its DOM only when it opens.
POINTS_JS = (
    "window.emergencyPoints = function (group, spec) { var s = spec[0];"
    " spec[1].forEach(function (r) { var layer;"
    " if (s.label) { layer = L.marker(r[0], {interactive: false, icon: L.divIcon({html: '<div style=\"'"
    " + s.label + '\">' + r[1] + '</div>', iconSize: s.size, iconAnchor: s.anchor, className: s.className})}); }"
    " else { var o = Object.assign({}, s.style, {radius: r[1]}); if (r[2]) { o.fillColor = r[2]; }"
    " layer = L.circleMarker(r[0], o); if (r[3]) { layer.bindTooltip(r[3], {sticky: true}); }"
    " if (r[4]) { layer.bindPopup(r[4], {maxWidth: s.maxWidth || 300}); } }"
    " layer.addTo(group); }); };"
)


class _OfflineShims(MacroElement):
    """Runs before any layer: L.Icon.Default.imagePath to the local copy, a minimal `$` for
    folium's popup template (`$(html)[0]`), which otherwise needs jQuery from a CDN, and the
    emergencyPoints function the point layers call."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.Icon.Default.imagePath = {{ this.path|tojson }};"
        "if (typeof window.$ === 'undefined') { window.$ = function (html) {"
        " var t = document.createElement('template'); t.innerHTML = String(html).trim();"
        " return [t.content.firstChild]; }; }"
        "{{ this.points_js }}"
        "{% endmacro %}"
    )

    def __init__(self, path: str):
        super().__init__()
        self._name = "OfflineShims"
        self.path = path
        self.points_js = POINTS_JS


COORDINATE_DECIMALS = 6  # about 0.1 m, what a form stores: a stored coordinate is drawn unchanged


def _js_json(value) -> str:
    """JSON for the map's script: compact, Chinese as UTF-8, and no `</` that could end a script tag."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": ")).replace("</", "<\\/")


class _Points(MacroElement):
    """The points of one layer (a FeatureGroup, its parent) as one call of emergencyPoints: the style
    shared by the layer written once, then per point only its position, size, colour and texts
    (about a tenth of the script folium writes for one CircleMarker with its popup and tooltip)."""

    _template = Template(
        "{% macro script(this, kwargs) %}\nemergencyPoints({{ this._parent.get_name() }}, {{ this.payload }});\n"
        "{% endmacro %}"
    )

    def __init__(self, style: dict, rows: list[list]):
        super().__init__()
        self._name = "Points"
        self.rows = rows
        self.payload = _js_json([style, rows])


def _at(lat: float, lon: float) -> list[float]:
    return [round(lat, COORDINATE_DECIMALS), round(lon, COORDINATE_DECIMALS)]


def _circles(group: folium.FeatureGroup, style: dict, rows: list[list], max_width: int = 300) -> None:
    """Circle markers: rows [[lat, lon], radius, fill colour or None, tooltip, popup html or None]."""
    if rows:
        group.add_child(_Points({"style": style, "maxWidth": max_width}, rows))


LABEL_STYLE = (
    "white-space:nowrap;font-size:12px;font-weight:{weight};color:{colour};text-shadow:0 0 3px #fff,0 0 3px #fff"
)


def _labels(group: folium.FeatureGroup, colour: str, dy: int, rows: list[list], bold: bool = False) -> None:
    """Text labels (not interactive: their boxes must not catch the clicks meant for a neighbour's
    seat): rows [[lat, lon], text], the text escaped here."""
    style = {
        "label": LABEL_STYLE.format(weight="bold" if bold else "normal", colour=colour),
        "size": [120, 16],
        "anchor": [-10, dy],
        "className": "township-label",
    }
    group.add_child(_Points(style, [[at, js_safe_html(text)] for at, text in rows]))


def js_safe_html(value) -> str:
    """Text for folium's popup and tooltip templates: HTML-escaped, and safe inside the JavaScript
    template literal (`...`) folium wraps them in: backticks and `$` become entities too."""
    return escape_html(value).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def _pct(value) -> str:
    return "—" if value is None else f"{value:.0%}"


def popup_html(t: dict) -> str:
    """The popup of a township seat; every value escaped (HTML and the JS template literal)."""
    e = js_safe_html
    status = linkage.STATUS_LABELS.get(t["status"], t["status"])
    lines = [
        f"<b>{e(t['name'])}</b>",
        f"联动状态：<span style='color:{linkage.STATUS_COLOURS.get(t['status'], '#333')}'>{e(status)}</span>",
        f"救援队伍：{e(t['teams'])} 支，队员 {e(t['members'])} 人",
        f"重点企业：{e(t['enterprises'])} 家",
        f"近12个月演练：{e(t['drills'])} 场，参演 {e(t['participants'])} 人次",
        f"点名应答率：{e(_pct(t.get('roll_call_rate')))}；叫应率：{e(_pct(t.get('ack_rate')))}",
        f"灾害信息员在岗率：{e(_pct(t.get('officer_coverage')))}",
    ]
    if t.get("reasons"):
        lines.append("关注：" + e("；".join(t["reasons"])))
    names = t.get("team_names") or []
    more = t["teams"] - len(names)
    teams = (
        (
            "<div style='max-height:120px;overflow-y:auto;border-top:1px solid #ddd;margin-top:4px'>"
            + "<br>".join("· " + e(n) for n in names)
            + (f"<br>……另有 {more} 支" if more > 0 else "")
            + "</div>"
        )
        if names
        else ""
    )
    return "<div style='font-size:13px;line-height:1.6;min-width:240px'>" + "<br>".join(lines) + teams + "</div>"


def _bounds(outline: dict) -> list[list[float]]:
    lons, lats = [], []

    def walk(c):
        if c and isinstance(c[0], (int, float)):
            lons.append(c[0])
            lats.append(c[1])
        else:
            for x in c:
                walk(x)

    for f in outline["features"]:
        walk(f["geometry"]["coordinates"])
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def build_map(data: dict, height: int = 620) -> folium.Map:
    """The folium map of `data` (see map_data). No network: Leaflet from LEAFLET_URL, tiles only if
    configured, overlays converted to GCJ-02 when the tiles are GCJ-02."""
    tiles = data.get("tiles")
    gcj = bool(tiles and tiles.get("datum") == "gcj02")
    point = wgs84_to_gcj02 if gcj else (lambda lon, lat: (lon, lat))
    outline = transform_geojson(data["outline"], point) if gcj else data["outline"]
    bounds = _bounds(outline)
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    m = folium.Map(
        location=centre,
        zoom_start=10,
        tiles=None,
        control_scale=True,
        height=height,
        prefer_canvas=False,
        attribution_control=True,
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    m.default_js = [("leaflet", f"{LEAFLET_URL}/leaflet.js")]
    m.default_css = [("leaflet_css", f"{LEAFLET_URL}/leaflet.css")]
    m.add_child(_OfflineShims(f"{LEAFLET_URL}/images/"))
    if tiles:
        folium.TileLayer(
            tiles=tiles["url"],
            attr=escape_html(tiles.get("attribution") or ""),
            name="底图",
            overlay=False,
            control=True,
            max_zoom=18,
        ).add_to(m)
    folium.GeoJson(
        outline,
        name="县界",
        style_function=lambda f: {
            "color": "#34495e",
            "weight": 2.5,
            "fill": True,
            "fillColor": "#ecf0f1",
            "fillOpacity": 0.35 if not tiles else 0.05,
        },
        tooltip=js_safe_html("嵩县县界（Vonng/adcode，CC BY 4.0）"),
    ).add_to(m)

    towns = {t["code"]: t for t in data["townships"]}
    polygons = data.get("boundaries")
    if polygons:
        shapes = folium.FeatureGroup(name="乡镇边界（联动状态）")
        for feature in polygons["features"]:
            t = towns.get(feature["properties"]["code"])
            if not t:
                continue
            colour = linkage.STATUS_COLOURS.get(t["status"], NO_COORDINATE_COLOUR)
            shape = transform_geojson(feature, point) if gcj else feature
            folium.GeoJson(
                shape,
                style_function=lambda f, c=colour: {
                    "color": "#ffffff",
                    "weight": 1.5,
                    "fillColor": c,
                    "fillOpacity": 0.55,
                },
                highlight_function=lambda f: {"weight": 3, "color": "#2c3e50"},
                popup=folium.Popup(popup_html(t), max_width=340),  # type: ignore[arg-type]  # folium takes any Popup
                tooltip=js_safe_html(t["name"]),
            ).add_to(shapes)
        shapes.add_to(m)

    # The figures layers start hidden: the seats are close together and their labels would overlap.
    seats = folium.FeatureGroup(name="乡镇驻地（联动状态）")
    team_layer = folium.FeatureGroup(name="救援队伍", show=False)
    ent_layer = folium.FeatureGroup(name="重点企业", show=False)
    drill_layer = folium.FeatureGroup(name="近12个月演练", show=False)
    placed = [t for t in data["townships"] if t.get("lon") is not None and t.get("lat") is not None]
    # The seat's area grows with its teams, scaled to the township with the most (a county ten times
    # larger draws the same sizes, not circles ten times wider).
    most = max([t["teams"] for t in placed] + [1])
    circles: list[list] = []
    names: list[list] = []
    counts: dict[str, list[list]] = {"teams": [], "enterprises": [], "drills": []}
    for t in placed:
        lon, lat = point(t["lon"], t["lat"])
        at = _at(lat, lon)
        colour = linkage.STATUS_COLOURS.get(t["status"], NO_COORDINATE_COLOUR)
        radius = 5 if polygons else round(6 + 14 * math.sqrt(max(t["teams"], 0) / most), 1)
        circles.append([at, radius, colour, js_safe_html(t["name"]), popup_html(t)])
        names.append([at, t["name"]])
        counts["teams"].append([at, f"队伍 {t['teams']} 支"])
        counts["enterprises"].append([at, f"企业 {t['enterprises']} 家"])
        counts["drills"].append([at, f"演练 {t['drills']} 场"])
    _circles(seats, {"color": "#ffffff", "weight": 2, "fill": True, "fillOpacity": 0.9}, circles, max_width=340)
    if placed:
        _labels(seats, "#2c3e50", 8, names, bold=True)
        _labels(team_layer, "#1f618d", -6, counts["teams"])
        _labels(ent_layer, "#7d3c98", -20, counts["enterprises"])
        _labels(drill_layer, "#b03a2e", -34, counts["drills"])
    for layer in (seats, team_layer, ent_layer, drill_layer):
        layer.add_to(m)
    villages = [v for v in data.get("villages") or [] if v.get("lon") is not None]
    if villages:
        village_layer = folium.FeatureGroup(name="村（社区）")
        rows = [[_at(*point(v["lon"], v["lat"])[::-1]), 3, None, js_safe_html(v["name"]), None] for v in villages]
        _circles(village_layer, {"color": "#566573", "weight": 3, "fill": True, "fillOpacity": 0.8}, rows)
        village_layer.add_to(m)
    _resource_layers(m, data.get("resources") or {}, point)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds(bounds)
    return m


# Resource layers: (layer name, data key, colour, popup lines); hidden at first like the figures layers,
# since depots, shelters and team bases at a township government share its seat's coordinate.
RESOURCE_LAYERS = {
    "depots": ("应急物资储备库", "#d35400"),
    "shelters": ("应急避难场所", "#27ae60"),
    "hazards": ("隐患点（威胁人数）", "#c0392b"),
    "team_bases": ("队伍驻地（备勤）", "#2471a3"),
}


def resource_popup(kind: str, r: dict) -> str:
    """The popup of a resource record; every value escaped (HTML and the JS template literal)."""
    from .enums import DEPOT_LEVELS, HAZARD_POINT_KINDS, SHELTER_KINDS, TEAM_READINESS, TEAM_STAFFING

    e = js_safe_html
    place = r.get("township_name") or "县级"
    lines = [f"<b>{e(r['name'])}</b>"]
    if kind == "depots":
        lines.append(f"{e(DEPOT_LEVELS.get(r['level'], r['level']))} · {e(place)}")
        items = r.get("stock") or []
        lines.append("库存：" + (e("、".join(f"{s['name']}{s['quantity']}{s['unit']}" for s in items)) or "无"))
        if r.get("custodian_name"):
            lines.append(f"保管人：{e(r['custodian_name'])}")
    elif kind == "shelters":
        status = "开放" if r.get("is_open") else "关闭"
        lines.append(f"{e(SHELTER_KINDS.get(r['kind'], r['kind']))} · {e(place)} · {status}")
        lines.append(f"可容纳 {e(r['capacity'])} 人")
    elif kind == "hazards":
        lines.append(f"{e(HAZARD_POINT_KINDS.get(r['kind'], r['kind']))} · 编号 {e(r['code'])} · {e(place)}")
        lines.append(f"威胁 {e(r['people_threatened'])} 人 / {e(r['households'])} 户")
        for role, label in (("responsible", "责任人"), ("monitor", "监测员")):
            if r.get(f"{role}_name"):
                lines.append(f"{label}：{e(r[role + '_name'])}")
    else:
        staffing = TEAM_STAFFING.get(r.get("staffing") or "", "")
        readiness = TEAM_READINESS.get(r.get("readiness") or "", "")
        lines.append(f"{e(place)} · {e(staffing or '—')} · {e(readiness or '—')} · 在册 {e(r.get('members', 0))} 人")
        if r.get("equipment"):
            lines.append("装备：" + e(r["equipment"]))
    return "<div style='font-size:13px;line-height:1.6;min-width:200px'>" + "<br>".join(lines) + "</div>"


def _radius(kind: str, r: dict) -> float:
    if kind == "hazards":
        return 4 + 1.5 * math.sqrt(max(int(r.get("people_threatened") or 0), 0))
    if kind == "shelters":
        return 4 + math.sqrt(max(int(r.get("capacity") or 0), 0)) / 5
    return 6


def _resource_layers(m: folium.Map, resources: dict, point) -> None:
    for kind, (name, colour) in RESOURCE_LAYERS.items():
        rows = resources.get(kind) or []
        if not rows:
            continue
        layer = folium.FeatureGroup(name=name, show=False)
        style = {"color": "#ffffff", "weight": 1.5, "fill": True, "fillColor": colour, "fillOpacity": 0.85}
        points = [
            [
                _at(*point(r["lon"], r["lat"])[::-1]),
                round(_radius(kind, r), 1),
                None,
                js_safe_html(r["name"]),
                resource_popup(kind, r),
            ]
            for r in rows
        ]
        _circles(layer, {**style, "className": f"resource-{kind}"}, points, max_width=320)
        layer.add_to(m)


def seat_positions(data: dict) -> dict[str, tuple[float, float]]:
    """{code: (lat, lon)} as drawn (after any datum conversion): to find the township a click hit."""
    tiles = data.get("tiles")
    gcj = bool(tiles and tiles.get("datum") == "gcj02")
    out = {}
    for t in data["townships"]:
        if t.get("lon") is not None and t.get("lat") is not None:
            lon, lat = wgs84_to_gcj02(t["lon"], t["lat"]) if gcj else (t["lon"], t["lat"])
            out[t["code"]] = (lat, lon)
    return out


def clicked_township(data: dict, result: dict | None) -> str | None:
    """The township code a streamlit-folium result points at: a clicked polygon's properties, or the
    seat nearest to the clicked object (within 0.02 degrees)."""
    if not result:
        return None
    drawing = result.get("last_active_drawing") or {}
    code = (drawing.get("properties") or {}).get("code") if isinstance(drawing, dict) else None
    if code:
        return code
    clicked = result.get("last_object_clicked")
    if not clicked or clicked.get("lat") is None:
        return None
    best, best_d = None, 0.02
    for code, (lat, lon) in seat_positions(data).items():
        d = math.hypot(lat - clicked["lat"], lon - clicked["lng"])
        if d <= best_d:
            best, best_d = code, d
    return best


def map_script(m: folium.Map) -> str:
    """The rendered HTML of the map (for tests and for checking that no URL leaves the server)."""
    return m.get_root().render()


def drawn_points(script: str) -> list[tuple[dict, list]]:
    """The point layers of a rendered map (its emergencyPoints calls), as (shared style, rows): for
    tests and for counting what a map draws."""
    calls = re.findall(r"^\s*emergencyPoints\(\w+, (.*)\);$", script, re.MULTILINE)
    return [(style, rows) for style, rows in map(json.loads, calls)]


def external_urls(text: str) -> list[str]:
    return sorted(set(re.findall(r"https?://[^\s\"'<>)\\]+", text)))


def today() -> date:
    return linkage._now().date()


# Picking a coordinate ---------------------------------------------------------------------------
PICK_DECIMALS = 6  # about 0.1 m: what a form stores


def picker_map(db: Database, height: int = 420) -> folium.Map:
    """A small offline map of the county (outline, the configured tiles if any) to click a point on:
    the team base, depot, shelter or hazard point being edited."""
    data: dict[str, Any] = {
        "townships": [],
        "villages": [],
        "outline": regions.county_outline(),
        "tiles": tile_config(db),
    }
    return build_map(data, height=height)


def picked_layer(db: Database, marker: tuple[float, float] | None) -> folium.FeatureGroup:
    """The point already chosen (lon, lat, WGS-84) as a circle, in a layer streamlit-folium swaps in
    without redrawing the map (st_folium's feature_group_to_add)."""
    layer = folium.FeatureGroup(name="已选位置")
    if marker is not None:
        tiles = tile_config(db)
        lon, lat = wgs84_to_gcj02(*marker) if tiles and tiles.get("datum") == "gcj02" else marker
        folium.CircleMarker(
            [lat, lon], radius=7, color="#c0392b", fill=True, fill_opacity=0.9, className="picked-point"
        ).add_to(layer)
    return layer


def picked_coordinate(db: Database, result: dict | None) -> tuple[float, float] | None:
    """The WGS-84 (lon, lat) of the last click on a picker_map (streamlit-folium's `last_clicked`),
    converted back from GCJ-02 when the tiles are GCJ-02; None without a click."""
    clicked = (result or {}).get("last_clicked")
    if not clicked or clicked.get("lat") is None or clicked.get("lng") is None:
        return None
    lon, lat = float(clicked["lng"]), float(clicked["lat"])
    tiles = tile_config(db)
    if tiles and tiles.get("datum") == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    return round(lon, PICK_DECIMALS), round(lat, PICK_DECIMALS)
