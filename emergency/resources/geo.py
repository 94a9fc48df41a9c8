"""Straight-line distance and the nearest-resource rule: pure functions of plain values.

The distance is the great circle on a sphere of the mean Earth radius (haversine formula; IUGG mean
radius 6371.0088 km): within 0.5 % of the ellipsoidal distance, far closer than a county's answer
to "is a team within 10 km" needs. Coordinates are WGS-84 degrees; a place without a coordinate
has no distance and is never the nearest of anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in km between two WGS-84 points (degrees)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    d_lat, d_lon = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(d_lat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(d_lon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def has_coordinate(row: dict) -> bool:
    return row.get("lat") is not None and row.get("lon") is not None


def nearest(point: dict, candidates: Iterable[dict]) -> dict | None:
    """The candidate nearest to `point` as {name, lat, lon, km} (km rounded to 0.01), or None when
    the point or every candidate lacks a coordinate. Ties go to the first candidate in order."""
    if not has_coordinate(point):
        return None
    best, best_km = None, math.inf
    for c in candidates:
        if not has_coordinate(c):
            continue
        km = great_circle_km(point["lat"], point["lon"], c["lat"], c["lon"])
        if km < best_km:
            best, best_km = c, km
    if best is None:
        return None
    return {"name": best["name"], "lat": best["lat"], "lon": best["lon"], "km": round(best_km, 2)}


def covered(nearest_team: dict | None, within_km: float) -> bool:
    """A hazard point is covered when its nearest team lies within `within_km` (inclusive)."""
    return nearest_team is not None and nearest_team["km"] <= within_km
