"""Roof faces: one plane per roof polygon, orientation, true area, usability and sample points.

Input is the output of :func:`numazu_geo.read_roof_surfaces`: one row per roof polygon with a 3D
``Polygon Z`` geometry in a projected CRS in metres (x east, y north, z height above Tokyo Bay
MSL). Everything here is vectorised with NumPy and shapely 2 array functions, so a whole city
(hundreds of thousands of faces) is processed without a Python loop per face or per point.

Plane fitting uses Newell's method (Newell 1972; see e.g. Sutherland, Sproull & Schumacker 1974,
"A characterization of ten hidden-surface algorithms", and Christer Ericson, *Real-Time Collision
Detection*, 2005, section 12.3): the normal is the sum over the ring's edges of the cross products
of consecutive vertices. It is exact for planar polygons, a least-squares-like average for noisy
non-planar rings, and does not fail on collinear leading vertices as a three-point cross product
does. The vector's length is twice the polygon's area projected onto the fitted plane, so it also
gives the true 3D area.

Conventions: ``tilt_deg`` is the angle between the face normal and the vertical (0 = flat,
90 = vertical); ``azimuth_deg`` is the compass direction of the normal's horizontal projection,
i.e. the downslope direction the face looks toward, 0 = north, clockwise (180 = south facing), the
convention of pvlib's ``surface_azimuth``. A perfectly horizontal face gets ``azimuth_deg`` 180.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

log = logging.getLogger(__name__)

# --- defaults (MLIT PLATEAU SolarPotential, UC22-013 v1.0 2022 .. UC24-15 v3.0 2024, its default
# --- exclusion settings; see ../shared/reference/solar.md) -----------------------------------
#: Faces smaller than this (true 3D area) are not usable for PV. PLATEAU SolarPotential default.
MIN_AREA_M2 = 10.0
#: Faces steeper than this are not usable for PV. PLATEAU SolarPotential default.
MAX_TILT_DEG = 60.0
#: Faces flatter than this are "flat roofs" and get a mounting assumption. PLATEAU SolarPotential.
FLAT_TILT_DEG = 3.0
#: Panel tilt assumed on flat roofs. PLATEAU SolarPotential default (15 deg).
FLAT_MOUNT_TILT_DEG = 15.0
#: Panel azimuth assumed on flat roofs (180 = facing south). PLATEAU SolarPotential default.
FLAT_MOUNT_AZIMUTH_DEG = 180.0

# --- numerical tolerances (not physical defaults) --------------------------------------------
#: Faces at least this steep are reported as "vertical" (walls mislabelled as roofs).
VERTICAL_TILT_DEG = 89.5
#: A ring whose area is below this is degenerate (collinear or repeated points).
DEGENERATE_AREA_M2 = 1e-6
#: Upper bound of candidate grid cells handled at once by :func:`sample_points` (memory bound).
_SAMPLE_CHUNK_CELLS = 4_000_000

REASON_MISSING = "missing geometry"
REASON_NOT_POLYGON = "not a polygon"
REASON_NO_Z = "no z coordinates"
REASON_NAN = "nan coordinates"
REASON_DEGENERATE = "degenerate polygon"
REASON_SELF_INTERSECTING = "self-intersecting"
REASON_VERTICAL = "vertical"

FACE_COLUMNS = [
    "face_id",
    "building_key",
    "gml_id",
    "building_id",
    "roof_source",
    "tilt_deg",
    "azimuth_deg",
    "normal_x",
    "normal_y",
    "normal_z",
    "area_m2",
    "centroid_z_m",
    "flat",
    "panel_tilt_deg",
    "panel_azimuth_deg",
    "usable",
    "reason",
    "geometry",
]


# ----------------------------------------------------------------------------------------------
# vectorised ring geometry
# ----------------------------------------------------------------------------------------------
@dataclass
class _Rings:
    """Flattened coordinates of the rings of an array of polygons (exterior first per face)."""

    coords: np.ndarray  # (K, 3) float64, closed rings (last == first)
    coord_ring: np.ndarray  # (K,) ring index of each coordinate
    ring_face: np.ndarray  # (R,) face index (into the polygon array) of each ring
    ring_is_ext: np.ndarray  # (R,) bool
    n_faces: int

    @property
    def coord_face(self) -> np.ndarray:
        return self.ring_face[self.coord_ring]

    @property
    def is_last(self) -> np.ndarray:
        """True for the closing coordinate of each ring (no edge starts there)."""
        cr = self.coord_ring
        out = np.ones(len(cr), dtype=bool)
        if len(cr) > 1:
            out[:-1] = cr[1:] != cr[:-1]
        return out


def _rings(polys: np.ndarray) -> _Rings:
    rings, ring_face = shapely.get_rings(polys, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, include_z=True, return_index=True)
    is_ext = np.ones(len(ring_face), dtype=bool)
    if len(ring_face) > 1:
        is_ext[1:] = ring_face[1:] != ring_face[:-1]
    return _Rings(coords, coord_ring, ring_face, is_ext, len(polys))


def _segment_sums(r: _Rings, centered: np.ndarray):
    """Per ring: Newell vector (R,3) and number of edges of non-zero length."""
    start = ~r.is_last
    i = np.nonzero(start)[0]
    j = i + 1
    a, b = centered[i], centered[j]
    ring = r.coord_ring[i]
    n_rings = len(r.ring_face)
    nx = (a[:, 1] - b[:, 1]) * (a[:, 2] + b[:, 2])
    ny = (a[:, 2] - b[:, 2]) * (a[:, 0] + b[:, 0])
    nz = (a[:, 0] - b[:, 0]) * (a[:, 1] + b[:, 1])
    newell = np.stack(
        [
            np.bincount(ring, nx, minlength=n_rings),
            np.bincount(ring, ny, minlength=n_rings),
            np.bincount(ring, nz, minlength=n_rings),
        ],
        axis=1,
    )
    seg_len = np.linalg.norm(b - a, axis=1)
    n_edges = np.bincount(ring, seg_len > 1e-9, minlength=n_rings)
    return newell, n_edges


def _face_origin(r: _Rings) -> np.ndarray:
    """Mean of each face's exterior vertices (closing vertex excluded); NaN where none."""
    sel = r.ring_is_ext[r.coord_ring] & ~r.is_last
    face = r.coord_face[sel]
    cnt = np.bincount(face, minlength=r.n_faces).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        origin = np.stack(
            [np.bincount(face, r.coords[sel, k], minlength=r.n_faces) / cnt for k in range(3)],
            axis=1,
        )
    return origin


def _plane_basis(normal: np.ndarray):
    """Orthonormal in-plane axes (u along the contour, v upslope) for unit normals (F,3)."""
    u = np.zeros_like(normal)
    u[:, 0] = -normal[:, 1]
    u[:, 1] = normal[:, 0]
    h = np.hypot(u[:, 0], u[:, 1])
    flat = ~(h > 1e-9)
    u[flat] = (1.0, 0.0, 0.0)
    # Gram-Schmidt so u is exactly perpendicular even for nearly horizontal normals
    u -= np.sum(u * normal, axis=1, keepdims=True) * normal
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(normal, u)
    return u, v


def _polygons_2d(r: _Rings, origin, u, v, ring_ok, face_ok):
    """Project rings onto their face planes and build shapely polygons (None where not face_ok)."""
    out = np.full(r.n_faces, None, dtype=object)
    keep_ring = ring_ok & face_ok[r.ring_face]
    # a hole can only be kept if its face's exterior is kept (exterior is the first ring)
    if not keep_ring.any():
        return out
    keep_coord = keep_ring[r.coord_ring]
    cf = r.coord_face[keep_coord]
    rel = r.coords[keep_coord] - origin[cf]
    ab = np.stack([np.sum(rel * u[cf], axis=1), np.sum(rel * v[cf], axis=1)], axis=1)
    ring_ids = r.coord_ring[keep_coord]
    # compact ring ids to 0..n-1 in order
    uniq, ring_compact = np.unique(ring_ids, return_inverse=True)
    rings2d = shapely.linearrings(ab, indices=ring_compact)
    faces_of_rings = r.ring_face[uniq]
    shapely.polygons(rings2d, indices=faces_of_rings, out=out)
    return out


def _analyse(polys: np.ndarray, normal_override: np.ndarray | None = None) -> dict:
    """Plane, area and 2D polygon of each polygon in ``polys`` (array of shapely Polygons/None).

    Returns a dict of arrays: normal (F,3), area_m2, origin (F,3), u, v, poly2d, reason (object,
    "" when the face has a valid plane), centroid (F,3).
    """
    n = len(polys)
    reason = np.full(n, "", dtype=object)
    missing = shapely.is_missing(polys) | shapely.is_empty(polys)
    gtype = shapely.get_type_id(polys)
    not_poly = ~missing & (gtype != 3)
    reason[missing] = REASON_MISSING
    reason[not_poly] = REASON_NOT_POLYGON
    ok = ~missing & ~not_poly
    no_z = ok & ~shapely.has_z(polys)
    reason[no_z] = REASON_NO_Z
    ok &= ~no_z
    work = np.where(ok, polys, None)
    r = _rings(work)

    nan_coord = ~np.isfinite(r.coords).all(axis=1)
    nan_face = np.bincount(r.coord_face[nan_coord], minlength=n) > 0
    reason[nan_face & ok] = REASON_NAN
    ok &= ~nan_face
    coords = np.where(nan_coord[:, None], 0.0, r.coords)
    r.coords = coords

    origin = _face_origin(r)
    centered = coords - np.nan_to_num(origin)[r.coord_face]
    newell, n_edges = _segment_sums(r, centered)
    ring_area = 0.5 * np.linalg.norm(newell, axis=1)
    ring_ok = (n_edges >= 3) & (ring_area > DEGENERATE_AREA_M2)

    ext_idx = np.nonzero(r.ring_is_ext)[0]
    ext_face = r.ring_face[ext_idx]
    ext_newell = np.full((n, 3), np.nan)
    ext_newell[ext_face] = newell[ext_idx]
    ext_ok = np.zeros(n, dtype=bool)
    ext_ok[ext_face] = ring_ok[ext_idx]
    degenerate = ok & ~ext_ok
    reason[degenerate] = REASON_DEGENERATE
    ok &= ext_ok

    if normal_override is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            normal = ext_newell / np.linalg.norm(ext_newell, axis=1, keepdims=True)
        flip = normal[:, 2] < 0
        normal[flip] *= -1.0
    else:
        normal = np.asarray(normal_override, dtype=float).copy()
    normal[~ok] = np.nan

    # area = |exterior| - sum |holes projected on the normal|
    hole = ~r.ring_is_ext & ring_ok
    hole_area = np.zeros(n)
    if hole.any():
        hf = r.ring_face[hole]
        proj = np.abs(np.sum(newell[hole] * np.nan_to_num(normal[hf]), axis=1)) * 0.5
        hole_area = np.bincount(hf, proj, minlength=n)
    ext_area = np.zeros(n)
    ext_area[ext_face] = ring_area[ext_idx]
    if normal_override is not None:
        ext_area[ext_face] = 0.5 * np.abs(
            np.sum(newell[ext_idx] * np.nan_to_num(normal[ext_face]), axis=1)
        )
    area = np.where(ok, np.clip(ext_area - hole_area, 0.0, None), 0.0)

    safe_normal = np.where(ok[:, None], normal, (0.0, 0.0, 1.0))
    u, v = _plane_basis(safe_normal)
    poly2d = _polygons_2d(r, np.nan_to_num(origin), u, v, ring_ok, ok)

    valid = np.zeros(n, dtype=bool)
    if ok.any():
        valid[ok] = shapely.is_valid(poly2d[ok])
    bad = ok & ~valid
    if bad.any():
        why = shapely.is_valid_reason(poly2d[bad])
        reason[bad] = [
            REASON_SELF_INTERSECTING if "Self-intersection" in w else f"invalid polygon: {w}"
            for w in why
        ]

    centroid = np.full((n, 3), np.nan)
    centroid[ok] = origin[ok]
    if valid.any():
        c2 = shapely.get_coordinates(shapely.centroid(poly2d[valid]))
        centroid[valid] = origin[valid] + c2[:, :1] * u[valid] + c2[:, 1:2] * v[valid]
    return {
        "normal": normal,
        "area_m2": area,
        "origin": origin,
        "u": u,
        "v": v,
        "poly2d": poly2d,
        "plane_ok": ok,
        "valid": valid,
        "reason": reason,
        "centroid": centroid,
    }


# ----------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------
def _building_key(df: pd.DataFrame) -> pd.Series:
    gml = df["gml_id"] if "gml_id" in df else pd.Series(pd.NA, index=df.index, dtype=object)
    if "building_id" in df:
        bid = df["building_id"].astype(object)
        missing = bid.isna() | (bid.astype(str).str.strip() == "")
        return bid.where(~missing, gml).astype(object)
    return gml.astype(object)


def roof_faces(
    roof_surfaces: gpd.GeoDataFrame,
    *,
    min_area_m2: float = MIN_AREA_M2,
    max_tilt_deg: float = MAX_TILT_DEG,
    flat_tilt_deg: float = FLAT_TILT_DEG,
    flat_mount_tilt_deg: float = FLAT_MOUNT_TILT_DEG,
    flat_mount_azimuth_deg: float = FLAT_MOUNT_AZIMUTH_DEG,
) -> gpd.GeoDataFrame:
    """One row per roof face with its plane, orientation, true area and PV usability.

    Parameters
    ----------
    roof_surfaces : GeoDataFrame
        Output of :func:`numazu_geo.read_roof_surfaces` (columns ``gml_id``, ``building_id``,
        ``surface_id``, ``roof_source``; geometry 3D ``Polygon Z`` in a projected CRS in metres).
        ``MultiPolygon Z`` rows are split into one face per part. Other columns are ignored.
    min_area_m2, max_tilt_deg
        Faces smaller than ``min_area_m2`` (true 3D area) or steeper than ``max_tilt_deg`` are
        not usable. Defaults are those of MLIT's PLATEAU SolarPotential (10 m2, 60 deg).
    flat_tilt_deg, flat_mount_tilt_deg, flat_mount_azimuth_deg
        Faces flatter than ``flat_tilt_deg`` (3 deg) are flat roofs; their panels are assumed
        mounted at ``flat_mount_tilt_deg`` (15 deg) facing ``flat_mount_azimuth_deg`` (180 =
        south), as PLATEAU SolarPotential does.

    Returns
    -------
    GeoDataFrame
        Same CRS as the input. Columns: ``face_id`` (str, unique: the ``surface_id`` where
        present, else ``"<building_key>:<n>"``), ``building_key`` (``building_id`` where present,
        else ``gml_id``), ``gml_id``, ``building_id``, ``roof_source``, ``tilt_deg``,
        ``azimuth_deg`` (0 = north, clockwise, of the downslope direction), ``normal_x/y/z``
        (unit, ``normal_z >= 0``), ``area_m2`` (true 3D area, holes removed), ``centroid_z_m``,
        ``flat``, ``panel_tilt_deg``, ``panel_azimuth_deg``, ``usable`` and ``reason``
        ("" when usable; otherwise e.g. ``"area < 10 m2"``, ``"tilt > 60 deg"``, ``"vertical"``,
        ``"degenerate polygon"``, ``"self-intersecting"``, ``"nan coordinates"``,
        ``"no z coordinates"``, ``"missing geometry"``; several size/tilt reasons are joined with
        ``"; "``) and ``geometry`` (the input 3D polygon).

        Faces without a plane (missing, NaN, degenerate) have NaN orientation and ``area_m2`` 0.
        Self-intersecting faces keep their fitted plane and area but are not usable. Bad faces
        never raise.
    """
    if not isinstance(roof_surfaces, gpd.GeoDataFrame):
        raise TypeError(
            "roof_faces expects a GeoDataFrame from read_roof_surfaces, "
            f"got {type(roof_surfaces).__name__}"
        )
    crs = roof_surfaces.crs
    if crs is not None and not crs.is_projected:
        raise ValueError(
            f"roof_faces needs roof polygons in a projected CRS in metres, got {crs.to_string()}; "
            "use read_roof_surfaces(crs='auto') or .to_crs() to a JGD2011 plane rectangular zone"
        )
    if crs is None:
        log.warning("roof_faces: input has no CRS; assuming coordinates in metres")

    df = pd.DataFrame(roof_surfaces.drop(columns=roof_surfaces.geometry.name))
    geoms = np.asarray(roof_surfaces.geometry.values, dtype=object)
    n_rows = len(df)

    # split multi-part rows; rows without parts stay as one face with no geometry
    parts, part_row = shapely.get_parts(geoms, return_index=True)
    has_parts = np.bincount(part_row, minlength=n_rows) > 0
    lonely = np.nonzero(~has_parts)[0]
    face_row = np.concatenate([part_row, lonely])
    face_geom = np.concatenate([parts, geoms[lonely]]).astype(object)
    order = np.argsort(face_row, kind="stable")
    face_row, face_geom = face_row[order], face_geom[order]
    n_parts_row = np.bincount(face_row, minlength=n_rows)
    part_no = np.arange(len(face_row)) - np.searchsorted(face_row, face_row)

    rows = df.iloc[face_row].reset_index(drop=True)
    key = _building_key(rows)
    out = pd.DataFrame(
        {
            "building_key": key,
            "gml_id": rows["gml_id"] if "gml_id" in rows else pd.NA,
            "building_id": rows["building_id"] if "building_id" in rows else pd.NA,
            "roof_source": rows["roof_source"] if "roof_source" in rows else pd.NA,
        }
    )
    # face ids: surface_id where present (suffixed per part), else "<building_key>:<n>"
    def _clean(val):
        if val is None or val is pd.NA or (isinstance(val, float) and np.isnan(val)):
            return None
        text = str(val).strip()
        return text or None

    sid = [_clean(x) for x in rows["surface_id"]] if "surface_id" in rows else [None] * len(rows)
    keys = [str(k) for k in out["building_key"]]
    nth = pd.Series(keys).groupby(keys, sort=False).cumcount().to_numpy()
    multi = n_parts_row[face_row] > 1
    face_id = [
        (f"{k}:{i}" if s_ is None else (f"{s_}#{p}" if m else s_))
        for k, i, s_, p, m in zip(keys, nth, sid, part_no, multi)
    ]
    dup_n = pd.Series(face_id).groupby(face_id, sort=False).cumcount().to_numpy()
    face_id = np.array(
        [f if d == 0 else f"{f}~{d}" for f, d in zip(face_id, dup_n)], dtype=object
    )
    out.insert(0, "face_id", face_id)

    geo = _analyse(face_geom)
    normal = geo["normal"]
    plane_ok = geo["plane_ok"]
    tilt = np.degrees(np.arccos(np.clip(normal[:, 2], -1.0, 1.0)))
    horiz = np.hypot(normal[:, 0], normal[:, 1])
    azimuth = np.degrees(np.arctan2(normal[:, 0], normal[:, 1])) % 360.0
    azimuth = np.where(plane_ok & (horiz < 1e-12), 180.0, azimuth)
    area = geo["area_m2"]
    flat = plane_ok & (tilt < flat_tilt_deg)

    reason = geo["reason"].astype(object)
    hard = reason != ""
    vertical = ~hard & (tilt >= VERTICAL_TILT_DEG)
    reason[vertical] = REASON_VERTICAL
    soft_small = ~hard & ~vertical & (area < min_area_m2)
    soft_steep = ~hard & ~vertical & (tilt > max_tilt_deg)
    small_txt = f"area < {min_area_m2:g} m2"
    steep_txt = f"tilt > {max_tilt_deg:g} deg"
    reason[soft_small & ~soft_steep] = small_txt
    reason[soft_steep & ~soft_small] = steep_txt
    reason[soft_small & soft_steep] = f"{small_txt}; {steep_txt}"
    usable = reason == ""

    out["tilt_deg"] = tilt
    out["azimuth_deg"] = azimuth
    out["normal_x"] = normal[:, 0]
    out["normal_y"] = normal[:, 1]
    out["normal_z"] = normal[:, 2]
    out["area_m2"] = area
    out["centroid_z_m"] = geo["centroid"][:, 2]
    out["flat"] = flat
    out["panel_tilt_deg"] = np.where(flat, float(flat_mount_tilt_deg), tilt)
    out["panel_azimuth_deg"] = np.where(flat, float(flat_mount_azimuth_deg), azimuth)
    out["usable"] = usable.astype(bool)
    out["reason"] = pd.array(reason.astype(str), dtype=object)
    n_bad = int((~usable).sum())
    if n_bad:
        counts = pd.Series(reason[~usable]).value_counts().head(6).to_dict()
        log.info("roof_faces: %d of %d faces not usable: %s", n_bad, len(out), counts)
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(face_geom, crs=crs), crs=crs)[FACE_COLUMNS]


@dataclass
class RoofSamples:
    """Sample points on roof faces (output of :func:`sample_points`).

    Attributes
    ----------
    xyz : (N, 3) float64
        Points on the fitted face planes, in the faces' CRS (metres; z above Tokyo Bay MSL).
    normal : (N, 3) float64
        Unit normal of the face each point lies on (z up).
    face_index : (N,) int64
        Positional index (``faces.iloc``) of each point's face.
    area_m2 : (N,) float64
        Roof area each point stands for; sums to ``faces.area_m2`` per sampled face.
    panel_normal : (N, 3) float64
        Unit normal of the assumed panel (= ``normal`` except on flat roofs, where it follows
        ``panel_tilt_deg`` / ``panel_azimuth_deg``).
    spacing_m : float
        Grid spacing used.
    """

    xyz: np.ndarray
    normal: np.ndarray
    face_index: np.ndarray
    area_m2: np.ndarray
    panel_normal: np.ndarray
    spacing_m: float

    def __len__(self) -> int:
        return len(self.face_index)


def panel_normals(tilt_deg, azimuth_deg) -> np.ndarray:
    """Unit normals (N,3) (x east, y north, z up) of planes with the given tilt and azimuth."""
    t = np.radians(np.asarray(tilt_deg, dtype=float))
    a = np.radians(np.asarray(azimuth_deg, dtype=float))
    return np.stack([np.sin(t) * np.sin(a), np.sin(t) * np.cos(a), np.cos(t)], axis=-1)


def sample_points(
    faces: gpd.GeoDataFrame, spacing_m: float = 1.0, *, include_unusable: bool = False
) -> RoofSamples:
    """Points on a regular grid of ``spacing_m`` laid in each face's plane.

    The grid is aligned with the face's contour lines (u axis horizontal, v axis upslope) and
    centred on the face's 2D bounding box; a grid point is kept when it is strictly inside the face
    (holes excluded; shapely ``contains_xy``). A face with no grid point inside (smaller than a
    cell, or thin) gets one point at its centroid (or a point on its surface where the centroid
    falls outside). Each point stands for ``area_m2 / n_points`` of its face, so the point areas sum
    to the face's true area.

    Parameters
    ----------
    faces : GeoDataFrame
        Output of :func:`roof_faces` (any row subset or order; ``face_index`` is positional).
    spacing_m : float
        Grid spacing in metres along the roof plane (1 m default; 2 m is ample for districts).
    include_unusable : bool
        By default only ``usable`` faces are sampled. With True, every face that has a valid plane
        (not degenerate, NaN or self-intersecting) is sampled, e.g. to map steep faces too.

    Returns
    -------
    RoofSamples
    """
    spacing_m = float(spacing_m)
    if not spacing_m > 0:
        raise ValueError(f"spacing_m must be > 0, got {spacing_m}")
    normal_all = faces[["normal_x", "normal_y", "normal_z"]].to_numpy(dtype=float)
    if include_unusable:
        sel = np.isfinite(normal_all).all(axis=1) & (faces["area_m2"].to_numpy(float) > 0)
    else:
        sel = faces["usable"].to_numpy(dtype=bool)
    idx = np.nonzero(sel)[0]
    empty = RoofSamples(
        np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, np.int64), np.zeros(0),
        np.zeros((0, 3)), spacing_m,
    )  # fmt: skip
    if len(idx) == 0:
        return empty
    geoms = np.asarray(faces.geometry.values, dtype=object)[idx]
    geo = _analyse(geoms, normal_override=normal_all[idx])
    valid = geo["valid"]
    idx, keep = idx[valid], np.nonzero(valid)[0]
    if len(idx) == 0:
        return empty
    poly2d = geo["poly2d"][keep]
    origin, u, v = geo["origin"][keep], geo["u"][keep], geo["v"][keep]
    face_area = faces["area_m2"].to_numpy(dtype=float)[idx]
    shapely.prepare(poly2d)

    b = shapely.bounds(poly2d)
    nx = np.maximum(1, np.ceil((b[:, 2] - b[:, 0]) / spacing_m - 1e-9).astype(np.int64))
    ny = np.maximum(1, np.ceil((b[:, 3] - b[:, 1]) / spacing_m - 1e-9).astype(np.int64))
    x0 = 0.5 * (b[:, 0] + b[:, 2]) - 0.5 * (nx - 1) * spacing_m
    y0 = 0.5 * (b[:, 1] + b[:, 3]) - 0.5 * (ny - 1) * spacing_m
    cells = nx * ny

    pts_face, pts_a, pts_b = [], [], []
    # chunks of faces so the candidate arrays stay bounded
    cum = np.cumsum(cells)
    start = 0
    while start < len(idx):
        limit = (cum[start - 1] if start else 0) + _SAMPLE_CHUNK_CELLS
        stop = max(start + 1, int(np.searchsorted(cum, limit, side="right")))
        f = np.arange(start, stop)
        cf = np.repeat(f, cells[f])
        first = np.repeat(cum[f] - cells[f], cells[f])
        k = np.arange(len(cf)) - first
        ix, iy = k % nx[cf], k // nx[cf]
        xa = x0[cf] + ix * spacing_m
        ya = y0[cf] + iy * spacing_m
        inside = shapely.contains_xy(poly2d[cf], xa, ya)
        pts_face.append(cf[inside])
        pts_a.append(xa[inside])
        pts_b.append(ya[inside])
        start = stop
    pf = np.concatenate(pts_face)
    pa = np.concatenate(pts_a)
    pb = np.concatenate(pts_b)

    count = np.bincount(pf, minlength=len(idx))
    lonely = np.nonzero(count == 0)[0]
    if len(lonely):
        cen = shapely.centroid(poly2d[lonely])
        cxy = shapely.get_coordinates(cen)
        inside = shapely.contains_xy(poly2d[lonely], cxy[:, 0], cxy[:, 1])
        if not inside.all():
            rep = shapely.get_coordinates(shapely.point_on_surface(poly2d[lonely[~inside]]))
            cxy[~inside] = rep
        pf = np.concatenate([pf, lonely])
        pa = np.concatenate([pa, cxy[:, 0]])
        pb = np.concatenate([pb, cxy[:, 1]])
        order = np.argsort(pf, kind="stable")
        pf, pa, pb = pf[order], pa[order], pb[order]
        count = np.bincount(pf, minlength=len(idx))

    xyz = origin[pf] + pa[:, None] * u[pf] + pb[:, None] * v[pf]
    normal = normal_all[idx][pf]
    tilt = faces["panel_tilt_deg"].to_numpy(dtype=float)[idx]
    azim = faces["panel_azimuth_deg"].to_numpy(dtype=float)[idx]
    pnorm = panel_normals(tilt, azim)[pf]
    area = (face_area / np.maximum(count, 1))[pf]
    return RoofSamples(
        xyz=xyz,
        normal=normal,
        face_index=idx[pf].astype(np.int64),
        area_m2=area,
        panel_normal=pnorm,
        spacing_m=spacing_m,
    )
