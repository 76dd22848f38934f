"""The per-tile unit of work (:func:`tile_irradiance`): picklable inputs, scene built inside,
results equal to :func:`roof_irradiance` over all faces."""

from __future__ import annotations

import pickle

import geopandas as gpd
import numpy as np
import pytest
import shapely

from numazu_geo.solar.climate import default_climate
from numazu_geo.solar.irradiance import climate_inputs
from numazu_geo.solar.potential import (
    TileScene,
    face_tiles,
    roof_irradiance,
    sun_bins,
    tile_faces,
    tile_irradiance,
)
from numazu_geo.solar.roofs import roof_faces, sample_points
from numazu_geo.solar.shading import ShadingScene

CRS = "EPSG:6676"
X0, Y0 = -31000.0, -98000.0


def _box(x0, y0, x1, y1, z0, z1):
    v = np.array([[x, y, z] for z in (z0, z1) for y in (y0, y1) for x in (x0, x1)], dtype=float)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    return np.array([t for a, b, c, d in quads for t in ((v[a], v[b], v[c]), (v[a], v[c], v[d]))])


@pytest.fixture(scope="module")
def case():
    # low roofs north of towers, spread over several 100 m tiles
    roofs, tris = [], []
    for i, dx in enumerate((0.0, 150.0, 320.0)):
        cx = X0 + dx
        roofs.append(shapely.Polygon([(cx - 6, Y0 - 5, 6), (cx + 6, Y0 - 5, 6), (cx + 6, Y0 + 5, 6), (cx - 6, Y0 + 5, 6)]))
        tris.append(_box(cx - 6, Y0 - 5, cx + 6, Y0 + 5, 0, 6))
        tris.append(_box(cx - 10, Y0 - 30, cx + 10, Y0 - 18, 0, 20 + 10 * i))
    rs = gpd.GeoDataFrame({"gml_id": ["a", "b", "c"], "building_id": ["A", "B", "C"],
                           "surface_id": ["ra", "rb", "rc"], "roof_source": "lod2"}, geometry=roofs, crs=CRS)  # fmt: skip
    faces = roof_faces(rs)
    samples = sample_points(faces, 2.0)
    return faces, samples, np.concatenate(tris), default_climate(days="monthly")


def test_tiles_in_another_process_equal_roof_irradiance(case):
    faces, samples, tris, clim = case
    scene = ShadingScene(tris)
    table, points = roof_irradiance(faces, samples, scene, clim, tile_size_m=100.0, keep_points=True, progress=False)
    inputs = climate_inputs(clim)
    bins = sun_bins(inputs)
    tiles = face_tiles(faces, samples, 100.0)
    assert len(tiles) == 3
    got = np.full(len(faces), np.nan)
    rays = 0
    for key in sorted(tiles):
        # what a task receives: plain picklable arrays; the Embree scene is built inside
        job = pickle.loads(pickle.dumps((tile_faces(faces, samples, tiles[key]), TileScene(tris, origin=scene.origin))))
        res = tile_irradiance(job[0], job[1], inputs, bins, keep_points=True)
        got[res.face_pos] = res.month_kwh_m2.sum(axis=1)
        assert set(res.points["face_pos"]) == set(res.face_pos.tolist())
        rays += res.rays_cast
    np.testing.assert_array_equal(got, table["kwh_m2_year"].to_numpy())
    assert rays == table.attrs["rays_cast"] > 0
    assert (table["shading_loss"] > 0.01).all()  # the towers shade every roof


def test_tile_without_scene_is_unshaded(case):
    faces, samples, _, clim = case
    inputs = climate_inputs(clim)
    bins = sun_bins(inputs)
    tf = tile_faces(faces, samples, np.arange(len(faces)))
    res = tile_irradiance(tf, None, inputs, bins)
    np.testing.assert_allclose(res.month_kwh_m2, res.unshaded_month_kwh_m2, rtol=1e-12)
    assert res.rays_cast == 0 and np.all(res.sky_view_factor == 1.0)
