"""Sources (file, folder, zip, list), mesh codes, code lists and zone selection."""

from __future__ import annotations

import shutil
import zipfile

import pytest

from numazu_geo.citygml import read_buildings
from numazu_geo.citygml.codelists import CodeLists, builtin_table
from numazu_geo.citygml.crs import zone_epsg, zone_for
from numazu_geo.citygml.sources import mesh3_code, mesh_bounds, mesh_code_from_name, resolve_sources
from numazu_geo.errors import SourceNotFoundError

OSAKA_FLOOD = "v4_uro3.1/osaka27120_2024_51357309_bldg_6697_op__riverflood.gml"
SHIZUOKA = "v3_uro3.0/shizuoka22102_2023_52382287_bldg_6697_psc_op__excerpt.gml"


@pytest.mark.parametrize(
    "name, code",
    [
        ("52382287_bldg_6697_psc_op.gml", "52382287"),
        ("53392633_bldg_6697_2_op.gml", "53392633"),
        ("53392547_bldg_6697_op2.gml", "53392547"),
        ("51357441_bldg_Issue138.gml", "51357441"),
        ("53394517_bldg_6697.gml", "53394517"),  # 2025 names without _op
        ("tokyo13111_53392633_bldg_6697_2_op__lod2_tex.gml", "53392633"),
        ("533926331_bldg_6697_op.gml", "533926331"),  # half mesh
        ("test_buildingpart.gml", None),
    ],
)
def test_mesh_code_from_name(name, code):
    assert mesh_code_from_name(name) == code


def test_mesh_bounds_and_point_codes():
    w, s, e, n = mesh_bounds("52382287")
    assert (e - w, n - s) == pytest.approx((45 / 3600, 30 / 3600))
    # the Shizuoka sample's envelope centre lies in its named square
    assert int(mesh3_code(34.9019, 138.3484)) == 52382287
    assert int(mesh3_code((s + n) / 2, (w + e) / 2)) == 52382287
    assert mesh_bounds("5238")[2] - mesh_bounds("5238")[0] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        mesh_bounds("5238228")


@pytest.mark.parametrize(
    "city, lat, lon, epsg",
    [
        ("22203", 35.10, 138.86, 6676),  # Numazu: VIII
        ("13104", 35.69, 139.70, 6677),  # Shinjuku: IX
        ("13421", 27.09, 142.19, 6682),  # Ogasawara: XIV
        ("01100", 43.06, 141.35, 6680),  # Sapporo: XII
        ("01202", 41.77, 140.73, 6679),  # Hakodate: XI
        ("01206", 42.98, 144.38, 6681),  # Kushiro: XIII
        ("27100", 34.69, 135.50, 6674),  # Osaka: VI
        ("47201", 26.21, 127.68, 6683),  # Naha: XV
        ("47207", 24.34, 124.16, 6684),  # Ishigaki: XVI
        ("35215", 34.05, 131.80, 6671),  # Shunan: III
    ],
)
def test_plane_rectangular_zone(city, lat, lon, epsg):
    assert zone_epsg(zone_for(city, lat, lon)) == epsg


def test_list_and_folder_sources(plateau_dir, tmp_path):
    bldg = tmp_path / "udx" / "bldg"
    bldg.mkdir(parents=True)
    shutil.copy(plateau_dir / OSAKA_FLOOD, bldg / "51357309_bldg_6697_op.gml")
    shutil.copy(plateau_dir / SHIZUOKA, bldg / "52382287_bldg_6697_psc_op.gml")
    assert [s.name for s in resolve_sources(tmp_path)] == [
        "51357309_bldg_6697_op.gml",
        "52382287_bldg_6697_psc_op.gml",
    ]
    gdf = read_buildings(tmp_path, progress=False)
    assert len(gdf) == 63 + 4
    assert gdf.crs.to_epsg() == 6674  # most buildings are in Osaka (zone VI)
    with pytest.raises(SourceNotFoundError):
        read_buildings(tmp_path / "missing", progress=False)


def _make_zip(plateau_dir, path, usage_label: str):
    """A PLATEAU-like zip: udx/bldg/<file> and codelists/ (with one edited usage label)."""
    lists = plateau_dir / "codelists" / "v4_saitama-2024"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(plateau_dir / OSAKA_FLOOD, "27100_osaka-shi_city_2024_citygml_1_op/udx/bldg/51357309_bldg_6697_op.gml")
        for xml in lists.glob("*.xml"):
            data = xml.read_bytes()
            if xml.name == "Building_usage.xml":
                data = data.replace("<gml:description>住宅</gml:description>".encode(), usage_label.encode())
            zf.writestr(f"27100_osaka-shi_city_2024_citygml_1_op/codelists/{xml.name}", data)


def test_zip_read_in_place_with_its_own_code_lists(plateau_dir, tmp_path):
    archive = tmp_path / "27100_osaka-shi_city_2024_citygml_1_op.zip"
    _make_zip(plateau_dir, archive, "<gml:description>住宅（zip内のコードリスト）</gml:description>")
    gdf = read_buildings(archive, progress=False)
    assert len(gdf) == 63
    b = gdf.set_index("building_id").loc["27100-bldg-27086"]
    assert b.usage == "住宅（zip内のコードリスト）"  # the dataset's list wins over the built-in one
    assert b.usage_en == "Detached house"
    assert b.flood_rank == "0.5m以上3m未満"
    assert b.source_file == f"zip://27100_osaka-shi_city_2024_citygml_1_op/udx/bldg/51357309_bldg_6697_op.gml::{archive}"
    assert read_buildings(archive, mesh="51357309", progress=False).shape[0] == 63
    assert read_buildings(archive, mesh="52382287", progress=False).shape[0] == 0


def test_user_codelists_folder_comes_first(plateau_dir, tmp_path):
    lists = tmp_path / "lists"
    lists.mkdir()
    src = (plateau_dir / "codelists" / "v4_saitama-2024" / "Building_usage.xml").read_bytes()
    (lists / "Building_usage.xml").write_bytes(src.replace("住宅".encode(), "いえ".encode()))
    gdf = read_buildings(plateau_dir / OSAKA_FLOOD, codelists=lists, progress=False)
    assert (gdf.loc[gdf.usage_code == "411", "usage"] == "いえ").all()


def test_builtin_tables_have_sources_and_translations():
    usage = builtin_table("building_usage.csv")
    assert len(usage) == 18 and usage["label_en"].str.len().gt(0).all()
    assert set(usage.columns) >= {"code", "label_ja", "label_en", "source", "year"}
    assert dict(zip(usage.code, usage.label_ja))["461"] == "不明"
    assert CodeLists().label("../../codelists/RiverFloodingRiskAttribute_rank.xml", "6") == "20m以上"
    assert CodeLists().label("BuildingDetailAttribute_buildingStructureType.xml", "603") == "鉄筋コンクリート造"
    assert CodeLists().label("Building_roofType.xml", "1") is None  # no fallback: NA, not a guess
