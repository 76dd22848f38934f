"""Roof faces (Newell planes, orientation, area, usability) and roof sample points."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon

from numazu_geo.solar.roofs import (
    FLAT_MOUNT_AZIMUTH_DEG,
    FLAT_MOUNT_TILT_DEG,
    MAX_TILT_DEG,
    MIN_AREA_M2,
    RoofSamples,
    panel_normals,
    roof_faces,
    sample_points,
)

# JGD2011 zone VIII (EPSG:6676) coordinates of the order of Numazu's: far from the origin, so
# any float32 or cancellation problem would show.
X0, Y0, Z0 = -50_000.0, 120_000.0, 25.0


def plane_rect(tilt_deg, azimuth_deg, w=10.0, h=8.0, origin=(X0, Y0, Z0), holes=()):
    """A w x h rectangle (w along the contour, h upslope) on a plane of given tilt/azimuth."""
    n = panel_normals(tilt_deg, azimuth_deg)
    u = np.array([-n[1], n[0], 0.0])
    u = u / np.linalg.norm(u) if np.linalg.norm(u) > 1e-12 else np.array([1.0, 0.0, 0.0])
    v = np.cross(n, u)
    o = np.asarray(origin, dtype=float)

    def pt(a, b):
        return tuple(o + a * u + b * v)

    shell = [pt(0, 0), pt(w, 0), pt(w, h), pt(0, h)]
    rings = [[pt(a, b) for a, b in hole] for hole in holes]
    return Polygon(shell, rings)


def frame(geoms, **cols):
    n = len(geoms)
    data = {
        "gml_id": [f"bldg_{i}" for i in range(n)],
        "building_id": [f"22203-bldg-{i}" for i in range(n)],
        "surface_id": [f"roof_{i}" for i in range(n)],
        "roof_source": ["lod2"] * n,
    }
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs="EPSG:6676")


# ------------------------------------------------------------------------------- orientation
@pytest.mark.parametrize(
    "tilt, azimuth",
    [(30, 180), (30, 0), (30, 90), (30, 270), (45, 225), (10, 135), (59, 315), (5, 20)],
)
def test_tilt_and_azimuth_of_known_planes(tilt, azimuth):
    faces = roof_faces(frame([plane_rect(tilt, azimuth)]))
    row = faces.iloc[0]
    assert row.tilt_deg == pytest.approx(tilt, abs=1e-6)
    assert row.azimuth_deg == pytest.approx(azimuth, abs=1e-6)
    assert row.area_m2 == pytest.approx(80.0, rel=1e-9)
    n = row[["normal_x", "normal_y", "normal_z"]].to_numpy(float)
    assert np.linalg.norm(n) == pytest.approx(1.0)
    assert n[2] > 0
    assert row.usable and row.reason == ""
    assert not row.flat
    assert row.panel_tilt_deg == pytest.approx(tilt)
    assert row.panel_azimuth_deg == pytest.approx(azimuth)


def test_south_facing_30_deg_normal_points_south():
    row = roof_faces(frame([plane_rect(30, 180)])).iloc[0]
    assert row.normal_y == pytest.approx(-0.5)
    assert row.normal_x == pytest.approx(0.0, abs=1e-12)
    assert row.normal_z == pytest.approx(math.sqrt(3) / 2)


def test_ring_orientation_does_not_flip_the_normal():
    poly = plane_rect(30, 90)
    reversed_poly = Polygon(list(poly.exterior.coords)[::-1])
    faces = roof_faces(frame([poly, reversed_poly]))
    assert faces.tilt_deg.tolist() == pytest.approx([30, 30])
    assert faces.azimuth_deg.tolist() == pytest.approx([90, 90])


def test_gable_roof_faces_have_true_area():
    # 10 m (east-west) x 8 m footprint, ridge along x at y = 4, pitch 30 deg
    rise = 4.0 * math.tan(math.radians(30))
    z = 20.0
    south = Polygon([(X0, Y0, z), (X0 + 10, Y0, z), (X0 + 10, Y0 + 4, z + rise), (X0, Y0 + 4, z + rise)])
    north = Polygon(
        [(X0, Y0 + 8, z), (X0, Y0 + 4, z + rise), (X0 + 10, Y0 + 4, z + rise), (X0 + 10, Y0 + 8, z)]
    )
    faces = roof_faces(frame([south, north]))
    assert faces.azimuth_deg.tolist() == pytest.approx([180, 0])
    assert faces.tilt_deg.tolist() == pytest.approx([30, 30])
    # true area = footprint area / cos(tilt), not the 2D footprint area
    assert faces.area_m2.tolist() == pytest.approx([40 / math.cos(math.radians(30))] * 2)
    assert faces.centroid_z_m.tolist() == pytest.approx([z + rise / 2] * 2)


def test_noisy_non_planar_ring_gets_a_robust_plane():
    rng = np.random.default_rng(3)
    poly = plane_rect(25, 160, w=12, h=9)
    pts = np.array(poly.exterior.coords)[:-1]
    # densify the ring (5 points per edge) and add +-2 cm noise to z
    dense = []
    for a, b in zip(pts, np.roll(pts, -1, axis=0)):
        for t in np.linspace(0, 1, 5, endpoint=False):
            dense.append(a + t * (b - a))
    dense = np.array(dense)
    dense[:, 2] += rng.uniform(-0.02, 0.02, len(dense))
    row = roof_faces(frame([Polygon(dense)])).iloc[0]
    assert row.tilt_deg == pytest.approx(25, abs=0.3)
    assert row.azimuth_deg == pytest.approx(160, abs=1.0)
    assert row.area_m2 == pytest.approx(108, rel=0.01)
    assert row.usable


def test_holes_are_subtracted_from_the_area():
    holes = [[(2, 2), (4, 2), (4, 5), (2, 5)], [(6, 1), (8, 1), (8, 2), (6, 2)]]
    row = roof_faces(frame([plane_rect(35, 200, holes=holes)])).iloc[0]
    assert row.area_m2 == pytest.approx(80 - 6 - 2)
    assert row.tilt_deg == pytest.approx(35)


# ------------------------------------------------------------------------------- usability
def test_defaults_follow_plateau_solarpotential():
    assert MIN_AREA_M2 == 10.0 and MAX_TILT_DEG == 60.0
    assert FLAT_MOUNT_TILT_DEG == 15.0 and FLAT_MOUNT_AZIMUTH_DEG == 180.0
    faces = roof_faces(
        frame([plane_rect(30, 180, w=3, h=3), plane_rect(65, 90), plane_rect(65, 0, w=2, h=2)])
    )
    assert faces.usable.tolist() == [False, False, False]
    assert faces.reason.tolist() == ["area < 10 m2", "tilt > 60 deg", "area < 10 m2; tilt > 60 deg"]


def test_thresholds_are_configurable():
    faces = roof_faces(
        frame([plane_rect(30, 180, w=3, h=3), plane_rect(65, 90)]), min_area_m2=5, max_tilt_deg=70
    )
    assert faces.usable.tolist() == [True, True]


def test_flat_roof_gets_mounting_assumption():
    geoms = [plane_rect(0, 0), plane_rect(2.0, 90), plane_rect(4.0, 90)]
    faces = roof_faces(frame(geoms))
    assert faces.flat.tolist() == [True, True, False]
    assert faces.panel_tilt_deg.tolist() == pytest.approx([15, 15, 4])
    assert faces.panel_azimuth_deg.tolist() == pytest.approx([180, 180, 90])
    assert faces.tilt_deg.iloc[0] == pytest.approx(0)
    assert faces.azimuth_deg.iloc[0] == 180.0  # horizontal: pvlib's convention
    custom = roof_faces(frame(geoms[:1]), flat_mount_tilt_deg=10, flat_mount_azimuth_deg=170)
    assert custom.panel_tilt_deg.iloc[0] == 10 and custom.panel_azimuth_deg.iloc[0] == 170


def test_bad_polygons_are_kept_with_a_reason_and_never_raise():
    geoms = [
        plane_rect(30, 180),  # good
        Polygon([(X0, Y0, 5), (X0 + 5, Y0, 5), (X0 + 10, Y0, 5)]),  # collinear
        Polygon([(X0, Y0, 5), (X0 + 5, Y0, 5), (X0, Y0, 5), (X0 + 5, Y0, 5)]),  # 2 distinct pts
        Polygon([(X0, Y0, 5), (X0 + 10, Y0, 5), (X0 + 10, Y0, 15), (X0, Y0, 15)]),  # vertical
        Polygon([(X0, Y0, 5), (X0 + 10, Y0 + 10, 5), (X0 + 10, Y0, 5), (X0, Y0 + 14, 5)]),  # bowtie
        Polygon([(X0, Y0, np.nan), (X0 + 10, Y0, 5), (X0 + 10, Y0 + 10, 5)]),  # NaN
        Polygon([(X0, Y0), (X0 + 10, Y0), (X0 + 10, Y0 + 10)]),  # 2D only
        None,
        Polygon(),
        LineString([(X0, Y0, 1), (X0 + 1, Y0, 1)]),
    ]
    faces = roof_faces(frame(geoms))
    assert len(faces) == len(geoms)
    assert faces.reason.tolist() == [
        "",
        "degenerate polygon",
        "degenerate polygon",
        "vertical",
        "self-intersecting",
        "nan coordinates",
        "no z coordinates",
        "missing geometry",
        "missing geometry",
        "not a polygon",
    ]
    assert faces.usable.tolist() == [True] + [False] * 9
    # no plane -> NaN orientation, zero area (never NaN area that could leak into sums)
    assert faces.area_m2.notna().all()
    assert faces.loc[1:2, "tilt_deg"].isna().all()
    assert faces.area_m2.iloc[1] == 0.0
    # the bad faces never produce sample points
    pts = sample_points(faces, 1.0)
    assert set(np.unique(pts.face_index)) == {0}
    pts_all = sample_points(faces, 1.0, include_unusable=True)
    assert set(np.unique(pts_all.face_index)) == {0, 3}  # the vertical face has a valid plane


def test_empty_input():
    faces = roof_faces(frame([]))
    assert len(faces) == 0 and "usable" in faces
    pts = sample_points(faces)
    assert len(pts) == 0 and pts.xyz.shape == (0, 3)


# ------------------------------------------------------------------------------- identity
def test_building_key_face_ids_and_multipolygons():
    a, b, c = plane_rect(30, 180), plane_rect(30, 0), plane_rect(20, 90)
    gdf = frame(
        [a, MultiPolygon([b, c]), c, a],
        gml_id=["g0", "g1", "g2", "g2"],
        building_id=["B0", None, pd.NA, None],
        surface_id=["s0", "s1", None, None],
    )
    faces = roof_faces(gdf)
    assert len(faces) == 5
    assert faces.building_key.tolist() == ["B0", "g1", "g1", "g2", "g2"]
    assert faces.face_id.tolist() == ["s0", "s1#0", "s1#1", "g2:0", "g2:1"]
    assert faces.face_id.is_unique
    assert faces.crs == gdf.crs
    assert faces.geometry.iloc[0].has_z


def test_geographic_crs_is_rejected_with_a_clear_message():
    gdf = frame([plane_rect(30, 180)]).set_crs("EPSG:4326", allow_override=True)
    with pytest.raises(ValueError, match="projected CRS"):
        roof_faces(gdf)


# ------------------------------------------------------------------------------- sampling
def _plane_distance(pts: RoofSamples, faces):
    f = faces.iloc[pts.face_index]
    n = f[["normal_x", "normal_y", "normal_z"]].to_numpy(float)
    c = np.array([np.array(g.exterior.coords)[:-1].mean(axis=0) for g in f.geometry])
    return np.abs(np.sum((pts.xyz - c) * n, axis=1))


def test_sample_points_lie_on_the_face_and_areas_sum():
    holes = [[(2, 2), (6, 2), (6, 5), (2, 5)]]
    geoms = [plane_rect(30, 180, w=20, h=10, holes=holes), plane_rect(0, 0, w=7, h=7)]
    faces = roof_faces(frame(geoms))
    pts = sample_points(faces, spacing_m=1.0)
    sums = np.bincount(pts.face_index, pts.area_m2)
    assert sums == pytest.approx(faces.area_m2.to_numpy())
    assert np.bincount(pts.face_index).tolist() == [200 - 12, 49]
    assert _plane_distance(pts, faces).max() < 1e-6
    # points are inside the footprint and outside the hole (checked in 2D map coordinates)
    for i, g in enumerate(geoms):
        xy = pts.xyz[pts.face_index == i, :2]
        assert shapely.contains_xy(shapely.Polygon(g.exterior.coords), xy[:, 0], xy[:, 1]).all()
    hole_xy = Polygon([p[:2] for p in geoms[0].interiors[0].coords])
    xy = pts.xyz[pts.face_index == 0, :2]
    assert not shapely.contains_xy(hole_xy, xy[:, 0], xy[:, 1]).any()
    # normals and panel normals
    assert np.allclose(pts.normal[pts.face_index == 0], panel_normals(30, 180))
    assert np.allclose(pts.panel_normal[pts.face_index == 1], panel_normals(15, 180))


def test_spacing_controls_density():
    faces = roof_faces(frame([plane_rect(20, 135, w=40, h=30)]))
    n1 = len(sample_points(faces, 1.0))
    n2 = len(sample_points(faces, 2.0))
    assert n1 == 1200 and n2 == 300
    with pytest.raises(ValueError):
        sample_points(faces, 0)


def test_small_or_thin_faces_get_one_point_at_their_centroid():
    faces = roof_faces(frame([plane_rect(30, 180, w=0.5, h=0.5)]), min_area_m2=0)
    pts = sample_points(faces, spacing_m=2.0)
    assert len(pts) == 1
    centroid = np.array(faces.geometry.iloc[0].exterior.coords)[:-1].mean(axis=0)
    assert pts.xyz[0] == pytest.approx(centroid)
    assert pts.area_m2[0] == pytest.approx(0.25)
    # an L-shaped sliver whose centroid lies outside still gets a point on it
    l_shape = Polygon([(X0, Y0, 9), (X0 + 3, Y0, 9), (X0 + 3, Y0 + 0.1, 9), (X0 + 0.1, Y0 + 0.1, 9),
                       (X0 + 0.1, Y0 + 3, 9), (X0, Y0 + 3, 9)])  # fmt: skip
    faces = roof_faces(frame([l_shape]), min_area_m2=0)
    pts = sample_points(faces, spacing_m=1.0)
    assert len(pts) >= 1
    assert shapely.contains_xy(Polygon([p[:2] for p in l_shape.exterior.coords]), *pts.xyz[:, :2].T).all()


def test_face_index_is_positional_after_subsetting():
    faces = roof_faces(frame([plane_rect(30, 180), plane_rect(30, 0, w=5, h=4), plane_rect(30, 90)]))
    sub = faces.iloc[[2, 0]]
    pts = sample_points(sub, 1.0)
    assert set(np.unique(pts.face_index)) == {0, 1}
    assert np.allclose(pts.normal[pts.face_index == 0], panel_normals(30, 90))


def test_many_faces_are_vectorised():
    # 5,000 random faces: must take well under a few seconds (no Python loop per point)
    import time

    rng = np.random.default_rng(0)
    geoms = [
        plane_rect(t, a, w=w, h=h, origin=(X0 + x, Y0 + y, 20))
        for t, a, w, h, x, y in zip(
            rng.uniform(0, 50, 5000), rng.uniform(0, 360, 5000), rng.uniform(3, 15, 5000),
            rng.uniform(3, 15, 5000), rng.uniform(0, 5000, 5000), rng.uniform(0, 5000, 5000),
        )
    ]  # fmt: skip
    t0 = time.perf_counter()
    faces = roof_faces(frame(geoms))
    pts = sample_points(faces, 1.0)
    elapsed = time.perf_counter() - t0
    assert np.bincount(pts.face_index, pts.area_m2, minlength=len(faces))[faces.usable] == pytest.approx(
        faces.area_m2[faces.usable].to_numpy()
    )
    assert elapsed < 20  # ~1 s measured; generous for a busy 2-core CI box


# ------------------------------------------------------------------------------- real PLATEAU data
REAL_FILES = [
    "v2_uro2.0/tokyo13111_2022_53392633_bldg_6697_2_op__lod2_tex.gml",  # dense LOD2 block
    "v4_uro3.1/yokosuka14201_52397519_bldg_6697_op__lod2_part_risk.gml",  # LOD2 + LOD1 mix
    "v4_uro3.1/city35215_51311568_bldg_6697_op__lod1_only.gml",  # LOD1 only: flat roofs
]
KNOWN_REASONS = {
    "", "area < 10 m2", "tilt > 60 deg", "area < 10 m2; tilt > 60 deg", "vertical",
    "degenerate polygon", "self-intersecting", "nan coordinates", "no z coordinates",
    "missing geometry", "not a polygon",
}  # fmt: skip


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_plateau_roofs(plateau_dir, name):
    from numazu_geo.citygml import read_roof_surfaces

    matches = sorted(plateau_dir.glob(f"*/{name.split('/')[-1]}"))
    if not matches:
        pytest.fail(f"{name} missing from the shared PLATEAU samples")
    roofs = read_roof_surfaces(matches[0], progress=False)
    faces = roof_faces(roofs)
    assert len(faces) == len(roofs) > 0
    assert set(faces.reason) <= KNOWN_REASONS
    assert faces.face_id.is_unique
    u = faces[faces.usable]
    assert len(u) > 0
    assert (u.area_m2 >= MIN_AREA_M2).all() and (u.tilt_deg <= MAX_TILT_DEG).all()
    assert u.tilt_deg.between(0, 90).all() and u.azimuth_deg.between(0, 360).all()
    # true 3D area: its projection onto the map equals the polygon's 2D area (planar faces)
    proj = shapely.area(shapely.force_2d(u.geometry.values))
    assert proj == pytest.approx(u.area_m2 * np.cos(np.radians(u.tilt_deg)), rel=1e-3, abs=1e-3)
    if (roofs["roof_source"] == "lod1").all():
        assert u.flat.all() and (u.panel_tilt_deg == FLAT_MOUNT_TILT_DEG).all()
    pts = sample_points(faces, 1.0)
    sums = np.bincount(pts.face_index, pts.area_m2, minlength=len(faces))
    assert sums[faces.usable.to_numpy()] == pytest.approx(u.area_m2.to_numpy())
    assert (sums[~faces.usable.to_numpy()] == 0).all()
