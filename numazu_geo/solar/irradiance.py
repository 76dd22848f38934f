"""Plane-of-array irradiance by component, vectorised over many planes at once.

:func:`poa_components` evaluates pvlib's transposition models for F planes and T timestamps in one
broadcast call and keeps the parts apart, because shading treats them differently:

========================  ===================================================================
``beam``                  direct beam on the plane, ``DNI * max(cos AOI, 0)``: shaded with the sun
``circumsolar``           Perez/Hay-Davies circumsolar diffuse: comes from around the sun, so it
                          is shaded with the sun (treated as beam-like)
``isotropic``             isotropic sky diffuse: scaled by the point's sky view factor
``horizon``               Perez horizon-brightening band: scaled by the sky view factor (the band
                          is near the horizon, where neighbours stand, so this is optimistic
                          rather than pessimistic where streets are narrow)
``ground``                ground-reflected, ``GHI * albedo * (1 - cos tilt) / 2``: not shaded
========================  ===================================================================

Their sum equals ``pvlib.irradiance.get_total_irradiance(...)['poa_global']`` for the same
inputs (tested), so an unobstructed plane gets exactly pvlib's answer.

References
----------
Perez, R., Ineichen, P., Seals, R., Michalsky, J., Stewart, R. (1990). Modeling daylight
availability and irradiance components from direct and global irradiance. Solar Energy 44(5),
271-289. Hay, J.E. & Davies, J.A. (1980). Calculation of the solar radiation incident on an
inclined surface. Proc. First Canadian Solar Radiation Data Workshop, 59-72.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Ground albedo: pvlib 0.16 ``pvlib.albedo.SURFACE_ALBEDOS['urban']`` (0.18). PLATEAU
#: SolarPotential uses 0.1 (0.7 with snow). See ``data/solar_defaults.csv``.
ALBEDO = 0.18

#: Default transposition model: Perez et al. 1990 (pvlib ``allsitescomposite1990`` coefficients).
TRANSPOSITION_MODEL = "perez"

MODELS = ("perez", "haydavies", "isotropic")

COMPONENTS = ("beam", "circumsolar", "isotropic", "horizon", "ground")


def _row(x) -> np.ndarray:
    return np.asarray(x, dtype=float).reshape(1, -1)


def poa_components(
    surface_tilt_deg,
    surface_azimuth_deg,
    solar_zenith_deg,
    solar_azimuth_deg,
    dni,
    ghi,
    dhi,
    dni_extra,
    airmass=None,
    *,
    albedo: float = ALBEDO,
    model: str = TRANSPOSITION_MODEL,
) -> dict[str, np.ndarray]:
    """Irradiance components (W/m2) on F planes for T timestamps: dict of (F, T) arrays.

    Parameters
    ----------
    surface_tilt_deg, surface_azimuth_deg : (F,) plane tilt from horizontal and azimuth
        (0 = north, clockwise).
    solar_zenith_deg, solar_azimuth_deg : (T,) sun position (use the apparent zenith).
    dni, ghi, dhi : (T,) irradiance in W/m2.
    dni_extra : (T,) extraterrestrial normal irradiance (``pvlib.irradiance.get_extra_radiation``).
    airmass : (T,) relative airmass; default ``pvlib.atmosphere.get_relative_airmass(zenith)``
        (what ``get_total_irradiance`` uses for Perez).
    albedo : ground reflectance.
    model : ``"perez"`` (default), ``"haydavies"`` or ``"isotropic"``.

    Returns
    -------
    dict with keys ``beam``, ``circumsolar``, ``isotropic``, ``horizon``, ``ground``.
    """
    import pvlib

    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, not {model!r}")
    tilt = np.asarray(surface_tilt_deg, dtype=float).reshape(-1, 1)
    azim = np.asarray(surface_azimuth_deg, dtype=float).reshape(-1, 1)
    zen, saz = _row(solar_zenith_deg), _row(solar_azimuth_deg)
    dni, ghi, dhi, extra = _row(dni), _row(ghi), _row(dhi), _row(dni_extra)
    if airmass is None:
        airmass = pvlib.atmosphere.get_relative_airmass(zen.ravel())
    am = _row(airmass)

    cos_aoi = pvlib.irradiance.aoi_projection(tilt, azim, zen, saz)
    beam = np.maximum(dni * np.maximum(cos_aoi, 0.0), 0.0)
    ground = ghi * albedo * (1.0 - np.cos(np.radians(tilt))) * 0.5
    shape = np.broadcast_shapes(tilt.shape, zen.shape)
    zeros = np.zeros(shape)
    if model == "perez":
        with np.errstate(invalid="ignore", divide="ignore"):
            comp = pvlib.irradiance.perez(
                tilt, azim, dhi, dni, extra, zen, saz, am, return_components=True
            )
        iso = np.nan_to_num(np.broadcast_to(comp["poa_isotropic"], shape))
        circ = np.nan_to_num(np.broadcast_to(comp["poa_circumsolar"], shape))
        hor = np.nan_to_num(np.broadcast_to(comp["poa_horizon"], shape))
        total = np.nan_to_num(np.broadcast_to(comp["poa_sky_diffuse"], shape))
        # pvlib clips the sky diffuse sum at 0 (negative horizon term at low sun on steep planes);
        # keep the clipped total, taking the shortfall from the horizon term
        hor = hor + (total - (iso + circ + hor))
    elif model == "haydavies":
        with np.errstate(invalid="ignore", divide="ignore"):
            comp = pvlib.irradiance.haydavies(
                tilt, azim, dhi, dni, extra, zen, saz, return_components=True
            )
        iso = np.nan_to_num(np.broadcast_to(comp["poa_isotropic"], shape))
        circ = np.nan_to_num(np.broadcast_to(comp["poa_circumsolar"], shape))
        hor = zeros
    else:
        iso = np.broadcast_to(dhi * (1.0 + np.cos(np.radians(tilt))) * 0.5, shape)
        circ = zeros
        hor = zeros
    return {
        "beam": np.broadcast_to(beam, shape),
        "circumsolar": circ,
        "isotropic": iso,
        "horizon": hor,
        "ground": np.broadcast_to(ground, shape),
    }


def poa_global(*args, **kwargs) -> np.ndarray:
    """Sum of :func:`poa_components` (W/m2, (F, T)): the unshaded plane-of-array irradiance."""
    comp = poa_components(*args, **kwargs)
    return sum(comp[k] for k in COMPONENTS)


def climate_inputs(climate) -> pd.DataFrame:
    """Per-timestamp inputs of the transposition models for a :class:`Climate`:
    ``zenith`` (apparent), ``azimuth``, ``elevation`` (apparent), ``dni``, ``ghi``, ``dhi``,
    ``dni_extra``, ``airmass``, ``weight_h``. Beam from a sun below the horizon is set to 0."""
    import pvlib

    pos = climate.solar_position()
    data = climate.data
    zen = pos["apparent_zenith"].to_numpy(dtype=float)
    elev = pos["apparent_elevation"].to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "zenith": zen,
            "azimuth": pos["azimuth"].to_numpy(dtype=float),
            "elevation": elev,
            "dni": np.where(elev > 0, data["dni"].to_numpy(dtype=float), 0.0),
            "ghi": data["ghi"].to_numpy(dtype=float),
            "dhi": data["dhi"].to_numpy(dtype=float),
            "dni_extra": np.asarray(pvlib.irradiance.get_extra_radiation(climate.times), dtype=float),
            "weight_h": data["weight_h"].to_numpy(dtype=float),
        },
        index=climate.times,
    )
    out["airmass"] = np.asarray(pvlib.atmosphere.get_relative_airmass(zen), dtype=float)
    return out
