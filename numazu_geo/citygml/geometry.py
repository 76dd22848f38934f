"""GML geometry to numpy: posLists, polygon bases and tops, planar triangulation.

PLATEAU coordinates are EPSG:6697 triples in **latitude, longitude, height** order (heights in
metres above Tokyo Bay mean sea level). Functions here work on plain ``(n, 3)`` float64 arrays;
which axis is which is stated per function.
"""

from __future__ import annotations

import math

import numpy as np

#: two z values closer than this (m) count as the same level when picking the base of a solid
LEVEL_TOL_M = 0.05


def poslist_to_array(text: str, dim: int = 3) -> np.ndarray:
    """A ``gml:posList`` text as an ``(n, dim)`` float64 array (axis order as in the file)."""
    flat = np.fromstring(text, dtype=np.float64, sep=" ")
    if flat.size % dim:
        raise ValueError(f"posList has {flat.size} numbers, not a multiple of srsDimension={dim}")
    return flat.reshape(-1, dim)


def open_ring(ring: np.ndarray) -> np.ndarray:
    """Drop the closing vertex of a closed ring (and consecutive duplicates)."""
    if len(ring) > 1 and np.array_equal(ring[0], ring[-1]):
        ring = ring[:-1]
    if len(ring) > 1:
        keep = np.ones(len(ring), dtype=bool)
        keep[1:] = np.any(ring[1:] != ring[:-1], axis=1)
        ring = ring[keep]
    return ring


def newell_normal(ring_xyz: np.ndarray) -> np.ndarray:
    """Unnormalised Newell normal of a ring (x, y, z in a Cartesian frame); its length is 2x area."""
    r = np.asarray(ring_xyz, dtype=np.float64)
    nxt = np.concatenate([r[1:], r[:1]])
    return np.array(
        [
            np.sum((r[:, 1] - nxt[:, 1]) * (r[:, 2] + nxt[:, 2])),
            np.sum((r[:, 2] - nxt[:, 2]) * (r[:, 0] + nxt[:, 0])),
            np.sum((r[:, 0] - nxt[:, 0]) * (r[:, 1] + nxt[:, 1])),
        ]
    )


def _cross3(a, b) -> np.ndarray:
    """Cross product of two 3-vectors (numpy.cross costs ~20 us a call on small inputs)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _plane_basis(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = normal / math.sqrt(float(normal @ normal))
    helper = (1.0, 0.0, 0.0) if abs(n[0]) < 0.9 else (0.0, 1.0, 0.0)
    u = _cross3(n, helper)
    u /= math.sqrt(float(u @ u))
    v = _cross3(n, u)
    return u, v


def triangulate_polygon_3d(exterior_xyz, interiors_xyz=()) -> np.ndarray:
    """Triangulate a planar (or nearly planar) 3D polygon with holes.

    The rings are projected onto the polygon's best-fit plane (Newell normal through the
    centroid), triangulated there with mapbox earcut, and the triangles are returned with the
    original 3D vertices, as an ``(m, 3, 3)`` float64 array in the input's Cartesian frame
    (e.g. x east, y north, z up in metres). Rings may be closed or open. A degenerate polygon
    (fewer than 3 distinct vertices or zero area) gives an empty ``(0, 3, 3)`` array.
    """
    import mapbox_earcut

    rings = [open_ring(np.asarray(exterior_xyz, dtype=np.float64).reshape(-1, 3))]
    rings += [open_ring(np.asarray(r, dtype=np.float64).reshape(-1, 3)) for r in interiors_xyz]
    rings = [r for i, r in enumerate(rings) if len(r) >= 3 or i == 0]
    if len(rings[0]) < 3:
        return np.empty((0, 3, 3))
    ext = rings[0]
    origin = ext.mean(axis=0)
    normal = newell_normal(ext - origin)
    if not np.isfinite(normal).all() or float(normal @ normal) < 1e-24:
        return np.empty((0, 3, 3))
    u, v = _plane_basis(normal)
    verts = np.concatenate(rings)
    local = verts - origin
    uv = np.column_stack([local @ u, local @ v])
    ends = np.cumsum([len(r) for r in rings]).astype(np.uint32)
    idx = np.asarray(mapbox_earcut.triangulate_float64(uv, ends), dtype=np.int64)
    if idx.size == 0:
        return np.empty((0, 3, 3))
    return verts[idx.reshape(-1, 3)]


def triangle_areas(tris: np.ndarray) -> np.ndarray:
    """Areas of ``(m, 3, 3)`` triangles."""
    return 0.5 * np.linalg.norm(np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]), axis=1)


def level_polygons(polys: list[list[np.ndarray]], which: str = "bottom", tol: float = LEVEL_TOL_M) -> list[int]:
    """Indices of the horizontal polygons at the lowest (``"bottom"``) or highest (``"top"``) level.

    ``polys``: polygons as lists of rings, each ``(n, 3)`` with z (height) in column 2. Used to
    take a building's footprint from the base of its LOD1 solid and a flat roof from its top.
    """
    if not polys:
        return []
    zmin = np.array([p[0][:, 2].min() for p in polys])
    zmax = np.array([p[0][:, 2].max() for p in polys])
    flat = (zmax - zmin) <= tol
    if not flat.any():
        return []
    if which == "bottom":
        level = zmin[flat].min()
        sel = flat & (np.abs(zmin - level) <= tol)
    else:
        level = zmax[flat].max()
        sel = flat & (np.abs(zmax - level) <= tol)
    return [int(i) for i in np.flatnonzero(sel)]


def triangulate_rings(coords: np.ndarray, ring_offsets: np.ndarray, poly_offsets: np.ndarray):
    """Triangulate many polygons given as ragged arrays (as from ``shapely.to_ragged_array``).

    ``coords`` (n, 3), closed rings; ring ``r`` is ``coords[ring_offsets[r]:ring_offsets[r+1]]``
    and polygon ``p`` owns rings ``poly_offsets[p]:poly_offsets[p+1]`` (exterior first).
    Triangles and quadrilaterals without holes (nearly all faces of PLATEAU LOD1/LOD2 shells)
    are split in bulk with numpy; other polygons go through :func:`triangulate_polygon_3d`.
    Returns ``(triangles (m, 3, 3), polygon_index (m,))`` ordered by polygon; zero-area
    triangles are dropped.
    """
    n_poly = len(poly_offsets) - 1
    first = ring_offsets[poly_offsets[:-1]]
    n_rings = np.diff(poly_offsets)
    ext_len = ring_offsets[poly_offsets[:-1] + 1] - first if n_poly else np.empty(0, dtype=np.int64)
    tri_mask = (n_rings == 1) & (ext_len == 4)
    quad_mask = (n_rings == 1) & (ext_len == 5)
    parts, owners = [], []
    idx = np.flatnonzero(tri_mask)
    if len(idx):
        a = first[idx]
        parts.append(np.stack([coords[a], coords[a + 1], coords[a + 2]], axis=1))
        owners.append(idx)
    idx = np.flatnonzero(quad_mask)
    if len(idx):
        a = first[idx]
        v0, v1, v2, v3 = coords[a], coords[a + 1], coords[a + 2], coords[a + 3]
        # split along v0-v2 when both halves face the same way (always for convex quads)
        same = np.einsum("ij,ij->i", np.cross(v1 - v0, v2 - v0), np.cross(v2 - v0, v3 - v0)) >= 0
        t1 = np.where(same[:, None, None], np.stack([v0, v1, v2], 1), np.stack([v0, v1, v3], 1))
        t2 = np.where(same[:, None, None], np.stack([v0, v2, v3], 1), np.stack([v1, v2, v3], 1))
        parts += [t1, t2]
        owners += [idx, idx]
    for p in np.flatnonzero(~(tri_mask | quad_mask)):
        r0, r1 = poly_offsets[p], poly_offsets[p + 1]
        rings = [coords[ring_offsets[r] : ring_offsets[r + 1]] for r in range(r0, r1)]
        tris = triangulate_polygon_3d(rings[0], rings[1:])
        if len(tris):
            parts.append(tris)
            owners.append(np.full(len(tris), p, dtype=np.int64))
    if not parts:
        return np.empty((0, 3, 3)), np.empty(0, dtype=np.int64)
    tris = np.concatenate(parts)
    owner = np.concatenate(owners).astype(np.int64)
    order = np.argsort(owner, kind="stable")
    tris, owner = tris[order], owner[order]
    keep = triangle_areas(tris) > 1e-12
    return tris[keep], owner[keep]
