"""Tests of the synthetic PLATEAU district writer (numazu_geo.sample)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree
from pyproj import Transformer

from numazu_geo.sample import ROOF_TYPES, make_district, mesh_bounds, mesh_code

NS = {
    "core": "http://www.opengis.net/citygml/2.0",
    "bldg": "http://www.opengis.net/citygml/building/2.0",
    "gml": "http://www.opengis.net/gml",
    "uro": "https://www.geospatial.jp/iur/uro/3.1",
    "xlink": "http://www.w3.org/1999/xlink",
}
GML = "{http://www.opengis.net/gml}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    return make_district(tmp_path_factory.mktemp("district") / "numazu", n_buildings=120, seed=7, progress=False)


def _parse(path: Path):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    return etree.parse(str(path), parser).getroot()


def _gml_files(sample) -> list[Path]:
    return [Path(sample.path) / f for f in sample.files]


def _ring_xyz(poly, to_local) -> np.ndarray:
    """Exterior ring of a gml:Polygon as (n, 3) local metres (x east, y north, z)."""
    vals = np.array(poly.find(f"{GML}exterior//{GML}posList").text.split(), dtype=float).reshape(-1, 3)
    x, y = to_local.transform(vals[:, 1], vals[:, 0])
    return np.column_stack([x, y, vals[:, 2]])


def _newell(ring: np.ndarray) -> np.ndarray:
    """Area vector (normal x area) of a closed 3D ring."""
    a, b = ring[:-1], ring[1:]
    return 0.5 * np.cross(a, b).sum(axis=0)


def _check_closed_solid(rings: list[np.ndarray], label: str) -> float:
    """Every edge used exactly once in each direction; returns the enclosed volume (m3)."""
    edges: dict = {}
    vol = 0.0
    for ring in rings:
        assert np.array_equal(ring[0], ring[-1]), f"{label}: ring not closed"
        key = [tuple(np.round(p, 4)) for p in ring]
        for p, q in zip(key[:-1], key[1:]):
            edges[(p, q)] = edges.get((p, q), 0) + 1
        # divergence theorem: volume = sum over faces of (centroid . area vector) / 3
        vol += float(np.dot(ring[:-1].mean(axis=0), _newell(ring))) / 3.0
    for (p, q), count in edges.items():
        assert count == 1, f"{label}: edge {p}->{q} used {count} times in one direction"
        assert edges.get((q, p)) == 1, f"{label}: edge {p}->{q} has no opposite (solid not closed)"
    return vol


def _buildings(sample):
    for f in _gml_files(sample):
        root = _parse(f)
        for b in root.iter("{http://www.opengis.net/citygml/building/2.0}Building"):
            yield f, b


# ------------------------------------------------------------------ mesh codes


def test_mesh_code_known_points():
    # Tokyo Station, worked by hand: 35.681236*1.5 -> 53, 139 -> 39; 2nd 4, 6; 3rd 1, 1
    assert mesh_code(35.681236, 139.767125) == "53394611"
    # Numazu Station: 52, 38; (35.1025-34.6667)/(5/60) -> 5, 0.86/0.125 -> 6; 2, 8
    assert mesh_code(35.1025, 138.86) == "52385628"
    # a point exactly on a cell corner belongs to the cell to its north-east
    assert mesh_code(35.0, 139.0) == "52394000"
    arr = mesh_code(np.array([35.681236, 35.1025]), np.array([139.767125, 138.86]))
    assert list(arr) == ["53394611", "52385628"]
    w, s, e, n = mesh_bounds("52385628")
    assert w <= 138.86 < e and s <= 35.1025 < n
    assert e - w == pytest.approx(45 / 3600) and n - s == pytest.approx(30 / 3600)
    with pytest.raises(ValueError):
        mesh_code(10.0, 139.0)


def test_mesh_code_agrees_with_bounds_everywhere():
    rng = np.random.default_rng(3)
    lat = rng.uniform(24.0, 45.0, 2000)
    lon = rng.uniform(123.0, 146.0, 2000)
    codes = mesh_code(lat, lon)
    for la, lo, c in zip(lat[:300], lon[:300], codes[:300]):
        w, s, e, n = mesh_bounds(c)
        assert w <= lo < e and s <= la < n, (la, lo, c)
    # the reader's file filter must agree with the writer's file names (away from cell edges)
    from numazu_geo.citygml.sources import mesh3_code

    assert (np.char.zfill(mesh3_code(lat, lon).astype(str), 8) == codes).mean() > 0.999


# ------------------------------------------------------------------ files and layout


def test_layout_files_and_codelists(district):
    root = Path(district.path)
    gmls = sorted((root / "udx" / "bldg").glob("*.gml"))
    assert [p.name for p in gmls] == sorted(Path(f).name for f in district.files)
    for p in gmls:
        assert p.name.endswith("_bldg_6697_op.gml") and p.name[:8].isdigit()
    truth = district.truth
    assert len(truth) == 120
    # each building sits in the file of its own grid square
    assert (truth["source_file"].str[:8] == truth["mesh_code"]).all()
    assert set(truth["mesh_code"]) == {p.name[:8] for p in gmls}
    assert "52385628" in set(truth["mesh_code"])  # the station's square
    usage = _parse(root / "codelists" / "Building_usage.xml")
    assert usage.tag == f"{GML}Dictionary"
    codes = {d.findtext(f"{GML}name") for d in usage.iter(f"{GML}Definition")}
    assert {"401", "402", "411", "412", "461"} <= codes
    assert set(truth["usage_code"]) <= codes
    rank = _parse(root / "codelists" / "RiverFloodingRiskAttribute_rank.xml")
    assert len(list(rank.iter(f"{GML}Definition"))) == 6


def test_v4_namespaces_and_attributes(district):
    truth = district.truth.set_index("gml_id")
    seen = set()
    for f in _gml_files(district):
        root = _parse(f)
        assert root.tag == "{http://www.opengis.net/citygml/2.0}CityModel"
        assert root.nsmap["uro"] == "https://www.geospatial.jp/iur/uro/3.1"
        assert root.nsmap["bldg"] == NS["bldg"] and root.nsmap["gml"] == NS["gml"]
        env = root.find("gml:boundedBy/gml:Envelope", NS)
        assert env.get("srsName") == "http://www.opengis.net/def/crs/EPSG/0/6697"
        assert env.get("srsDimension") == "3"
        lo = np.array(env.findtext("gml:lowerCorner", namespaces=NS).split(), dtype=float)
        hi = np.array(env.findtext("gml:upperCorner", namespaces=NS).split(), dtype=float)
        allpos = np.concatenate([np.array(p.text.split(), dtype=float) for p in root.iter(f"{GML}posList")])
        allpos = allpos.reshape(-1, 3)
        assert (allpos >= lo - 1e-9).all() and (allpos <= hi + 1e-9).all(), "envelope must hold every position"
        assert 34.0 < allpos[:, 0].min() and allpos[:, 1].min() > 138.0  # latitude first
        for b in root.iterfind("core:cityObjectMember/bldg:Building", NS):
            gid = b.get(f"{GML}id")
            assert gid.startswith("bldg_") and gid not in seen
            seen.add(gid)
            row = truth.loc[gid]
            assert b.find("bldg:usage", NS).get("codeSpace") == "../../codelists/Building_usage.xml"
            assert b.findtext("bldg:usage", namespaces=NS) == row["usage_code"]
            assert b.find("bldg:class", NS).get("codeSpace") == "../../codelists/Building_class.xml"
            mh = b.find("bldg:measuredHeight", NS)
            assert mh.get("uom") == "m" and float(mh.text) == row["measured_height_m"]
            assert int(b.findtext("bldg:storeysAboveGround", namespaces=NS)) == row["storeys_above_ground"]
            assert b.find("bldg:lod0RoofEdge/gml:MultiSurface", NS) is not None
            assert b.find("bldg:lod1Solid/gml:Solid/gml:exterior/gml:CompositeSurface", NS) is not None
            bid = b.find("uro:buildingIDAttribute/uro:BuildingIDAttribute", NS)
            assert bid.findtext("uro:buildingID", namespaces=NS) == row["building_id"]
            assert bid.findtext("uro:prefecture", namespaces=NS) == "22"
            assert bid.findtext("uro:city", namespaces=NS) == "22203"
            det = b.find("uro:buildingDetailAttribute/uro:BuildingDetailAttribute", NS)
            assert float(det.findtext("uro:totalFloorArea", namespaces=NS)) == pytest.approx(row["total_floor_area_m2"])
            assert det.findtext("uro:buildingStructureType", namespaces=NS) == row["structure_code"]
            assert b.find("uro:bldgDataQualityAttribute/uro:DataQualityAttribute", NS) is not None
            floods = b.findall("uro:bldgDisasterRiskAttribute/uro:RiverFloodingRiskAttribute", NS)
            if pd.isna(row["flood_depth_m"]):
                assert floods == []
            else:
                depths = [float(fl.findtext("uro:depth", namespaces=NS)) for fl in floods]
                assert max(depths) == pytest.approx(row["flood_depth_m"])
                for fl in floods:
                    assert fl.find("uro:depth", NS).get("uom") == "m"
                    for tag in ("description", "rank", "adminType", "scale"):
                        assert fl.find(f"uro:{tag}", NS) is not None, tag
            if b.find("bldg:lod2Solid", NS) is not None:
                assert b.findtext("bldg:roofType", namespaces=NS) == ROOF_TYPES[row["roof_type"]]
            has_year = b.find("bldg:yearOfConstruction", NS) is not None
            assert has_year == (not pd.isna(row["year_of_construction"]))
    assert seen == set(truth.index)


def test_solids_closed_outward_and_consistent(district):
    truth = district.truth.set_index("gml_id")
    to_local = Transformer.from_crs("EPSG:6668", district.local_crs, always_xy=True)
    n_lod2 = 0
    for f, b in _buildings(district):
        gid = b.get(f"{GML}id")
        row = truth.loc[gid]
        lod1 = [_ring_xyz(p, to_local) for p in b.iterfind("bldg:lod1Solid//gml:Polygon", NS)]
        vol1 = _check_closed_solid(lod1, f"{gid} LOD1")
        zs = np.concatenate([r[:, 2] for r in lod1])
        assert zs.min() == pytest.approx(row["ground_z_m"], abs=1e-3)
        assert zs.max() == pytest.approx(row["roof_z_m"], abs=1e-3)
        assert zs.max() - zs.min() == pytest.approx(row["measured_height_m"], abs=2e-3)
        assert vol1 == pytest.approx(row["footprint_area_m2"] * row["measured_height_m"], rel=1e-3)
        lod0 = [_ring_xyz(p, to_local) for p in b.iterfind("bldg:lod0RoofEdge//gml:Polygon", NS)]
        assert len(lod0) == 1 and _newell(lod0[0])[2] == pytest.approx(row["footprint_area_m2"], rel=1e-3)
        solid2 = b.find("bldg:lod2Solid", NS)
        if solid2 is None:
            assert row["lod"] == 1
            continue
        n_lod2 += 1
        assert row["lod"] == 2
        polys = {}
        for kind in ("RoofSurface", "WallSurface", "GroundSurface"):
            for s in b.iterfind(f"bldg:boundedBy/bldg:{kind}", NS):
                assert s.get(f"{GML}id")
                for p in s.iterfind("bldg:lod2MultiSurface/gml:MultiSurface/gml:surfaceMember/gml:Polygon", NS):
                    polys[p.get(f"{GML}id")] = (kind, _ring_xyz(p, to_local))
        hrefs = [m.get(XLINK_HREF) for m in solid2.iter(f"{GML}surfaceMember")]
        assert sorted(h.lstrip("#") for h in hrefs) == sorted(polys), "lod2Solid must link every boundary polygon"
        vol2 = _check_closed_solid([r for _, r in polys.values()], f"{gid} LOD2")
        assert 0 < vol2 <= vol1 + 1e-6
        for kind, ring in polys.values():
            nz = _newell(ring)
            if kind == "GroundSurface":
                assert nz[2] < 0
            elif kind == "WallSurface":
                assert abs(nz[2]) < 1e-4 * np.linalg.norm(nz)  # vertical within 0.006 deg
            else:
                tilt = np.degrees(np.arccos(nz[2] / np.linalg.norm(nz)))
                assert tilt == pytest.approx(row["roof_pitch_deg"], abs=0.1), (gid, row["roof_type"])
    assert n_lod2 > 0.4 * len(truth)


@pytest.mark.parametrize("seed", [0, 1, 2, 5])
def test_every_roof_form_present(tmp_path, seed):
    truth = make_district(tmp_path / "d", n_buildings=50, seed=seed, progress=False).truth
    lod2 = truth[truth["lod"] == 2]
    assert set(lod2["roof_type"]) == {"gable", "hip", "shed", "flat"}
    pitched = lod2[lod2["roof_type"].isin(["gable", "hip"])]
    assert pitched["roof_pitch_deg"].between(20, 35).all()
    assert lod2.loc[lod2["roof_type"] == "shed", "roof_pitch_deg"].between(10, 25).all()
    assert (lod2.loc[lod2["roof_type"] == "flat", "roof_pitch_deg"] == 0).all()


def test_footprints_do_not_overlap_and_look_like_numazu(district):
    import shapely

    to_local = Transformer.from_crs("EPSG:6668", district.local_crs, always_xy=True)
    polys = {}
    for f, b in _buildings(district):
        ring = _ring_xyz(b.find("bldg:lod0RoofEdge//gml:Polygon", NS), to_local)
        polys[b.get(f"{GML}id")] = shapely.Polygon(ring[:, :2])
    geoms = np.array(list(polys.values()))
    assert shapely.is_valid(geoms).all()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]])) if pairs.any() else [0]
    assert np.max(overlap, initial=0.0) < 1e-6, "buildings overlap"
    truth = district.truth.set_index("gml_id")
    area = pd.Series(shapely.area(geoms), index=list(polys))
    np.testing.assert_allclose(area.loc[truth.index], truth["footprint_area_m2"], rtol=1e-4)
    # shapes: rectangles and L-shapes (6 corners)
    n_corners = pd.Series([len(g.exterior.coords) - 1 for g in geoms], index=list(polys))
    assert set(n_corners) <= {4, 6}
    assert ((n_corners.loc[truth.index] == 6) == (truth["footprint_shape"] == "L")).all()


def test_district_is_realistic():
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        t = make_district(Path(tmp) / "d", n_buildings=400, seed=0, progress=False).truth
    houses = t[t["usage_code"] == "411"]
    assert len(houses) > 0.4 * len(t)  # mostly detached houses
    two = houses[(houses["storeys_above_ground"] == 2) & (houses["roof_type"] != "flat")]
    assert two["measured_height_m"].between(6, 9.5).mean() > 0.9
    assert houses["footprint_area_m2"].between(45, 160).mean() > 0.9
    assert t["measured_height_m"].between(30, 60).sum() >= 1  # a few towers near the station
    towers = t[t["measured_height_m"] >= 30]
    assert (towers["zone"] == "core").all()
    assert t["ground_z_m"].between(0.5, 15).all()
    flooded = t["flood_depth_m"].notna()
    assert 0.02 < flooded.mean() < 0.9, "some, not all, buildings are in the flood area"
    assert (t.loc[flooded, "flood_rank"] >= 1).all()
    assert t["usage_code"].isin(["401", "402", "403", "404"]).any()
    assert t["usage_code"].isin(["412", "414"]).any()
    assert t["year_of_construction"].notna().any() and t["year_of_construction"].isna().any()
    # ridges run both along and across the street grid (two families ~90 deg apart)
    ridge = t["ridge_azimuth_deg"].dropna().to_numpy()
    family = np.round(((ridge - ridge.min()) % 180) / 90) % 2
    assert 0.05 < family.mean() < 0.95


def test_tsunami_near_the_shore(tmp_path):
    # a district centred 1.4 km south of the station, close to Suruga Bay
    t = make_district(tmp_path / "s", n_buildings=60, seed=2, center_lat=35.090, progress=False).truth
    assert t["tsunami_depth_m"].notna().any()
    assert (t["tsunami_depth_m"].dropna() > 0).all()
    text = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "s" / "udx" / "bldg").glob("*.gml"))
    assert "<uro:TsunamiRiskAttribute>" in text


def test_zip_and_one_file_modes(tmp_path):
    z = make_district(tmp_path / "z", n_buildings=30, seed=1, as_zip=True, progress=False)
    assert Path(z.path).suffix == ".zip" and Path(z.path).is_file()
    with zipfile.ZipFile(z.path) as zf:
        names = zf.namelist()
        assert all(n.startswith(("udx/bldg/", "udx/tran/", "udx/wtr/", "udx/fld/", "udx/tnm/", "udx/dem/", "udx/veg/", "codelists/")) for n in names)
        assert "codelists/Building_usage.xml" in names
        assert sorted(n for n in names if n.startswith(("udx/tran/", "udx/wtr/", "udx/fld/", "udx/tnm/"))) == z.context_files
        gmls = [n for n in names if n.startswith("udx/bldg/")]
        assert gmls == z.files
        count = sum(zf.read(n).count(b"<bldg:Building ") for n in gmls)
    assert count == 30
    z2 = make_district(tmp_path / "named.zip", n_buildings=30, seed=1, as_zip=True, progress=False)
    assert Path(z2.path) == tmp_path / "named.zip"
    assert Path(z.path).read_bytes() == Path(z2.path).read_bytes()  # deterministic archive

    one = make_district(tmp_path / "big.gml", n_buildings=80, seed=1, one_file=True, progress=False)
    assert Path(one.path) == tmp_path / "big.gml"
    root = _parse(one.path)
    assert len(root.findall("core:cityObjectMember/bldg:Building", NS)) == 80
    assert (one.truth["source_file"] == "big.gml").all()
    folder = make_district(tmp_path / "f", n_buildings=20, seed=1, one_file=True, progress=False)
    assert Path(folder.path).parent == tmp_path / "f" / "udx" / "bldg"
    assert (tmp_path / "f" / "codelists" / "Building_usage.xml").exists()


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="n_buildings"):
        make_district(tmp_path, n_buildings=0, progress=False)
    with pytest.raises(ValueError, match="lod2_share"):
        make_district(tmp_path, n_buildings=5, lod2_share=1.5, progress=False)


def test_determinism(tmp_path):
    a = make_district(tmp_path / "a", n_buildings=40, seed=3, progress=False)
    b = make_district(tmp_path / "b", n_buildings=40, seed=3, progress=False)
    c = make_district(tmp_path / "c", n_buildings=40, seed=4, progress=False)

    def digest(sample):
        root = Path(sample.path)
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    assert digest(a) == digest(b)
    assert digest(a) != digest(c)
    pd.testing.assert_frame_equal(a.truth, b.truth)


# ------------------------------------------------------------------ round trip through the reader


def _roof_tilts(geoms) -> np.ndarray:
    """Tilt (deg) of each 3D polygon from its Newell normal."""
    out = []
    for g in geoms:
        ring = np.asarray(g.exterior.coords)
        if not np.array_equal(ring[0], ring[-1]):
            ring = np.vstack([ring, ring[:1]])
        n = _newell(ring)
        out.append(np.degrees(np.arccos(abs(n[2]) / np.linalg.norm(n))))
    return np.array(out)


def test_round_trip_read_buildings(district):
    from numazu_geo.citygml import read_buildings

    gdf = read_buildings(district.path, progress=False)
    assert gdf.attrs["errors"] == []
    assert gdf.crs.to_epsg() == 6676  # Numazu: JGD2011 plane rectangular zone VIII
    truth = district.truth.set_index("gml_id")
    assert len(gdf) == len(truth) and gdf["gml_id"].is_unique
    got = gdf.set_index("gml_id").loc[truth.index]
    assert (got["building_id"] == truth["building_id"]).all()
    assert (got["city_code"] == "22203").all()
    np.testing.assert_array_equal(got["measured_height_m"].to_numpy(float), truth["measured_height_m"].to_numpy(float))
    np.testing.assert_array_equal(got["lod"].to_numpy(int), truth["lod"].to_numpy(int))
    assert (got["usage_code"] == truth["usage_code"]).all()
    assert (got["structure_code"] == truth["structure_code"]).all()
    assert (got["storeys_above_ground"].to_numpy(int) == truth["storeys_above_ground"].to_numpy(int)).all()
    assert (got["storeys_below_ground"].to_numpy(int) == truth["storeys_below_ground"].to_numpy(int)).all()
    assert got["year_of_construction"].astype("Float64").equals(truth["year_of_construction"].astype("Float64"))
    np.testing.assert_allclose(got["total_floor_area_m2"], truth["total_floor_area_m2"], rtol=1e-9)
    np.testing.assert_allclose(got["ground_z_m"], truth["ground_z_m"], atol=1e-3)
    np.testing.assert_allclose(got["roof_z_m"], truth["roof_z_m"], atol=1e-3)
    np.testing.assert_allclose(got.geometry.area, truth["footprint_area_m2"], rtol=0.005)
    # flood depths: deepest scenario, same NaN pattern; tsunami likewise
    np.testing.assert_array_equal(got["flood_depth_m"].isna(), truth["flood_depth_m"].isna())
    np.testing.assert_allclose(got["flood_depth_m"].dropna(), truth["flood_depth_m"].dropna(), atol=5e-4)
    ranks = got["flood_rank_code"].dropna().astype(int)
    assert (ranks == truth.loc[ranks.index, "flood_rank"].astype(int)).all()
    np.testing.assert_array_equal(got["tsunami_depth_m"].isna(), truth["tsunami_depth_m"].isna())
    assert got["usage"].notna().all()  # labels from the written code lists
    assert [Path(p).name for p in got["source_file"]] == list(truth["source_file"])
    # footprints in the right place: centres of the footprints match the truth's lat/lon
    to_geo = Transformer.from_crs(gdf.crs, "EPSG:6668", always_xy=True)
    cx, cy = got.geometry.envelope.centroid.x.to_numpy(), got.geometry.envelope.centroid.y.to_numpy()
    lon, lat = to_geo.transform(cx, cy)
    rect = (truth["footprint_shape"] == "rect").to_numpy()
    np.testing.assert_allclose(lat[rect], truth["lat"].to_numpy()[rect], atol=2e-6)
    np.testing.assert_allclose(lon[rect], truth["lon"].to_numpy()[rect], atol=2e-6)


def test_round_trip_zip_and_mesh_filter(tmp_path):
    from numazu_geo.citygml import read_buildings

    # centred on a grid-square corner south-east of the station: four files
    sample = make_district(tmp_path / "z", n_buildings=150, seed=4, as_zip=True, progress=False,
                           center_lat=35.1, center_lon=138.8625)
    truth = sample.truth
    assert set(truth["mesh_code"]) == {"52385628", "52385629", "52385618", "52385619"}
    gdf = read_buildings(sample.path, progress=False)
    assert sorted(gdf["gml_id"]) == sorted(truth["gml_id"])
    assert gdf["usage"].notna().all()
    one = truth["mesh_code"].value_counts().index[0]
    sub = read_buildings(sample.path, mesh=one, progress=False)
    assert sorted(sub["building_id"]) == sorted(truth.loc[truth["mesh_code"] == one, "building_id"])


def test_round_trip_roof_surfaces(district):
    from numazu_geo.citygml import read_roof_surfaces

    roofs = read_roof_surfaces(district.path, progress=False)
    truth = district.truth.set_index("gml_id")
    assert set(roofs["gml_id"]) == set(truth.index)
    assert roofs.has_z.all()
    roofs = roofs.assign(tilt=_roof_tilts(roofs.geometry))
    expected_faces = {"gable": 2, "hip": 4, "shed": 1, "flat": 1}
    for gid, faces in roofs.groupby("gml_id"):
        row = truth.loc[gid]
        if row["lod"] == 2:
            assert (faces["roof_source"] == "lod2").all(), gid
            assert len(faces) == expected_faces[row["roof_type"]], (gid, row["roof_type"])
            np.testing.assert_allclose(faces["tilt"], row["roof_pitch_deg"], atol=0.2, err_msg=gid)
        else:
            assert (faces["roof_source"] == "lod1").all() and len(faces) == 1, gid
            assert faces["tilt"].iloc[0] < 0.05
        zmax = max(np.asarray(g.exterior.coords)[:, 2].max() for g in faces.geometry)
        assert zmax == pytest.approx(row["roof_z_m"], abs=1e-3)
    lod2 = truth[truth["lod"] == 2]
    assert set(lod2["roof_type"]) == {"gable", "hip", "shed", "flat"}


def test_round_trip_solids(district):
    from numazu_geo.citygml import read_solids, solids_to_triangles

    solids = read_solids(district.path, progress=False)
    truth = district.truth.set_index("gml_id")
    got = solids.set_index("gml_id").loc[truth.index]
    np.testing.assert_array_equal(got["lod"].to_numpy(int), truth["lod"].to_numpy(int))
    tri, row = solids_to_triangles(solids)
    assert tri.shape[1:] == (3, 3) and len(row) == len(tri)
    # closed shells: the triangles' signed volume equals footprint x height for LOD1 boxes
    vol = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])) / 6.0
    per = pd.Series(vol).groupby(row).sum()
    per.index = solids["gml_id"].to_numpy()[per.index]
    lod1 = truth[truth["lod"] == 1]
    np.testing.assert_allclose(per.loc[lod1.index].abs(),
                               lod1["footprint_area_m2"] * lod1["measured_height_m"], rtol=0.01)
