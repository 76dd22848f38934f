"""How long PV, a battery and EVs keep a shelter's critical load running in a blackout.

:func:`outage_hours` simulates an outage starting at every hour of the year at once (vectorised
over the start hours): the building is islanded (no import, no export), PV serves the critical
load first, its surplus charges the battery (the rest is curtailed), and a deficit is met by the
battery, then by the EVs through V2H. The autonomy of a start hour is the number of whole hours
served before the first hour whose critical load cannot be met in full. The climate year is
treated as cyclic (an outage starting on 31 December continues into January).

No default critical load is given: no official figure for a shelter's critical load was found
(``data/energy_defaults.csv``, ``shelter_critical_load_kw``), so the caller passes one.
The default ride-through target, 72 hours, is the FDMA / Cabinet Office guidance for emergency
power (same table).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from numazu_geo.energy.series import hourly_arrays
from numazu_geo.energy.storage import EV, Battery, storage_specs
from numazu_geo.errors import EnergyInputError

#: PLATEAU Building_usage codes that serve as shelters by default: 422 文教厚生施設 (schools,
#: community halls: most designated shelters are local schools and community halls; NEF
#: 新エネルギー財団 「地域防災拠点」 2020, and the PLATEAU code list, MLIT 2024).
SHELTER_USAGE_CODES = ("422",)
SEASONS = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
           6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}  # fmt: skip
_TOL = 1e-9


def energy_default(name: str) -> float:
    """A value of ``data/energy_defaults.csv`` by name (NaN rows raise, with the table's reason)."""
    from numazu_geo.co2.factors import load_table

    df = load_table("energy_defaults.csv", ["value"])
    row = df[df["name"] == name]
    if row.empty:
        raise KeyError(f"data/energy_defaults.csv: no {name!r}; known: {sorted(df['name'])}")
    value = float(row["value"].iloc[0])
    if not np.isfinite(value):
        raise EnergyInputError(f"no default for {name}: {row['note'].iloc[0]}")
    return value


def _evs_total(evs) -> tuple[float, float]:
    if evs is None:
        return 0.0, 0.0
    items = [evs] if isinstance(evs, EV) else list(evs)
    for e in items:
        if not isinstance(e, EV):
            raise EnergyInputError(f"evs: expected EV objects, got {type(e).__name__}")
    return sum(e.energy_kwh for e in items), sum(e.power_kw for e in items)


def _simulate(pv, load, starts, battery, ev_energy, ev_power, max_hours):
    """Autonomy (h) of each start index in ``starts``: int array."""
    n = len(pv)
    hours = np.full(len(starts), max_hours, dtype=np.int64)
    alive = np.arange(len(starts))
    pos = np.asarray(starts, dtype=np.int64).copy()
    if battery is not None:
        cap, pmax = float(battery.capacity_kwh), float(battery.power_kw)
        eta_c, eta_d = battery.charge_efficiency, battery.discharge_efficiency
        soc = np.full(len(starts), cap * float(battery.initial_soc_frac))
    else:
        soc = np.zeros(len(starts))
    ev = np.full(len(starts), float(ev_energy))
    for k in range(max_hours):
        if len(alive) == 0:
            break
        h = pos % n
        p, lo = pv[h], load[h]
        direct = np.minimum(p, lo)
        deficit = lo - direct
        if battery is not None:
            surplus = p - direct
            c = np.clip(np.minimum(np.minimum(surplus, pmax), (cap - soc) / eta_c), 0.0, None)
            soc = np.minimum(soc + c * eta_c, cap)
            d = np.clip(np.minimum(np.minimum(deficit, pmax), soc * eta_d), 0.0, None)
            soc = np.maximum(soc - d / eta_d, 0.0)
            deficit = deficit - d
        if ev_power > 0:
            e = np.clip(np.minimum(np.minimum(deficit, ev_power), ev), 0.0, None)
            ev = ev - e
            deficit = deficit - e
        failed = deficit > _TOL * np.maximum(lo, 1.0)
        if failed.any():
            hours[alive[failed]] = k
            keep = ~failed
            alive, pos, soc, ev = alive[keep], pos[keep], soc[keep], ev[keep]
        pos = pos + 1
    return hours


def outage_hours(pv_kwh, critical_load_kwh, battery: Battery | None = None, evs=None, *, max_hours: int | None = None) -> pd.Series:
    """Hours of autonomy for an outage starting at each hour of the series.

    Parameters
    ----------
    pv_kwh : hourly PV output (kWh per hour) of the building, e.g. a column of
        ``solar_potential(..., hourly=...).hourly``.
    critical_load_kwh : the critical load per hour (kWh per hour = average kW), a Series on the same
        hours or a constant (kW). There is no default (no official figure was found).
    battery : :class:`Battery` (full at the start unless ``initial_soc_frac`` says otherwise).
    evs : an :class:`EV` (``count`` cars) or a list of them, fed through V2H after the battery.
    max_hours : longest outage simulated (default: the length of the series); autonomy reaching it
        is reported as ``max_hours`` (``attrs["censored_frac"]`` says how many starts did).

    Returns
    -------
    Series ``autonomy_h`` (int) indexed by the start hour.
    """
    arrs, index = hourly_arrays(pv_kwh=pv_kwh, critical_load_kwh=critical_load_kwh)
    pv, load = arrs["pv_kwh"], arrs["critical_load_kwh"]
    n = len(pv)
    max_hours = n if max_hours is None else int(max_hours)
    if max_hours < 1:
        raise EnergyInputError(f"max_hours must be >= 1, got {max_hours!r}")
    if battery is not None and not isinstance(battery, Battery):
        raise EnergyInputError(f"battery: expected a Battery, got {type(battery).__name__}")
    ev_energy, ev_power = _evs_total(evs)
    hours = _simulate(pv, load, np.arange(n), battery, ev_energy, ev_power, max_hours)
    out = pd.Series(hours, index=index if index is not None else pd.RangeIndex(n), name="autonomy_h")
    out.attrs.update(max_hours=max_hours, censored_frac=float((hours >= max_hours).mean()))
    return out


def autonomy_report(hours: pd.Series) -> dict:
    """Distribution of :func:`outage_hours`: ``mean_h``, ``median_h``, ``worst_10pct_h`` (the autonomy
    that 90 % of start hours reach or exceed), ``worst_h``, ``worst_start`` (the first start with the
    least autonomy), ``worst_season`` (the season of the worst case; where several seasons hold it,
    the one with the lowest mean autonomy), ``median_h_by_season`` and ``censored_frac`` (share of starts that reached ``max_hours``)."""
    h = pd.Series(hours).astype(float)
    if h.empty:
        raise EnergyInputError("autonomy_report: no start hours")
    worst_at = h.idxmin()
    out = {
        "mean_h": float(h.mean()),
        "median_h": float(h.median()),
        "worst_10pct_h": float(np.quantile(h.to_numpy(), 0.10, method="lower")),
        "worst_h": float(h.min()),
        "worst_start": worst_at,
        "worst_season": None,
        "median_h_by_season": {},
        "censored_frac": float(hours.attrs.get("censored_frac", np.nan)) if hasattr(hours, "attrs") else np.nan,
        "max_hours": hours.attrs.get("max_hours") if hasattr(hours, "attrs") else None,
    }
    if isinstance(h.index, pd.DatetimeIndex):
        season = pd.Series(h.index.month, index=h.index).map(SEASONS)
        tied = set(season[(h == h.min()).to_numpy()])  # seasons holding a start with the least autonomy
        mean_by_season = h.groupby(season.to_numpy()).mean()
        out["worst_season"] = str(mean_by_season[mean_by_season.index.isin(tied)].idxmin())
        out["median_h_by_season"] = {s: float(v) for s, v in h.groupby(season.to_numpy()).median().items()}
    return out


def battery_size_needed(
    pv_kwh,
    critical_load_kwh,
    duration_h: float | None = None,
    share: float = 1.0,
    *,
    round_trip_efficiency: float | None = None,
    power_kw: float | None = None,
    evs=None,
    tol_kwh: float = 0.01,
) -> float:
    """Smallest battery capacity (kWh) that rides through ``duration_h`` hours for ``share`` of the
    start hours (1.0 = every start hour).

    ``duration_h`` defaults to the 72-hour emergency-power target (``data/energy_defaults.csv``).
    The battery's efficiency defaults to the default data-sheet battery's; its power to the peak
    critical load (so power never limits). Autonomy grows monotonically with capacity, so a
    bisection to ``tol_kwh`` finds the size. Returns 0.0 where PV (and EVs) already suffice.
    """
    duration = energy_default("outage_target_h") if duration_h is None else float(duration_h)
    if not (0 < share <= 1):
        raise EnergyInputError(f"share must be in (0, 1], got {share!r}")
    if not duration >= 1:
        raise EnergyInputError(f"duration_h must be >= 1 hour, got {duration_h!r}")
    arrs, _ = hourly_arrays(pv_kwh=pv_kwh, critical_load_kwh=critical_load_kwh)
    pv, load = arrs["pv_kwh"], arrs["critical_load_kwh"]
    if round_trip_efficiency is None:
        specs = storage_specs()
        from numazu_geo.energy.storage import DEFAULT_BATTERY

        round_trip_efficiency = float(specs.loc[specs["name"] == DEFAULT_BATTERY, "round_trip_efficiency"].iloc[0])
    power = float(load.max()) if power_kw is None else float(power_kw)
    ev_energy, ev_power = _evs_total(evs)
    need = int(np.ceil(duration))
    starts = np.arange(len(pv))

    def ok(cap: float) -> bool:
        bat = Battery(cap, power, round_trip_efficiency, 1.0) if cap > 0 else None
        h = _simulate(pv, load, starts, bat, ev_energy, ev_power, need)
        return float((h >= need).mean()) >= share - 1e-12

    if power <= 0:
        return 0.0 if ok(0.0) else float("inf")
    if ok(0.0):
        return 0.0
    hi = max(need * float(load.max()) / float(round_trip_efficiency), tol_kwh)
    while not ok(hi):  # power-limited cases need more than the energy bound
        hi *= 2
        if hi > 1e9:
            return float("inf")
    lo = 0.0
    while hi - lo > tol_kwh:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return float(hi)


def select_shelters(buildings: pd.DataFrame, ids=None, *, usages=SHELTER_USAGE_CODES) -> pd.DataFrame:
    """The shelter buildings: those whose ``building_id`` or ``gml_id`` is in ``ids``, or by default
    those whose ``usage_code`` is in ``usages`` (:data:`SHELTER_USAGE_CODES`). An id that matches no
    building raises :class:`~numazu_geo.errors.EnergyInputError` naming it."""
    if ids is not None:
        if isinstance(ids, str):
            ids = [ids]
        ids = [str(i) for i in ids]
        keys = set()
        for col in ("building_key", "building_id", "gml_id"):
            if col in buildings.columns:
                keys |= set(buildings[col].dropna().astype(str))
        unknown = [i for i in ids if i not in keys]
        if unknown:
            raise EnergyInputError(f"shelter id(s) not found among the {len(buildings)} buildings: {unknown[:10]}")
        mask = np.zeros(len(buildings), bool)
        for col in ("building_key", "building_id", "gml_id"):
            if col in buildings.columns:
                mask |= buildings[col].astype(str).isin(ids).to_numpy()
        return buildings[mask]
    if "usage_code" not in buildings.columns:
        raise EnergyInputError("select_shelters: the buildings have no usage_code column; pass shelter ids")
    return buildings[buildings["usage_code"].astype(str).isin([str(u) for u in usages]).to_numpy()]


def shelter_table(
    hourly_pv: pd.DataFrame,
    critical_load_kwh,
    battery: Battery | None = None,
    evs=None,
    *,
    max_hours: int | None = None,
) -> pd.DataFrame:
    """Autonomy of each shelter (a column of ``hourly_pv``) with PV only, PV + battery and
    PV + battery + EVs: mean, median, worst 10 %, worst hours and worst season of each, the PV's
    annual kWh, and ``gain_h_per_battery_kwh``: the hours of autonomy the battery adds per kWh of
    capacity, averaged over all start hours (mean with battery - mean with PV only) / capacity.
    ``critical_load_kwh``: one load for all (constant kW or a Series), or a dict by shelter."""
    rows = []
    for key in hourly_pv.columns:
        load = critical_load_kwh[key] if isinstance(critical_load_kwh, dict) else critical_load_kwh
        pv = hourly_pv[key]
        row = {"building_key": key, "pv_kwh_year": float(pv.sum())}
        cases = {"pv": (None, None)}
        if battery is not None:
            cases["pv_battery"] = (battery, None)
        if evs is not None:
            cases["pv_battery_ev" if battery is not None else "pv_ev"] = (battery, evs)
        for name, (b, e) in cases.items():
            rep = autonomy_report(outage_hours(pv, load, b, e, max_hours=max_hours))
            row[f"{name}_mean_h"] = rep["mean_h"]
            row[f"{name}_median_h"] = rep["median_h"]
            row[f"{name}_worst_10pct_h"] = rep["worst_10pct_h"]
            row[f"{name}_worst_h"] = rep["worst_h"]
            row[f"{name}_worst_season"] = rep["worst_season"]
        if battery is not None:
            row["gain_h_per_battery_kwh"] = (row["pv_battery_mean_h"] - row["pv_mean_h"]) / float(battery.capacity_kwh)
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update(
        battery=None if battery is None else dict(battery.__dict__), max_hours=max_hours,
        critical_load=("per shelter" if isinstance(critical_load_kwh, dict) else
                       (f"{float(critical_load_kwh):g} kW constant" if np.ndim(critical_load_kwh) == 0 else "hourly series")),
    )  # fmt: skip
    return out
