"""The shelter-autonomy map (notebook 06, ``maps.shelter_map``) renders in headless Chromium."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from numazu_geo import maps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_browser import LOCAL_SCHEMES, _sync_playwright, chromium, drawn_pixels, open_and_shoot  # noqa: E402, F401
from test_maps import make_buildings  # noqa: E402

pytestmark = pytest.mark.browser


def test_shelter_map_renders_in_chromium(chromium, tmp_path, artifacts_dir):  # noqa: F811
    b = make_buildings(60, seed=5).drop(columns=["kwh_m2_year"])
    # the ten largest footprints are the shelters, from 0 h to beyond the 72-hour target
    big = b.geometry.area.sort_values(ascending=False).index[:10]
    table = pd.DataFrame({"building_key": b.loc[big, "building_key"].to_numpy(), "pv_battery_median_h": np.linspace(0, 90, 10)})
    path = maps.shelter_map(b, table, tmp_path / "shelters.html", lang="ja")
    png = artifacts_dir / "shelter_autonomy_map.png"
    info = open_and_shoot(chromium, path.as_uri(), png)
    assert not [u for u in info["requests"] if not u.startswith(LOCAL_SCHEMES)], "requests left the page"
    assert not info["errors"], f"console errors: {info['errors'][:5]}"
    pixels = drawn_pixels(png)
    assert pixels["share"] > 0.02, pixels  # the grey context and the shelters are drawn
    assert pixels["yellow"] > 30 and pixels["purple"] > 30, pixels  # 0 h and >= 72 h shelters both visible
    if _sync_playwright() is not None:
        assert "停電時の自立時間" in info["legend"] and "72" in info["legend"]
        assert "避難所の停電時の自立時間" in info["header"]
