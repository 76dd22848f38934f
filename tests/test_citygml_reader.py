"""read_buildings on the real PLATEAU samples in ../shared/data/plateau (values checked by hand)."""

from __future__ import annotations

import ast
import logging

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from numazu_geo.citygml import BUILDINGS_COLUMNS, read_buildings
from numazu_geo.errors import CityGMLError, UnsupportedCityGMLError

SHIZUOKA = "v3_uro3.0/shizuoka22102_2023_52382287_bldg_6697_psc_op__excerpt.gml"
OSAKA_FLOOD = "v4_uro3.1/osaka27120_2024_51357309_bldg_6697_op__riverflood.gml"
OSAKA_138 = "v4_uro3.1/osaka27119_51357441_bldg__excerpt_issue138.gml"
SAPPORO_V2 = "v2_uro2.0/sapporo01110_64413325_bldg_6697_op__flooddepth.gml"
YOKOSUKA = "v2_uro2.0/yokosuka14201_52397519_bldg_6697_op__lod2_part_risk.gml"
PARTS_V4 = "v4_uro3.1/test_buildingpart__synthetic.gml"
LOD1_ONLY = "v4_uro3.1/city35215_51311568_bldg_6697_op__lod1_only.gml"
V1_SAMPLE_A = "_extra/citygml-osm__sample_a_bldg_6697_op2.gml"
BROKEN = "_extra/libplateau__53392642_bldg_6697_op2.gml"
CITYGML3 = "citygml3_uro4.0/shinjuku_53394517_bldg_6697_op__CityGML3.gml"


def _area_by_hand(poslist: str, epsg: int) -> float:
    """Shoelace area of a lat/lon/h posList projected to ``epsg`` (independent of the reader)."""
    v = np.array(poslist.split(), dtype=float).reshape(-1, 3)
    t = pyproj.Transformer.from_crs("EPSG:6668", f"EPSG:{epsg}", always_xy=True)
    x, y = t.transform(v[:, 1], v[:, 0])
    return 0.5 * abs(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))


def _manifest(plateau_dir):
    rows = {}
    for line in (plateau_dir / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 5 or not parts[4].startswith("{"):
            continue
        rows[parts[0]] = (parts[2], ast.literal_eval(parts[4]), parts[-1])
    return rows


@pytest.fixture(scope="module")
def everything(plateau_dir):
    """All shared samples in one call (broken and CityGML 3.0 files skipped and recorded)."""
    return read_buildings(plateau_dir, errors="skip", progress=False)


def test_every_readable_sample_gives_the_manifest_building_count(plateau_dir, everything):
    manifest = _manifest(plateau_dir)
    counts = everything.groupby("source_file").size()
    # the samples hold a few buildings twice (the same building in two editions); the copies are
    # dropped once, counted per file
    dropped = everything.attrs.get("duplicates_dropped", {}).get("by_file", {})
    checked = 0
    for name, (version, elements, error) in manifest.items():
        if "PARSE ERROR" in error or version.startswith("CityGML3") or "Building" not in elements:
            continue
        path = str(plateau_dir / name)
        assert counts.get(path, 0) + dropped.get(path, 0) == elements["Building"], name
        checked += 1
    assert checked >= 30
    assert len(everything) == sum(counts)
    failed = {e["file"] for e in everything.attrs["errors"]}
    assert failed == {str(plateau_dir / BROKEN), str(plateau_dir / CITYGML3)}
    assert set(everything.attrs["spec_versions"]) == {"v1", "v2", "v3", "v4", "v5"}


def test_columns_and_dtypes(everything):
    assert list(everything.columns) == BUILDINGS_COLUMNS + ["geometry"]
    assert everything["measured_height_m"].dtype == np.float64
    assert str(everything["storeys_above_ground"].dtype) == "Int64"
    assert str(everything["lod"].dtype) == "Int64"
    assert str(everything["landslide"].dtype) == "boolean"
    assert isinstance(everything["gml_id"].dtype, pd.StringDtype)
    assert everything["gml_id"].notna().all()
    assert everything.geometry.notna().all()
    assert everything.crs.is_projected


def test_shizuoka_building_height_footprint_and_crs(plateau_dir):
    gdf = read_buildings(plateau_dir / SHIZUOKA, progress=False)
    assert gdf.crs.to_epsg() == 6676  # Shizuoka: plane rectangular zone VIII
    b = gdf.set_index("gml_id").loc["bldg_53e2a9a9-d512-408f-8250-eae30b7523d6"]
    assert b.building_id == "22102-bldg-354359"
    assert b.city_code == "22102"
    assert b.measured_height_m == pytest.approx(14.3)
    assert b.ground_z_m == pytest.approx(41.50933)
    assert b.roof_z_m == pytest.approx(54.99001)
    assert bool(b.landslide) is True
    assert b.lod == 1
    ring = (
        "34.90273381467034 138.34934122825845 0 34.90269767870549 138.34941045064227 0 "
        "34.90282610066923 138.34950922380963 0 34.90286222767453 138.34944000137736 0 "
        "34.90273381467034 138.34934122825845 0"
    )
    assert b.geometry.geom_type == "Polygon"
    assert b.geometry.area == pytest.approx(_area_by_hand(ring, 6676), rel=1e-7)
    assert 100 < b.geometry.area < 150


def test_osaka_v4_usage_structure_and_deepest_flood(plateau_dir):
    gdf = read_buildings(plateau_dir / OSAKA_FLOOD, progress=False)
    assert gdf.crs.to_epsg() == 6674  # Osaka: zone VI
    b = gdf.set_index("building_id").loc["27100-bldg-27086"]
    assert b.usage_code == "411"
    assert b.usage == "住宅"
    assert b.usage_en == "Detached house"
    assert b.measured_height_m == pytest.approx(7.0)
    assert b.storeys_above_ground == 2
    assert b.structure == "木造・土蔵造"
    assert b.structure_code == "601"
    # two river-flood scenarios, 0.389 m (rank 1) and 0.94 m (rank 2): the deepest wins
    assert b.flood_depth_m == pytest.approx(0.94)
    assert b.flood_rank_code == "2"
    assert b.flood_rank == "0.5m以上3m未満"
    ring = (
        "34.589874882491166 135.49988043536536 0 34.58992363068757 135.5000226116492 0 "
        "34.58993713085785 135.5000170801959 0 34.58994621284853 135.50003337753944 0 "
        "34.59000018003319 135.5000030760373 0 34.589945799969456 135.49984241339286 0 "
        "34.589874882491166 135.49988043536536 0"
    )
    assert b.geometry.area == pytest.approx(_area_by_hand(ring, 6674), rel=1e-7)


def test_v2_flood_depth_is_the_deepest_scenario(plateau_dir):
    gdf = read_buildings(plateau_dir / SAPPORO_V2, progress=False)
    assert gdf.crs.to_epsg() == 6680  # Sapporo: zone XII
    b = gdf.set_index("gml_id").loc["bldg_e3cf1894-2973-4742-b301-3896f04afd99"]
    assert b.flood_depth_m == pytest.approx(1.090)  # scenarios 0.682 and 1.090
    assert b.flood_rank_code == "2"  # rankOrg: municipal list, no label without the dataset's list
    assert pd.isna(b.flood_rank)
    assert b.structure == "不明"  # 611 through the built-in fallback table
    assert b.building_id == "01100-bldg-636971" and b.city_code == "01110"
    assert gdf["flood_depth_m"].notna().sum() >= 20


def test_v1_generic_attribute_flood_and_details(plateau_dir):
    gdf = read_buildings(plateau_dir / V1_SAMPLE_A, progress=False)
    b = gdf.set_index("building_id").loc["13111-bldg-466"]
    assert b.flood_depth_m == pytest.approx(2.84)  # 1.58, 2.84, 0.02 in three hazard maps
    assert b.flood_rank_code == "2"
    assert b.usage == "住宅"
    assert b.year_of_construction == 1976
    assert b.storeys_above_ground == 2 and b.storeys_below_ground == 1
    assert b.measured_height_m == pytest.approx(4.6)
    assert gdf.crs.to_epsg() == 6677  # Tokyo: zone IX


def test_sentinels_become_missing(plateau_dir):
    gdf = read_buildings(plateau_dir / OSAKA_138, progress=False).set_index("building_id")
    assert np.isnan(gdf.loc["27100-bldg-80286", "measured_height_m"])  # -9999
    assert np.isnan(gdf.loc["27100-bldg-80281", "measured_height_m"])
    assert gdf.loc["27100-bldg-80114", "measured_height_m"] == pytest.approx(4.2)
    assert gdf["storeys_above_ground"].isna().all()  # 9999 everywhere
    assert (gdf["usage"] == "不明").all()
    assert (gdf.geometry.area > 0).all()


def test_lod1_only_file_takes_footprints_from_the_solid_base(plateau_dir):
    gdf = read_buildings(plateau_dir / LOD1_ONLY, progress=False)
    assert len(gdf) == 225
    assert (gdf["footprint_from"] == "lod1_base").all()
    assert gdf["geometry_issue"].isna().all()
    assert (gdf["lod"] == 1).all()
    assert shapely.is_valid(gdf.geometry.values).all()
    assert (gdf.geometry.area > 1).all()
    assert (gdf["roof_z_m"] > gdf["ground_z_m"]).all()
    # the base footprint and the LOD0-less solid agree with lod=1 explicitly
    explicit = read_buildings(plateau_dir / LOD1_ONLY, lod=1, progress=False)
    assert np.allclose(explicit.geometry.area, gdf.geometry.area)


def test_building_parts_are_merged_into_the_building(plateau_dir):
    gdf = read_buildings(plateau_dir / YOKOSUKA, progress=False)
    assert len(gdf) == 13
    museum = gdf.set_index("building_id").loc["14201-bldg-156842"]
    assert museum["name"] == "横須賀美術館"
    assert museum.measured_height_m == pytest.approx(11.3)  # parts 11.3 m and 9.7 m
    assert museum.storeys_above_ground == 2
    assert museum.total_floor_area_m2 == pytest.approx(3749.39 + 1106.05)
    assert museum.usage == "文教厚生施設"
    assert bool(museum.landslide) is True
    assert museum.lod == 2

    with_parts = read_buildings(plateau_dir / YOKOSUKA, parts=True, progress=False)
    parts = with_parts[with_parts["parent_id"].notna()]
    assert len(parts) == 2
    assert set(parts["parent_id"]) == {museum.gml_id}
    assert sorted(parts["measured_height_m"]) == pytest.approx([9.7, 11.3])
    union = shapely.union_all(parts.geometry.values)
    assert museum.geometry.area == pytest.approx(union.area, rel=1e-6)
    assert museum.geometry.area >= parts.geometry.area.max()
    assert len(with_parts) == 15


def test_building_parts_v4_synthetic(plateau_dir):
    gdf = read_buildings(plateau_dir / PARTS_V4, progress=False).set_index("gml_id")
    first = gdf.loc["bldg_test_001"]
    assert first["name"] == "テスト建物"  # the building's own name wins over the part's
    assert first.measured_height_m == pytest.approx(12.5)
    assert first.usage == "住宅"
    second = gdf.loc["bldg_test_002"]
    assert second.lod == 2
    assert second.footprint_from == "lod2_base"  # only a LOD2 solid: footprint from its base
    assert second.roof_z_m == pytest.approx(10.0) and second.ground_z_m == pytest.approx(0.0)
    square = "34.73480000 135.50200000 0 34.73495000 135.50200000 0 34.73495000 135.50215000 0 34.73480000 135.50215000 0 34.73480000 135.50200000 0"
    assert second.geometry.area == pytest.approx(_area_by_hand(square, 6674), rel=1e-7)


def test_mesh_and_bbox_filters(plateau_dir):
    files = [plateau_dir / SHIZUOKA, plateau_dir / OSAKA_FLOOD]
    only = read_buildings(files, mesh="52382287", progress=False)
    assert len(only) == 4 and only.crs.to_epsg() == 6676
    assert len(read_buildings(files, mesh=[51357309], progress=False)) == 63
    # bbox around the first Shizuoka building only
    bbox = (138.3493, 34.9026, 138.3496, 34.9029)
    box = read_buildings(files, bbox=bbox, progress=False)
    assert "bldg_53e2a9a9-d512-408f-8250-eae30b7523d6" in set(box["gml_id"])
    everything = read_buildings(files, crs="EPSG:6668", progress=False)
    c = shapely.centroid(everything.geometry.values)  # centre of the lon/lat ring, as the filter uses
    c = pd.DataFrame({"x": shapely.get_x(c), "y": shapely.get_y(c)})
    inside = (c.x >= bbox[0]) & (c.x <= bbox[2]) & (c.y >= bbox[1]) & (c.y <= bbox[3])
    assert set(box["gml_id"]) == set(everything.loc[inside.values, "gml_id"])
    assert 0 < len(box) < 4


def test_explicit_crs(plateau_dir):
    gdf = read_buildings(plateau_dir / SHIZUOKA, crs="EPSG:6668", progress=False)
    lon, lat = gdf.geometry.iloc[0].exterior.coords[0]
    assert 138.3 < lon < 138.4 and 34.8 < lat < 35.0  # x = longitude with always_xy


def test_broken_file_names_file_and_line(plateau_dir):
    with pytest.raises(CityGMLError) as info:
        read_buildings(plateau_dir / BROKEN, progress=False)
    assert info.value.line == 538
    assert "libplateau__53392642_bldg_6697_op2.gml" in str(info.value)
    assert "line 538" in str(info.value)


def test_broken_file_is_skipped_and_recorded(plateau_dir, caplog):
    with caplog.at_level(logging.WARNING):
        gdf = read_buildings([plateau_dir / BROKEN, plateau_dir / SHIZUOKA], errors="skip", progress=False)
    assert len(gdf) == 4
    [err] = gdf.attrs["errors"]
    assert err["file"].endswith("libplateau__53392642_bldg_6697_op2.gml") and "line 538" in err["error"]


def test_citygml3_is_rejected_naming_the_version(plateau_dir):
    with pytest.raises(UnsupportedCityGMLError, match=r"CityGML 3\.0 \(i-UR 4\.0\)"):
        read_buildings(plateau_dir / CITYGML3, progress=False)


def test_parallel_processes_give_the_same_frame(plateau_dir):
    files = [plateau_dir / p for p in (SHIZUOKA, OSAKA_FLOOD, YOKOSUKA, LOD1_ONLY)]
    one = read_buildings(files, progress=False, processes=1)
    two = read_buildings(files, progress=False, processes=2)
    pd.testing.assert_frame_equal(one.drop(columns="geometry"), two.drop(columns="geometry"))
    assert shapely.equals_exact(one.geometry.values, two.geometry.values, tolerance=0).all()


def test_small_flush_batches_give_the_same_frame(plateau_dir, monkeypatch):
    """Texts are converted in batches on big files; batch borders must not change anything."""
    from numazu_geo.citygml import reader

    files = [plateau_dir / p for p in (OSAKA_FLOOD, LOD1_ONLY, YOKOSUKA)]
    whole = read_buildings(files, progress=False, processes=1)
    monkeypatch.setattr(reader, "FLUSH_TEXTS", 37)
    batched = read_buildings(files, progress=False, processes=1)
    pd.testing.assert_frame_equal(whole.drop(columns="geometry"), batched.drop(columns="geometry"))
    assert shapely.equals_exact(whole.geometry.values, batched.geometry.values, tolerance=0).all()
