"""PV capacity and yield from roof area and plane-of-array irradiation.

Two PV models (``solar_potential(..., pv_model=...)``):

``"pvwatts"`` (default): a temperature-aware chain built from pvlib, evaluated hour by hour for
    each panel orientation on the unshaded plane:

    1. plane-of-array irradiance by component (:func:`~numazu_geo.solar.irradiance.poa_components`);
    2. incidence-angle losses: ``pvlib.iam.physical`` on beam and circumsolar light, and its
       Marion (2017) integrals ``pvlib.iam.marion_diffuse`` on sky, horizon and ground light;
    3. cell temperature: ``pvlib.temperature.sapm_cell`` with the SAPM open-rack parameters for
       glass/polymer-backsheet modules (King et al. 2004), from the climate's air temperature and
       wind: residential roofs carry panels on rails with an air gap behind them. Cross-checked
       against the PVWatts v5 roof-mount model (``pvlib.temperature.fuentes``, INOCT 49 C; Dobos
       2014): at Numazu, 30 deg south, the yield differs by 0.6 %. ``temperature_model="fuentes"``
       runs that model itself (a scalar time-stepping loop, about 0.4 s per orientation);
    4. DC power: ``pvlib.pvsystem.pvwatts_dc`` with temperature coefficient ``gamma_pdc``;
    5. system losses: ``pvlib.pvsystem.pvwatts_losses`` with its shading term set to 0 (shading
       is modelled by ray casting here), each term from ``data/solar_defaults.csv`` (PVWatts v5
       defaults, availability 3 % included: 11.4 %);
    6. AC power: ``pvlib.inverter.pvwatts`` (nominal efficiency 0.96; inverter sized to the array).

    The chain gives a monthly performance ratio ``PR_m = AC / (P_stc * H_poa)`` per orientation,
    which multiplies each face's *shaded* monthly irradiation: ``E = P * sum_m H_m * PR_m``.
    (Approximation: within a month, shading is assumed not to change the hourly mix of
    irradiance levels and temperatures that the ratio was computed on.)

``"plateau"``: PLATEAU SolarPotential's ``E = P * H * 0.88`` (JIS C 8907 form with K = 0.88 and
    no temperature factor), so a city can compare with MLIT's published results.

Capacity in both: ``P = area * 0.8 * 0.167 kW/m2``. Every default is listed with its source in
``data/solar_defaults.csv``.

References
----------
Dobos, A.P. (2014). PVWatts Version 5 Manual. NREL/TP-6A20-62641. Fuentes, M.K. (1987). A simplified
thermal model for flat-plate photovoltaic arrays. SAND85-0330. King, D.L., Boyson, W.E.,
Kratochvil, J.A. (2004). Photovoltaic Array Performance Model. SAND2004-3535. Marion, B. (2017).
Numerical method for angle-of-incidence correction factors for diffuse radiation incident
photovoltaic modules. Solar Energy 147, 344-348.
"""

from __future__ import annotations

import csv
import functools

import numpy as np

from numazu_geo.paths import data_path


@functools.lru_cache(maxsize=1)
def solar_defaults() -> dict[str, str]:
    """``data/solar_defaults.csv`` as ``{name: value}`` (strings)."""
    with open(data_path("solar_defaults.csv"), encoding="utf-8") as fh:
        return {row["name"]: row["value"] for row in csv.DictReader(fh)}


def _default(name: str) -> float:
    return float(solar_defaults()[name])


#: Panel capacity per m2 of panel area: 0.167 kW/m2 (MLIT PLATEAU SolarPotential UC22-013, 2022;
#: MoE REPOS national study 0.166-0.167 kW/m2).
PV_DENSITY_KW_M2 = _default("pv_density_kw_m2")

#: Share of the usable roof area covered by panels: 80 % (MLIT PLATEAU SolarPotential, 2022).
COVERAGE_RATIO = _default("coverage_ratio")

#: PLATEAU SolarPotential's basic design coefficient K' = 0.88 (JIS C 8907 form; as MoE REPOS uses),
#: applied with no temperature factor in ``pv_model="plateau"``.
PLATEAU_FACTOR = _default("plateau_design_factor")
#: Kept for callers of earlier versions: the PLATEAU factor.
PERFORMANCE_RATIO = PLATEAU_FACTOR

#: PVWatts DC temperature coefficient (1/deg C).
GAMMA_PDC = _default("gamma_pdc")
#: Inverter nominal efficiency (pvlib.inverter.pvwatts default, PVWatts v5).
ETA_INV_NOM = _default("eta_inv_nom")
#: Cell temperature model: ``"sapm_<set>"`` with a parameter set of
#: ``pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS['sapm']`` (default ``open_rack_glass_polymer``,
#: King et al. 2004), or ``"fuentes"`` (PVWatts v5 with :data:`FUENTES_INOCT_C`).
TEMPERATURE_MODEL = solar_defaults()["temperature_model"]
#: Installed nominal operating cell temperature (deg C) of a roof-mounted array in the Fuentes model
#: (PVWatts Version 5 Manual, Dobos 2014; 45 C for open rack).
FUENTES_INOCT_C = _default("fuentes_inoct_c")
#: ``pvlib.pvsystem.pvwatts_losses`` terms (%) without shading (shading is ray-cast), PVWatts v5
#: defaults (Dobos 2014), read from ``data/solar_defaults.csv`` (``loss_<term>_pct``).
PVWATTS_LOSSES_PCT = {
    k: _default(f"loss_{k}_pct")
    for k in ("soiling", "mismatch", "wiring", "connections", "lid", "nameplate_rating", "age", "availability")
}

#: Irradiance at standard test conditions (IEC 61215), kW/m2: converts kWh/m2 into kWh/kWp.
STC_IRRADIANCE_KW_M2 = 1.0

#: Panel orientations are rounded to this step (deg) when the monthly performance ratio is
#: computed (numazu-geo choice). Measured on 200 random orientations (tilt 0-60 deg, Numazu default
#: climate): annual yield differs from exact angles by 0.04 % on average, 0.27 % at worst (single
#: dim months of steep north faces up to 5 %).
PR_ORIENTATION_STEP_DEG = 5.0

PV_MODELS = ("pvwatts", "plateau")


def pv_capacity_kw(usable_area_m2, *, density_kw_m2: float = PV_DENSITY_KW_M2, coverage: float = COVERAGE_RATIO):
    """PV capacity (kW) on ``usable_area_m2``: ``area * coverage * density``. NaN area -> 0."""
    area = np.nan_to_num(np.asarray(usable_area_m2, dtype=float), nan=0.0)
    return np.maximum(area, 0.0) * float(coverage) * float(density_kw_m2)


def specific_yield_kwh_kwp(poa_kwh_m2_year, *, performance_ratio: float = PLATEAU_FACTOR):
    """Annual energy per kW of capacity (kWh/kWp): ``H / 1 kW/m2 * K``. NaN -> 0."""
    h = np.nan_to_num(np.asarray(poa_kwh_m2_year, dtype=float), nan=0.0)
    return h / STC_IRRADIANCE_KW_M2 * np.asarray(performance_ratio, dtype=float)


def pv_yield_kwh(kw, poa_kwh_m2_year, *, performance_ratio: float = PLATEAU_FACTOR):
    """Annual PV energy (kWh) of ``kw`` capacity under ``poa_kwh_m2_year`` and a ratio K."""
    kw = np.nan_to_num(np.asarray(kw, dtype=float), nan=0.0)
    return kw * specific_yield_kwh_kwp(poa_kwh_m2_year, performance_ratio=performance_ratio)


@functools.lru_cache(maxsize=64)
def _system_losses_pct(items: tuple) -> float:
    import pvlib

    return float(pvlib.pvsystem.pvwatts_losses(shading=0, **dict(items)))


def system_losses_pct(**losses_pct) -> float:
    """PVWatts system losses (%) from ``pvlib.pvsystem.pvwatts_losses`` with shading = 0 and the
    terms of :data:`PVWATTS_LOSSES_PCT`; keyword arguments override terms
    (e.g. ``availability=0`` for a technical potential without downtime)."""
    unknown = set(losses_pct) - set(PVWATTS_LOSSES_PCT)
    if unknown:
        raise ValueError(f"system_losses_pct: unknown loss terms {sorted(unknown)}; known: {sorted(PVWATTS_LOSSES_PCT)}")
    terms = {**PVWATTS_LOSSES_PCT, **{k: float(v) for k, v in losses_pct.items()}}
    return _system_losses_pct(tuple(sorted(terms.items())))


def cell_temperature(poa_global, temp_air, wind_speed, *, temperature_model: str = TEMPERATURE_MODEL,
                     surface_tilt_deg=None, times=None, inoct_c: float = FUENTES_INOCT_C) -> np.ndarray:
    """Cell temperature (deg C) of planes ``poa_global`` (F, T) W/m2 under ``temp_air`` (deg C) and
    ``wind_speed`` (m/s) (T,), with a pvlib model: ``"sapm_<set>"`` (``pvlib.temperature.sapm_cell``)
    or ``"fuentes"`` (``pvlib.temperature.fuentes`` per plane; needs ``times`` (T,) and
    ``surface_tilt_deg`` (F,))."""
    import pandas as pd
    import pvlib

    poa = np.atleast_2d(np.asarray(poa_global, dtype=float))
    t_air = np.asarray(temp_air, dtype=float).reshape(1, -1)
    wind = np.asarray(wind_speed, dtype=float).reshape(1, -1)
    if temperature_model == "fuentes":
        if times is None or surface_tilt_deg is None:
            raise ValueError("cell_temperature: temperature_model='fuentes' needs times= and surface_tilt_deg=")
        idx = pd.DatetimeIndex(times)
        tilt = np.broadcast_to(np.asarray(surface_tilt_deg, dtype=float).ravel(), (poa.shape[0],))
        ta, ws = pd.Series(t_air.ravel(), index=idx), pd.Series(wind.ravel(), index=idx)
        return np.stack([
            pvlib.temperature.fuentes(pd.Series(p, index=idx), ta, ws, inoct_c, surface_tilt=float(t)).to_numpy()
            for p, t in zip(poa, tilt)
        ])  # fmt: skip
    sets = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]
    name = temperature_model.removeprefix("sapm_")  # a bare SAPM set name (earlier versions) is accepted
    if name not in sets:
        raise ValueError(f"cell_temperature: temperature_model must be 'fuentes' or one of "
                         f"{['sapm_' + k for k in sets]}, not {temperature_model!r}")  # fmt: skip
    p = sets[name]
    return pvlib.temperature.sapm_cell(poa, t_air, wind, p["a"], p["b"], p["deltaT"])


@functools.lru_cache(maxsize=4096)
def _marion_diffuse(tilt_deg: float) -> tuple[float, float, float]:
    """(sky, horizon, ground) diffuse IAM of ``pvlib.iam.marion_diffuse('physical')`` for one tilt
    (a numerical integration: cached, since district faces share few rounded tilts)."""
    import pvlib

    d = pvlib.iam.marion_diffuse("physical", np.array([tilt_deg]))
    return tuple(float(np.nan_to_num(np.asarray(d[k], dtype=float).ravel()[0])) for k in ("sky", "horizon", "ground"))


def pvwatts_ac(components: dict, aoi_deg, surface_tilt_deg, temp_air, wind_speed, *, gamma_pdc: float = GAMMA_PDC,
               eta_inv_nom: float = ETA_INV_NOM, temperature_model: str = TEMPERATURE_MODEL,
               pdc0_w: float = 1000.0, times=None, losses_pct: dict | None = None) -> dict:
    """The pvlib PVWatts chain for planes and hours: AC power (W) of a ``pdc0_w`` array.

    ``components``: dict of (F, T) arrays from :func:`~numazu_geo.solar.irradiance.poa_components`
    (W/m2); ``aoi_deg`` (F, T); ``surface_tilt_deg`` (F,); ``temp_air`` (deg C) and ``wind_speed``
    (m/s) (T,); ``times`` (T,) only for ``temperature_model="fuentes"``; ``losses_pct`` overrides
    terms of :data:`PVWATTS_LOSSES_PCT`. Returns ``poa_global``, ``effective_irradiance``,
    ``temp_cell``, ``pdc``, ``pac``.
    """
    import pvlib

    tilt = np.asarray(surface_tilt_deg, dtype=float).reshape(-1, 1)
    iam_beam = np.nan_to_num(pvlib.iam.physical(np.asarray(aoi_deg, dtype=float)))
    diff = np.array([_marion_diffuse(float(t)) for t in tilt.ravel()]).reshape(-1, 3)
    sky, hor, gnd = (diff[:, k : k + 1] for k in range(3))
    beam = components["beam"] + components["circumsolar"]
    poa = beam + components["isotropic"] + components["horizon"] + components["ground"]
    eff = beam * iam_beam + components["isotropic"] * sky + components["horizon"] * hor + components["ground"] * gnd
    temp_cell = cell_temperature(poa, temp_air, wind_speed, temperature_model=temperature_model,
                                 surface_tilt_deg=tilt.ravel(), times=times)  # fmt: skip
    pdc = pvlib.pvsystem.pvwatts_dc(eff, temp_cell, pdc0_w, gamma_pdc)
    pdc = np.maximum(np.asarray(pdc, dtype=float), 0.0) * (1.0 - system_losses_pct(**(losses_pct or {})) / 100.0)
    pac = np.asarray(pvlib.inverter.pvwatts(pdc, pdc0_w, eta_inv_nom=eta_inv_nom), dtype=float)
    pac = np.maximum(np.nan_to_num(pac), 0.0)
    return {"poa_global": poa, "effective_irradiance": eff, "temp_cell": temp_cell, "pdc": pdc, "pac": pac}


def monthly_performance_ratio(surface_tilt_deg, surface_azimuth_deg, climate, *, albedo: float | None = None,
                              model: str | None = None, step_deg: float | None = PR_ORIENTATION_STEP_DEG,
                              chunk: int = 64, **chain) -> np.ndarray:
    """Monthly performance ratio ``AC / (P_stc * H_poa)`` (F, 12) of the PVWatts chain for panels
    at these orientations under ``climate`` (unshaded). NaN orientations give NaN rows; months
    without light give NaN. ``step_deg`` rounds the orientations first (None for exact)."""
    from numazu_geo.solar import irradiance as irr
    from numazu_geo.solar.climate import air_temperature_and_wind

    import pvlib

    tilt = np.asarray(surface_tilt_deg, dtype=float).ravel()
    azim = np.asarray(surface_azimuth_deg, dtype=float).ravel()
    out = np.full((len(tilt), 12), np.nan)
    ok = np.isfinite(tilt) & np.isfinite(azim)
    if not ok.any():
        return out
    o = np.stack([tilt[ok], np.mod(azim[ok], 360.0)], axis=1)
    if step_deg:
        o = np.round(o / step_deg) * step_deg
        o[:, 1] = np.mod(o[:, 1], 360.0)
    orient, inv = np.unique(o, axis=0, return_inverse=True)
    inv = inv.ravel()
    x = irr.climate_inputs(climate)
    w = x["weight_h"].to_numpy()
    day = np.nonzero((x["ghi"].to_numpy() > 0) & (w > 0))[0]
    x = x.iloc[day]
    w = w[day]
    met = air_temperature_and_wind(climate).iloc[day]
    months = x.index.month.to_numpy()
    onehot = np.zeros((len(day), 12))
    onehot[np.arange(len(day)), months - 1] = w
    pr = np.full((len(orient), 12), np.nan)
    kwargs = {"albedo": irr.ALBEDO if albedo is None else albedo, "model": model or irr.TRANSPOSITION_MODEL}
    for s in range(0, len(orient), chunk):
        ot, oa = orient[s : s + chunk, 0], orient[s : s + chunk, 1]
        comp = irr.poa_components(ot, oa, x["zenith"], x["azimuth"], x["dni"], x["ghi"], x["dhi"], x["dni_extra"],
                                  x["airmass"], **kwargs)  # fmt: skip
        aoi = pvlib.irradiance.aoi(ot[:, None], oa[:, None], x["zenith"].to_numpy()[None, :], x["azimuth"].to_numpy()[None, :])
        res = pvwatts_ac(comp, aoi, ot, met["temp_air"].to_numpy(), met["wind_speed"].to_numpy(), times=x.index, **chain)
        ac = res["pac"] @ onehot  # Wh per kWp-equivalent (pdc0 = 1000 W)
        h = res["poa_global"] @ onehot  # Wh/m2
        with np.errstate(invalid="ignore", divide="ignore"):
            pr[s : s + chunk] = np.where(h > 0, ac / h, np.nan)  # (Wh/kWp)/(Wh/m2) at 1 kW/m2 -> ratio
    out[ok] = pr[inv]
    return out


__all__ = [
    "COVERAGE_RATIO",
    "PLATEAU_FACTOR",
    "PV_DENSITY_KW_M2",
    "PV_MODELS",
    "PVWATTS_LOSSES_PCT",
    "cell_temperature",
    "monthly_performance_ratio",
    "pv_capacity_kw",
    "pv_yield_kwh",
    "pvwatts_ac",
    "solar_defaults",
    "specific_yield_kwh_kwp",
    "system_losses_pct",
]
