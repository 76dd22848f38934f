"""maps.shelter_map: shelters coloured by hours of autonomy over grey context buildings."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from numazu_geo import maps


def _buildings():
    x0, y0 = -31000.0, -98000.0
    feet = [shapely.box(x0 + 30 * i, y0, x0 + 30 * i + 12, y0 + 12) for i in range(4)]
    return gpd.GeoDataFrame({"gml_id": list("abcd"), "building_id": ["A", "B", "C", "D"], "measured_height_m": 9.0,
                             "usage_code": ["422", "411", "422", "401"]}, geometry=feet, crs="EPSG:6676")  # fmt: skip


def test_shelter_map_colours_only_the_shelters(tmp_path):
    table = pd.DataFrame({"building_key": ["A", "C"], "pv_battery_median_h": [12.0, 40.0], "gain_h_per_battery_kwh": [0.5, 1.2]})
    path = maps.shelter_map(_buildings(), table, tmp_path / "shelters.html", lang="en")
    html = path.read_text(encoding="utf-8")
    assert "Shelter autonomy in a blackout" in html and "2 shelters" in html
    assert "Autonomy, PV + battery (median)" in html  # the legend names the column in words
    assert "3D都市モデル" in html or "PLATEAU" in html  # a credit line is printed
    with pytest.raises(KeyError, match="no 'nope' column"):
        maps.shelter_map(_buildings(), table, tmp_path / "x.html", color_by="nope")
    with pytest.raises(ValueError, match="no shelter"):
        maps.shelter_map(_buildings(), table.assign(building_key=["X", "Y"]), tmp_path / "y.html")
