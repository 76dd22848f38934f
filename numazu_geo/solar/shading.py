"""Embree ray casting for beam and diffuse shading of roof points.

A :class:`ShadingScene` holds one triangle soup (buildings, optional terrain) in an Embree BVH via
``embreex`` (the maintained Python binding of Intel Embree that ``trimesh`` uses). Embree works in
float32, whose resolution at plane-rectangular coordinates (|x| ~ 1e5 m) is ~1 cm, so the scene is
shifted to a local origin (float64 arithmetic before the cast) and every ray starts a little off
the surface: ``offset_m`` along the surface normal and ``offset_m`` along the ray.

All queries are occlusion ("any hit") queries, the cheapest Embree query. Rays are built with
vectorised NumPy in chunks (``chunk_rays``) so memory stays bounded for millions of points.

Visibility rules (documented, used by every method):

* a direction at or below the horizon (``dz <= 0``) is **not visible**: the ground (or the
  albedo term of the transposition model) is there, not the sky or the sun;
* a direction at or behind the plane given by the point's normal (``dot(normal, d) <= 0``) is
  **not visible**: a panel does not receive beam light from behind;
* otherwise it is visible when no triangle of the scene blocks the ray.

Rays that the first two rules decide are not cast (and not counted in ``rays_cast``).
"""

from __future__ import annotations

import logging
import time

import numpy as np
from tqdm.auto import tqdm

from .roofs import _plane_basis
from .sky import direction_vectors, hemisphere_directions

log = logging.getLogger(__name__)

#: PLATEAU SolarPotential (MLIT, UC22-013, 2022) considers shading buildings within 300 m of a
#: roof; we use the same default neighbourhood for tiles.
NEIGHBOUR_RADIUS_M = 300.0
#: Ray origins start this far off the surface along its normal and along the ray (metres). Well
#: above float32 resolution of the local frame (~1 mm at 10 km from the origin) and below any
#: building detail that matters for PV.
RAY_OFFSET_M = 0.05
#: Default number of cosine-weighted hemisphere rays for the sky view factor: standard error of a
#: binary visibility fraction is <= 0.5/sqrt(n) ~ 0.04 for random rays; the deterministic
#: sunflower spiral does markedly better (see tests/test_solar_shading.py).
DEFAULT_SVF_RAYS = 128
#: Rays built and cast per chunk (~1.6 MB of float32 work arrays: stays in cache; measured faster
#: than 262k- and 1M-ray chunks on the 2-core benchmark box).
DEFAULT_CHUNK_RAYS = 65_536
#: Points handled per block by the public queries (bounds the per-face direction tables, e.g.
#: 16,384 faces x 128 sky directions x 3 float64 = 50 MB in the worst case of one point per face).
_POINT_BLOCK = 16_384


def direction_from_sun(altitude_deg, azimuth_deg) -> np.ndarray:
    """Unit vectors (T, 3) toward the sun (x east, y north, z up) from altitude/azimuth in degrees.

    ``azimuth_deg`` is 0 = north, clockwise, as pvlib's ``solar_position['azimuth']``; use the
    apparent (refraction-corrected) elevation for ``altitude_deg`` if you have it.
    """
    d = direction_vectors(altitude_deg, azimuth_deg)
    return d.reshape(-1, 3)


def triangles_within(triangles, xy_bounds, radius_m: float = NEIGHBOUR_RADIUS_M) -> np.ndarray:
    """Boolean mask of triangles (M,3,3) whose xy bounding box lies within ``radius_m`` of the
    rectangle ``xy_bounds = (minx, miny, maxx, maxy)`` (same CRS, metres).

    Use it to build the scene of a tile: the tile's buildings plus every neighbour within 300 m
    (the distance PLATEAU SolarPotential also uses).
    """
    tri = np.asarray(triangles)
    if tri.size == 0:
        return np.zeros(0, dtype=bool)
    minx, miny, maxx, maxy = (float(b) for b in xy_bounds)
    lo = tri[:, :, :2].min(axis=1)
    hi = tri[:, :, :2].max(axis=1)
    dx = np.maximum(0.0, np.maximum(lo[:, 0] - maxx, minx - hi[:, 0]))
    dy = np.maximum(0.0, np.maximum(lo[:, 1] - maxy, miny - hi[:, 1]))
    return np.hypot(dx, dy) <= radius_m


class ShadingScene:
    """Triangles of buildings (and optional terrain) ready for Embree occlusion queries.

    Parameters
    ----------
    triangles : array (M, 3, 3)
        Triangle vertices in a projected CRS in metres (x east, y north, z up), e.g. from
        :func:`numazu_geo.citygml.solids_to_triangles`. Triangles with NaN are dropped.
    origin : (3,) float, optional
        Local origin subtracted before converting to float32. Default: centre of the triangles'
        bounding box. Points passed to the queries are in the same CRS as ``triangles``.
    terrain : array (K, 3, 3), optional
        Terrain triangles (e.g. a DEM mesh) added to the same scene; they occlude like buildings.
    offset_m : float
        Ray origin offset along the surface normal and along the ray (default 0.05 m).
    chunk_rays : int
        Rays built and cast per chunk (memory bound).

    Attributes
    ----------
    rays_cast : int
        Number of rays sent to Embree by this scene so far (including rays of scenes made from
        it with :meth:`subset_around`).
    embree_s : float
        Seconds spent inside Embree calls (the rest of a query's time is ray building).
    n_triangles, n_terrain_triangles : int
    origin : (3,) float64
    """

    def __init__(
        self,
        triangles,
        origin=None,
        *,
        terrain=None,
        offset_m: float = RAY_OFFSET_M,
        chunk_rays: int = DEFAULT_CHUNK_RAYS,
    ):
        tri = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)
        n_bld = len(tri)
        if terrain is not None:
            ter = np.asarray(terrain, dtype=np.float64).reshape(-1, 3, 3)
            tri = np.concatenate([tri, ter])
        else:
            ter = np.zeros((0, 3, 3))
        finite = np.isfinite(tri).all(axis=(1, 2))
        if not finite.all():
            log.warning("ShadingScene: dropped %d triangles with NaN/inf", int((~finite).sum()))
        n_ter = int(finite[n_bld:].sum())
        tri = tri[finite]
        if origin is None:
            if len(tri):
                flat = tri.reshape(-1, 3)
                origin = 0.5 * (flat.min(axis=0) + flat.max(axis=0))
            else:
                origin = np.zeros(3)
        self._keep = finite[:n_bld]  # which input building triangles are in the scene
        origin = np.asarray(origin, dtype=np.float64).reshape(3)
        local = np.ascontiguousarray(tri - origin, dtype=np.float32)
        self._init_local(
            local, origin, n_terrain=n_ter, offset_m=offset_m, chunk_rays=chunk_rays
        )

    def _init_local(self, local, origin, *, n_terrain, offset_m, chunk_rays):
        from embreex import rtcore_scene
        from embreex.mesh_construction import TriangleMesh

        self.origin = np.asarray(origin, dtype=np.float64).reshape(3)
        self._local = np.ascontiguousarray(local, dtype=np.float32)
        self.n_triangles = len(self._local)
        self.n_terrain_triangles = int(n_terrain)
        self.offset_m = float(offset_m)
        self.chunk_rays = int(chunk_rays)
        self.rays_cast = 0
        self.embree_s = 0.0
        if not hasattr(self, "triangle_row"):
            self.triangle_row = None  # set by from_solids: solids row of each building triangle
        self._xy_lo = self._xy_hi = None
        self._counters = [self]  # scenes whose rays_cast / embree_s this scene's casts add to
        self._scene = None
        if self.n_triangles:
            self._scene = rtcore_scene.EmbreeScene()
            TriangleMesh(self._scene, self._local)

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_solids(cls, solids, *, terrain=None, origin=None, **kwargs) -> ShadingScene:
        """Scene of the buildings in ``solids`` (output of :func:`numazu_geo.read_solids`).

        Uses :func:`numazu_geo.citygml.solids_to_triangles`; ``triangle_row`` then holds the
        positional row of ``solids`` each triangle came from.
        """
        try:
            from numazu_geo.citygml import solids_to_triangles
        except ImportError as exc:  # pragma: no cover - depends on the reader being installed
            raise ImportError(
                "ShadingScene.from_solids needs numazu_geo.citygml.solids_to_triangles"
            ) from exc
        tri, row = solids_to_triangles(solids)
        scene = cls(tri, origin=origin, terrain=terrain, **kwargs)
        scene.triangle_row = np.asarray(row)[scene._keep]
        return scene

    @property
    def triangles(self) -> np.ndarray:
        """Scene triangles (M,3,3) float64 in the input CRS (buildings first, then terrain)."""
        return self._local.astype(np.float64) + self.origin

    def subset_around(self, xy_bounds, radius_m: float = NEIGHBOUR_RADIUS_M) -> ShadingScene:
        """A new scene with only the triangles within ``radius_m`` of ``xy_bounds`` (same origin).

        ``xy_bounds = (minx, miny, maxx, maxy)`` in the scene's CRS, e.g. the bounds of a tile's
        roof points. Terrain triangles are filtered the same way. Cheap to call once per tile: the
        triangles' bounding boxes are computed once and the float32 triangles are reused.
        """
        if self._xy_lo is None:
            self._xy_lo = self._local[:, :, :2].min(axis=1)
            self._xy_hi = self._local[:, :, :2].max(axis=1)
        minx, miny, maxx, maxy = (float(b) for b in xy_bounds)
        ox, oy = self.origin[0], self.origin[1]
        lo, hi = self._xy_lo, self._xy_hi
        dx = np.maximum(0.0, np.maximum(lo[:, 0] - (maxx - ox), (minx - ox) - hi[:, 0]))
        dy = np.maximum(0.0, np.maximum(lo[:, 1] - (maxy - oy), (miny - oy) - hi[:, 1]))
        keep = np.hypot(dx, dy) <= radius_m
        n_bld = self.n_triangles - self.n_terrain_triangles
        sub = ShadingScene.__new__(ShadingScene)
        sub._init_local(
            self._local[keep],
            self.origin,
            n_terrain=int(keep[n_bld:].sum()),
            offset_m=self.offset_m,
            chunk_rays=self.chunk_rays,
        )
        if self.triangle_row is not None:
            sub.triangle_row = self.triangle_row[keep[:n_bld]]
        sub._counters = [sub, *self._counters]  # the parent's counters include its subsets' rays
        return sub

    def __repr__(self) -> str:
        return (
            f"ShadingScene({self.n_triangles} triangles, {self.n_terrain_triangles} terrain, "
            f"origin={tuple(np.round(self.origin, 2))}, rays_cast={self.rays_cast})"
        )

    # ------------------------------------------------------------------ ray casting core
    def occluded(self, origins, directions) -> np.ndarray:
        """Raw Embree occlusion: bool (R,) True where a ray from ``origins`` (R,3, input CRS)
        along ``directions`` (R,3, unit) hits any triangle. No offsets, no horizon rule."""
        o = np.asarray(origins, dtype=np.float64) - self.origin
        d = np.asarray(directions, dtype=np.float64)
        return ~self._cast(o.astype(np.float32), d.astype(np.float32))

    def _cast(self, o32: np.ndarray, d32: np.ndarray) -> np.ndarray:
        """Visible (True = no hit) for local float32 origins/directions."""
        n = len(o32)
        if n == 0:
            return np.zeros(0, dtype=bool)
        for c in self._counters:
            c.rays_cast += n
        if self._scene is None:
            return np.ones(n, dtype=bool)
        t0 = time.perf_counter()
        res = self._scene.run(o32, d32, query="OCCLUDED")
        dt = time.perf_counter() - t0
        for c in self._counters:
            c.embree_s += dt
        return res < 0

    def _prepare_points(self, points, normals):
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        nrm = np.asarray(normals, dtype=np.float64).reshape(-1, 3)
        if nrm.shape != p.shape:
            raise ValueError(f"points {p.shape} and normals {nrm.shape} must have the same shape")
        length = np.linalg.norm(nrm, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            nrm = nrm / length
        ok = np.isfinite(p).all(axis=1) & np.isfinite(nrm).all(axis=1)
        base = (p - self.origin) + self.offset_m * np.where(ok[:, None], nrm, 0.0)
        return base.astype(np.float32), np.where(ok[:, None], nrm, np.nan), ok

    def _iter_cast(self, base32, run_of_point, run_dirs, run_mask, progress, desc):
        """Cast the rays ``run_mask`` allows, chunk by chunk.

        Consecutive points with the same normal (the points of one face) form a "run" and share
        their direction set: ``run_dirs`` (R, K, 3), or (1, K, 3) when every run uses the same
        directions, and ``run_mask`` (R, K) says which to cast. The allowed directions of each run
        are stored once, compacted; the rays of a chunk are then built with a handful of
        contiguous NumPy passes (an arange, a repeat of origins, one gather of 12-byte direction
        rows) and cast in chunks of about ``chunk_rays``.

        Yields ``(s, e, c, col, vis)``: points ``s:e``, rays per point ``c``, the direction
        column (0..K-1) of each ray and its visibility, rays ordered point by point.
        """
        n, k = len(base32), run_mask.shape[1]
        if n == 0 or k == 0:
            return
        flat_run = np.flatnonzero(run_mask)  # r * k + j, run-major
        # 32-bit indices halve the memory traffic of the per-ray index arrays
        itype = np.int32 if max(len(flat_run), n * k) < 2**31 - 1 else np.int64
        col_c = (flat_run % k).astype(itype)  # compact: direction column of each allowed (run, j)
        table = run_dirs.reshape(-1, 3)[col_c if run_dirs.shape[0] == 1 else flat_run]
        d_rows = np.ascontiguousarray(table, dtype=np.float32).view(np.dtype((np.void, 12)))
        d_rows = d_rows.ravel()
        o_rows = np.ascontiguousarray(base32).view(np.dtype((np.void, 12))).ravel()
        cnt_run = run_mask.sum(axis=1)
        start_run = (np.cumsum(cnt_run) - cnt_run).astype(itype)
        cnt = cnt_run[run_of_point]
        cum = np.cumsum(cnt)
        bounds = [0]
        while bounds[-1] < n:
            done = cum[bounds[-1] - 1] if bounds[-1] else 0
            nxt = int(np.searchsorted(cum, done + self.chunk_rays, side="right"))
            bounds.append(min(n, max(nxt, bounds[-1] + 1)))
        pairs = list(zip(bounds[:-1], bounds[1:]))
        for s, e in tqdm(pairs, desc=desc, disable=not progress, unit="chunk"):
            c = cnt[s:e]
            total = int(cum[e - 1] - (cum[s - 1] if s else 0))
            if total == 0:
                continue
            point_start = (np.cumsum(c) - c).astype(itype)
            sel = np.arange(total, dtype=itype)
            sel += np.repeat(start_run[run_of_point[s:e]] - point_start, c)
            d = d_rows.take(sel).view(np.float32).reshape(total, 3)
            o = np.repeat(o_rows[s:e], c).view(np.float32).reshape(total, 3)
            o += np.float32(self.offset_m) * d
            vis = self._cast(o, d)
            yield s, e, c, col_c[sel], vis

    def _visible_matrix(self, base32, run_of_point, run_dirs, run_mask, progress, desc):
        """(N, K) visibility; pairs not allowed by ``run_mask`` are False."""
        n, k = len(base32), run_mask.shape[1]
        out = np.zeros((n, k), dtype=bool)
        flat_out = out.reshape(-1)
        itype = np.int32 if n * k < 2**31 - 1 else np.int64
        for s, e, c, col, vis in self._iter_cast(
            base32, run_of_point, run_dirs, run_mask, progress, desc
        ):
            idx = np.repeat(np.arange(s, e, dtype=itype) * itype(k), c)
            idx += col
            flat_out[idx] = vis
        return out

    @staticmethod
    def _runs(nrm):
        """Run index of each point: consecutive points with identical normals share a run."""
        n = len(nrm)
        start = np.ones(n, dtype=bool)
        if n > 1:
            start[1:] = (nrm[1:] != nrm[:-1]).any(axis=1)  # NaN != NaN: NaN points stand alone
        run_of_point = np.cumsum(start) - 1
        return run_of_point, nrm[start]

    def _visible_shared(self, base32, nrm, dirs, progress, desc):
        """(N,T) visibility for directions shared by all points."""
        n = len(base32)
        out = np.zeros((n, len(dirs)), dtype=bool)
        blocks = range(0, n, _POINT_BLOCK)
        for s in tqdm(blocks, desc=desc, disable=not (progress and n > _POINT_BLOCK), unit="block"):
            e = min(n, s + _POINT_BLOCK)
            run_of_point, run_nrm = self._runs(nrm[s:e])
            with np.errstate(invalid="ignore"):
                run_mask = (run_nrm @ dirs.T > 0) & (dirs[:, 2] > 0)
            out[s:e] = self._visible_matrix(
                base32[s:e], run_of_point, dirs[None], run_mask, progress and n <= _POINT_BLOCK,
                desc,
            )  # fmt: skip
        return out

    # ------------------------------------------------------------------ public queries
    def sun_visible(self, points, normals, directions, *, progress: bool = False) -> np.ndarray:
        """Whether each point sees each sun direction: bool (N, T).

        Parameters
        ----------
        points : (N, 3)
            Points in the scene's CRS (e.g. ``RoofSamples.xyz``).
        normals : (N, 3)
            Unit normals of the surfaces (face or panel normals); rays start ``offset_m`` along
            them. Directions behind this plane count as not visible.
        directions : (T, 3)
            Unit vectors toward the sun (see :func:`direction_from_sun`).

        Returns
        -------
        (N, T) bool
            True = unobstructed. Directions below the horizon or behind the plane are False
            (not cast); points with NaN coordinates or normals are False everywhere.
        """
        dirs = _unit_rows(directions)
        base32, nrm, _ = self._prepare_points(points, normals)
        return self._visible_shared(base32, nrm, dirs, progress, "sun rays")

    def patch_visible(self, points, normals, patch_dirs, *, progress: bool = False) -> np.ndarray:
        """Whether each point sees each sky patch centre: bool (N, P).

        Same rules as :meth:`sun_visible`; meant for Tregenza patch centres
        (:func:`numazu_geo.solar.sky.tregenza_patches` ``dx, dy, dz``) when sun positions are
        binned into patches: beam irradiation per point = sum over patches of the patch's beam
        irradiation times ``patch_visible``.
        """
        dirs = _unit_rows(patch_dirs)
        base32, nrm, _ = self._prepare_points(points, normals)
        return self._visible_shared(base32, nrm, dirs, progress, "patch rays")

    def sky_view_factor(
        self,
        points,
        normals,
        n_rays: int = DEFAULT_SVF_RAYS,
        *,
        progress: bool = False,
    ) -> np.ndarray:
        """Isotropic-sky view factor of each point relative to an unobstructed plane: (N,) in [0,1].

        Definition: with ``n_rays`` cosine-weighted directions around the point's normal
        (:func:`numazu_geo.solar.sky.hemisphere_directions`), the sky view factor is the
        cosine-weighted fraction of directions that are above the horizon and unobstructed,
        divided by the cosine-weighted fraction that are above the horizon. So an unobstructed
        plane of any tilt gets exactly 1.0, and ``SVF * (1 + cos(tilt)) / 2`` is the plane's
        absolute view factor to the sky: multiply the isotropic (or the isotropic part of a
        Perez/Hay-Davies) sky-diffuse irradiance of the unobstructed tilted plane by this value.
        The ground-reflected part is not covered (no horizon-below rays are cast).

        Points with NaN coordinates or normals get NaN.
        """
        local, w = hemisphere_directions(n_rays)
        base32, nrm, ok = self._prepare_points(points, normals)
        n = len(base32)
        out = np.full(n, np.nan)
        if n == 0:
            return out
        # cosine-weighted sampling: every direction carries the same weight, so the view factor
        # is (visible count) / (count above the horizon)
        assert np.allclose(w, w[0])
        seen = np.zeros(n)
        sky = np.zeros(n)
        blocks = range(0, n, _POINT_BLOCK)
        many = progress and n > _POINT_BLOCK
        for b0 in tqdm(blocks, desc="sky", disable=not many, unit="block"):
            b1 = min(n, b0 + _POINT_BLOCK)
            run_of_point, run_nrm = self._runs(nrm[b0:b1])
            run_ok = np.isfinite(run_nrm).all(axis=1)
            safe = np.where(run_ok[:, None], run_nrm, (0.0, 0.0, 1.0))
            u, v = _plane_basis(safe)
            # world directions per run (R, K, 3) = a*u + b*v + c*n
            world = (
                local[None, :, 0:1] * u[:, None, :]
                + local[None, :, 1:2] * v[:, None, :]
                + local[None, :, 2:3] * safe[:, None, :]
            )
            run_mask = (world[:, :, 2] > 0) & run_ok[:, None]
            for s, e, c, _col, vis in self._iter_cast(
                base32[b0:b1], run_of_point, world, run_mask,
                progress and n <= _POINT_BLOCK, "sky rays",
            ):  # fmt: skip
                has = np.nonzero(c)[0]
                starts = (np.cumsum(c) - c)[has]
                seen[b0 + s + has] = np.add.reduceat(vis.view(np.uint8), starts, dtype=np.int64)
            sky[b0:b1] = run_mask.sum(axis=1)[run_of_point]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(sky > 0, seen / np.where(sky > 0, sky, 1), 0.0)
        out[~ok] = np.nan
        return out


def _unit_rows(directions) -> np.ndarray:
    d = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
    return np.where(np.isfinite(d), d, 0.0)
