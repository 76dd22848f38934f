"""Embree shading: analytic beam shading, sky view factors, float32 safety, scene helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import trimesh
from shapely.geometry import Polygon

from numazu_geo.solar.roofs import panel_normals, roof_faces, sample_points
from numazu_geo.solar.shading import (
    NEIGHBOUR_RADIUS_M,
    RAY_OFFSET_M,
    ShadingScene,
    direction_from_sun,
    triangles_within,
)
from numazu_geo.solar.sky import hemisphere_directions, tregenza_patches

# plane-rectangular coordinates of the order of Numazu's (JGD2011 zone VIII)
X0, Y0 = -50_000.0, 120_000.0
UP = np.array([0.0, 0.0, 1.0])


def box(xmin, ymin, zmin, xmax, ymax, zmax) -> np.ndarray:
    """Triangles (12,3,3) of an axis-aligned box."""
    ext = (xmax - xmin, ymax - ymin, zmax - zmin)
    m = trimesh.creation.box(ext)
    m.apply_translation(((xmin + xmax) / 2, (ymin + ymax) / 2, (zmin + zmax) / 2))
    return np.asarray(m.triangles)


@pytest.fixture(scope="module")
def sun_directions() -> np.ndarray:
    """Hourly sun directions above the horizon for a year at Numazu (35.10 N, 138.86 E)."""
    import pvlib

    times = pd.date_range("2025-01-01", "2026-01-01", freq="1h", tz="Asia/Tokyo", inclusive="left")
    sp = pvlib.solarposition.get_solarposition(times, 35.10, 138.86, method="ephemeris")
    up = sp["elevation"].to_numpy() > 0
    return direction_from_sun(sp["elevation"].to_numpy()[up], sp["azimuth"].to_numpy()[up])


def test_direction_from_sun():
    d = direction_from_sun([0, 0, 90, 30], [0, 90, 123, 180])
    assert d == pytest.approx(
        np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, -np.cos(np.pi / 6), 0.5]]), abs=1e-12
    )


# ---------------------------------------------------------------------------- analytic beam
def test_long_wall_shades_exactly_below_its_elevation_angle(sun_directions):
    """A 4 km east-west wall of height h above the roof, at distance d south of each point.

    The point is beam-shaded exactly when the sun's elevation in the north-south vertical plane
    (its profile angle) is below atan(h/d). We check every hour of a year (~4,400 sun positions)
    for several distances, against (a) the exact ray-plane intersection of the offset ray and (b)
    the textbook atan(h/d) rule away from a 0.5 deg band around the edge.
    """
    z_roof, h, half_len = 20.0, 10.0, 2000.0
    y_wall = Y0 - 0.0  # north face of the wall
    tri = box(X0 - half_len, y_wall - 0.5, 0.0, X0 + half_len, y_wall, z_roof + h)
    scene = ShadingScene(tri)
    dists = np.array([3.0, 5.0, 10.0, 20.0, 40.0])
    pts = np.column_stack([np.full(5, X0 + 7.3), y_wall + dists, np.full(5, z_roof)])
    s = sun_directions
    vis = scene.sun_visible(pts, np.tile(UP, (5, 1)), s)
    assert vis.shape == (5, len(s))
    assert scene.rays_cast == 5 * len(s)  # every hour above the horizon; none behind the plane

    # (a) exact geometry of the offset ray
    o = pts[:, None, :] + RAY_OFFSET_M * UP + RAY_OFFSET_M * s[None, :, :]
    south = s[:, 1] < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (o[..., 1] - y_wall) / -s[None, :, 1]
    x_hit = o[..., 0] + t * s[None, :, 0]
    z_hit = o[..., 2] + t * s[None, :, 2]
    blocked = south[None, :] & (np.abs(x_hit - X0) <= half_len) & (z_hit <= z_roof + h)
    ambiguous = south[None, :] & (
        (np.abs(z_hit - (z_roof + h)) < 1e-3 + 1e-5 * t) | (np.abs(np.abs(x_hit - X0) - half_len) < 1)
    )
    agree = (vis == ~blocked) | ambiguous
    assert agree.all(), f"{(~agree).sum()} disagreements"
    assert ambiguous.mean() < 0.001

    # (b) the textbook rule: shaded iff the profile angle is below atan(h/d)
    profile = np.degrees(np.arctan2(s[:, 2], -s[:, 1]))  # in (0, 180): > 90 means sun north
    limit = np.degrees(np.arctan(h / dists))[:, None]
    in_wall = np.abs(x_hit - X0) < half_len - 1
    clear = np.abs(profile[None, :] - limit) > 0.5
    check = clear & in_wall | ~south[None, :]
    expected_shaded = south[None, :] & (profile[None, :] < limit)
    assert np.array_equal(vis[check], ~expected_shaded[check])
    # the test is not vacuous: many hours are shaded at 3 m, few at 40 m
    shaded_share = (~vis).mean(axis=1)
    assert shaded_share[0] > 0.5 > shaded_share[-1] > 0.0
    assert np.all(np.diff(shaded_share) < 0)


def test_directions_below_horizon_or_behind_the_plane_are_not_visible():
    scene = ShadingScene(np.zeros((0, 3, 3)))  # empty scene: nothing blocks
    north_30 = panel_normals(30, 0)
    pts = np.array([[X0, Y0, 10.0], [X0, Y0, 10.0], [np.nan, Y0, 10.0]])
    normals = np.array([UP, north_30, UP])
    dirs = direction_from_sun([-5, 10, 10, 29, 31, 70], [180, 180, 0, 180, 180, 180])
    vis = scene.sun_visible(pts, normals, dirs)
    assert vis[0].tolist() == [False, True, True, True, True, True]
    # north-facing 30 deg plane: normal . sun <= 0 for sun due south below 30 deg elevation
    assert vis[1].tolist() == [False, False, True, False, True, True]
    assert not vis[2].any()  # NaN point: never visible
    assert scene.rays_cast == 5 + 3
    assert np.array_equal(scene.patch_visible(pts, normals, dirs), vis)


def test_gable_roof_does_not_shade_itself():
    z, rise = 20.0, 4.0 * np.tan(np.radians(30))
    x0, y0 = X0, Y0
    a, b = (x0, y0, z), (x0 + 10, y0, z)
    c, d = (x0 + 10, y0 + 8, z), (x0, y0 + 8, z)
    r1, r2 = (x0, y0 + 4, z + rise), (x0 + 10, y0 + 4, z + rise)
    south, north = Polygon([a, b, r2, r1]), Polygon([c, d, r1, r2])
    tri = np.array([
        [a, b, r2], [a, r2, r1], [c, d, r1], [c, r1, r2],  # roof
        [a, r1, d], [b, c, r2],  # gable ends
    ] + list(box(x0, y0, 0, x0 + 10, y0 + 8, z)))  # fmt: skip
    scene = ShadingScene(tri)
    gdf = pd.DataFrame({"gml_id": ["g", "g"], "building_id": ["b", "b"], "surface_id": ["s", "n"]})
    import geopandas as gpd

    faces = roof_faces(gpd.GeoDataFrame(gdf, geometry=[south, north], crs="EPSG:6676"))
    pts = sample_points(faces, 0.5)
    assert len(pts) > 300
    dirs, _ = hemisphere_directions(400, weighting="uniform")
    vis = scene.sun_visible(pts.xyz, pts.normal, dirs)
    front = (pts.normal @ dirs.T) > 0
    # every direction in front of a convex roof's face is free; everything else is not
    assert np.array_equal(vis, front)
    svf = scene.sky_view_factor(pts.xyz, pts.normal, 256)
    assert svf == pytest.approx(1.0)


# ---------------------------------------------------------------------------- sky view factor
def test_sky_view_factor_of_open_planes_is_one():
    scene = ShadingScene(box(X0 + 500, Y0 + 500, 0, X0 + 510, Y0 + 510, 5))  # far and low
    pts = np.tile([X0, Y0, 30.0], (4, 1))
    normals = np.array([UP, panel_normals(30, 180), panel_normals(60, 90), panel_normals(89, 0)])
    svf = scene.sky_view_factor(pts, normals, n_rays=256)
    assert svf == pytest.approx(np.ones(4))
    empty = ShadingScene(np.zeros((0, 3, 3)))
    assert empty.sky_view_factor(pts, normals) == pytest.approx(np.ones(4))


@pytest.mark.parametrize("h, d", [(10.0, 10.0), (20.0, 8.0), (5.0, 15.0)])
def test_sky_view_factor_beside_one_long_wall_and_in_a_canyon(h, d):
    """Infinitely long walls seen from a horizontal point: one wall of elevation angle e gives
    SVF = (1 + cos e) / 2; a symmetric canyon gives cos e (2D view-factor algebra)."""
    e = np.arctan(h / d)
    z, half_len = 10.0, 5000.0
    south_wall = box(X0 - half_len, Y0 - d - 1, 0, X0 + half_len, Y0 - d, z + h)
    north_wall = box(X0 - half_len, Y0 + d, 0, X0 + half_len, Y0 + d + 1, z + h)
    p = np.array([[X0, Y0, z]])
    one = ShadingScene(south_wall).sky_view_factor(p, [UP], n_rays=2048)[0]
    both = ShadingScene(np.concatenate([south_wall, north_wall])).sky_view_factor(p, [UP], 2048)[0]
    assert one == pytest.approx((1 + np.cos(e)) / 2, rel=0.01)
    assert both == pytest.approx(np.cos(e), rel=0.02)


def test_sky_view_factor_of_a_tilted_plane_facing_a_wall():
    # a 30 deg north-facing plane in front of a wall to the north loses more sky than a
    # south-facing one at the same spot (it looks at the wall)
    wall = box(X0 - 3000, Y0 + 6, 0, X0 + 3000, Y0 + 7, 30)
    scene = ShadingScene(wall)
    p = np.tile([X0, Y0, 20.0], (2, 1))
    svf = scene.sky_view_factor(p, [panel_normals(30, 0), panel_normals(30, 180)], 1024)
    assert 0 < svf[0] < svf[1] < 1
    # 2D view-factor algebra in the north-south section (infinitely long wall): angles phi are
    # measured from the plane normal (positive toward the south); the cosine-weighted share of a
    # range [phi1, phi2] is proportional to sin(phi2) - sin(phi1).
    b, e = np.radians(30), np.arctan(10 / 6)
    lo = -(np.pi / 2 - b)  # northern horizon (the normal is tilted north by b)
    wall_top = lo + e  # wall covers from the northern horizon up to elevation e
    hi = np.pi / 2  # plane's own horizon on the south side (above the ground since b > 0)
    expected = (np.sin(hi) - np.sin(wall_top)) / (np.sin(hi) - np.sin(lo))
    assert svf[0] == pytest.approx(expected, rel=0.02)


# ---------------------------------------------------------------------------- precision
def test_float32_safe_at_plane_rectangular_coordinates():
    """Same scene near the origin and at (-50 km, 120 km) gives identical results, and points
    millimetres either side of an overhang's edge are told apart (they are not without the
    local origin)."""
    rng = np.random.default_rng(0)
    local = np.concatenate(
        [box(x, y, 0, x + 8, y + 8, hgt) for x, y, hgt in zip(
            rng.uniform(-60, 60, 40), rng.uniform(-60, 60, 40), rng.uniform(5, 30, 40))]
    )  # fmt: skip
    pts_local = np.column_stack([rng.uniform(-50, 50, 300), rng.uniform(-50, 50, 300),
                                 rng.uniform(0.5, 20, 300)])  # fmt: skip
    normals = np.tile(UP, (300, 1))
    dirs = np.vstack([hemisphere_directions(64)[0], tregenza_patches()[["dx", "dy", "dz"]]])
    shift = np.array([X0, Y0, 0.0])
    a = ShadingScene(local).sun_visible(pts_local, normals, dirs)
    b = ShadingScene(local + shift).sun_visible(pts_local + shift, normals, dirs)
    assert (a != b).sum() <= 2  # identical up to rays grazing an edge
    assert 0.1 < a.mean() < 0.95

    # a slab whose edge runs along y = 120000 m: float32 spacing there is 7.8 mm, so without the
    # local origin points 3 mm either side of the edge collapse onto it
    slab = box(X0 - 5, Y0 - 5, 20.30, X0 + 5, Y0, 20.32)
    pts = [[X0, Y0 - 0.003, 20.0], [X0, Y0 + 0.003, 20.0]]
    scene = ShadingScene(slab)
    assert scene.sun_visible(pts, [UP, UP], [UP]).ravel().tolist() == [False, True]
    unshifted = ShadingScene(slab, origin=(0.0, 0.0, 0.0))
    assert unshifted.sun_visible(pts, [UP, UP], [UP]).ravel().tolist() == [False, False]
    assert np.allclose(scene.triangles, slab, atol=1e-3)


# ---------------------------------------------------------------------------- scene helpers
def test_terrain_occludes_like_buildings():
    # a 50 m high terrain ridge 100 m east hides the sun at 10 deg elevation in the east
    ridge = np.array([
        [[X0 + 100, Y0 - 1000, 0], [X0 + 100, Y0 + 1000, 0], [X0 + 100, Y0, 50]],
        [[X0 + 100, Y0 - 1000, 0], [X0 + 100, Y0 + 1000, 50], [X0 + 100, Y0 - 1000, 50]],
        [[X0 + 100, Y0 + 1000, 0], [X0 + 100, Y0 + 1000, 50], [X0 + 100, Y0 - 1000, 50]],
    ], dtype=float)  # fmt: skip
    scene = ShadingScene(np.zeros((0, 3, 3)), terrain=ridge)
    assert scene.n_terrain_triangles == 3 and scene.n_triangles == 3
    vis = scene.sun_visible([[X0, Y0, 10.0]], [UP], direction_from_sun([10, 40, 10], [90, 90, 270]))
    assert vis.tolist() == [[False, True, True]]


def test_triangles_within_and_subset_around():
    near = box(X0 + 100, Y0, 0, X0 + 110, Y0 + 10, 50)  # 100 m east of the tile
    far = box(X0 + 400, Y0, 0, X0 + 410, Y0 + 10, 300)  # 400 m east, very tall
    tri = np.concatenate([near, far])
    tile = (X0 - 10, Y0 - 10, X0, Y0 + 10)
    mask = triangles_within(tri, tile)
    assert NEIGHBOUR_RADIUS_M == 300.0
    assert mask.tolist() == [True] * 12 + [False] * 12
    assert triangles_within(tri, tile, radius_m=500).all()
    scene = ShadingScene(tri)
    sub = scene.subset_around(tile)
    assert sub.n_triangles == 12 and np.allclose(sub.origin, scene.origin)
    p = [[X0 - 5, Y0 + 5, 1.0]]
    toward_far = direction_from_sun([30], [90])  # 30 deg: clears the near box, hits the far one
    assert not scene.sun_visible(p, [UP], toward_far)[0, 0]
    assert sub.sun_visible(p, [UP], toward_far)[0, 0]
    assert sub.rays_cast == 1 and scene.rays_cast == 2  # the parent counts its subsets' rays
    assert np.allclose(sub.triangles, near, atol=1e-3)
    assert scene.subset_around(tile, radius_m=500).n_triangles == 24


def test_from_solids_uses_the_reader_triangulation(monkeypatch):
    import numazu_geo.citygml as citygml

    tri = np.concatenate([box(X0, Y0, 0, X0 + 5, Y0 + 5, 10), box(X0 + 20, Y0, 0, X0 + 25, Y0 + 5, 10)])
    tri[3, 0, 0] = np.nan  # a broken triangle is dropped, rows stay aligned
    rows = np.repeat([0, 1], 12)

    def fake(solids):
        assert solids == "solids-gdf"
        return tri, rows

    monkeypatch.setattr(citygml, "solids_to_triangles", fake, raising=False)
    scene = ShadingScene.from_solids("solids-gdf")
    assert scene.n_triangles == 23
    assert scene.triangle_row.tolist() == [0] * 11 + [1] * 12


def test_large_batches_are_chunked(monkeypatch):
    rng = np.random.default_rng(5)
    tri = np.concatenate([box(X0 + x, Y0 + y, 0, X0 + x + 6, Y0 + y + 6, 15)
                          for x, y in rng.uniform(-80, 80, (60, 2))])  # fmt: skip
    pts = np.column_stack([X0 + rng.uniform(-80, 80, 700), Y0 + rng.uniform(-80, 80, 700),
                           rng.uniform(0, 5, 700)])  # fmt: skip
    normals = np.tile(UP, (700, 1))
    dirs = tregenza_patches()[["dx", "dy", "dz"]].to_numpy()
    whole = ShadingScene(tri).patch_visible(pts, normals, dirs)
    chunked_scene = ShadingScene(tri, chunk_rays=1000)
    chunked = chunked_scene.patch_visible(pts, normals, dirs)
    assert np.array_equal(whole, chunked)
    assert chunked_scene.rays_cast == 700 * 145
    svf_whole = ShadingScene(tri).sky_view_factor(pts, normals, 100)
    svf_chunked = ShadingScene(tri, chunk_rays=333).sky_view_factor(pts, normals, 100)
    assert np.allclose(svf_whole, svf_chunked, rtol=0, atol=1e-12)
    assert svf_whole.min() >= 0 and svf_whole.max() <= 1  # points inside boxes see nothing
    assert ((svf_whole > 0.05) & (svf_whole < 0.95)).sum() > 100
    # blocks of points (bounding the per-face direction tables) give the same answers
    import numazu_geo.solar.shading as shading_mod

    monkeypatch.setattr(shading_mod, "_POINT_BLOCK", 37)
    assert np.array_equal(ShadingScene(tri).patch_visible(pts, normals, dirs), whole)
    assert np.allclose(ShadingScene(tri).sky_view_factor(pts, normals, 100), svf_whole, atol=1e-12)
    # raw occlusion agrees with the offset query where offsets do not matter (high points)
    hi = pts + [0, 0, 40]
    raw = ShadingScene(tri).occluded(np.repeat(hi, 145, axis=0), np.tile(dirs, (700, 1)))
    assert not raw.any()
