"""Roof surfaces, solids, triangulation and the ingest command line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from numazu_geo.citygml import read_buildings, read_roof_surfaces, read_solids, solids_to_triangles
from numazu_geo.citygml.geometry import triangle_areas, triangulate_polygon_3d

SHINJUKU_V1 = "v1_uro1.4/shinjuku13104_53394525_bldg_6697_2_op__1bldg_lod2.gml"
TOKYO_V1 = "v1_uro1.4/tokyo13111_53392633_bldg_6697_2_op__lod2_tex.gml"
TOKYO_V2 = "v2_uro2.0/tokyo13111_2022_53392633_bldg_6697_2_op__lod2_tex.gml"
SHINJUKU_V5 = "v5_uro3.2/shinjuku13104_2025_53394517_bldg_6697_op__1bldg_lod2_tex.gml"
YOKOSUKA = "v2_uro2.0/yokosuka14201_52397519_bldg_6697_op__lod2_part_risk.gml"
SHIZUOKA = "v3_uro3.0/shizuoka22102_2023_52382287_bldg_6697_psc_op__excerpt.gml"
PARTS_V4 = "v4_uro3.1/test_buildingpart__synthetic.gml"


def test_triangulate_square_with_hole_on_a_slope():
    # a 10 m x 10 m square tilted 30 deg about the x axis, with a 2 m x 2 m hole
    t = np.radians(30)

    def lift(pts):
        pts = np.asarray(pts, float)
        return np.column_stack([pts[:, 0], pts[:, 1] * np.cos(t), pts[:, 1] * np.sin(t) + 5])

    outer = lift([[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]])
    hole = lift([[4, 4], [4, 6], [6, 6], [6, 4], [4, 4]])
    tris = triangulate_polygon_3d(outer, [hole])
    assert tris.shape[1:] == (3, 3) and tris.dtype == np.float64
    assert triangle_areas(tris).sum() == pytest.approx(96.0)
    normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    normals /= np.linalg.norm(normals, axis=1)[:, None]
    assert np.allclose(np.abs(normals[:, 2]), np.cos(t))  # every triangle lies in the plane
    assert triangulate_polygon_3d([[0, 0, 0], [1, 1, 1], [2, 2, 2]]).shape == (0, 3, 3)


@pytest.mark.parametrize(
    "path, roofs", [(SHINJUKU_V1, 204), (TOKYO_V1, 538), (TOKYO_V2, 412), (SHINJUKU_V5, 279)]
)
def test_roof_surface_counts_match_the_files(plateau_dir, path, roofs):
    # each RoofSurface in these files holds exactly one polygon (counted in MANIFEST.tsv)
    gdf = read_roof_surfaces(plateau_dir / path, progress=False)
    assert len(gdf) == roofs
    assert (gdf["roof_source"] == "lod2").all()
    assert shapely.has_z(gdf.geometry.values).all()
    assert gdf["surface_id"].notna().all()


def test_roof_surfaces_mix_lod2_and_lod1_flat_tops(plateau_dir):
    gdf = read_roof_surfaces(plateau_dir / YOKOSUKA, progress=False)
    assert gdf.crs.to_epsg() == 6677
    counts = gdf["roof_source"].value_counts()
    assert counts["lod1"] == 11  # 13 buildings, 2 of them with LOD2 roofs
    lod2_buildings = gdf.loc[gdf.roof_source == "lod2", "building_id"].unique()
    assert len(lod2_buildings) == 2 and "14201-bldg-156842" in lod2_buildings  # roofs of its parts
    flat = gdf[gdf.roof_source == "lod1"]
    z = [np.ptp(shapely.get_coordinates(g, include_z=True)[:, 2]) for g in flat.geometry]
    assert max(z) < 0.05  # LOD1 tops are flat
    buildings = read_buildings(plateau_dir / YOKOSUKA, progress=False).set_index("building_id")
    top = flat.set_index("building_id").geometry
    for bid, geom in top.items():
        assert shapely.get_coordinates(geom, include_z=True)[0, 2] == pytest.approx(buildings.loc[bid, "roof_z_m"])


def test_lod2_solid_without_semantic_surfaces_gives_its_upward_faces(plateau_dir):
    gdf = read_roof_surfaces(plateau_dir / PARTS_V4, progress=False).set_index("gml_id")
    roof = gdf.loc["bldg_test_002"]
    assert roof.roof_source == "lod2"
    assert shapely.get_coordinates(roof.geometry, include_z=True)[:, 2] == pytest.approx(10.0)


def test_solids_triangles_close_the_shell(plateau_dir):
    solids = read_solids(plateau_dir / SHIZUOKA, progress=False)
    assert len(solids) == 4 and (solids["lod"] == 1).all()
    tris, rows = solids_to_triangles(solids)
    assert tris.shape[1:] == (3, 3) and len(tris) == len(rows)
    assert set(rows) == {0, 1, 2, 3}
    buildings = read_buildings(plateau_dir / SHIZUOKA, progress=False)
    for i in range(4):
        mine = tris[rows == i]
        # closed extruded prism: total area = 2 x footprint + walls; z range = solid range
        assert mine[:, :, 2].min() == pytest.approx(buildings.ground_z_m.iloc[i])
        assert mine[:, :, 2].max() == pytest.approx(buildings.roof_z_m.iloc[i])
        normals = np.cross(mine[:, 1] - mine[:, 0], mine[:, 2] - mine[:, 0])
        horizontal = np.abs(normals[:, 2]) / np.linalg.norm(normals, axis=1) > 0.99
        assert triangle_areas(mine[horizontal]).sum() == pytest.approx(2 * buildings.geometry.iloc[i].area, rel=1e-6)


def test_lod2_solids_use_the_boundary_surfaces(plateau_dir):
    solids = read_solids(plateau_dir / TOKYO_V1, progress=False)
    assert len(solids) == 10 and (solids["lod"] == 2).all()
    tris, rows = solids_to_triangles(solids)
    assert len(np.unique(rows)) == 10
    assert len(tris) > 538  # at least one triangle per roof polygon, plus walls
    assert np.isfinite(tris).all()


def test_cli_ingest_writes_a_table_and_summarises_errors(plateau_dir, tmp_path, capsys):
    from numazu_geo.cli import main

    out = tmp_path / "buildings.csv"
    broken = plateau_dir / "_extra" / "libplateau__53392642_bldg_6697_op2.gml"
    status = main(["ingest", str(plateau_dir / SHIZUOKA), str(broken), "-o", str(out), "--no-progress"])
    assert status == 0
    err = capsys.readouterr().err
    assert "4 buildings rows from 1 file(s)" in err and "1 file(s) skipped" in err and "line 538" in err
    table = pd.read_csv(out, dtype={"building_id": str})
    assert len(table) == 4 and "22102-bldg-354359" in set(table.building_id)

    status = main(["ingest", str(broken), "-o", str(tmp_path / "x.csv"), "--errors", "raise", "--no-progress"])
    assert status == 1 and "line 538" in capsys.readouterr().err


def test_cli_help_lists_the_options(capsys):
    from numazu_geo.cli import main

    with pytest.raises(SystemExit):
        main(["ingest", "--help"])
    text = capsys.readouterr().out
    for option in ("--crs", "--errors", "--parts", "--what", "--mesh", "--bbox", "--processes"):
        assert option in text


def test_bulk_triangulation_handles_concave_quads_and_holes():
    from numazu_geo.citygml.geometry import triangulate_rings

    dart = [[0, 0, 1], [4, 0, 1], [1, 1, 1], [0, 4, 1], [0, 0, 1]]  # concave at (1, 1)
    dart_rot = dart[2:4] + dart[:3]  # same dart starting at the reflex vertex
    tri = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]]
    square = [[0, 0, 2], [10, 0, 2], [10, 10, 2], [0, 10, 2], [0, 0, 2]]
    hole = [[4, 4, 2], [4, 6, 2], [6, 6, 2], [6, 4, 2], [4, 4, 2]]
    rings = [dart, dart_rot, tri, square, hole]
    coords = np.concatenate([np.asarray(r, float) for r in rings])
    ring_off = np.concatenate([[0], np.cumsum([len(r) for r in rings])])
    poly_off = np.array([0, 1, 2, 3, 5])
    tris, owner = triangulate_rings(coords, ring_off, poly_off)
    areas = triangle_areas(tris)
    expected = [shapely.Polygon(np.asarray(dart)[:, :2]).area, shapely.Polygon(np.asarray(dart)[:, :2]).area, 0.5, 96.0]
    assert np.bincount(owner, weights=areas).tolist() == pytest.approx(expected)
    assert (np.diff(owner) >= 0).all()


def test_cli_ingest_geoparquet_round_trip(plateau_dir, tmp_path):
    from numazu_geo.cli import main
    from numazu_geo.io import read_parquet

    out = tmp_path / "shizuoka.parquet"
    broken = plateau_dir / "_extra" / "libplateau__53392642_bldg_6697_op2.gml"
    assert main(["ingest", str(plateau_dir / SHIZUOKA), str(broken), "-o", str(out), "--no-progress"]) == 0
    gdf = read_parquet(out)
    assert len(gdf) == 4 and gdf.crs.to_epsg() == 6676
    assert gdf.attrs["errors"][0]["file"].endswith("libplateau__53392642_bldg_6697_op2.gml")
    assert gdf.set_index("building_id").loc["22102-bldg-354359", "measured_height_m"] == pytest.approx(14.3)
    roofs = tmp_path / "roofs.parquet"
    assert main(["ingest", str(plateau_dir / SHINJUKU_V5), "-o", str(roofs), "--what", "roofs", "--no-progress"]) == 0
    assert len(read_parquet(roofs)) == 279
