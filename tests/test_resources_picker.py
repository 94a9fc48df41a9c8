"""Picking a coordinate on the map (pure parts): the click as WGS-84, back from GCJ-02 tiles; the
picker map drawn offline; the county outline test behind team bases."""

from __future__ import annotations

import pytest

from emergency import auth, mapview, regions

GAODE = "https://webrd01.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"


@pytest.mark.parametrize(
    "result, expected",
    [
        (None, None),
        ({}, None),
        ({"last_clicked": None}, None),
        ({"last_clicked": {"lat": None, "lng": 112.0}}, None),
        ({"last_clicked": {"lat": 34.123456789, "lng": 112.0987654321}}, (112.098765, 34.123457)),
    ],
)
def test_picked_coordinate_without_tiles_is_the_click(fresh_db, result, expected):
    assert mapview.picked_coordinate(fresh_db, result) == expected


def test_picked_coordinate_comes_back_from_gcj02_tiles(fresh_db):
    mapview.set_tile_config(fresh_db, auth.SYSTEM, GAODE, "gcj02", "高德地图")
    lon, lat = 112.09047, 34.14826
    g_lon, g_lat = mapview.wgs84_to_gcj02(lon, lat)
    assert abs(g_lon - lon) > 0.001  # the shift the conversion undoes
    assert mapview.picked_coordinate(fresh_db, {"last_clicked": {"lat": g_lat, "lng": g_lon}}) == (lon, lat)
    html = mapview.map_script(mapview.picker_map(fresh_db))
    assert all(u.startswith("https://webrd01.is.autonavi.com/") for u in mapview.external_urls(html))


def test_picker_map_is_offline_and_draws_the_chosen_point(fresh_db):
    m = mapview.picker_map(fresh_db)
    m.add_child(mapview.picked_layer(fresh_db, (112.09047, 34.14826)))
    html = mapview.map_script(m)
    assert mapview.external_urls(html) == []  # local Leaflet, no tiles
    assert "picked-point" in html and "[34.14826, 112.09047]" in html
    assert "picked-point" not in mapview.map_script(mapview.picker_map(fresh_db))


SQUARE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


@pytest.mark.parametrize(
    "lon, lat, inside", [(0.5, 0.5, True), (1.5, 0.5, False), (0.5, -0.1, False), (0.99, 0.01, True)]
)
def test_inside_ring(lon, lat, inside):
    assert regions.inside_ring(lon, lat, SQUARE) is inside


@pytest.mark.parametrize(
    "lon, lat, inside",
    [
        (112.09047, 34.14826, True),  # 城关镇 seat
        (111.72, 34.33, False),  # inside the bounding box, outside the outline
        (116.4, 39.9, False),  # Beijing
    ],
)
def test_inside_county(lon, lat, inside):
    assert regions.inside_county(lon, lat) is inside
