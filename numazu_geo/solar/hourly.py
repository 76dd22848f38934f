"""Hourly PV output of chosen buildings, consistent with the annual result.

The annual pipeline (:func:`~numazu_geo.solar.potential.roof_irradiance`) sums irradiation per
month and per sun bin, which is all an annual or monthly figure needs and keeps the annual path
fast. For an energy balance (:mod:`numazu_geo.energy`) a building needs its output for every hour
of the climate year; this module recomputes it for the chosen buildings only, with the same
decomposition:

* beam + circumsolar of each timestamp x the share of the face's sample points that see the
  direction of the sun bin the timestamp falls in (the same rays, the same bins as the annual
  run; circumsolar light outside the sun rows counts as diffuse, as there);
* isotropic + horizon diffuse x the face's area-weighted sky view factor;
* ground-reflected light unshaded.

Summed over the year this is exactly the face's ``kwh_m2_year`` of the annual run: the same
linear sums in another order, with each tile's scene cut as the annual run cuts it (the
triangles within the neighbour radius of the tile's square). AC energy per hour comes from the
PV model the result used (:func:`monthly_ratio` and :func:`ac_kwh`, the one place to extend when
another PV model lands).

Memory: one float64 per building and timestamp (70 kB per building for 8,760 hours).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from numazu_geo.solar import irradiance as irr
from numazu_geo.solar import pv

log = logging.getLogger(__name__)

#: Faces per chunk when building hourly (faces x timestamps) arrays (~70 MB per component).
CHUNK_FACES = 128
#: Largest hourly table (bytes) built without being asked by name: 2 GB (numazu-geo choice, a
#: quarter of a small 8 GB machine; ~28,000 buildings x 8,760 h). Above it, ``hourly=True`` asks
#: for the buildings to be named (or ``max_bytes=`` raised).
HOURLY_MAX_BYTES = 2_000_000_000
#: PV models :func:`ac_kwh` knows. "plateau": AC = kW x POA (kWh/m2 per hour) x factor K (JIS C
#: 8907 form, MLIT PLATEAU SolarPotential); "pvwatts": AC = kW x POA x the face's monthly
#: performance ratio of the pvlib PVWatts chain (``pv.monthly_performance_ratio``), the same
#: ratio the annual yield applies to the shaded monthly irradiation (see :mod:`numazu_geo.solar.pv`).
PV_MODELS = ("plateau", "pvwatts")


def _plateau_factor(parameters: dict) -> float:
    for key in ("performance_ratio", "plateau_factor"):
        if parameters.get(key) is not None:
            return float(parameters[key])
    return float(getattr(pv, "PLATEAU_FACTOR", pv.PERFORMANCE_RATIO))


def monthly_ratio(parameters: dict, climate, tilt_deg, azimuth_deg) -> np.ndarray:
    """(F, 12) performance ratio per face and month of the result's PV model."""
    model = parameters.get("pv_model", "plateau")
    n = len(np.atleast_1d(tilt_deg))
    if model == "plateau":
        return np.full((n, 12), _plateau_factor(parameters))
    if model == "pvwatts":
        ratio = getattr(pv, "monthly_performance_ratio", None)
        if ratio is None:
            raise NotImplementedError("pv_model='pvwatts' needs numazu_geo.solar.pv.monthly_performance_ratio")
        return np.asarray(ratio(tilt_deg, azimuth_deg, climate, albedo=parameters.get("albedo"),
                                model=parameters.get("model")), dtype=float)  # fmt: skip
    raise NotImplementedError(
        f"hourly PV output is not implemented for pv_model={model!r} (known: {PV_MODELS}); "
        "see numazu_geo.solar.hourly.ac_kwh"
    )


def ac_kwh(kw, poa_kwh_m2, pr_month, months) -> np.ndarray:
    """AC energy per face and timestamp (kWh), (F, T), from hourly plane-of-array irradiation.

    ``poa_kwh_m2`` (F, T): shaded POA irradiation of each timestamp (kWh/m2); ``kw`` (F,): the
    faces' capacity; ``pr_month`` (F, 12): the PV model's performance ratio per face and month
    (:func:`monthly_ratio`); ``months`` (T,): month 1-12 of each timestamp. The single place where
    hourly output follows the annual result's PV model (``kwh_year = kW x sum_m H_m x PR_m``), so
    the hours sum to the annual yield. NaN ratios (months without light) count as 0.
    """
    pr = np.nan_to_num(np.asarray(pr_month, dtype=float))[:, np.asarray(months, dtype=np.int64) - 1]
    return np.nan_to_num(np.asarray(kw, dtype=float))[:, None] * np.asarray(poa_kwh_m2, dtype=float) * pr


def _select_buildings(faces, hourly) -> list:
    keys = pd.unique(faces["building_key"].astype(object)) if len(faces) else []
    if hourly is True:
        return list(keys)
    if isinstance(hourly, (str, bytes)) or not hasattr(hourly, "__iter__"):
        hourly = [hourly]
    want = list(dict.fromkeys(hourly))
    return want


def face_hourly_poa(
    faces,
    samples,
    scene,
    climate,
    *,
    albedo: float = irr.ALBEDO,
    model: str = irr.TRANSPOSITION_MODEL,
    sun_binning: str | None = "tregenza",
    svf_rays: int | None = None,
    inputs: pd.DataFrame | None = None,
    bins=None,
    progress: bool = False,
) -> np.ndarray:
    """Shaded plane-of-array irradiation (kWh/m2) of each face in each timestamp: (F, T).

    ``faces`` and ``samples`` (positional ``samples.face_index`` into ``faces``) as for
    :func:`~numazu_geo.solar.potential.roof_irradiance`; ``scene`` a ready
    :class:`~numazu_geo.solar.shading.ShadingScene` (used as given) or None (unshaded);
    ``inputs``/``bins``: the climate's :func:`irradiance.climate_inputs` and
    :func:`~numazu_geo.solar.potential.sun_bins`, computed when not given. Faces without sample
    points get 0. Each timestamp's value is irradiance x ``weight_h`` / 1000.
    """
    from numazu_geo.solar.potential import point_sky, sun_bins
    from numazu_geo.solar.shading import DEFAULT_SVF_RAYS

    svf_rays = DEFAULT_SVF_RAYS if svf_rays is None else svf_rays
    inputs = irr.climate_inputs(climate) if inputs is None else inputs
    bins = sun_bins(inputs, sun_binning) if bins is None else bins
    n_t = len(inputs)
    w = inputs["weight_h"].to_numpy() / 1000.0
    active = np.nonzero(((inputs["ghi"].to_numpy() > 0) | (inputs["dni"].to_numpy() > 0)) & (w > 0))[0]
    sun_pos = np.searchsorted(active, bins.hour_rows)
    in_active = (sun_pos < len(active)) & (active[np.minimum(sun_pos, max(len(active) - 1, 0))] == bins.hour_rows)
    sun_cols = sun_pos[in_active]  # columns of ``active`` that are sun rows
    sun_dir = bins.bin_dir[bins.hour_bin[in_active]]  # direction index of each of those columns
    sub = inputs.iloc[active]

    fi = np.asarray(samples.face_index, dtype=np.int64)
    xyz = np.asarray(samples.xyz, dtype=float)
    nrm = np.asarray(getattr(samples, "panel_normal", samples.normal), dtype=float)
    parea = np.asarray(samples.area_m2, dtype=float)
    n_faces = len(faces)
    out = np.zeros((n_faces, n_t))
    sampled = np.unique(fi)
    if len(sampled) == 0 or len(active) == 0:
        return out

    # per point: which sun directions it sees, and its sky view factor (the annual run's rays)
    vis, svf = point_sky(scene, xyz, nrm, bins.directions, svf_rays=svf_rays)
    wgt = np.where(np.isfinite(xyz).all(axis=1), parea, 0.0)
    wsum = np.bincount(fi, weights=wgt, minlength=n_faces)
    safe = np.where(wsum > 0, wsum, 1.0)
    face_svf = np.bincount(fi, weights=wgt * svf, minlength=n_faces) / safe
    face_vis = np.zeros((n_faces, vis.shape[1]))
    np.add.at(face_vis, fi, vis * wgt[:, None])
    face_vis /= safe[:, None]

    tilt = faces["panel_tilt_deg"].to_numpy(dtype=float)
    azim = faces["panel_azimuth_deg"].to_numpy(dtype=float)
    sampled = sampled[(wsum[sampled] > 0) & np.isfinite(tilt[sampled]) & np.isfinite(azim[sampled])]
    wa = w[active]
    not_sun = np.ones(len(active), bool)
    not_sun[sun_cols] = False
    for s in tqdm(range(0, len(sampled), CHUNK_FACES), desc="hourly PV", unit="chunk", disable=not progress):
        fl = sampled[s : s + CHUNK_FACES]
        comp = irr.poa_components(
            tilt[fl], azim[fl], sub["zenith"], sub["azimuth"], sub["dni"], sub["ghi"], sub["dhi"],
            sub["dni_extra"], sub["airmass"], albedo=albedo, model=model,
        )  # fmt: skip
        beam_like = comp["beam"] + comp["circumsolar"]
        shade = np.ones((len(fl), len(active)))
        shade[:, sun_cols] = face_vis[fl][:, sun_dir]
        diffuse = comp["isotropic"] + comp["horizon"] + beam_like * not_sun  # as in face_basis
        poa = (beam_like * (~not_sun) * shade + face_svf[fl, None] * diffuse + comp["ground"]) * wa
        out[np.ix_(fl, active)] = poa
    return out


def _subset(samples, face_pos, n_faces):
    """RoofSamples of the faces at ``face_pos``, re-indexed 0..len(face_pos)-1 in that order."""
    from numazu_geo.solar.roofs import RoofSamples

    fi = np.asarray(samples.face_index, dtype=np.int64)
    remap = np.full(n_faces, -1, dtype=np.int64)
    remap[face_pos] = np.arange(len(face_pos))
    m = remap[fi] >= 0
    return RoofSamples(
        samples.xyz[m], samples.normal[m], remap[fi[m]], samples.area_m2[m],
        getattr(samples, "panel_normal", samples.normal)[m], samples.spacing_m,
    )  # fmt: skip


def _tile_scenes(faces, samples, scene, chosen, neighbour_radius_m):
    """``(face positions, scene)`` per tile holding chosen faces, each scene cut as the annual run
    (:func:`~numazu_geo.solar.potential.roof_irradiance`) cuts it, so the rays are the same."""
    from numazu_geo.solar import potential as pot

    tiles = pot.face_tiles(faces, samples, pot.TILE_SIZE_M)
    per_tile = isinstance(scene, pot.SceneTriangles)
    if per_tile and neighbour_radius_m is None:
        scene, per_tile = scene.around((0.0, 0.0, 0.0, 0.0), np.inf).build(), False
    use_subset = (
        not per_tile and neighbour_radius_m is not None and scene is not None
        and getattr(scene, "n_triangles", 0) > pot.SUBSET_MIN_TRIANGLES and len(tiles) > 1
    )  # fmt: skip
    for key in sorted(tiles):
        sel = tiles[key][np.isin(tiles[key], chosen)]
        if not len(sel):
            continue
        sc = scene
        if per_tile:
            x0, y0 = key[0] * pot.TILE_SIZE_M, key[1] * pot.TILE_SIZE_M
            sc = scene.around((x0, y0, x0 + pot.TILE_SIZE_M, y0 + pot.TILE_SIZE_M), neighbour_radius_m).build()
        elif use_subset:
            tf = pot.tile_faces(faces, samples, tiles[key])
            first = tf.xyz[tf.point_face < pot.CHUNK_FACES]
            sc = scene.subset_around((first[:, 0].min(), first[:, 1].min(), first[:, 0].max(), first[:, 1].max()),
                                     neighbour_radius_m)  # fmt: skip
        yield sel, sc


def building_hourly_pv(faces, samples, scene, climate, hourly, parameters: dict, *, progress: bool = False,
                       max_bytes: int = HOURLY_MAX_BYTES) -> pd.DataFrame:
    """Hourly AC energy (kWh) of the buildings ``hourly`` names (True: all): timestamps x buildings.

    ``faces`` is the annual result's face table (``building_key``, ``kw``, panel angles),
    ``samples`` its sample points (``face_index`` positional into ``faces``) and ``scene`` the
    shading scene the annual run used. Index: the climate's timestamps (Asia/Tokyo, mid-interval);
    columns: ``building_key``. ``attrs`` records the PV model, climate and unit.
    """
    keys = _select_buildings(faces, hourly)
    need = 8 * len(keys) * len(climate.times)
    if need > max_bytes:
        raise MemoryError(
            f"hourly PV for {len(keys):,} buildings x {len(climate.times):,} timestamps needs {need / 1e9:.1f} GB "
            f"(limit {max_bytes / 1e9:.1f} GB): name the buildings (hourly=[ids]) or run per mesh"
        )
    known = set(faces["building_key"].astype(object)) if len(faces) else set()
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise KeyError(
            f"hourly PV: {len(unknown)} building(s) not in the result's roof faces: {unknown[:5]} "
            "(use building_key values: building_id, else gml_id)"
        )
    from numazu_geo.solar.potential import sun_bins

    face_key = faces["building_key"].astype(object).to_numpy()
    idx = np.nonzero(np.isin(face_key, np.asarray(keys, dtype=object)))[0]
    sub_faces = faces.iloc[idx]
    inputs = irr.climate_inputs(climate)
    bins = sun_bins(inputs, parameters.get("sun_binning", "tregenza"))
    poa = np.zeros((len(idx), len(inputs)))
    row_of = np.full(len(faces), -1, dtype=np.int64)
    row_of[idx] = np.arange(len(idx))
    for sel, sc in _tile_scenes(faces, samples, scene, idx, parameters.get("neighbour_radius_m")):
        poa[row_of[sel]] = face_hourly_poa(
            faces.iloc[sel], _subset(samples, sel, len(faces)), sc, climate,
            albedo=parameters.get("albedo", irr.ALBEDO), model=parameters.get("model", irr.TRANSPOSITION_MODEL),
            svf_rays=parameters.get("svf_rays"), inputs=inputs, bins=bins, progress=progress,
        )  # fmt: skip
    kw = np.where(sub_faces["n_points"].to_numpy() > 0, sub_faces["kw"].to_numpy(dtype=float), 0.0)
    pr_month = monthly_ratio(parameters, climate, sub_faces["panel_tilt_deg"].to_numpy(dtype=float),
                             sub_faces["panel_azimuth_deg"].to_numpy(dtype=float))  # fmt: skip
    face_ac = ac_kwh(kw, poa, pr_month, climate.times.month)
    codes = pd.Index(keys).get_indexer(face_key[idx])
    by_building = np.zeros((len(keys), face_ac.shape[1]))
    np.add.at(by_building, codes, face_ac)
    out = pd.DataFrame(by_building.T, index=climate.times, columns=pd.Index(keys, dtype=object, name="building_key"))
    out.attrs.update(
        unit="kWh AC per timestamp", pv_model=parameters.get("pv_model", "plateau"),
        climate_source=climate.source, climate_approximate=bool(climate.approximate),
    )  # fmt: skip
    return out


def hourly_pv(result, buildings=True, *, solids=None, scene=None, terrain=None, progress: bool = False) -> pd.DataFrame:
    """Hourly AC output of ``buildings`` (keys, or True for all) of an existing SolarResult.

    The follow-up form of ``solar_potential(..., hourly=...)``: the roof samples are redrawn from
    ``result.faces`` with the run's spacing and, when the run was shaded, the scene is rebuilt from
    ``solids`` (and ``terrain``: pass the terrain and tree triangles the run used) or taken from
    ``scene``; the same triangles give the same hours.
    """
    from numazu_geo.solar.roofs import sample_points

    params = dict(result.parameters)
    if params.get("shading") and scene is None:
        if solids is None:
            raise ValueError(
                "hourly_pv: the result was computed with shading; pass solids= (read_solids) or scene= "
                "so the hourly output is shaded the same way (or use solar_potential(..., hourly=...))"
            )
        from numazu_geo.solar.potential import SceneTriangles

        scene = SceneTriangles.from_solids(solids, terrain=terrain)  # cut per tile, as the annual run does
    faces = result.faces.reset_index(drop=True)
    samples = sample_points(faces, params.get("spacing_m", 1.0))
    return building_hourly_pv(faces, samples, scene if params.get("shading") else None, result.climate, buildings,
                              params, progress=progress)  # fmt: skip
