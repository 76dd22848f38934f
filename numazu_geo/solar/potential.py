"""Rooftop solar potential of buildings with 3D shading: :func:`solar_potential`.

Pipeline
--------
1. Roof faces (:func:`~numazu_geo.solar.roofs.roof_faces`) and sample points on the usable ones
   (:func:`~numazu_geo.solar.roofs.sample_points`, ``spacing_m`` apart, panel normals: flat roofs
   carry panels at the mounting tilt/azimuth).
2. Hourly weather (:mod:`~numazu_geo.solar.climate`; the APPROXIMATE Numazu default when none is
   given) and sun positions (pvlib SPA, mid-interval timestamps).
3. Per face and hour, plane-of-array irradiance by component with Perez (default), Hay-Davies or
   isotropic transposition (:func:`~numazu_geo.solar.irradiance.poa_components`).
4. Shading by one Embree scene of all building solids (LOD2 surfaces, else LOD1):

   * **beam + circumsolar** are shaded with the sun. With ``sun_binning="tregenza"`` (default) the
     daylight hours are binned into Tregenza's 145 sky patches; each point casts one ray per patch
     the sun visits (toward the DNI-weighted mean sun direction in that patch), and a face's hourly
     beam irradiation is summed per (month, patch). With ``sun_binning=None`` every daylight hour
     gets its own ray (exact, ~50x more rays); the difference is the binning error.
   * **isotropic + Perez horizon band** diffuse are scaled by the point's sky view factor
     (cosine-weighted hemisphere rays, 1 for an unobstructed plane).
   * **ground-reflected** light is not shaded.

   Unobstructed planes therefore get exactly pvlib's ``get_total_irradiance`` (tested to 1e-9).
5. Per face and per building: annual and monthly kWh/m2, ``shading_loss`` (1 - shaded/unshaded
   annual irradiation), sky view factor, PV capacity (0.167 kW/m2 over 80 % of the usable area),
   yield ``kwh_year = kw * H * 0.88`` (JIS C 8907 form). Solar produces energy only: the CO2 it
   avoids is :func:`numazu_geo.co2.add_avoided_co2` (and :func:`numazu_geo.co2.summarise_district`).

Everything is deterministic: the same inputs give the same numbers run to run.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from numazu_geo.errors import NumazuGeoError
from numazu_geo.solar import irradiance as irr
from numazu_geo.solar import pv
from numazu_geo.solar.climate import Climate, climate_for_site, default_climate, load_climate
from numazu_geo.solar.shading import DEFAULT_SVF_RAYS, NEIGHBOUR_RADIUS_M
from numazu_geo.solar.sun import DEFAULT_YEAR, Site, default_site, sun_vectors

log = logging.getLogger(__name__)

#: Default sample spacing on roofs, metres (issue 3: about 1 m; 2 m is ample for districts).
SPACING_M = 1.0
# Hemisphere rays per point for the sky view factor, and the neighbour radius (m) of a tile's
# scene (PLATEAU SolarPotential's 300 m): defined once, in shading.py.
SVF_RAYS = DEFAULT_SVF_RAYS
#: Tile edge (m) for spatial chunking: faces are processed tile by tile.
TILE_SIZE_M = 500.0
#: Scenes with more triangles than this are cut to the neighbourhood of each tile.
SUBSET_MIN_TRIANGLES = 500_000
#: Faces per processing chunk (bounds the per-chunk (faces x hours) arrays to ~100 MB).
CHUNK_FACES = 256
#: Points per chunk when combining visibility with beam bins (bounds (points x bins) arrays).
CHUNK_POINTS = 4096
#: A face is viable when its annual shaded plane-of-array irradiation reaches this fraction of the
#: climate's annual horizontal irradiation (``data/solar_defaults.csv``: numazu-geo choice; PLATEAU
#: SolarPotential offers such a kWh/m2 cut-off but ships no default).
MIN_IRRADIATION_FRAC = pv._default("min_irradiation_frac")

#: Optional rounding step (deg) of panel tilt/azimuth so that faces share cached irradiation
#: bases. Default None: exact angles (faces with exactly equal orientation, e.g. all flat roofs
#: under the mounting assumption, still share one basis). Measured on 500 random orientations
#: (tilt 0-60 deg, default climate): worst annual POA error 0.22 % at 0.25 deg, 0.51 % at 0.5 deg,
#: 0.91 % at 1 deg.
ORIENTATION_STEP_DEG = None

SUN_BINNINGS = ("tregenza", None)
MONTH_COLUMNS = [f"kwh_m2_month_{m:02d}" for m in range(1, 13)]


@dataclass
class SolarResult:
    """Result of :func:`solar_potential`.

    Attributes
    ----------
    buildings : GeoDataFrame, one row per building (``building_key``), footprint geometry.
    faces : GeoDataFrame, one row per roof face (``face_id``), 3D polygon geometry.
    points : GeoDataFrame of sample points (3D Point) or None (``keep_points=False``).
    climate : the :class:`~numazu_geo.solar.climate.Climate` used.
    parameters : the settings used (spacing, models, factors, ...).
    hourly : DataFrame of hourly AC kWh (timestamps x ``building_key``) for the buildings asked
        for with ``solar_potential(..., hourly=...)``, else None (:mod:`numazu_geo.solar.hourly`).
    """

    buildings: gpd.GeoDataFrame
    faces: gpd.GeoDataFrame
    points: gpd.GeoDataFrame | None
    climate: Climate
    parameters: dict = field(default_factory=dict)
    hourly: pd.DataFrame | None = None

    @property
    def provenance(self) -> dict:
        """Where the numbers came from (see :mod:`numazu_geo.provenance`)."""
        from numazu_geo.provenance import with_emission_factor

        prov = dict(self.buildings.attrs.get("provenance") or self.parameters.get("provenance") or {})
        return with_emission_factor(prov, self.buildings.attrs)

    @property
    def attrs(self) -> dict:
        """``{"provenance": ..., "solar_parameters": ...}``, as stored on the GeoDataFrames."""
        return {"provenance": self.provenance, "solar_parameters": dict(self.parameters)}

    def caption(self, lang: str = "ja") -> str:
        """The caption maps and figures print (:func:`numazu_geo.maps.caption`): the buildings' data
        credit (city and year), then climate, PV model, emission factor, run date and weather credit."""
        from numazu_geo.maps.credits import caption

        return caption(self, lang)

    def summary(self) -> dict:
        """District energy totals (:func:`numazu_geo.solar.summary.energy_totals`), the climate and
        the provenance (:mod:`numazu_geo.provenance`).

        The CO2 this avoids: :func:`numazu_geo.co2.summarise_district`."""
        from numazu_geo.solar.summary import energy_totals

        out = energy_totals(self.buildings)
        out["climate_source"] = self.climate.source
        out["climate_approximate"] = bool(self.climate.approximate)
        out["provenance"] = self.provenance
        return out

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"SolarResult({len(self.buildings)} buildings, {len(self.faces)} faces, "
            f"{s['total_kw']:.0f} kW, {s['total_mwh_year']:.0f} MWh/yr, climate={self.climate.source!r})"
        )


# ----------------------------------------------------------------------------------------------
# sun bins


@dataclass
class SunBins:
    """How daylight timestamps map to shading directions and output months."""

    hour_rows: np.ndarray  # rows of the climate table that carry beam (sun above horizon)
    hour_bin: np.ndarray  # bin of each of those rows
    bin_dir: np.ndarray  # direction index of each bin
    bin_month: np.ndarray  # month (1..12) of each bin
    directions: np.ndarray  # (D, 3) unit vectors toward the sun


def sun_bins(inputs: pd.DataFrame, sun_binning: str | None = "tregenza") -> SunBins:
    """Group daylight timestamps of ``inputs`` (:func:`irradiance.climate_inputs`) into bins.

    ``"tregenza"``: a bin per (month, Tregenza patch); one direction per patch (the DNI-weighted
    mean sun vector of the timestamps in it). ``None``: one bin and direction per timestamp.
    """
    from numazu_geo.solar.sky import patch_index

    if sun_binning not in SUN_BINNINGS:
        raise ValueError(f"sun_binning must be one of {SUN_BINNINGS}, not {sun_binning!r}")
    elev = inputs["elevation"].to_numpy()
    azim = inputs["azimuth"].to_numpy()
    rows = np.nonzero((elev > 0) & (inputs["weight_h"].to_numpy() > 0))[0]
    months = inputs.index.month.to_numpy()[rows]
    vec = sun_vectors(elev[rows], azim[rows]).reshape(-1, 3)
    if sun_binning is None:
        n = len(rows)
        return SunBins(rows, np.arange(n), np.arange(n), months, vec)
    patch = patch_index(elev[rows], azim[rows])
    used, dir_of_row = np.unique(patch, return_inverse=True)
    weight = inputs["dni"].to_numpy()[rows] * inputs["weight_h"].to_numpy()[rows] + 1e-9
    dirs = np.zeros((len(used), 3))
    np.add.at(dirs, dir_of_row, vec * weight[:, None])
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    key = months.astype(np.int64) * 1000 + dir_of_row
    ukey, hour_bin = np.unique(key, return_inverse=True)
    return SunBins(rows, hour_bin, (ukey % 1000).astype(np.int64), (ukey // 1000).astype(np.int64), dirs)


# ----------------------------------------------------------------------------------------------
# per-face irradiation basis


def _month_matrix(months: np.ndarray) -> np.ndarray:
    m = np.zeros((len(months), 12))
    m[np.arange(len(months)), np.asarray(months) - 1] = 1.0
    return m


def face_basis(tilt_deg, azimuth_deg, inputs: pd.DataFrame, bins: SunBins, *, albedo, model):
    """Irradiation of unobstructed planes split for shading, in kWh/m2.

    Returns ``beam_bins`` (F, B) beam + circumsolar per sun bin, ``diffuse_month`` (F, 12)
    isotropic + horizon sky diffuse, ``ground_month`` (F, 12), and ``beam_month`` (F, 12).
    """
    w = inputs["weight_h"].to_numpy() / 1000.0  # W/m2 * h -> kWh/m2
    active = np.nonzero(((inputs["ghi"].to_numpy() > 0) | (inputs["dni"].to_numpy() > 0)) & (w > 0))[0]
    sub = inputs.iloc[active]
    comp = irr.poa_components(
        tilt_deg, azimuth_deg, sub["zenith"], sub["azimuth"], sub["dni"], sub["ghi"], sub["dhi"],
        sub["dni_extra"], sub["airmass"], albedo=albedo, model=model,
    )  # fmt: skip
    wa = w[active]
    months = _month_matrix(inputs.index.month.to_numpy()[active])
    diffuse_month = ((comp["isotropic"] + comp["horizon"]) * wa) @ months
    ground_month = (comp["ground"] * wa) @ months
    # beam-like on the sun rows, summed per bin
    pos = np.searchsorted(active, bins.hour_rows)
    found = (pos < len(active)) & (active[np.minimum(pos, len(active) - 1)] == bins.hour_rows)
    beam_like = np.zeros((len(np.atleast_1d(tilt_deg)), len(bins.hour_rows)))
    cols = pos[found]
    beam_like[:, found] = (comp["beam"][:, cols] + comp["circumsolar"][:, cols]) * wa[cols]
    # circumsolar light outside the sun rows (none in practice) stays unshaded with the diffuse
    from scipy import sparse

    n_bins = len(bins.bin_dir)
    n_rows = len(bins.hour_rows)
    onehot = sparse.csr_matrix((np.ones(n_rows), (np.arange(n_rows), bins.hour_bin)), shape=(n_rows, n_bins))
    beam_bins = np.asarray((onehot.T @ beam_like.T).T)
    total_beam = (comp["beam"] + comp["circumsolar"]) * wa
    leftover = total_beam.sum(axis=1) - beam_like.sum(axis=1)
    if np.any(np.abs(leftover) > 1e-9):
        mask = np.ones(len(active), bool)
        mask[cols] = False
        diffuse_month = diffuse_month + (total_beam * mask) @ months
    beam_month = beam_bins @ _month_matrix(bins.bin_month)
    return beam_bins, diffuse_month, ground_month, beam_month


# ----------------------------------------------------------------------------------------------
# one tile: its faces' sample points + a scene + climate -> per-face / per-point irradiation


@dataclass
class TileScene:
    """Picklable recipe for a tile's :class:`~numazu_geo.solar.shading.ShadingScene`.

    An Embree scene cannot be pickled; a task ships these arrays and :func:`tile_irradiance`
    builds the scene where it runs (:meth:`build`).

    Attributes
    ----------
    triangles : (M, 3, 3) building triangles in the faces' projected CRS (metres).
    terrain : (K, 3, 3) terrain triangles or None.
    origin : (3,) local origin of the float32 scene; None: the centre of the triangles' bounds.
    """

    triangles: np.ndarray
    terrain: np.ndarray | None = None
    origin: np.ndarray | None = None

    def build(self):
        from numazu_geo.solar.shading import ShadingScene

        return ShadingScene(self.triangles, origin=self.origin, terrain=self.terrain)

    @property
    def n_triangles(self) -> int:
        return len(self.triangles) + (0 if self.terrain is None else len(self.terrain))


class SceneTriangles:
    """All shading triangles of a run in float64, from which each tile's scene is cut.

    :func:`roof_irradiance` gives every tile (a ``tile_size_m`` square of the CRS grid) its own
    scene: the triangles whose xy bounding box lies within ``radius_m`` of the square, in float32
    about the square's centre. A tile's scene therefore depends only on the square and on the
    triangles near it, never on which other faces or meshes share the run, so a city computed
    mesh by mesh with a halo of neighbours (:mod:`numazu_geo.pipeline`) gets the same numbers as
    one computed whole.

    buildings : (M, 3, 3) building triangles, projected CRS (m); terrain : (K, 3, 3) or None.
    """

    def __init__(self, buildings, terrain=None):
        self.buildings = np.asarray(buildings, dtype=np.float64).reshape(-1, 3, 3)
        self.terrain = None if terrain is None else np.asarray(terrain, dtype=np.float64).reshape(-1, 3, 3)
        self._lo = [t[:, :, :2].min(axis=1) for t in self._parts()]
        self._hi = [t[:, :, :2].max(axis=1) for t in self._parts()]

    def _parts(self):
        return [self.buildings] + ([self.terrain] if self.terrain is not None else [])

    @property
    def n_triangles(self) -> int:
        return sum(len(t) for t in self._parts())

    @classmethod
    def from_solids(cls, solids, terrain=None) -> SceneTriangles:
        from numazu_geo.citygml import solids_to_triangles

        tri, _ = solids_to_triangles(solids) if solids is not None and len(solids) else (np.zeros((0, 3, 3)), None)
        return cls(tri, terrain)

    def around(self, rect, radius_m: float) -> TileScene:
        """:class:`TileScene` of the triangles within ``radius_m`` of ``rect`` = (minx, miny,
        maxx, maxy), with the local origin at the rectangle's centre."""
        minx, miny, maxx, maxy = (float(v) for v in rect)
        picked = []
        for tri, lo, hi in zip(self._parts(), self._lo, self._hi):
            dx = np.maximum(0.0, np.maximum(lo[:, 0] - maxx, minx - hi[:, 0]))
            dy = np.maximum(0.0, np.maximum(lo[:, 1] - maxy, miny - hi[:, 1]))
            picked.append(tri[np.hypot(dx, dy) <= radius_m])
        origin = np.array([0.5 * (minx + maxx), 0.5 * (miny + maxy), 0.0])
        terrain = picked[1] if len(picked) > 1 else None
        return TileScene(picked[0], terrain=terrain, origin=origin)


@dataclass
class TileFaces:
    """Picklable inputs of one tile: roof faces and their sample points as plain arrays.

    Attributes
    ----------
    face_pos : (F,) int, the faces' positions in the caller's face table (passed through).
    tilt_deg, azimuth_deg : (F,) panel tilt and azimuth (deg, azimuth 0 = north, clockwise).
    point_face : (P,) int, index 0..F-1 of each point's face in this tile.
    xyz, normal : (P, 3) sample points (projected CRS, m) and panel normals.
    area_m2 : (P,) roof area each point stands for.
    """

    face_pos: np.ndarray
    tilt_deg: np.ndarray
    azimuth_deg: np.ndarray
    point_face: np.ndarray
    xyz: np.ndarray
    normal: np.ndarray
    area_m2: np.ndarray


@dataclass
class TileIrradiance:
    """Output of :func:`tile_irradiance`, one row per face of the tile (kWh/m2).

    ``month_kwh_m2`` (F, 12) shaded, area-weighted over the face's points (NaN where a face has
    no valid point); ``unshaded_month_kwh_m2`` (F, 12); ``beam_kwh_m2_year`` (F,) unshaded beam +
    circumsolar; ``sky_view_factor`` (F,); ``points`` per-point table (``keep_points``) with
    ``face_pos`` from :attr:`TileFaces.face_pos`; ``rays_cast`` by the scene built here (0 when a
    ready scene was passed: its owner counts them).
    """

    face_pos: np.ndarray
    month_kwh_m2: np.ndarray
    unshaded_month_kwh_m2: np.ndarray
    beam_kwh_m2_year: np.ndarray
    sky_view_factor: np.ndarray
    points: pd.DataFrame | None = None
    rays_cast: int = 0


def point_sky(scene, xyz, normal, directions, *, svf_rays: int = SVF_RAYS) -> tuple[np.ndarray, np.ndarray]:
    """Which sun ``directions`` (D, 3) each point sees, (P, D) bool, and its sky view factor (P,)
    in ``scene`` (a built :class:`~numazu_geo.solar.shading.ShadingScene`, or None: unshaded).
    The one place the annual and the hourly paths (:mod:`numazu_geo.solar.hourly`) cast their rays."""
    if scene is None:
        return np.ones((len(xyz), len(directions)), dtype=bool), np.ones(len(xyz))
    vis = scene.patch_visible(xyz, normal, directions)
    # a bin direction at or behind the panel plane (grazing sun, the binned direction on
    # the wrong side) is not a shading decision: the bin's beam already carries cos(AOI)
    # clipping, and it is tiny, so such pairs count as visible rather than lost
    with np.errstate(invalid="ignore"):
        vis |= (normal @ directions.T) <= 0
    svf = scene.sky_view_factor(xyz, normal, n_rays=svf_rays)
    return vis, np.where(np.isfinite(svf), svf, 0.0)


def tile_irradiance(
    tile: TileFaces,
    scene,
    inputs: pd.DataFrame,
    bins: SunBins,
    *,
    albedo: float = irr.ALBEDO,
    model: str = irr.TRANSPOSITION_MODEL,
    svf_rays: int = SVF_RAYS,
    orientation_step_deg: float | None = ORIENTATION_STEP_DEG,
    keep_points: bool = False,
    basis_cache: dict | None = None,
) -> TileIrradiance:
    """Shaded and unshaded irradiation of one tile's roof faces: the unit of work of a task.

    Parameters
    ----------
    tile : the tile's faces and sample points (:class:`TileFaces`).
    scene : a :class:`TileScene` (the scene is built here, so the call can run in another
        process), a ready :class:`~numazu_geo.solar.shading.ShadingScene`, or None (unshaded).
    inputs, bins : :func:`irradiance.climate_inputs` of the climate and its :func:`sun_bins`.
    basis_cache : optional dict shared across calls (orientation -> irradiation basis).

    Faces are processed ``CHUNK_FACES`` at a time; faces of equal (rounded) orientation share one
    irradiation basis (:func:`face_basis`).
    """
    built = isinstance(scene, TileScene)
    sc = scene.build() if built else scene
    cache = {} if basis_cache is None else basis_cache  # orientation -> basis, across chunks
    local_cache: dict = {}
    cacheable = len(bins.bin_dir) <= 2000  # keep bases across chunks when bins are few (Tregenza)
    month_of_bin = _month_matrix(bins.bin_month)
    tilt = np.asarray(tile.tilt_deg, dtype=float)
    azim = np.asarray(tile.azimuth_deg, dtype=float)
    n_faces = len(tilt)
    pf = np.asarray(tile.point_face, dtype=np.int64)
    xyz = np.asarray(tile.xyz, dtype=float).reshape(-1, 3)
    nrm = np.asarray(tile.normal, dtype=float).reshape(-1, 3)
    parea = np.asarray(tile.area_m2, dtype=float)
    order = np.argsort(pf, kind="stable")
    pf_sorted = pf[order]
    out_month = np.full((n_faces, 12), np.nan)
    out_unshaded = np.full((n_faces, 12), np.nan)
    out_beam = np.full(n_faces, np.nan)
    out_svf = np.full(n_faces, np.nan)
    kept = []
    for s in range(0, n_faces, CHUNK_FACES):
        e = min(n_faces, s + CHUNK_FACES)
        nf = e - s
        pidx = order[np.searchsorted(pf_sorted, s, side="left") : np.searchsorted(pf_sorted, e, side="left")]
        local = pf[pidx] - s
        # faces sharing an orientation (all flat roofs with the mounting assumption, and any two
        # faces equal after rounding to ``orientation_step_deg``) share one irradiation basis
        o = np.stack([tilt[s:e], azim[s:e]], axis=1)
        if orientation_step_deg:
            o = np.round(o / orientation_step_deg) * orientation_step_deg
            o[:, 1] = np.mod(o[:, 1], 360.0)
        orient, inv = np.unique(o, axis=0, return_inverse=True)
        inv = inv.ravel()
        keys = [tuple(k) for k in orient]
        todo = [i for i, k in enumerate(keys) if k not in cache]
        if todo:
            fresh = face_basis(orient[todo, 0], orient[todo, 1], inputs, bins, albedo=albedo, model=model)
            for j, i in enumerate(todo):
                value = tuple(a[j] for a in fresh)
                if cacheable:
                    cache[keys[i]] = value
                else:
                    local_cache[keys[i]] = value
        rows = [cache.get(k) or local_cache[k] for k in keys]
        local_cache.clear()
        beam_bins, diff_m, ground_m, beam_m = (np.stack([r[c] for r in rows])[inv] for c in range(4))
        p_xyz, p_nrm = xyz[pidx], nrm[pidx]
        vis, svf = point_sky(sc, p_xyz, p_nrm, bins.directions, svf_rays=svf_rays)
        p_month = np.empty((len(pidx), 12))
        for ps in range(0, len(pidx), CHUNK_POINTS):
            pe = min(len(pidx), ps + CHUNK_POINTS)
            lv = local[ps:pe]
            shaded_beam = (vis[ps:pe][:, bins.bin_dir] * beam_bins[lv]) @ month_of_bin
            p_month[ps:pe] = shaded_beam + svf[ps:pe, None] * diff_m[lv] + ground_m[lv]
        unshaded = beam_m + diff_m + ground_m
        wgt = parea[pidx]
        ok = np.isfinite(p_xyz).all(axis=1)
        wgt = np.where(ok, wgt, 0.0)
        wsum = np.bincount(local, weights=wgt, minlength=nf)
        safe = np.where(wsum > 0, wsum, 1.0)
        fm = np.stack([np.bincount(local, weights=wgt * p_month[:, m], minlength=nf) for m in range(12)], 1)
        out_month[s:e] = np.where(wsum[:, None] > 0, fm / safe[:, None], np.nan)
        out_svf[s:e] = np.where(wsum > 0, np.bincount(local, weights=wgt * svf, minlength=nf) / safe, np.nan)
        out_unshaded[s:e] = unshaded
        out_beam[s:e] = beam_m.sum(axis=1)
        if keep_points:
            p_year = p_month.sum(axis=1)
            u_year = unshaded.sum(axis=1)[local]
            kept.append(
                pd.DataFrame(
                    {
                        "x": p_xyz[:, 0], "y": p_xyz[:, 1], "z": p_xyz[:, 2],
                        "face_pos": np.asarray(tile.face_pos)[s + local],
                        "area_m2": parea[pidx], "kwh_m2_year": p_year, "unshaded_kwh_m2_year": u_year,
                        "shading_loss": np.where(u_year > 0, 1.0 - p_year / np.where(u_year > 0, u_year, 1), 0.0),
                        "sky_view_factor": svf,
                    }  # fmt: skip
                )
            )
    points = pd.concat(kept, ignore_index=True) if keep_points and kept else None
    return TileIrradiance(
        np.asarray(tile.face_pos), out_month, out_unshaded, out_beam, out_svf, points,
        int(sc.rays_cast) if built and sc is not None else 0,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# all faces: spatial tiles -> tile_irradiance


def face_tiles(faces: gpd.GeoDataFrame, samples, tile_size_m: float = TILE_SIZE_M) -> dict:
    """Sampled faces with a finite orientation grouped into ``tile_size_m`` squares of the CRS grid
    by the mean of their points: ``{(ix, iy): sorted face positions}``."""
    n_faces = len(faces)
    tilt = faces["panel_tilt_deg"].to_numpy(dtype=float)
    azim = faces["panel_azimuth_deg"].to_numpy(dtype=float)
    fi = np.asarray(samples.face_index, dtype=np.int64)
    xyz = np.asarray(samples.xyz, dtype=float)
    n_points = np.bincount(fi, minlength=n_faces)[:n_faces]
    sampled = np.unique(fi)
    sampled = sampled[np.isfinite(tilt[sampled]) & np.isfinite(azim[sampled])]
    cx = np.zeros(n_faces)
    cy = np.zeros(n_faces)
    if len(sampled):
        cx_s = np.zeros(len(sampled))
        cy_s = np.zeros(len(sampled))
        np.add.at(cx_s, np.searchsorted(sampled, fi[np.isin(fi, sampled)]), xyz[np.isin(fi, sampled), 0])
        np.add.at(cy_s, np.searchsorted(sampled, fi[np.isin(fi, sampled)]), xyz[np.isin(fi, sampled), 1])
        cnt = np.maximum(n_points[sampled], 1)
        cx[sampled], cy[sampled] = cx_s / cnt, cy_s / cnt
    tile = np.stack([np.floor(cx / tile_size_m), np.floor(cy / tile_size_m)], axis=1)
    tiles: dict = {}
    for f in sampled:
        tiles.setdefault((tile[f, 0], tile[f, 1]), []).append(f)
    return {k: np.array(v, dtype=np.int64) for k, v in tiles.items()}


def tile_faces(faces: gpd.GeoDataFrame, samples, face_pos) -> TileFaces:
    """:class:`TileFaces` of the faces at positions ``face_pos`` (ascending) of ``faces``."""
    fl = np.asarray(face_pos, dtype=np.int64)
    fi = np.asarray(samples.face_index, dtype=np.int64)
    order = np.argsort(fi, kind="stable")
    fi_sorted = fi[order]
    lo = np.searchsorted(fi_sorted, fl, side="left")
    hi = np.searchsorted(fi_sorted, fl, side="right")
    pidx = order[np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)])] if len(fl) else np.zeros(0, np.int64)
    nrm = np.asarray(getattr(samples, "panel_normal", samples.normal), dtype=float)
    return TileFaces(
        face_pos=fl,
        tilt_deg=faces["panel_tilt_deg"].to_numpy(dtype=float)[fl],
        azimuth_deg=faces["panel_azimuth_deg"].to_numpy(dtype=float)[fl],
        point_face=np.repeat(np.arange(len(fl)), hi - lo),
        xyz=np.asarray(samples.xyz, dtype=float)[pidx],
        normal=nrm[pidx],
        area_m2=np.asarray(samples.area_m2, dtype=float)[pidx],
    )


def roof_irradiance(
    faces: gpd.GeoDataFrame,
    samples,
    scene,
    climate: Climate,
    *,
    albedo: float = irr.ALBEDO,
    model: str = irr.TRANSPOSITION_MODEL,
    sun_binning: str | None = "tregenza",
    svf_rays: int = SVF_RAYS,
    neighbour_radius_m: float | None = NEIGHBOUR_RADIUS_M,
    tile_size_m: float = TILE_SIZE_M,
    orientation_step_deg: float | None = ORIENTATION_STEP_DEG,
    keep_points: bool = False,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Shaded and unshaded irradiation of sampled roof faces.

    Parameters
    ----------
    faces : output of :func:`roof_faces` (positional index = ``samples.face_index``).
    samples : :class:`~numazu_geo.solar.roofs.RoofSamples` on ``faces``.
    scene : :class:`SceneTriangles` (each tile gets the triangles within
        ``neighbour_radius_m`` of its square), a ready
        :class:`~numazu_geo.solar.shading.ShadingScene` in the faces' CRS, or None (unshaded).
    climate : hourly weather.
    orientation_step_deg : panel tilt and azimuth are rounded to this step before the
        transposition (faces then share cached irradiation bases); None or 0 for exact angles.

    Faces are grouped into ``tile_size_m`` tiles (:func:`face_tiles`) and each tile is computed
    by :func:`tile_irradiance`. With :class:`SceneTriangles` each tile's scene holds the
    triangles within ``neighbour_radius_m`` of the tile's square (all of them when None); a ready
    ShadingScene of more than ``SUBSET_MIN_TRIANGLES`` triangles is cut to ``neighbour_radius_m``
    around each tile's points.

    Returns
    -------
    (face_table, point_table): ``face_table`` has one row per face (same order as ``faces``):
    ``n_points``, ``kwh_m2_year``, ``kwh_m2_month_01..12``, ``unshaded_kwh_m2_year``,
    ``beam_kwh_m2_year`` (unshaded beam + circumsolar), ``shading_loss``, ``sky_view_factor``
    (NaN where a face has no points). ``point_table`` (when ``keep_points``) has ``x, y, z,
    face_pos, area_m2, kwh_m2_year, unshaded_kwh_m2_year, shading_loss, sky_view_factor``.
    """
    n_faces = len(faces)
    inputs = irr.climate_inputs(climate)
    bins = sun_bins(inputs, sun_binning)
    fi = np.asarray(samples.face_index, dtype=np.int64)
    n_points = np.bincount(fi, minlength=n_faces)[:n_faces]
    tiles = face_tiles(faces, samples, tile_size_m)

    out_month = np.full((n_faces, 12), np.nan)
    out_unshaded = np.full((n_faces, 12), np.nan)
    out_beam = np.full(n_faces, np.nan)
    out_svf = np.full(n_faces, np.nan)
    kept = []
    per_tile = isinstance(scene, SceneTriangles)
    if per_tile and neighbour_radius_m is None:  # one scene of everything
        scene, per_tile = scene.around((0.0, 0.0, 0.0, 0.0), np.inf).build(), False
    use_subset = (
        not per_tile
        and neighbour_radius_m is not None
        and scene is not None
        and getattr(scene, "n_triangles", 0) > SUBSET_MIN_TRIANGLES
        and len(tiles) > 1
    )
    cache: dict = {}  # orientation -> basis, shared by the tiles
    rays = 0
    rays_before = int(getattr(scene, "rays_cast", 0) or 0) if not per_tile else 0
    bar = tqdm(total=sum(len(v) for v in tiles.values()), desc="solar", unit="face", disable=not progress)
    for key in sorted(tiles):
        tf = tile_faces(faces, samples, tiles[key])
        sc = scene
        if per_tile:  # the triangles near this tile's square, built where the tile is computed
            x0, y0 = key[0] * tile_size_m, key[1] * tile_size_m
            sc = scene.around((x0, y0, x0 + tile_size_m, y0 + tile_size_m), neighbour_radius_m)
        elif use_subset:  # around the points of the tile's first chunk of faces
            first = tf.xyz[tf.point_face < CHUNK_FACES]
            bounds = (first[:, 0].min(), first[:, 1].min(), first[:, 0].max(), first[:, 1].max())
            sc = scene.subset_around(bounds, neighbour_radius_m)
        res = tile_irradiance(
            tf, sc, inputs, bins, albedo=albedo, model=model, svf_rays=svf_rays,
            orientation_step_deg=orientation_step_deg, keep_points=keep_points, basis_cache=cache,
        )  # fmt: skip
        if use_subset:  # each sub-scene counts its own rays (its parent's counter may include them too)
            rays += sc.rays_cast
        rays += res.rays_cast  # scenes built inside tile_irradiance
        fl = res.face_pos
        out_month[fl] = res.month_kwh_m2
        out_unshaded[fl] = res.unshaded_month_kwh_m2
        out_beam[fl] = res.beam_kwh_m2_year
        out_svf[fl] = res.sky_view_factor
        if res.points is not None:
            kept.append(res.points)
        bar.update(len(fl))
    bar.close()
    year = out_month.sum(axis=1)
    year[np.isnan(out_month).all(axis=1)] = np.nan
    unshaded_year = out_unshaded.sum(axis=1)
    unshaded_year[np.isnan(out_unshaded).all(axis=1)] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = np.where(unshaded_year > 0, 1.0 - year / unshaded_year, 0.0)
    loss = np.where(np.isnan(year), np.nan, np.clip(loss, 0.0, 1.0))
    table = pd.DataFrame({"n_points": n_points, "kwh_m2_year": year})
    for m, col in enumerate(MONTH_COLUMNS):
        table[col] = out_month[:, m]
    table["unshaded_kwh_m2_year"] = unshaded_year
    table["beam_kwh_m2_year"] = out_beam
    table["shading_loss"] = loss
    table["sky_view_factor"] = out_svf
    if not use_subset and not per_tile:
        rays = int(getattr(scene, "rays_cast", 0) or 0) - rays_before
    table.attrs["rays_cast"] = int(rays)
    points = pd.concat(kept, ignore_index=True) if keep_points and kept else None
    if keep_points and points is None:
        points = pd.DataFrame(columns=["x", "y", "z", "face_pos", "area_m2", "kwh_m2_year",
                                       "unshaded_kwh_m2_year", "shading_loss", "sky_view_factor"])  # fmt: skip
    return table, points


# ----------------------------------------------------------------------------------------------
# inputs


def _building_key(df: pd.DataFrame) -> pd.Series:
    """``building_id`` where present and non-empty, else ``gml_id`` (the contracts' join key)."""
    gml = df["gml_id"].astype(object) if "gml_id" in df else pd.Series(pd.NA, index=df.index, dtype=object)
    if "building_id" not in df:
        return gml
    bid = df["building_id"].astype(object)
    missing = bid.isna() | (bid.astype(str).str.strip() == "")
    return bid.where(~missing, gml).astype(object)


def _read_each(reader, files, crs, progress):
    parts = []
    for f in files:
        part = reader(f, crs=crs, progress=False)
        if len(part):
            parts.append(part)
    if not parts:
        return None
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=parts[0].crs)


def _one_row_per_building(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The buildings table with one row per building, as the per-building join needs.

    BuildingPart rows (``ingest --parts``: ``parent_id`` set) are left out, counted in a warning and
    in ``attrs["building_parts_left_out"]``: their roofs count under their building. A table of roof
    surfaces (``ingest --what roofs``) or any other repeated building id is an error: every roof of a
    building would be counted once per row.
    """
    if "surface_id" in buildings.columns:
        raise NumazuGeoError(
            "solar_potential: this table has one row per roof surface (column surface_id, as `numazu-geo ingest "
            "--what roofs` writes); give the buildings table (`ingest --what buildings`) or the CityGML, or "
            "pass it as roof_surfaces="
        )  # fmt: skip
    if "parent_id" in buildings.columns:
        parent = buildings["parent_id"].astype(object)
        part = parent.notna() & (parent.astype(str).str.strip() != "")
        if part.any():
            attrs = dict(buildings.attrs)
            buildings = buildings.loc[~part.to_numpy()]
            buildings.attrs = {**attrs, "building_parts_left_out": int(part.sum())}
            log.warning("solar_potential: %d BuildingPart row(s) left out; their roofs count under their "
                        "building (parent_id)", int(part.sum()))  # fmt: skip
    key = _building_key(buildings)
    dup = key.notna() & key.duplicated()
    if dup.any():
        raise NumazuGeoError(
            f"solar_potential: {int(dup.sum())} row(s) repeat a building id (first {key[dup].iloc[0]!r}); the "
            "table must have one row per building"
        )  # fmt: skip
    return buildings


def _resolve_inputs(buildings_or_source, roof_surfaces, solids, progress, need_solids=True):
    """(buildings or None, roof_surfaces, solids) from what the user passed."""
    from numazu_geo import citygml
    from numazu_geo.citygml.sources import source_exists

    if isinstance(buildings_or_source, gpd.GeoDataFrame):
        buildings = buildings_or_source
        if len(buildings) == 0:
            raise NumazuGeoError("solar_potential: the buildings table is empty (0 rows): nothing to compute")
        buildings = _one_row_per_building(buildings)
        crs = buildings.crs
        if roof_surfaces is None or (solids is None and need_solids):
            files = []
            if "source_file" in buildings.columns:
                files = [f for f in pd.unique(buildings["source_file"].dropna().astype(str)) if f]
            missing = [f for f in files if not source_exists(f)]
            if (not files or missing) and buildings.attrs.get("source"):
                files = [buildings.attrs["source"]]
                missing = [f for f in files if not source_exists(str(f))]
            if not files or missing:
                raise NumazuGeoError(
                    "solar_potential: cannot find the CityGML files of these buildings "
                    f"(source_file {missing[:3] or 'column missing'}); pass roof_surfaces= and solids= "
                    "(read_roof_surfaces / read_solids) or the source path instead"
                )
            if roof_surfaces is None:
                roof_surfaces = _read_each(citygml.read_roof_surfaces, files, crs, progress)
                if roof_surfaces is not None and "gml_id" in buildings.columns:
                    roof_surfaces = roof_surfaces[roof_surfaces["gml_id"].isin(set(buildings["gml_id"]))]
            if solids is None and need_solids:
                # all solids of the files: neighbours outside the selection still cast shade
                solids = _read_each(citygml.read_solids, files, crs, progress)
        return buildings, roof_surfaces, solids
    if buildings_or_source is None:
        if roof_surfaces is None:
            raise ValueError("solar_potential: pass buildings, a source, or roof_surfaces=")
        return None, roof_surfaces, solids
    source = buildings_or_source
    if isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() == ".parquet":
        from numazu_geo.io import read_parquet

        return _resolve_inputs(read_parquet(source), roof_surfaces, solids, progress, need_solids)
    buildings = citygml.read_buildings(source, progress=progress)
    crs = buildings.crs
    if roof_surfaces is None:
        roof_surfaces = citygml.read_roof_surfaces(source, crs=crs, progress=progress)
    if solids is None and need_solids:
        solids = citygml.read_solids(source, crs=crs, progress=progress)
    return buildings, roof_surfaces, solids


#: Terrain and trees farther than this (m) from the roofs' bounding box are left out of the scene
#: (numazu-geo choice: a 100 m hill 1 km away rises 5.7 deg above the horizon).
CONTEXT_MARGIN_M = 1000.0


def _context_source(buildings_or_source, buildings):
    if isinstance(buildings_or_source, (str, os.PathLike)) and Path(buildings_or_source).suffix.lower() != ".parquet":
        return buildings_or_source
    if buildings is not None and "source_file" in buildings.columns:
        from numazu_geo.citygml.sources import parse_source_address

        files = []
        for f in pd.unique(buildings["source_file"].dropna().astype(str)):
            try:
                member = parse_source_address(f) if f else None
            except NumazuGeoError:
                continue
            files.append(member.zip_path if member is not None else f)  # zip members: the archive
        files = sorted({f for f in files if f and Path(f).exists()})
        return files or None
    return None


def _context_triangles(buildings_or_source, buildings, terrain, vegetation, faces):
    """Terrain and vegetation triangles in the faces' CRS (clipped near the roofs), and a record."""
    from numazu_geo.citygml import terrain as T

    b = faces.total_bounds if len(faces) else None
    bbox = None
    if b is not None and np.isfinite(b).all():
        bbox = (b[0] - CONTEXT_MARGIN_M, b[1] - CONTEXT_MARGIN_M, b[2] + CONTEXT_MARGIN_M, b[3] + CONTEXT_MARGIN_M)
    record = {}
    out = []
    for name, value, reader, kind in (("terrain", terrain, T.read_terrain, "dem"), ("vegetation", vegetation, T.read_vegetation, "veg")):
        tri = None
        if isinstance(value, str) and value == "auto":
            src = _context_source(buildings_or_source, buildings)
            if src is not None and T.find_feature_files(src, kind):
                value = reader(src, crs=faces.crs, bbox=bbox)  # only the files near the roofs are parsed
            else:
                value = None
        elif isinstance(value, (str, os.PathLike)):
            value = reader(value, crs=faces.crs, bbox=bbox)
        if isinstance(value, T.TriangleSet):
            ts = value if value.crs is None or faces.crs is None or value.crs.equals(faces.crs) else value.to_crs(faces.crs)
            tri = ts.triangles
            record[f"{name}_source"] = ", ".join(Path(str(f)).name for f in ts.files[:3]) or name
        elif value is not None:
            tri = np.asarray(value, dtype=float).reshape(-1, 3, 3)
            record[f"{name}_source"] = "user triangles"
        if tri is not None and bbox is not None and len(tri):
            lo, hi = tri[:, :, :2].min(axis=1), tri[:, :, :2].max(axis=1)
            keep = (hi[:, 0] >= bbox[0]) & (lo[:, 0] <= bbox[2]) & (hi[:, 1] >= bbox[1]) & (lo[:, 1] <= bbox[3])
            tri = tri[keep]
        if tri is not None:
            record[f"{name}_triangles"] = int(len(tri))
        out.append(tri)
    if out[1] is not None:
        record["tree_transmittance"] = 0.0
    parts = [t for t in out if t is not None and len(t)]
    merged = np.concatenate(parts) if parts else None
    return merged, None, record


def _data_site(faces: gpd.GeoDataFrame) -> Site | None:
    if faces.crs is None or len(faces) == 0:
        return None
    b = faces.total_bounds
    if not np.isfinite(b).all():
        return None
    from pyproj import Transformer

    t = Transformer.from_crs(faces.crs, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3]))
    base = default_site()
    return Site(float(lat), float(lon), base.altitude_m, base.tz, "data centre")


def _warn_if_spread(faces: gpd.GeoDataFrame, site: Site | None) -> float:
    """Warn when roofs lie farther than :data:`~numazu_geo.solar.climate.WEATHER_SITE_WARN_KM` from the
    data centre that the one climate and sun position are computed for (e.g. two cities in one table:
    the caption's station distance is then to the centre, not to the buildings). Returns the distance."""
    if site is None or faces.crs is None or len(faces) == 0:
        return 0.0
    from pyproj import Transformer

    from numazu_geo.solar.climate import WEATHER_SITE_WARN_KM

    b = faces.total_bounds
    lon, lat = Transformer.from_crs(faces.crs, "EPSG:4326", always_xy=True).transform([b[0], b[2], b[0], b[2]],
                                                                                       [b[1], b[1], b[3], b[3]])
    far = max(_distance_km(site, Site(float(la), float(lo), 0.0, site.tz, "")) for lo, la in zip(lon, lat))
    if far > WEATHER_SITE_WARN_KM:
        log.warning("solar_potential: the roofs' extent reaches %.0f km from its centre (%.3f, %.3f), for which the one "
                    "climate and sun position are computed; give each city separately (or site=/climate=)",
                    far, site.latitude_deg, site.longitude_deg)  # fmt: skip
    return far


def _distance_km(a: Site, b: Site) -> float:
    lat1, lon1, lat2, lon2 = map(np.radians, (a.latitude_deg, a.longitude_deg, b.latitude_deg, b.longitude_deg))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return float(2 * 6371.0 * np.arcsin(np.sqrt(h)))


# ----------------------------------------------------------------------------------------------
# public entry point


def solar_potential(
    buildings_or_source=None,
    *,
    roof_surfaces: gpd.GeoDataFrame | None = None,
    solids: gpd.GeoDataFrame | None = None,
    climate=None,
    climate_days: str | None = None,
    spacing_m: float = SPACING_M,
    year: int = DEFAULT_YEAR,
    sun_binning: str | None = "tregenza",
    model: str = irr.TRANSPOSITION_MODEL,
    albedo: float = irr.ALBEDO,
    svf_rays: int = SVF_RAYS,
    neighbour_radius_m: float | None = NEIGHBOUR_RADIUS_M,
    terrain="auto",
    vegetation="auto",
    scene=None,
    shading: bool = True,
    pv_density_kw_m2: float = pv.PV_DENSITY_KW_M2,
    coverage: float = pv.COVERAGE_RATIO,
    pv_model: str = "pvwatts",
    performance_ratio: float | None = None,
    min_kwh_m2_year: float | None = None,
    min_irradiation_frac: float = MIN_IRRADIATION_FRAC,
    face_options: dict | None = None,
    orientation_step_deg: float | None = ORIENTATION_STEP_DEG,
    keep_points: bool = False,
    hourly=None,
    progress: bool = True,
    max_weather_distance_km: float | None = None,
    site: Site | None = None,
) -> SolarResult:
    """Annual rooftop irradiation and PV potential per roof face and per building.

    Energy only; ``numazu_geo.co2.add_avoided_co2(result)`` adds ``co2_avoided_kg_year``.

    Parameters
    ----------
    buildings_or_source : GeoDataFrame from :func:`numazu_geo.read_buildings`, or anything the
        reader accepts (a .gml file, folder, zip) or a GeoParquet of buildings. With a source, the
        buildings, roof surfaces and solids are read from it. With a GeoDataFrame, roof surfaces
        and solids are read from its ``source_file`` files (else ``attrs["source"]``) unless given;
        only the given buildings are evaluated but every building of those files casts shade.
    roof_surfaces, solids : outputs of ``read_roof_surfaces`` / ``read_solids`` (same CRS) to
        skip reading.
    climate : None (the APPROXIMATE Numazu default at the data's location), a
        :class:`~numazu_geo.solar.climate.Climate`, or an ``.epw`` / METPV ``.csv`` path.
    climate_days : with the default climate, ``"monthly"`` for one average day per month (quick
        previews) instead of every hour.
    spacing_m : sample spacing on roofs (m).
    year : calendar year of the timestamps for the default climate and file readers.
    sun_binning : ``"tregenza"`` (default, one ray per sky patch the sun visits) or None (one ray
        per daylight hour: exact, slower).
    model : transposition model: ``"perez"`` (default), ``"haydavies"``, ``"isotropic"``.
    albedo : ground reflectance (default 0.18, urban).
    svf_rays : hemisphere rays per point for the sky view factor.
    neighbour_radius_m : buildings and terrain within this distance (m) of each 500 m tile shade
        its roofs (PLATEAU SolarPotential uses 300 m); None: everything shades everything.
    terrain : terrain that casts shade: ``"auto"`` (default: PLATEAU ``dem`` files found beside
        ``bldg`` in the source's dataset folder or zip; none found, none used), None, a
        :class:`~numazu_geo.citygml.terrain.TriangleSet`, triangles (K, 3, 3) in the faces' CRS,
        or a path (dem ``.gml``/folder/zip, or a GeoTIFF DEM) for
        :func:`~numazu_geo.citygml.terrain.read_terrain`.
    vegetation : trees that cast shade, as ``terrain`` (PLATEAU ``veg`` files,
        :func:`~numazu_geo.citygml.terrain.read_vegetation`). Trees are opaque
        (``data/solar_defaults.csv`` ``tree_transmittance = 0``: no published transmittance for
        PLATEAU tree models was found, so tree shading is an upper bound).
    scene : a ready :class:`~numazu_geo.solar.shading.ShadingScene` (reused across runs); then
        ``solids`` and ``terrain`` are not needed.
    shading : False to skip ray casting (unobstructed roofs).
    pv_density_kw_m2, coverage : PV capacity per m2 of panel and panel share of the usable area
        (0.167 kW/m2, 0.8; PLATEAU SolarPotential).
    pv_model : ``"pvwatts"`` (default; temperature-aware pvlib chain, :mod:`~numazu_geo.solar.pv`)
        or ``"plateau"`` (PLATEAU SolarPotential's ``P x H x 0.88``, to compare with MLIT results).
    performance_ratio : with ``pv_model="plateau"``, the factor K (default 0.88).
    min_kwh_m2_year : minimum annual (shaded) plane-of-array irradiation of a viable face; default
        ``min_irradiation_frac`` (0.6) x the climate's annual horizontal irradiation. Faces below
        it keep their irradiation but get ``viable = False`` and add 0 kW / kWh.
    face_options : keyword arguments for :func:`~numazu_geo.solar.roofs.roof_faces`
        (``min_area_m2``, ``max_tilt_deg``, ``flat_mount_tilt_deg``, ...).
    orientation_step_deg : optional rounding of panel tilt/azimuth (deg) so faces share
        irradiation bases (faster on large districts; 0.25 deg costs at most ~0.2 %). Default None:
        exact angles.
    keep_points : keep per-point results (``result.points``) for roof heat maps.
    hourly : building keys (or True for all buildings) whose AC output for every timestamp of the
        climate goes into ``result.hourly`` (kWh, timestamps x buildings; sums to ``kwh_year``).
        Default None: annual and monthly only (the fast path is unchanged).
    progress : tqdm progress bars.
    max_weather_distance_km : how far a weather file's site may lie from the buildings
        (:func:`~numazu_geo.solar.climate.climate_for_site`; default: warn beyond 50 km, refuse a
        site outside Japan for buildings in Japan). The sun is always computed at the buildings.
    site : where the sun is computed (:class:`~numazu_geo.solar.sun.Site`); default the centre of
        the roof faces. :func:`numazu_geo.pipeline.run_city` passes the whole city's centre to every
        mesh, so each mesh gets the sun of a whole-city run.

    Returns
    -------
    SolarResult with ``.buildings`` (keyed by ``building_key``: ``building_id`` where present, else
    ``gml_id``), ``.faces`` (keyed by ``face_id``), ``.points`` and ``.summary()``.

    Buildings without roof surfaces or usable faces get 0 kW / 0 kWh and a ``reason``;
    their per-m2 values (``kwh_m2_year``, ``shading_loss``, ``sky_view_factor``) are NaN.
    """
    from numazu_geo.solar.roofs import roof_faces, sample_points

    buildings, roof_surfaces, solids = _resolve_inputs(
        buildings_or_source, roof_surfaces, solids, progress, need_solids=shading and scene is None
    )
    if roof_surfaces is None or len(roof_surfaces) == 0:
        log.warning("solar_potential: no roof surfaces found")
        roof_surfaces = gpd.GeoDataFrame(
            {"gml_id": [], "building_id": [], "surface_id": [], "roof_source": []},
            geometry=gpd.GeoSeries([], crs=getattr(buildings, "crs", None)),
        )
    faces = roof_faces(roof_surfaces, **(face_options or {}))
    samples = sample_points(faces, spacing_m)

    if site is None:
        site = _data_site(faces)
        _warn_if_spread(faces, site)
    if climate is None:
        clim = default_climate(site, year, days=climate_days)
        log.info("solar_potential: %s", clim.source)
    else:
        clim = load_climate(climate, year=year, site=site)
        clim = climate_for_site(clim, site, max_distance_km=max_weather_distance_km)  # sun at the buildings

    context = {}
    if shading and scene is None and len(samples):
        terrain, vegetation, context = _context_triangles(buildings_or_source, buildings, terrain, vegetation, faces)
    if not shading:
        scene = None
    elif scene is None and len(samples):
        if (solids is not None and len(solids)) or terrain is not None:
            # each tile's scene is cut from these (the triangles within neighbour_radius_m);
            # terrain here includes the trees
            scene = SceneTriangles.from_solids(solids, terrain=terrain)
        else:
            log.warning("solar_potential: no solids given; roofs are not shaded")
    table, points = roof_irradiance(
        faces, samples, scene, clim, albedo=albedo, model=model, sun_binning=sun_binning,
        svf_rays=svf_rays, neighbour_radius_m=neighbour_radius_m, keep_points=keep_points,
        orientation_step_deg=orientation_step_deg, progress=progress,
    )  # fmt: skip

    if pv_model not in pv.PV_MODELS:
        raise ValueError(f"solar_potential: pv_model must be one of {pv.PV_MODELS}, not {pv_model!r}")
    threshold = (
        float(min_kwh_m2_year) if min_kwh_m2_year is not None else float(min_irradiation_frac) * clim.annual_kwh_m2("ghi")
    )
    if pv_model == "plateau":
        performance_ratio = pv.PLATEAU_FACTOR if performance_ratio is None else float(performance_ratio)
        pr_month = np.full((len(faces), 12), performance_ratio)
        pv_description = f"PLATEAU SolarPotential form E = P x H x {performance_ratio:g}"
    else:
        if performance_ratio is not None:
            raise ValueError("solar_potential: performance_ratio= applies to pv_model='plateau' only")
        pr_month = pv.monthly_performance_ratio(
            faces["panel_tilt_deg"].to_numpy(dtype=float), faces["panel_azimuth_deg"].to_numpy(dtype=float), clim,
            albedo=albedo, model=model,
        )  # fmt: skip
        pv_description = (
            f"pvlib PVWatts: physical IAM, {pv.TEMPERATURE_MODEL} cell temperature, gamma_pdc {pv.GAMMA_PDC:g}/C, "
            f"losses {pv.system_losses_pct():.1f} % (no shading term), inverter {pv.ETA_INV_NOM:g}"
        )
    faces_out = _face_results(faces, table, pv_density_kw_m2, coverage, pr_month, threshold)
    buildings_out = _building_results(buildings, faces_out)
    if "source_file" not in faces_out.columns and "source_file" in buildings_out.columns:
        # the map credit names the dataset year from the source file, for faces as for buildings
        source_of = dict(zip(buildings_out["building_key"], buildings_out["source_file"]))
        faces_out["source_file"] = faces_out["building_key"].map(source_of)
    pts = None
    if keep_points and points is not None:
        face_id = faces_out["face_id"].to_numpy()[points["face_pos"].to_numpy(dtype=np.int64)] if len(points) else []
        key = faces_out["building_key"].to_numpy()[points["face_pos"].to_numpy(dtype=np.int64)] if len(points) else []
        pts = gpd.GeoDataFrame(
            points.drop(columns=["face_pos"]).assign(face_id=face_id, building_key=key),
            geometry=gpd.points_from_xy(points["x"], points["y"], points["z"]),
            crs=faces.crs,
        )
    params = {
        "spacing_m": spacing_m, "sun_binning": sun_binning, "model": model, "albedo": albedo,
        "svf_rays": svf_rays, "neighbour_radius_m": neighbour_radius_m, "shading": bool(scene is not None),
        "orientation_step_deg": orientation_step_deg,
        "pv_density_kw_m2": pv_density_kw_m2, "coverage": coverage, "pv_model": pv_model,
        "pv_description": pv_description, "performance_ratio": performance_ratio, "min_kwh_m2_year": threshold,
        "climate_source": clim.source,
        "climate_approximate": bool(clim.approximate), "rays_cast": int(table.attrs.get("rays_cast", 0)),
    }  # fmt: skip
    params.update(context)
    params["provenance"] = _provenance(clim, params, buildings)
    for gdf in (faces_out, buildings_out):
        gdf.attrs["solar_parameters"] = params
        gdf.attrs["provenance"] = params["provenance"]
    hourly_kwh = None
    if hourly is not None and hourly is not False:
        from numazu_geo.solar.hourly import building_hourly_pv

        hourly_kwh = building_hourly_pv(faces_out, samples, scene, clim, hourly, params, progress=progress)
    return SolarResult(buildings_out, faces_out, pts, clim, params, hourly_kwh)


def _provenance(clim: Climate, params: dict, buildings) -> dict:
    """Provenance of a run (:mod:`numazu_geo.provenance`); the emission factor is added by
    ``numazu_geo.co2.add_avoided_co2`` (its ``attrs["co2_factor"]``)."""
    from numazu_geo.provenance import run_date, software

    meta = dict(getattr(clim, "meta", {}) or {})
    credits = []
    src = (getattr(buildings, "attrs", {}) or {}).get("data_credit") if buildings is not None else None
    if src:
        credits.extend([src] if isinstance(src, str) else list(src))
    credits.extend(meta.get("data_credit") or [])
    station = meta.get("station")
    if station:  # short form for map captions (numazu_geo.maps.credits reads "climate" and "model")
        name = station.split(" (")[0]
        sid = meta.get("station_id", "")
        short_climate = f"JMA normals 1991-2020, station {name} {sid} at {float(meta.get('station_distance_km', 0)):.1f} km"
    else:
        short_climate = clim.source
    prov = {
        "climate": short_climate,
        "model": f"numazu-geo, PV {params.get('pv_model', 'plateau')}",
        "climate_source": clim.source,
        "climate_approximate": bool(clim.approximate),
        "climate_station": meta.get("station"),
        "climate_station_distance_km": meta.get("station_distance_km"),
        "weather_site_distance_km": getattr(clim, "site_distance_km", None),
        "pv_model": params.get("pv_model", "plateau"),
        "pv_description": params.get("pv_description", ""),
        "terrain": params.get("terrain_source"),
        "vegetation": params.get("vegetation_source"),
        "run_date": run_date(),
        "software": software(),
        "data_credit": credits,
    }
    return {k: v for k, v in prov.items() if v is not None}


def _face_results(faces, table, density, coverage, pr_month, threshold) -> gpd.GeoDataFrame:
    out = faces.copy()
    for col in table.columns:
        out[col] = table[col].to_numpy()
    computed = out["n_points"].to_numpy() > 0
    area = np.where(computed, np.nan_to_num(out["area_m2"].to_numpy(dtype=float)), 0.0)
    h_year = out["kwh_m2_year"].to_numpy(dtype=float)
    viable = computed & (np.nan_to_num(h_year) >= threshold)
    out["usable_area_m2"] = area
    out["viable"] = viable
    reason = out["reason"].astype(object).to_numpy().copy() if "reason" in out else np.full(len(out), "", object)
    low = computed & ~viable
    reason[low] = [f"annual irradiation {h:.0f} kWh/m2 below the viability threshold {threshold:.0f}" for h in h_year[low]]
    out["reason"] = reason
    out["viable_area_m2"] = np.where(viable, area, 0.0)
    out["kw"] = pv.pv_capacity_kw(out["viable_area_m2"].to_numpy(), density_kw_m2=density, coverage=coverage)
    h_month = out[MONTH_COLUMNS].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        sy = np.nansum(h_month * pr_month, axis=1) / pv.STC_IRRADIANCE_KW_M2
    sy = np.where(computed & np.isfinite(h_year), sy, np.nan)
    out["specific_yield_kwh_kwp"] = sy
    with np.errstate(invalid="ignore", divide="ignore"):
        out["performance_ratio"] = np.where(h_year > 0, sy / h_year, np.nan)
    out["kwh_year"] = out["kw"].to_numpy() * np.nan_to_num(sy)
    return out


def _building_results(buildings, faces: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    f = pd.DataFrame(faces.drop(columns=faces.geometry.name))
    codes, keys = pd.factorize(f["building_key"].astype(object), use_na_sentinel=False)
    n = len(keys)

    def gsum(values):
        return np.bincount(codes, weights=np.asarray(values, dtype=float), minlength=n)

    w = f["usable_area_m2"].to_numpy(dtype=float)

    def wmean(col):
        v = f[col].to_numpy(dtype=float)
        ok = np.isfinite(v)
        den = gsum(np.where(ok, w, 0.0))
        num = gsum(np.where(ok, v * w, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    agg = pd.DataFrame({"building_key": pd.Series(np.asarray(keys, dtype=object), dtype=object)})
    agg["n_faces"] = np.bincount(codes, minlength=n)
    agg["n_usable_faces"] = gsum(w > 0)
    agg["roof_area_m2"] = gsum(np.nan_to_num(f["area_m2"].to_numpy(dtype=float)))
    agg["usable_area_m2"] = gsum(w)
    agg["viable_area_m2"] = gsum(np.nan_to_num(f["viable_area_m2"].to_numpy(dtype=float)))
    agg["n_viable_faces"] = gsum(f["viable"].to_numpy(dtype=bool))
    for col in ["kwh_m2_year", *MONTH_COLUMNS, "unshaded_kwh_m2_year", "sky_view_factor"]:
        agg[col] = wmean(col)
    shaded = gsum(np.nan_to_num(f["kwh_m2_year"].to_numpy(dtype=float)) * w)
    unshaded = gsum(np.nan_to_num(f["unshaded_kwh_m2_year"].to_numpy(dtype=float)) * w)
    with np.errstate(invalid="ignore", divide="ignore"):
        agg["shading_loss"] = np.where(unshaded > 0, np.clip(1.0 - shaded / np.where(unshaded > 0, unshaded, 1), 0, 1), np.nan)
    for col in ("kw", "kwh_year"):
        agg[col] = gsum(np.nan_to_num(f[col].to_numpy(dtype=float)))
    kwh_poa = gsum(np.nan_to_num(f["kw"].to_numpy(dtype=float) * f["kwh_m2_year"].to_numpy(dtype=float)))
    with np.errstate(invalid="ignore", divide="ignore"):
        agg["specific_yield_kwh_kwp"] = np.where(agg["kw"] > 0, agg["kwh_year"] / agg["kw"].where(agg["kw"] > 0, 1), np.nan)
        agg["performance_ratio"] = np.where(kwh_poa > 0, agg["kwh_year"] / np.where(kwh_poa > 0, kwh_poa, 1), np.nan)
    agg["viable"] = agg["n_viable_faces"].to_numpy() > 0
    reason = np.full(n, "", dtype=object)
    empty = np.nonzero(agg["usable_area_m2"].to_numpy() <= 0)[0]
    if len(empty):
        sub = f[np.isin(codes, empty)].assign(_code=codes[np.isin(codes, empty)])
        sub = sub[sub["reason"].astype(str) != ""]
        top = sub.groupby("_code")["reason"].agg(lambda r: r.astype(str).value_counts().index[0]) if len(sub) else {}
        for c in empty:
            reason[c] = f"no usable roof faces ({top.get(c, 'no sample points') if len(sub) else 'no sample points'})"
    low = np.nonzero((agg["usable_area_m2"].to_numpy() > 0) & ~agg["viable"].to_numpy())[0]
    for c in low:
        reason[c] = "no viable roof faces (annual irradiation below the viability threshold)"
    agg["reason"] = reason
    if buildings is None:
        geom = faces.geometry.apply(lambda g: shapely.force_2d(g) if g is not None else None)
        foot = gpd.GeoDataFrame({"building_key": faces["building_key"].to_numpy()}, geometry=geom.values, crs=faces.crs)
        foot = foot[~foot.geometry.isna()]
        foot = foot.dissolve("building_key", as_index=False) if len(foot) else foot
        first = f.groupby("building_key", sort=False, dropna=False)[["gml_id", "building_id"]].first().reset_index()
        base = first.merge(foot, on="building_key", how="left")
        base = gpd.GeoDataFrame(base, geometry="geometry", crs=faces.crs)
    else:
        base = buildings.copy()
        base.insert(0, "building_key", _building_key(base).to_numpy())
        base = base.drop(columns=[c for c in agg.columns if c in base.columns and c != "building_key"])
    out = base.merge(agg, on="building_key", how="left")
    out = gpd.GeoDataFrame(out, geometry=base.geometry.name, crs=base.crs)
    for col in ("kw", "kwh_year", "roof_area_m2", "usable_area_m2", "viable_area_m2"):
        out[col] = out[col].astype(float).fillna(0.0)
    for col in ("n_faces", "n_usable_faces", "n_viable_faces"):
        out[col] = out[col].fillna(0).astype(int)
    out["viable"] = out["viable"].astype("boolean").fillna(False).astype(bool)
    out["reason"] = out["reason"].astype(object).where(out["reason"].notna(), "no roof surfaces")
    out.attrs = dict(getattr(buildings, "attrs", {}) or {})
    return out
