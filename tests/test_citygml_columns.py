"""One column specification (numazu_geo.citygml.columns) builds the reader's rows and the
GeoDataFrame; a PLATEAU attribute is one entry there (issue 10 part 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from numazu_geo.citygml import BUILDINGS_COLUMNS, read_buildings
from numazu_geo.citygml import columns as C
from numazu_geo.sample import ROOF_TYPES, make_district

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0" '
    'xmlns:bldg="http://www.opengis.net/citygml/building/2.0" xmlns:gml="http://www.opengis.net/gml" '
    'xmlns:uro="https://www.geospatial.jp/iur/uro/3.1">'
)
_RING = "35.1 138.86 {z} 35.1 138.8601 {z} 35.1001 138.8601 {z} 35.1001 138.86 {z} 35.1 138.86 {z}"


def _footprint() -> str:
    return (
        "<bldg:lod0FootPrint><gml:MultiSurface><gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>"
        f"<gml:posList>{_RING.format(z=0)}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
        "</gml:surfaceMember></gml:MultiSurface></bldg:lod0FootPrint>"
    )


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    sample = make_district(tmp_path_factory.mktemp("d") / "city", n_buildings=40, progress=False)
    return sample, read_buildings(sample.path, progress=False)


def test_frame_follows_the_specification(district):
    _, gdf = district
    assert list(gdf.columns) == BUILDINGS_COLUMNS + ["geometry"] == C.OUTPUT_COLUMNS + ["geometry"]
    for col in C.BUILDING_COLUMNS:
        if col.parts_only:
            assert col.name not in gdf
            continue
        assert str(gdf[col.name].dtype) == col.dtype, col.name
    # every row field has one position; codeSpaces stay out of the frame
    assert len(C.ROW_INDEX) == len(C.ROW_FIELDS) and not set(C.CODE_SPACE_FIELDS) & set(gdf.columns)


def test_roof_type_is_one_spec_entry(district):
    """bldg:roofType (PLATEAU writes it for LOD2 buildings; the reader skipped it before) was
    added as a single Column entry: it appears in read_buildings with the written codes."""
    (entry,) = [c for c in C.BUILDING_COLUMNS if c.name == "roof_type_code"]
    assert entry.paths == ("bldg:roofType",) and entry.code_space == "roof_type_cs"
    sample, gdf = district
    truth = sample.truth.set_index("gml_id")
    got = gdf.set_index("gml_id")["roof_type_code"]
    lod2 = truth["lod"] == 2
    expected = truth.loc[lod2, "roof_type"].map(ROOF_TYPES)
    assert lod2.sum() > 5
    assert (got.loc[expected.index] == expected).all()
    assert got.loc[truth.index[~lod2]].isna().all()  # LOD1-only buildings carry no roofType


def test_building_parts_merge_by_rule(tmp_path):
    """Merge rules from the spec: height max, floor area the sum of the parts, first-found codes
    (with their codeSpace) for a building that has none of its own."""

    def part(pid, height, area, roof):
        return (
            f'<bldg:consistsOfBuildingPart><bldg:BuildingPart gml:id="{pid}">'
            f'<bldg:roofType codeSpace="../../codelists/Building_roofType.xml">{roof}</bldg:roofType>'
            f"<bldg:measuredHeight>{height}</bldg:measuredHeight>{_footprint()}"
            "<uro:buildingDetailAttribute><uro:BuildingDetailAttribute>"
            f"<uro:totalFloorArea>{area}</uro:totalFloorArea>"
            "</uro:BuildingDetailAttribute></uro:buildingDetailAttribute>"
            "</bldg:BuildingPart></bldg:consistsOfBuildingPart>"
        )

    doc = (
        f'{_HEAD}<core:cityObjectMember><bldg:Building gml:id="b1"><gml:name>本館</gml:name>'
        f"{part('p1', 12.5, 100, 2)}{part('p2', 20.0, 50.5, 3)}</bldg:Building></core:cityObjectMember>"
        "</core:CityModel>"
    )
    path = tmp_path / "52385628_bldg_6697_op.gml"
    path.write_text(doc, encoding="utf-8")
    gdf = read_buildings(path, progress=False)
    b = gdf.iloc[0]
    assert b["measured_height_m"] == 20.0 and b["total_floor_area_m2"] == pytest.approx(150.5)
    assert b["roof_type_code"] == "2" and b["name"] == "本館"
    parts = read_buildings(path, parts=True, progress=False).set_index("gml_id")
    assert list(parts.loc[["p1", "p2"], "roof_type_code"]) == ["2", "3"]
    assert list(parts.loc[["p1", "p2"], "parent_id"]) == ["b1", "b1"]


def test_parsers_turn_sentinels_into_missing():
    assert np.isnan(C.to_float("-9999")) and C.to_float(" 12.5 ") == 12.5 and np.isnan(C.to_float("x"))
    assert C.to_count("9999") is None and C.to_count("3") == 3 and C.to_year("0") is None
    assert C.text("  ") is None and C.text(" a ") == "a"


def test_specification_is_checked():
    bad = C.BUILDING_COLUMNS + (C.Column("x", "string", paths=("uro:x",)),)
    with pytest.raises(ValueError, match="must start with"):
        C._check(bad)
    with pytest.raises(ValueError, match="duplicate"):
        C._check(C.BUILDING_COLUMNS + (C.BUILDING_COLUMNS[0],))
    assert pd.api.types.is_string_dtype(pd.array(["a"], dtype="string"))
