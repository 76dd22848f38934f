"""Issue 12: credits from the data, place context (features, sample streets and water, labels), fixed colour
ranges, provenance captions, the bilingual page and people's tables (no browser here; see test_browser.py)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from numazu_geo import maps
from numazu_geo.citygml import read_buildings
from numazu_geo.citygml.codelists import municipality_names, short_municipality_name
from numazu_geo.citygml.features import city_code_from_path, read_features
from numazu_geo.maps import credits, tables
from numazu_geo.maps.colormaps import continuous_colors, fixed_domains

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_maps import extract_json, make_buildings  # noqa: E402

OTA_LOD2 = "v2_uro2.0/tokyo13111_2022_53392633_bldg_6697_2_op__lod2_tex.gml"
SHIZUOKA = "v3_uro3.0/shizuoka22102_2023_52382287_bldg_6697_psc_op__excerpt.gml"
OSAKA = "v4_uro3.1/osaka27120_2024_51357309_bldg_6697_op__riverflood.gml"
SHUNAN_LOD1 = "v4_uro3.1/city35215_51311568_bldg_6697_op__lod1_only.gml"


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    from numazu_geo.sample import make_district

    return make_district(tmp_path_factory.mktemp("ctx") / "d", n_buildings=60, seed=5, progress=False)


# ------------------------------------------------------------------------------------------ credits


def test_municipality_names_from_builtin_table_and_dataset_list(plateau_dir):
    names = municipality_names(["22203", "13111", "27120", "99998"])
    assert names == {"22203": "静岡県沼津市", "13111": "東京都大田区", "27120": "大阪府大阪市住吉区"}
    assert short_municipality_name("27120", names["27120"]) == "大阪市住吉区"
    assert short_municipality_name("26100", "京都府京都市") == "京都市"
    # the dataset's own list is read first (here: a v2 list, which has no 47999-style entries)
    lists = [str(plateau_dir / "codelists" / "v2_kawasaki-2022")]
    assert municipality_names(["14130"], lists)["14130"].endswith("川崎市")


@pytest.mark.parametrize("rel, city, year", [
    (OTA_LOD2, "大田区", "2022年度"), (SHIZUOKA, "静岡市駿河区", "2023年度"), (OSAKA, "大阪市住吉区", "2024年度"),
    (SHUNAN_LOD1, "周南市", None),
])
def test_credit_names_the_files_city_and_never_another(plateau_dir, rel, city, year):
    gdf = read_buildings(plateau_dir / rel, progress=False)
    lines = maps.data_credits(gdf)
    expected = f"3D都市モデル（Project PLATEAU）{city}（{year}）, 国土交通省" if year else \
        f"3D都市モデル（Project PLATEAU）{city}, 国土交通省"
    assert lines == [expected]
    assert maps.place_name(gdf) == city
    page = maps.to_html(maps.view(maps.buildings_layer(gdf)))
    assert expected in page and "沼津" not in page
    assert f"<title>{city} " in page  # the title names the place and the analysis


def test_roof_faces_map_credits_the_dataset_year(plateau_dir):
    """QA: the map of `solar` roof faces credited 大田区 without the dataset year (the faces had no
    source_file); the faces now carry their building's source file, and both maps say the same."""
    from numazu_geo.solar import solar_potential

    result = solar_potential(plateau_dir / OTA_LOD2, shading=False, climate_days="monthly", progress=False)
    assert result.faces["source_file"].notna().all()
    expected = ["3D都市モデル（Project PLATEAU）大田区（2022年度）, 国土交通省"]
    assert maps.data_credits(result.faces) == maps.data_credits(result.buildings) == expected


def test_several_cities_are_all_credited():
    a = make_buildings(6)
    b = make_buildings(4, seed=2).assign(building_id=[f"13111-bldg-{i}" for i in range(4)])
    both = pd.concat([a, b, b.assign(building_id=[f"13111-bldg-x{i}" for i in range(4)])], ignore_index=True)
    lines = maps.data_credits(both)
    assert lines == ["3D都市モデル（Project PLATEAU）大田区, 国土交通省", "3D都市モデル（Project PLATEAU）沼津市, 国土交通省"]
    assert maps.place_name(both) == "大田区・沼津市"


def test_year_and_city_from_dataset_names():
    assert credits.dataset_year("x/22203_numazu-shi_city_2023_citygml_1_op.zip!udx/bldg/a.gml") == 2023
    assert credits.dataset_year("13100_tokyo23-ku_2022_citygml_1_3_op/udx/bldg/53392633_bldg_6697_2_op.gml") == 2022
    assert credits.dataset_year("v2/tokyo13111_2022_53392633_bldg_6697_2_op__lod2_tex.gml") == 2022
    assert credits.dataset_year("udx/bldg/53392633_bldg_6697_2_op.gml") is None
    assert city_code_from_path("suginami13115_2024_53394503_tran_6697_op.gml") == "13115"
    assert city_code_from_path("22203_numazu-shi_city_2023_citygml_1_op.zip") == "22203"
    assert city_code_from_path("takaoka16202_2024_oyabegawa_55360704_fld_6697_l2.gml") == "16202"


def test_sample_district_keeps_its_synthetic_credit(district):
    gdf = read_buildings(district.path, progress=False)
    assert maps.data_credits(gdf) == [maps.SAMPLE_ATTRIBUTION]
    page = maps.to_html(maps.view(maps.buildings_layer(gdf)))
    assert "合成サンプル地区" in page and "Project PLATEAU）沼津市" not in page


def test_caption_says_climate_model_and_date():
    gdf = make_buildings(5)
    gdf.attrs["solar_parameters"] = {"climate_source": "APPROXIMATE default: Ineichen clear sky; long tail",
                                     "climate_approximate": True, "model": "perez", "shading": True}
    ja, en = maps.caption(gdf, "ja"), maps.caption(gdf, "en")
    assert "沼津市" in ja and "APPROXIMATE default" in ja and "概算値" in ja and "long tail" not in ja
    assert "approximate, not measured" in en and "sky perez" in en and re.search(r"Made: \d{4}-\d\d-\d\d", en)
    # the run's provenance (numazu_geo.provenance, attached by solar_potential) wins over what is derived
    gdf.attrs["provenance"] = {"climate_source": "numazu_2020.epw", "climate_approximate": False,
                               "run_date": "2026-05-01", "pv_model": "pvwatts"}
    en = maps.caption(gdf, "en")
    assert en.startswith("Data: 3D都市モデル（Project PLATEAU）沼津市")
    assert "weather file numazu_2020.epw" in en and "approximate" not in en and "2026-05-01" in en and "pvwatts" in en
    gdf.attrs["provenance"]["data_credit"] = ["出典：気象庁ホームページ（平年値 1991-2020）を加工して作成"]
    assert maps.caption(gdf, "ja").count("気象庁") == 1  # the run's own credit line, once


# ------------------------------------------------------------------------------------------ features


def test_read_features_real_files(plateau_dir):
    other = plateau_dir / "other"
    tran = read_features(other / "suginami13115_2024_53394503_tran_6697_op.gml", "tran")
    assert len(tran) == 1 and tran.loc[0, "feature_type"] == "Road" and tran.loc[0, "class_code"] == "1040"
    assert tran.crs.to_epsg() == 6677 and 300 < tran.area.sum() < 500  # Tokyo is zone IX
    wtr = read_features(other / "bunkyo13105_2025_533945_wtr_6697_op.gml", "wtr")
    assert len(wtr) == 5 and "神田川" in set(wtr["name"])
    fld = read_features(other / "takaoka16202_2024_oyabegawa_55360704_fld_6697_l2.gml", "fld")
    assert len(fld) == 1 and fld.loc[0, "rank_code"] == "1" and fld.loc[0, "rank"] == "0.5m未満"  # built-in list
    assert "想定最大規模" in fld.loc[0, "name"] and fld.geometry.iloc[0].area > 1000
    tnm = read_features(other / "kisarazu12206_2024_523977_tnm_6697_op.gml", "tnm")
    assert len(tnm) == 1 and tnm.loc[0, "rank_code"] == "1"
    luse = read_features(other / "tamana43206_2024_493033_luse_6697_op.gml", "luse", crs="EPSG:6668")
    assert len(luse) == 363 and set(luse["city_code"]) == {"43206"} and luse.crs.to_epsg() == 6668
    veg = read_features(other / "tsukuba08220_2023_54401008_veg_6697_op.gml", "veg")
    assert set(veg["feature_type"]) == {"PlantCover", "SolitaryVegetationObject"} and veg["height_m"].notna().any()
    # a credit for feature layers too (city from the file name)
    assert maps.data_credits(wtr) == ["3D都市モデル（Project PLATEAU）文京区（2025年度）, 国土交通省"]


def test_read_features_errors_and_absence(tmp_path, district):
    with pytest.raises(ValueError, match="kind must be one of"):
        read_features(district.path, "bldgx")
    assert len(read_features(district.path, "luse")) == 0  # the sample has no land use: empty, not an error
    bad = tmp_path / "udx" / "tran" / "1_tran_6697_op.gml"
    bad.parent.mkdir(parents=True)
    bad.write_text("<core:CityModel xmlns:core='http://www.opengis.net/citygml/2.0'><oops></core:CityModel>")
    with pytest.raises(Exception, match="1_tran_6697_op.gml"):
        read_features(tmp_path, "tran")


def test_sample_district_writes_roads_water_and_landmarks(district):
    tran = read_features(district.path, "tran")
    wtr = read_features(district.path, "wtr")
    assert (tran["feature_type"] == "Road").sum() > 20 and "沼津駅" in set(tran["name"])
    assert {"狩野川", "駿河湾", "沼津港"} <= set(wtr["name"])
    assert not tran.union_all().intersects(wtr.union_all().buffer(-1.0))  # no street runs through the water
    gdf = read_buildings(district.path, progress=False)
    assert gdf["name"].notna().sum() >= 2 and set(district.truth["name"].dropna()) == set(gdf["name"].dropna())
    # streets pass between the buildings, not through them
    assert tran.union_all().intersection(gdf.to_crs(tran.crs).union_all()).area < 0.02 * gdf.area.sum()
    # reading a building file inside the dataset finds the context beside it
    one = Path(district.path) / district.files[0]
    assert len(read_features(one, "wtr")) == len(wtr)


def test_place_layers_and_labels(district):
    layers = maps.place_layers(district.path, lang="ja")
    kinds = [layer.kind for layer in layers]
    assert kinds == ["context_wtr", "context_tran", "labels"]
    label = layers[-1]
    assert label.type == "TextLayer" and {"沼津駅", "狩野川"} <= {r["text"] for r in label.data}
    assert json.loads(label.to_json())["characterSet"] == "auto"
    deck = maps.view(maps.buildings_layer(read_buildings(district.path, progress=False)), context=layers)
    page = maps.to_html(deck)
    order = [lay["id"].split("-")[0] for lay in extract_json(page, "jsonInput")["layers"]]
    assert order[:3] == ["numazu", "context", "context"] and order[-1] == "labels"  # flat under, names on top


def test_hazard_layer_legend_and_tooltip(plateau_dir):
    fld = read_features(plateau_dir / "other" / "takaoka16202_2024_oyabegawa_55360704_fld_6697_l2.gml", "fld")
    layer = maps.hazard_layer(fld, lang="ja")
    assert layer.legend.title == "洪水浸水想定区域" and layer.legend.categories[0][0] == "0.5m未満"
    assert layer.legends["en"].title == "River flood area"
    rec = layer.data[0]
    assert "想定最大規模" in rec["tooltip"] and "0.5m未満" in rec["tooltip"] and "Depth band" in rec["tooltip_en"]
    assert rec["color"][3] < 255  # see-through


# ------------------------------------------------------------------------------------------ colours


def test_fixed_range_makes_two_maps_comparable():
    a = make_buildings(30, seed=1)
    b = make_buildings(30, seed=2)
    a["kwh_m2_year"] = np.linspace(1500, 1700, 30)
    b["kwh_m2_year"] = np.linspace(900, 1687, 30)
    la, lb = maps.buildings_layer(a), maps.buildings_layer(b)
    cap_a = {round(v): c["color"] for v, c in zip(a["kwh_m2_year"], la.companions[0].data)}
    cap_b = {round(v): c["color"] for v, c in zip(b["kwh_m2_year"], lb.companions[0].data)}
    assert cap_a[1700] != cap_b[900]
    assert cap_b[1687] == list(continuous_colors([1687.0], column="kwh_m2_year")[0][0])
    assert la.legend.vmin == lb.legend.vmin == fixed_domains()["kwh_m2_year"][0]
    assert "固定" in la.legend.note
    # 1,606 vs 1,687 kWh/m2 (5 %) are neighbours on the ramp, not worst vs best
    rgba, _ = continuous_colors([1606.0, 1687.0], column="kwh_m2_year")
    assert np.abs(rgba[0].astype(int) - rgba[1].astype(int)).max() < 60
    stretched, legend = continuous_colors([1606.0, 1687.0], column="kwh_m2_year", stretch=True)
    assert np.abs(stretched[0].astype(int) - stretched[1].astype(int)).max() > 150 and "比べられません" in legend.note


def test_walls_neutral_roofs_coloured_and_lod2_faces():
    gdf = make_buildings(8).assign(ground_z_m=2.0)
    layer = maps.buildings_layer(gdf, color_by="kwh_m2_year")
    assert all(rec["color"] == list(maps.layers.WALL_RGBA) for rec in layer.data)
    caps = layer.companions[0]
    assert caps.kind == "roof_caps" and len(caps.data) == len(gdf)
    assert caps.data[0]["polygon"][0][0][2] == pytest.approx(layer.data[0]["height"] + maps.layers.ROOF_CAP_OFFSET_M)
    # height colours the whole block (walls show it)
    assert maps.buildings_layer(gdf, color_by="measured_height_m").companions == []
    # a building with LOD2 faces: its faces replace its cap, walls stop at the eaves
    import geopandas as gpd
    import shapely

    g = gdf.geometry.iloc[0]
    x0, y0, x1, y1 = g.bounds
    roof = shapely.Polygon([(x0, y0, 12.0), (x1, y0, 12.0), (x1, y1, 16.0), (x0, y1, 16.0)])
    faces = gpd.GeoDataFrame({"building_key": [gdf.loc[0, "building_key"]], "roof_source": ["lod2"],
                              "kwh_m2_year": [1650.0]}, geometry=[roof], crs=gdf.crs)
    layer = maps.buildings_layer(gdf, color_by="kwh_m2_year", roof_faces=faces)
    assert layer.data[0]["height"] == pytest.approx(10.0)  # eave 12 m minus ground 2 m
    caps, roofs = layer.companions
    assert len(caps.data) == len(gdf) - 1 and roofs.kind == "roofs"
    zs = [p[2] for p in roofs.data[0]["polygon"][0]]
    assert min(zs) == pytest.approx(10.0 + maps.layers.ROOF_CAP_OFFSET_M)  # just above the wall tops


# ------------------------------------------------------------------------------------------ page


def test_page_carries_both_languages_north_arrow_scale_and_caption():
    gdf = make_buildings(10)
    gdf.attrs["solar_parameters"] = {"climate_source": "APPROXIMATE Numazu default", "climate_approximate": True}
    page = maps.to_html(maps.view(maps.buildings_layer(gdf, lang="ja"), lang="ja"))
    assert '<html lang="ja">' in page and 'id="ng-lang-en"' in page
    assert '<div data-lang="ja">' in page and '<div data-lang="en">' in page
    assert "沼津市 屋根の年間日射量" in page and "沼津市 Roof irradiation" in page
    assert "Roof irradiation (kWh/m²/yr)" in page and "屋根の年間日射量 (kWh/m²/年)" in page  # both legends
    assert 'id="ng-compass"' in page and 'id="ng-scale"' in page and "@media print" in page
    assert "概算値" in page and "approximate, not measured" in page
    data = extract_json(page, "jsonInput")["layers"][1]["data"][0]
    assert "用途" in data["tooltip"] and "Usage" in data["tooltip_en"]
    assert 'o["tooltip_" + pageLang]' in page


def test_district_map_from_sample_has_context_and_labels(district, tmp_path):
    gdf = read_buildings(district.path, progress=False)
    page = maps.district_map(gdf, tmp_path / "m.html").read_text(encoding="utf-8")
    types = [lay["@@type"] for lay in extract_json(page, "jsonInput")["layers"]]
    assert types.count("TextLayer") == 2 and types.count("PolygonLayer") >= 4
    assert "合成サンプル地区 建物の高さ" in page


# ------------------------------------------------------------------------------------------ tables


def test_csv_and_excel_exports_have_lonlat_units_and_credit(tmp_path, plateau_dir):
    gdf = read_buildings(plateau_dir / SHUNAN_LOD1, progress=False)
    credit = "3D都市モデル（Project PLATEAU）周南市, 国土交通省"
    path = tables.write_csv(gdf, tmp_path / "b.csv")
    first = path.read_text(encoding="utf-8-sig").splitlines()[0]
    assert credit in first
    back = pd.read_csv(path, skiprows=1)
    assert {"lon [°]", "lat [°]", "measured_height_m [m]"} <= set(back.columns)
    assert back["lat [°]"].between(33.9, 34.2).all() and back["lon [°]"].between(131.6, 132.0).all()
    assert back["measured_height_m [m]"].dropna().map(lambda v: round(v, 1) == v).all()
    ja = pd.read_csv(tables.write_csv(gdf, tmp_path / "ja.csv", lang="ja"), skiprows=1)
    assert {"経度 (°)", "緯度 (°)", "高さ (m)", "用途"} <= set(ja.columns)
    xlsx = tables.write_xlsx(gdf, tmp_path / "b.xlsx")
    raw = pd.read_excel(xlsx, header=None)
    assert credit in raw.iloc[0, 0] and "経度" in list(raw.iloc[1]) and "m" in list(raw.iloc[2])
    assert len(raw) == len(gdf) + 3
    with pytest.raises(ValueError, match="xlsx"):
        tables.write_xlsx(gdf, tmp_path / "b.xls")


def test_cli_map_title_from_data_and_context(tmp_path, district, capsys):
    from numazu_geo.cli import main
    from numazu_geo.io import to_parquet

    src = to_parquet(read_buildings(district.path, progress=False), tmp_path / "s.parquet")
    out = tmp_path / "m.html"
    assert main(["map", str(src), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<title>合成サンプル地区 高さ</title>" in page  # not the file name "s"
    assert "context-tran" in page and "沼津駅" in page
    assert main(["map", str(src), "-o", str(out), "--no-context"]) == 0
    assert "context-tran" not in out.read_text(encoding="utf-8")
    assert main(["map", str(src), "-o", str(tmp_path / "m.txt")]) == 1
    assert "unsupported map format" in capsys.readouterr().err


def test_zip_dataset_credit_context_and_year(tmp_path):
    from numazu_geo.sample import make_district

    z = make_district(tmp_path / "22203_numazu-shi_city_2023_citygml_1_op.zip", n_buildings=30, seed=2, as_zip=True,
                      progress=False)
    gdf = read_buildings(z.path, progress=False)
    assert gdf["source_file"].iloc[0].startswith("zip://")
    assert credits.zip_parts(gdf["source_file"].iloc[0])[0] == str(Path(z.path).resolve())
    assert credits.dataset_year(gdf["source_file"].iloc[0]) == 2023
    assert maps.data_credits(gdf) == [maps.SAMPLE_ATTRIBUTION]  # the marker in the file wins over the name
    kinds = [layer.kind for layer in maps.place_layers(z.path)]
    assert "context_tran" in kinds and "context_wtr" in kinds
    from numazu_geo.maps.district import context_source

    assert context_source(gdf) == str(Path(z.path).resolve())



def test_write_table_csv_has_lonlat(tmp_path):
    from numazu_geo.io import write_table

    back = pd.read_csv(write_table(make_buildings(4), tmp_path / "b.csv"), encoding="utf-8-sig")
    assert back["lon"].between(138.85, 138.87).all() and back["lat"].between(35.09, 35.11).all()


def test_sample_flood_and_tsunami_areas_agree_with_building_depths(tmp_path):
    import geopandas as gpd

    from numazu_geo.sample import make_district

    district = make_district(tmp_path / "d", n_buildings=200, seed=2026, progress=False)  # reaches the flood area
    fld, tnm = read_features(district.path, "fld"), read_features(district.path, "tnm")
    assert len(fld) >= 2 and len(tnm) >= 2 and fld["rank"].notna().all()
    assert fld["name"].str.contains("狩野川").all()
    truth = district.truth
    pts = gpd.GeoSeries(gpd.points_from_xy(truth["lon"], truth["lat"]), crs=4326).to_crs(fld.crs)
    inside = pts.within(fld.union_all().buffer(50.0)).to_numpy()  # the areas are traced on a 40 m grid
    wet = truth["flood_depth_m"].notna().to_numpy()
    assert wet.any() and inside[wet].mean() > 0.9
    assert [layer.kind for layer in maps.hazard_layers(district.path)] == ["hazard_fld", "hazard_tnm"]


def test_address_and_name_are_read_and_shown(plateau_dir):
    gdf = read_buildings(plateau_dir / SHUNAN_LOD1, progress=False)
    assert gdf["address"].notna().all() and gdf["address"].str.startswith("山口県周南市").all()
    named = gdf[gdf["name"].notna()]
    assert "米光保育所" in set(named["name"])
    layer = maps.buildings_layer(named, lang="ja")
    tip = layer.data[0]["tooltip"]
    assert named["name"].iloc[0] in tip and "住所" in tip and named["address"].iloc[0] in tip
    assert "Address" in layer.data[0]["tooltip_en"]
    ota = read_buildings(plateau_dir / OTA_LOD2, progress=False)
    assert set(ota["address"]) == {"東京都大田区羽田空港三丁目"}
    osaka = read_buildings(plateau_dir / OSAKA, progress=False)
    assert osaka["address"].isna().all()  # the file has none: missing, not invented


def test_labels_that_would_overlap_in_the_opening_view_are_left_out():
    """QA: the demo map printed 駅前オフィス, 駅前タワー and ショッピングセンター over each other; labels that
    would overlap on screen at the opening camera are now left out, the larger feature's name kept."""
    from numazu_geo.maps.layers import AnalysisLayer, declutter_labels

    lon, lat, zoom = 138.859, 35.102, 16.0
    m_per_deg_lon = 111_320 * np.cos(np.radians(lat))

    def layer(*offsets_m):
        recs = [{"position": [lon + dx / m_per_deg_lon, lat + dy / 111_320, 0.0], "text": f"建物{i}号館"}
                for i, (dx, dy) in enumerate(offsets_m)]
        return AnalysisLayer("TextLayer", recs, kind="labels", get_size=15)

    # at zoom 16 (about 1 px per metre here) a label of four kanji and a digit is ~77 px wide, 19 px tall
    side_by_side = layer((0, 0), (60, 0), (400, 0))
    kept = declutter_labels([side_by_side], zoom)[0].data
    assert [r["text"] for r in kept] == ["建物0号館", "建物2号館"]
    assert len(side_by_side.data) == 3  # the input layer is not changed
    # turned a quarter (bearing 90: east is up), the same neighbours stack vertically, 60 m apart: both fit
    assert len(declutter_labels([layer((0, 0), (60, 0))], zoom, bearing_deg=90.0)[0].data) == 2
    # looking north, 50 m apart north-south fit from above but not tilted 75 degrees (the gap foreshortens)
    north = layer((0, 0), (0, 50))
    assert len(declutter_labels([north], zoom)[0].data) == 2
    assert len(declutter_labels([north], zoom, pitch_deg=75.0)[0].data) == 1
    # an earlier layer wins over a later one
    first, second = declutter_labels([layer((0, 0)), layer((10, 0))], zoom)
    assert len(first.data) == 1 and len(second.data) == 0


def test_survey_points_are_not_credited_to_plateau(tmp_path):
    """QA: notebook 04's histogram of CamVid photos' GVI was captioned 「3D都市モデル（Project PLATEAU）,
    国土交通省」: any table without a city code got PLATEAU's line. Tables with no PLATEAU identity (survey
    photos, GPS trips) now get none, and a survey credits its segmenter and licence instead."""
    import geopandas as gpd

    from numazu_geo.greenview import green_view_survey
    from numazu_geo.maps import figures

    points = gpd.GeoDataFrame({"path": ["a.jpg", "b.jpg"], "gvi": [12.0, 30.0]},
                              geometry=gpd.points_from_xy([138.86, 138.861], [35.10, 35.101]), crs=4326)
    assert maps.data_credits(points) == []
    assert "PLATEAU" not in maps.caption(points, "en")
    # PLATEAU features without a known city still get the generic line
    unknown = points.assign(gml_id=["bldg_1", "bldg_2"])
    assert maps.data_credits(unknown) == ["3D都市モデル（Project PLATEAU）, 国土交通省"]

    photos = tmp_path / "photos"
    photos.mkdir()
    from PIL import Image

    Image.fromarray(np.full((60, 80, 3), (40, 160, 40), np.uint8)).save(photos / "green.jpg")
    survey = green_view_survey(photos, method="exg", progress=False)
    caption = maps.caption(survey, "ja")
    assert "PLATEAU" not in caption and "緑視率 / GVI: exg" in caption
    fig = figures.gvi_histogram(survey, lang="en")
    assert any("GVI: exg" in t.get_text() for t in fig.texts)
