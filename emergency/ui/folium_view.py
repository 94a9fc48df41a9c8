"""A folium map drawn through streamlit-folium's component, its rendering cached on the map's data.

`st_folium` renders the folium tree (jinja templates compiled per element) and rebuilds the
Leaflet script on every rerun: about 1 s of CPU per view of 地图 at the county's size, for the same
text each time. `show_map` keeps the strings st_folium sends to the browser (script, header,
html, links, default return value) keyed on a digest of the plain data the map is built from
(mapview.map_data), so a rerun with unchanged data sends the cached strings and builds nothing;
any change in the data (a status, a count, a coordinate, a setting) is a new key. The component
is the same one st_folium declares, with the same arguments, so the browser side is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

import folium
import streamlit as st
import streamlit_folium as sf
from streamlit import runtime

CACHE_SIZE = 8  # distinct map data kept (one per data state; a few while data changes)
_cache: OrderedDict[str, dict] = OrderedDict()
_lock = threading.Lock()
stats = {"hits": 0, "builds": 0}  # read by tests and the benchmark


def data_key(data) -> str:
    """The digest of a map's plain data (dicts, lists, numbers, strings, dates)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_digests: OrderedDict[int, tuple[object, str]] = OrderedDict()  # id -> (the data object, its digest)


def _digest(data) -> str:
    """data_key, computed once per data object (a page's cached data is the same object each rerun;
    the object is kept beside its digest, so its id cannot be reused meanwhile)."""
    with _lock:
        hit = _digests.get(id(data))
        if hit is not None and hit[0] is data:
            return hit[1]
    key = data_key(data)
    with _lock:
        _digests[id(data)] = (data, key)
        while len(_digests) > CACHE_SIZE:
            _digests.popitem(last=False)
    return key


def _bounds_dict(bounds) -> dict:
    (south, west), (north, east) = bounds
    return {"_southWest": {"lat": south, "lng": west}, "_northEast": {"lat": north, "lng": east}}


def component_args(fmap: folium.Map) -> dict:
    """What st_folium 0.27 computes from a map before calling its component (the costly part)."""
    fmap.get_root().render()
    fmap.render()
    html = sf._get_html(fmap)
    header = sf._get_header(fmap)
    # folium indents every line of its script deeply: about a tenth of the bytes sent
    leaflet = "\n".join(line.strip() for line in sf._get_map_string(fmap).splitlines() if line.strip())
    try:
        bounds = fmap.get_bounds()
    except AttributeError:
        bounds = [[None, None], [None, None]]
    css_links: list[str] = []
    js_links: list[str] = []

    def walk(element):
        if isinstance(element, folium.elements.JSCSSMixin):
            yield element
        for child in getattr(element, "_children", {}).values():
            yield from walk(child)

    for element in walk(fmap):
        css_links.extend(href for _, href in getattr(element, "default_css", []))
        js_links.extend(src for _, src in getattr(element, "default_js", []))
    return {
        "script": leaflet,
        "header": header,
        "html": html,
        "id": sf.get_full_id(fmap),
        "bounds": _bounds_dict(bounds),
        "zoom": fmap.options.get("zoom"),
        "css_links": list(dict.fromkeys(css_links)),
        "js_links": list(dict.fromkeys(js_links)),
    }


def cached_args(key: str, build: Callable[[], folium.Map]) -> dict:
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            stats["hits"] += 1
            return _cache[key]
    args = component_args(build())
    with _lock:
        _cache[key] = args
        stats["builds"] += 1
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return args


def ensure_registered() -> None:
    """Register streamlit_folium's component with the running app if its import did not: Streamlit
    registers a declared component only when it is declared during a run, and the server's preload
    imports this module (and streamlit_folium) before any run. Call before drawing a folium map."""
    if not runtime.exists():  # a bare run (AppTest, a script): no app to serve the component
        return
    registry = runtime.get_instance().component_registry
    component = sf._component_func
    if registry.get_component(component.name) is None:
        registry.register_component(component)


def prepared_args(data, build: Callable[[], folium.Map]) -> dict:
    """The component's strings for the map `build()` makes of `data` (built once per data state)."""
    return cached_args(_digest(data), build)


def show_map(
    data,
    build: Callable[[], folium.Map],
    *,
    key: str,
    height: int,
    returned_objects: Iterable[str],
) -> dict:
    """Draw the map `build()` makes of `data` (built only when this data has not been drawn
    before); returns what st_folium returns (the last click and so on)."""
    ensure_registered()
    args = prepared_args(data, build)
    returned = list(returned_objects)
    defaults = {
        "last_clicked": None,
        "last_object_clicked": None,
        "last_object_clicked_count": None,
        "last_object_clicked_tooltip": None,
        "last_object_clicked_popup": None,
        "all_drawings": None,
        "last_active_drawing": None,
        "bounds": args["bounds"],
        "zoom": args["zoom"],
        "last_circle_radius": None,
        "last_circle_polygon": None,
        "selected_layers": None,
        "selected_tags": None,
        "last_geocoder_result": None,
    }
    hash_key = sf.generate_js_hash(args["script"], key, False)

    def on_change():
        st.session_state[key] = st.session_state.get(hash_key, {})

    return sf._component_func(
        script=args["script"],
        header=args["header"],
        html=args["html"],
        id=args["id"],
        key=hash_key,
        height=height,
        width=None,  # the container's width (st_folium's use_container_width)
        returned_objects=returned,
        default={k: v for k, v in defaults.items() if k in returned},
        zoom=None,
        center=None,
        feature_group=None,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=args["css_links"],
        js_links=args["js_links"],
        on_change=on_change,
        wrap_longitude=False,
    )
