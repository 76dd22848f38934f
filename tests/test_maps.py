"""numazu_geo.maps: layers, camera, self-contained HTML page, district map and CLI (no browser here)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from numazu_geo import maps
from numazu_geo.maps.colormaps import NA_RGBA
from numazu_geo.maps.deck import _script_json

CENTER_LON, CENTER_LAT = 138.8600, 35.1025  # Numazu Station


def make_buildings(n: int = 40, seed: int = 0, crs: int = 6676) -> gpd.GeoDataFrame:
    """Footprints around Numazu Station in JGD2011 zone VIII with the contract's columns."""
    rng = np.random.default_rng(seed)
    x0, y0 = Transformer.from_crs(4326, 6676, always_xy=True).transform(CENTER_LON, CENTER_LAT)
    geoms = []
    for _ in range(n):
        cx, cy = x0 + rng.uniform(-200, 200), y0 + rng.uniform(-200, 200)
        w, h = rng.uniform(8, 25, 2)
        geoms.append(shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    usage = rng.choice(["住宅", "業務施設", "商業施設"], n)
    usage_en = pd.Series(usage).map({"住宅": "Residential", "業務施設": "Office", "商業施設": "Commercial"})
    kwh_m2 = np.linspace(700, 1400, n)
    gdf = gpd.GeoDataFrame(
        {
            "gml_id": [f"bldg_{i:04d}" for i in range(n)],
            "building_id": [f"22203-bldg-{i}" for i in range(n)],
            "building_key": [f"22203-bldg-{i}" for i in range(n)],
            "usage": usage,
            "usage_en": usage_en,
            "measured_height_m": rng.uniform(4, 40, n),
            "storeys_above_ground": rng.integers(1, 10, n),
            "kwh_m2_year": kwh_m2,
            "kwh_year": kwh_m2 * 20,
            "co2_avoided_kg_year": kwh_m2 * 20 * 0.45,
            **{f"kwh_m2_month_{m:02d}": kwh_m2 / 12 * (1 + 0.4 * np.sin((m - 3) / 12 * 2 * np.pi)) for m in range(1, 13)},
        },
        geometry=geoms,
        crs=crs,
    )
    return gdf


def make_points(n: int = 12) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(1)
    gvi = rng.uniform(5, 45, n)  # percent, as green_view_survey returns it
    gvi[0] = np.nan
    return gpd.GeoDataFrame(
        {"gvi": gvi, "sky_view": rng.uniform(10, 50, n), "building_view": rng.uniform(10, 50, n),
         "path": [f"/photos/p{i:02d}.jpg" for i in range(n)], "error": [""] * n},
        geometry=gpd.points_from_xy(CENTER_LON + rng.uniform(-0.002, 0.002, n), CENTER_LAT + rng.uniform(-0.002, 0.002, n)),
        crs=4326,
    )


def extract_json(page: str, name: str):
    match = re.search(rf"var {name} = (.*?);\n", page)
    assert match, f"{name} not found in page"
    return json.loads(match.group(1))


# ------------------------------------------------------------------------------------------ layers


def test_buildings_layer_reprojects_colours_and_legend():
    gdf = make_buildings()
    layer = maps.buildings_layer(gdf, color_by="kwh_m2_year", lang="ja", stretch=True, walls="colored")
    assert layer.type == "PolygonLayer" and len(layer.data) == len(gdf)
    lon, lat = np.array([pt for rec in layer.data for pt in rec["polygon"][0]]).T
    assert np.all(np.abs(lon - CENTER_LON) < 0.01) and np.all(np.abs(lat - CENTER_LAT) < 0.01)
    viridis = matplotlib.colormaps["viridis"]
    low = layer.data[int(np.argmin(gdf["kwh_m2_year"]))]["color"]
    high = layer.data[int(np.argmax(gdf["kwh_m2_year"]))]["color"]
    assert low == [int(round(c * 255)) for c in viridis(0.0)[:3]] + [255]
    assert high == [int(round(c * 255)) for c in viridis(1.0)[:3]] + [255]
    # heights are the measured ones
    assert np.allclose([r["height"] for r in layer.data], gdf["measured_height_m"].round(2))
    legend = layer.legend
    assert legend.kind == "continuous" and "屋根の年間日射量" in legend.title and "kWh/m²/年" in legend.title
    assert len(legend.tick_labels) == 3 and legend.tick_labels[0].startswith("≤")  # 2-98 % clipping
    assert "linear-gradient" in legend.to_html() and "他の地図と色を比べられません" in legend.to_html()
    assert layer.bounds_lonlat[0] < CENTER_LON < layer.bounds_lonlat[2]
    # legend/bounds are not sent to deck.gl
    assert "legend" not in layer.to_json().lower()


def test_buildings_layer_tooltips_in_both_languages():
    gdf = make_buildings(5)
    ja = maps.buildings_layer(gdf, lang="ja").data[0]["tooltip"]
    en = maps.buildings_layer(gdf, lang="en").data[0]["tooltip"]
    assert "用途" in ja and gdf.loc[0, "usage"] in ja and "CO2削減量" in ja and "kWh/年" in ja
    assert "Usage" in en and gdf.loc[0, "usage_en"] in en and "CO2 avoided" in en and "kWh/yr" in en
    assert "22203-bldg-0" in ja  # heading


def test_buildings_layer_estimates_missing_heights_and_explodes_multipolygons():
    gdf = make_buildings(4)
    gdf.loc[0, "measured_height_m"] = np.nan
    gdf.loc[0, "storeys_above_ground"] = 4
    gdf.loc[1, "measured_height_m"] = -9999.0
    gdf.loc[1, "storeys_above_ground"] = pd.NA if gdf["storeys_above_ground"].dtype == object else 0
    a, b = gdf.geometry.iloc[2], gdf.geometry.iloc[3]
    gdf.loc[2, "geometry"] = shapely.MultiPolygon([a, shapely.affinity.translate(a, 40, 0)])
    layer = maps.buildings_layer(gdf, lang="ja")
    assert len(layer.data) == 5  # the MultiPolygon gives two polygons
    assert layer.data[0]["height"] == pytest.approx(4 * maps.layers.STOREY_HEIGHT_M)
    assert "推定" in layer.data[0]["tooltip"]
    assert layer.data[1]["height"] == pytest.approx(maps.layers.DEFAULT_HEIGHT_M)
    assert "推定" not in layer.data[2]["tooltip"]
    assert layer.data[2]["tooltip"] == layer.data[3]["tooltip"]


def test_buildings_layer_categorical_and_missing_values():
    gdf = make_buildings(30)
    layer = maps.buildings_layer(gdf, color_by="usage", lang="en")
    assert layer.legend.kind == "categorical"
    assert {c for c, _ in layer.legend.categories} == set(gdf["usage_en"])
    gdf.loc[0, "kwh_m2_year"] = np.nan
    layer = maps.buildings_layer(gdf, color_by="kwh_m2_year", lang="ja")
    assert layer.companions[0].data[0]["color"] == list(NA_RGBA)  # the roof cap carries the colour
    assert layer.legend.na_label == "データなし"


def test_buildings_layer_single_colour():
    layer = maps.buildings_layer(make_buildings(4), color=(200, 201, 202))
    assert all(rec["color"] == [200, 201, 202, 255] for rec in layer.data) and layer.legend is None
    assert "用途" in layer.data[0]["tooltip"]


def test_buildings_layer_errors_are_clear():
    gdf = make_buildings(3)
    with pytest.raises(KeyError, match="no column 'nope'"):
        maps.buildings_layer(gdf, color_by="nope")
    with pytest.raises(ValueError, match="no CRS"):
        maps.buildings_layer(gdf.set_crs(None, allow_override=True))
    with pytest.raises(ValueError, match="lang"):
        maps.buildings_layer(gdf, lang="fr")


def test_buildings_layer_ground_base():
    gdf = make_buildings(3).assign(ground_z_m=[5.0, 6.5, 7.0])
    layer = maps.buildings_layer(gdf, base_z="ground")
    assert layer.data[1]["polygon"][0][0][2] == pytest.approx(6.5)


def test_roofs_layer_keeps_heights():
    x0, y0 = Transformer.from_crs(4326, 6676, always_xy=True).transform(CENTER_LON, CENTER_LAT)
    faces = gpd.GeoDataFrame(
        {"face_id": ["f0", "f1"], "building_key": ["b0", "b0"], "kwh_m2_year": [900.0, 1300.0],
         "area_m2": [40.0, 40.0], "tilt_deg": [30.0, 30.0], "azimuth_deg": [180.0, 0.0]},
        geometry=[shapely.Polygon([(x0, y0, 10), (x0 + 10, y0, 10), (x0 + 10, y0 + 4, 12.3), (x0, y0 + 4, 12.3)]),
                  shapely.Polygon([(x0, y0 + 4, 12.3), (x0 + 10, y0 + 4, 12.3), (x0 + 10, y0 + 8, 10), (x0, y0 + 8, 10)])],
        crs=6676,
    )
    layer = maps.roofs_layer(faces, lang="en", z_offset_m=2.0)
    zs = sorted({p[2] for rec in layer.data for p in rec["polygon"][0]})
    assert zs == pytest.approx([8.0, 10.3])
    assert layer.data[0]["color"] != layer.data[1]["color"]
    assert "Tilt" in layer.data[0]["tooltip"]


def test_green_view_layer_points_in_percent():
    pts = make_points()
    layer = maps.green_view_layer(pts, lang="ja")
    assert layer.type == "ColumnLayer" and len(layer.data) == len(pts)
    assert layer.data[1]["height"] == pytest.approx(2.0 + pts.loc[1, "gvi"] * 0.4, abs=0.01)
    assert layer.data[0]["color"] == list(NA_RGBA)  # failed photo
    assert "緑視率" in layer.data[1]["tooltip"] and "%" in layer.data[1]["tooltip"]
    assert f"{pts.loc[1, 'gvi']:.0f}%" in layer.data[1]["tooltip"]
    assert "p01.jpg" in layer.data[1]["tooltip"] and "/photos" not in layer.data[1]["tooltip"]
    assert layer.legend.vmin == 0.0


def test_trips_layer():
    x0, y0 = Transformer.from_crs(4326, 6676, always_xy=True).transform(CENTER_LON, CENTER_LAT)
    trips = gpd.GeoDataFrame(
        {"mode": ["walk", "bicycle"], "distance_km": [1.2, 3.4]},
        geometry=[shapely.LineString([(x0, y0), (x0 + 300, y0 + 100)]),
                  shapely.MultiLineString([[(x0, y0), (x0, y0 + 200)], [(x0, y0 + 250), (x0 + 50, y0 + 400)]])],
        crs=6676,
    )
    layer = maps.trips_layer(trips, color_by="mode", lang="en")
    assert layer.type == "PolygonLayer" and len(layer.data) == 3
    assert all(rec["polygon"][0][0] == rec["polygon"][0][-1] for rec in layer.data)
    assert layer.legend.kind == "categorical"
    assert "Distance" in layer.data[0]["tooltip"]


# ------------------------------------------------------------------------------------------ view


def test_view_centres_camera_on_data():
    gdf = make_buildings()
    deck = maps.view(maps.buildings_layer(gdf), maps.green_view_layer(make_points()), title="テスト")
    vs = deck.initial_view_state
    west, south, east, north = gdf.to_crs(4326).total_bounds
    assert abs(vs.longitude - CENTER_LON) < 0.003 and abs(vs.latitude - CENTER_LAT) < 0.003
    assert 45 <= vs.pitch <= 60
    assert 14.5 < vs.zoom < 18.5
    # the fitted zoom shows the whole extent in a 1200x800 viewport
    world_px = 512 * 2 ** vs.zoom
    assert (east - west) / 360 * world_px < 1200
    assert deck.title == "テスト" and len(deck.legends) == 2
    assert deck.layers[0].id == "numazu-ground"
    with pytest.raises(ValueError):
        maps.view()


def test_fit_zoom_shrinks_with_extent():
    small = maps.fit_zoom((138.859, 35.101, 138.861, 35.103))
    large = maps.fit_zoom((138.80, 35.05, 138.92, 35.15))
    assert small > large + 4


# ------------------------------------------------------------------------------------------ HTML


def test_save_html_is_self_contained(tmp_path):
    gdf = make_buildings()
    deck = maps.view(maps.buildings_layer(gdf, lang="ja"), title="沼津駅周辺の日射量")
    path = maps.save_html(deck, tmp_path / "sub" / "map.html")
    page = path.read_text(encoding="utf-8")
    assert [p.name for p in path.parent.iterdir()] == ["map.html"]  # atomic: no temp file left
    assert path.stat().st_size > 4_000_000  # deck.gl inlined (~4.3 MB)
    # nothing is loaded from elsewhere
    assert not re.search(r"<script[^>]+src=", page, re.I)
    assert not re.search(r"<link[^>]+href=", page, re.I)
    assert "@import" not in page and not re.search(r"url\(\s*['\"]?https?:", page)
    assert "default-src 'none'" in page.replace("&#39;", "'")
    assert "https://cyberjapandata" not in page
    # page texts
    assert "<title>沼津駅周辺の日射量</title>" in page
    assert "3D都市モデル（Project PLATEAU）沼津市, 国土交通省" in page  # city from the data's codes; no year stated
    assert "ng-legend-ramp" in page and "屋根の年間日射量" in page
    deck_json = extract_json(page, "jsonInput")
    layer_types = [layer["@@type"] for layer in deck_json["layers"]]
    assert layer_types == ["PolygonLayer", "PolygonLayer", "PolygonLayer"]  # ground, walls, roof caps
    assert len(deck_json["layers"][1]["data"]) == len(gdf)
    assert deck_json["initialViewState"]["pitch"] == 50
    assert extract_json(page, "basemap") is None
    assert extract_json(page, "tooltip")["html"] == "{tooltip}"


def test_save_html_escapes_script_breakers(tmp_path):
    gdf = make_buildings(3)
    gdf["name"] = ["</script><script>alert(1)</script>", "<!-- x", "普通の名前"]
    page = maps.save_html(maps.view(maps.buildings_layer(gdf)), tmp_path / "m.html").read_text(encoding="utf-8")
    assert page.count("</script>") == 2  # the bundle's and ours, nothing from the data
    data = extract_json(page, "jsonInput")["layers"][1]["data"]
    assert "&lt;/script&gt;" in data[0]["tooltip"]


def test_save_html_online_adds_gsi_basemap(tmp_path):
    deck = maps.view(maps.buildings_layer(make_buildings(5)), basemap="gsi-std")
    page = maps.save_html(deck, tmp_path / "online.html", offline=False).read_text(encoding="utf-8")
    basemap = extract_json(page, "basemap")
    assert basemap["url"] == "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png"
    assert ">地理院タイル</a>" in page and "https://maps.gsi.go.jp/development/ichiran.html" in page
    assert "img-src data: blob: https://cyberjapandata.gsi.go.jp" in page
    assert all(layer["id"] != "numazu-ground" for layer in extract_json(page, "jsonInput")["layers"])


def test_save_html_rejects_other_suffix(tmp_path):
    with pytest.raises(ValueError, match=".html"):
        maps.save_html(maps.view(maps.buildings_layer(make_buildings(2))), tmp_path / "map.png")


def test_save_html_english_page(tmp_path):
    deck = maps.view(maps.buildings_layer(make_buildings(5), lang="en"), lang="en")
    page = maps.save_html(deck, tmp_path / "en.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "沼津市 Roof irradiation" in page and "Roof irradiation" in page


def test_plateau_attribution():
    assert maps.plateau_attribution("静岡市", 2024) == "3D都市モデル（Project PLATEAU）静岡市（2024年度）, 国土交通省"


def test_district_map_from_result_like_object(tmp_path):
    result = SimpleNamespace(buildings=make_buildings(20))
    path = maps.district_map(result, tmp_path / "district.html", lang="ja")
    page = path.read_text(encoding="utf-8")
    assert "屋根の年間日射量（3D）" in page and "建物 20 棟" in page
    page = maps.district_map(result, tmp_path / "d2.html", attribution=maps.SAMPLE_ATTRIBUTION).read_text("utf-8")
    assert "合成サンプル地区" in page and "Project PLATEAU" not in page
    with pytest.raises(TypeError, match="district_map"):
        maps.district_map(object(), tmp_path / "x.html")


# ------------------------------------------------------------------------------------------ CLI


def test_cli_map(tmp_path, capsys):
    from numazu_geo.cli import main
    from numazu_geo.io import to_parquet

    src = to_parquet(make_buildings(10), tmp_path / "b.parquet")
    out = tmp_path / "b.html"
    assert main(["map", str(src), "-o", str(out), "--color-by", "kwh_year", "--lang", "en"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "PV yield" in page and str(out) in capsys.readouterr().out
    pts = to_parquet(make_points(), tmp_path / "p.parquet")
    assert main(["map", str(pts), "-o", str(tmp_path / "p.html")]) == 0
    assert "ColumnLayer" in (tmp_path / "p.html").read_text(encoding="utf-8")
    assert main(["map", str(src), "-o", str(out), "--color-by", "nope"]) == 1
    assert "no column 'nope'" in capsys.readouterr().err
    assert main(["map", str(tmp_path / "missing.parquet"), "-o", str(out)]) == 1


def test_script_json_is_valid_json():
    text = _script_json({"a": "</b><!-- c"})
    assert "</" not in text and "<!--" not in text and json.loads(text) == {"a": "</b><!-- c"}
