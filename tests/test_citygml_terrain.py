"""Terrain (dem) and vegetation (veg) readers, the sample district's hill and trees, and the
shade they cast (issue 11)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from numazu_geo.citygml.terrain import find_feature_files, read_terrain, read_vegetation
from numazu_geo.errors import SourceNotFoundError
from numazu_geo.sample import make_district
from numazu_geo.solar.climate import default_climate
from numazu_geo.solar.potential import solar_potential


@pytest.fixture(scope="module")
def quick():
    return default_climate(days="monthly")


@pytest.fixture(scope="module")
def hilly(tmp_path_factory):
    return make_district(tmp_path_factory.mktemp("hilly"), n_buildings=60, seed=1, relief=True, trees=True, progress=False)


def test_read_plateau_dem_fixture():
    from conftest import require_shared

    path = require_shared("data", "plateau", "other", "dem_fixture__54391759_dem_tin.gml")
    t = read_terrain(path)
    assert len(t) == 1 and len(t.features) == 1 and t.features["kind"].iloc[0] == "TINRelief"
    assert sorted(t.triangles[0, :, 2].tolist()) == pytest.approx([15.5, 15.8, 15.9])
    assert t.crs.to_epsg() == 6677  # Chiba: Plane Rectangular zone IX
    # about 5 m x 6 m: the triangle's legs are 0.0000556 deg of longitude / latitude
    legs = np.linalg.norm(np.diff(t.triangles[0, :, :2], axis=0), axis=1)
    assert 4.0 < legs.min() < 7.0


def test_read_plateau_vegetation():
    from conftest import require_shared

    path = require_shared("data", "plateau", "other", "tsukuba08220_2023_54401008_veg_6697_op.gml")
    v = read_vegetation(path)
    f = v.features
    assert (f["kind"] == "SolitaryVegetationObject").sum() == 3 and (f["kind"] == "PlantCover").sum() == 3
    trees = f[f["kind"] == "SolitaryVegetationObject"]
    assert sorted(trees["height_m"]) == [8.0, 12.4, 12.4]
    for i, row in trees.iterrows():
        z = v.triangles[v.feature == i][:, :, 2]
        assert z.max() - z.min() == pytest.approx(row["height_m"], abs=0.3)  # crown top above the ground point
    assert (f["lod"] == 3).all() and (f["n_triangles"] > 0).all()
    assert len(v) == f["n_triangles"].sum()
    lod1 = read_vegetation(path, lod=1)
    assert (lod1.features["lod"] == 1).all() and len(lod1) < len(v)


def test_sample_writes_hill_and_trees_read_back(hilly):
    from numazu_geo.sample import HILL_HEIGHT_M, _dem_grid, _design

    assert hilly.terrain_file.startswith("udx/dem/") and hilly.vegetation_file.startswith("udx/veg/")
    t = read_terrain(hilly.path)
    d = _design(60, 1, 35.1025, 138.86, 0.6, relief=True)
    grid = _dem_grid(d)
    assert len(t) == len(grid)
    np.testing.assert_allclose(np.sort(t.triangles[:, :, 2].ravel()), np.sort(np.round(grid[:, :, 2], 3).ravel()), atol=1e-3)
    assert t.triangles[:, :, 2].max() > HILL_HEIGHT_M  # the hill top above the plain
    v = read_vegetation(hilly.path / "udx" / "bldg")  # found beside bldg
    assert len(v.features) == len(hilly.trees) > 5
    np.testing.assert_allclose(v.features["height_m"].to_numpy(), hilly.trees["height_m"].to_numpy())
    assert len(v) == 28 * len(hilly.trees)  # octagonal prism: 2 caps x 6 triangles + 8 walls x 2
    assert find_feature_files(hilly.path, "dem")[0].path.endswith("_dem_6697_op.gml")
    with pytest.raises(SourceNotFoundError):
        read_terrain(hilly.path / "nowhere")


def test_hill_lowers_winter_irradiation_and_trees_shade(hilly, quick):
    both = solar_potential(hilly.path, climate=quick, spacing_m=2.0, progress=False)
    flat = solar_potential(hilly.path, climate=quick, spacing_m=2.0, progress=False, terrain=None, vegetation=None)
    hill = solar_potential(hilly.path, climate=quick, spacing_m=2.0, progress=False, vegetation=None)
    assert both.parameters["terrain_triangles"] > 1000 and both.parameters["vegetation_triangles"] > 0
    assert both.parameters["tree_transmittance"] == 0.0
    assert "terrain_triangles" not in flat.parameters
    b = {k: r.buildings.set_index("building_key") for k, r in (("both", both), ("flat", flat), ("hill", hill))}
    winter = ["kwh_m2_month_12", "kwh_m2_month_01"]
    ratio = b["hill"][winter].sum(axis=1) / b["flat"][winter].sum(axis=1)
    assert ratio.min() < 0.96  # the roof nearest the hill loses > 4 % of its winter light
    assert (ratio <= 1 + 1e-9).all()
    trees = b["both"]["kwh_m2_year"] / b["hill"]["kwh_m2_year"]
    assert (trees < 0.99).sum() >= 2 and (trees <= 1 + 1e-9).all()


def test_tree_beside_roof_shades_it(quick):
    """An opaque 10 m crown 3 m south of a 6 m flat roof cuts its light; without it, none lost."""
    from numazu_geo.citygml.terrain import TriangleSet
    from numazu_geo.sample import TREE_CROWN_BASE_FRAC, _crown_rings
    from numazu_geo.citygml.geometry import triangulate_polygon_3d
    import pandas as pd

    x0, y0 = -31000.0, -98000.0
    roof = shapely.Polygon([(x0 - 5, y0 - 5, 6), (x0 + 5, y0 - 5, 6), (x0 + 5, y0 + 5, 6), (x0 - 5, y0 + 5, 6)])
    rs = gpd.GeoDataFrame({"gml_id": ["h"], "building_id": ["H"], "surface_id": ["r"], "roof_source": "lod2"},
                          geometry=[roof], crs="EPSG:6676")  # fmt: skip
    tree = pd.Series({"x_m": x0, "y_m": y0 - 8.0, "ground_z_m": 0.0, "height_m": 10.0, "crown_radius_m": 3.0})
    tris = np.concatenate([triangulate_polygon_3d(r) for r in _crown_rings(tree)])
    assert tris[:, :, 2].min() == pytest.approx(TREE_CROWN_BASE_FRAC * 10.0)
    ts = TriangleSet(tris, None, np.zeros(len(tris), np.int64), pd.DataFrame())
    open_sky = solar_potential(roof_surfaces=rs, climate=quick, progress=False, spacing_m=2.0, terrain=None, vegetation=None)
    shaded = solar_potential(roof_surfaces=rs, climate=quick, progress=False, spacing_m=2.0, vegetation=ts, terrain=None)
    assert open_sky.faces["shading_loss"].iloc[0] == pytest.approx(0, abs=1e-12)
    assert shaded.faces["shading_loss"].iloc[0] > 0.03


def test_geotiff_dem(tmp_path):
    import rasterio
    from affine import Affine

    z = np.array([[10.0, 11.0, 12.0], [10.5, 11.5, -9999.0], [11.0, 12.0, 13.0]], dtype="float32")
    path = tmp_path / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", width=3, height=3, count=1, dtype="float32", crs="EPSG:6676",
                       transform=Affine(5.0, 0.0, -31000.0, 0.0, -5.0, -98000.0), nodata=-9999.0) as ds:  # fmt: skip
        ds.write(z, 1)
    t = read_terrain(path)
    assert t.crs.to_epsg() == 6676
    assert len(t) == 8 - 3  # 2 x 2 cells, 2 triangles each, minus those touching the no-data cell
    assert t.triangles[:, :, 2].min() == pytest.approx(10.0) and t.triangles[:, :, 2].max() == pytest.approx(13.0)
    # cell centres: the first at (x0 + 2.5, y0 - 2.5)
    assert np.isclose(t.triangles[:, :, 0], -31000.0 + 2.5).any() and np.isclose(t.triangles[:, :, 1], -98000.0 - 2.5).any()


def test_only_dem_and_veg_files_near_the_bbox_are_parsed(hilly, tmp_path, monkeypatch):
    """A city run on Dask parsed every dem/veg file of the city for each mesh's task; with a bbox
    (solar_potential passes the roofs' bounds plus its shading margin) only the files whose grid
    square reaches it are read, and a bbox far from all of them reads none."""
    import shutil

    from numazu_geo.citygml import terrain as T

    root = tmp_path / "city"
    shutil.copytree(hilly.path, root)
    dem = next((root / "udx" / "dem").glob("*.gml"))
    far = dem.with_name("53394525_dem_6697_op.gml")  # a Tokyo square, far from Numazu
    shutil.copy(dem, far)
    parsed = []
    real = T._iter_members
    monkeypatch.setattr(T, "_iter_members", lambda src, *a: (parsed.append(src.name), real(src, *a))[1])
    full = read_terrain(root, crs=6676)
    assert sorted(parsed) == sorted([dem.name, far.name])
    x0, y0, x1, y1 = (*full.triangles[:, :, :2].reshape(-1, 2).min(0), *full.triangles[:, :, :2].reshape(-1, 2).max(0))
    parsed.clear()
    near = read_terrain(root, crs=6676, bbox=(x0, y0, x1, y1))
    assert parsed == [dem.name] and len(near) == len(full) // 2  # the copy's triangles were the same
    parsed.clear()
    nowhere = read_terrain(root, crs=6676, bbox=(x1 + 50_000, y1 + 50_000, x1 + 51_000, y1 + 51_000))
    assert parsed == [] and len(nowhere) == 0
    parsed.clear()
    assert len(read_vegetation(root, crs=6676, bbox=(x0, y0, x1, y1))) == len(read_vegetation(root, crs=6676))
    assert all(not n.startswith("53394525") for n in parsed)
