"""The trips map (issue 14) in headless Chromium: routes drawn in their mode colours, JA legend, no network."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from numazu_geo import maps, mobility
from numazu_geo.mobility import synthetic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_browser import LOCAL_SCHEMES, _sync_playwright, chromium, open_and_shoot  # noqa: E402,F401

pytestmark = pytest.mark.browser


def _hue_shares(png: Path) -> dict:
    """Shares of the map area in green (walk), orange (car) and blue (bicycle); lighting shades the
    ribbons, so hues are tested, not exact colours."""
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    h, w, _ = img.shape
    r, g, b = np.moveaxis(img[int(h * 0.12): int(h * 0.85), int(w * 0.25): int(w * 0.95)], -1, 0)
    return {"green": float(((g > r + 50) & (g > b + 10)).mean()),
            "orange": float(((r > g + 40) & (r > b + 60)).mean()),
            "blue": float(((b > r + 40) & (b > g)).mean())}


def test_trips_map_renders_modes_in_chromium(chromium, tmp_path, artifacts_dir):
    fixes, _ = synthetic.school_week(6, seed=2, days=2)
    legs = mobility.detect_trips(fixes[["track", "time", "lat", "lon"]])
    assert {"walk", "car"} <= set(legs["mode"])
    deck = maps.view(maps.trips_layer(legs, color_by="mode", lang="ja", width_m=12),
                     title="歩いて学校へ", lang="ja", attribution=maps.SAMPLE_ATTRIBUTION)
    path = maps.save_html(deck, tmp_path / "trips_map.html")
    png = artifacts_dir / "trips_map.png"
    info = open_and_shoot(chromium, path.as_uri(), png)
    assert not [u for u in info["requests"] if not u.startswith(LOCAL_SCHEMES)]
    assert not info["errors"], info["errors"][:5]
    shares = _hue_shares(png)
    assert shares["green"] > 0.002 and shares["orange"] > 0.002, shares  # walking and car routes in their colours
    if _sync_playwright() is not None:
        assert "移動手段" in info["legend"] and "徒歩" in info["legend"] and "車" in info["legend"]
        # the same page opening in English names the modes in English
        en = open_and_shoot(chromium, maps.save_html(deck, tmp_path / "trips_map_en.html", lang="en").as_uri(),
                            artifacts_dir / "trips_map_en.png")
        assert not en["errors"], en["errors"][:5]
        assert "Mode" in en["legend"] and "Walk" in en["legend"] and "徒歩" not in en["legend"]
