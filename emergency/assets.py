"""Offline web assets: Leaflet copied from the pinned xstatic-leaflet package into static/leaflet/,
served by Streamlit's static file server at /app/static/leaflet/ so that maps need no CDN.

Run by the set-up scripts (`python -m emergency.assets`); idempotent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .db import PROJECT_DIR

STATIC_DIR = PROJECT_DIR / "static"
LEAFLET_DIR = STATIC_DIR / "leaflet"
LEAFLET_URL = "/app/static/leaflet"
LEAFLET_FILES = [
    "leaflet.js",
    "leaflet.css",
    "images/marker-icon.png",
    "images/marker-icon-2x.png",
    "images/marker-shadow.png",
    "images/layers.png",
    "images/layers-2x.png",
]


def install_leaflet() -> Path:
    import xstatic.pkg.leaflet as leaflet

    source = Path(leaflet.BASE_DIR)
    for name in LEAFLET_FILES:
        target = LEAFLET_DIR / name
        if not target.exists() or target.stat().st_size != (source / name).stat().st_size:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, target)
    return LEAFLET_DIR


def leaflet_installed() -> bool:
    return all((LEAFLET_DIR / name).exists() for name in LEAFLET_FILES)


if __name__ == "__main__":
    print(
        f"Leaflet {getattr(__import__('xstatic.pkg.leaflet', fromlist=['VERSION']), 'VERSION', '')} -> {install_leaflet()}"
    )
