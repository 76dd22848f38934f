"""Hourly weather for the solar engine: the approximate default from JMA normals, and readers.

A :class:`Climate` holds an hourly (or finer) DataFrame with ``ghi``, ``dni``, ``dhi`` in W/m2
(mean irradiance over the interval), optional ``temp_air`` in deg C and ``wind_speed`` in m/s, and
``weight_h`` (hours each row stands for), on a DatetimeIndex in ``Asia/Tokyo`` labelled at the
middle of each interval.

The default (:func:`default_climate`) is **APPROXIMATE**: an hourly year modelled for any site in
Japan from the JMA 1991-2020 monthly normals of the nearest station (sunshine, and irradiation
where a measuring station is close; temperature, wind), with a daily clearness distribution
(Bendt et al. 1981), an Ineichen clear-sky hourly shape and the Erbs decomposition (pvlib).
Real hourly data (EPW via :func:`read_epw`, NEDO METPV via :func:`read_metpv`) replace it.

Credit for the normals: 出典：気象庁ホームページ（平年値 1991-2020）を加工して作成.

References
----------
Allen, R.G., Pereira, L.S., Raes, D., Smith, M. (1998). FAO Irrigation and Drainage Paper 56,
eq. 21-35. Bendt, P., Collares-Pereira, M., Rabl, A. (1981). Solar Energy 27(1), 1-5. Ineichen,
P. & Perez, R. (2002). Solar Energy 73(3), 151-157. Erbs, D.G., Klein, S.A., Duffie, J.A. (1982).
Solar Energy 28(4), 293-302.
"""

from __future__ import annotations

import calendar
import copy
import csv
import functools
import io
import logging
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from numazu_geo.errors import ClimateCoverageError, ClimateSiteError, WeatherFileError
from numazu_geo.solar.sun import (
    DEFAULT_YEAR,
    TIMEZONE,
    Site,
    default_site,
    solar_position,
    year_times,
)

log = logging.getLogger(__name__)

IRRADIANCE_COLUMNS = ("ghi", "dni", "dhi")

#: Physical ceiling used to reject corrupt data: the solar constant, 1361 W/m2 (Kopp & Lean 2011)
#: plus a margin for cloud-edge enhancement.
MAX_IRRADIANCE_W_M2 = 1600.0

#: Share of missing irradiance values that a weather file may have before it is rejected;
#: shorter gaps are filled by interpolation in time (numazu-geo choice).
MAX_MISSING_FRACTION = 0.05

#: METPV-11/20 hourly element codes (要素番号) this reader understands, as documented for the NEDO
#: METPV-11 hourly CSV: 1 全天日射量 (global horizontal), 2 直達日射量 (direct; normal-incidence in
#: METPV, checked against closure on read), 3 散乱日射量 (diffuse horizontal), 5 気温 (air
#: temperature). Others (sunshine, wind, precipitation, snow) are ignored.
METPV_ELEMENTS = {1: "ghi", 2: "direct", 3: "dhi", 5: "temp_air"}

#: METPV irradiation unit: 0.01 MJ/m2 per hour -> mean W/m2 over the hour.
METPV_IRRADIATION_TO_W_M2 = 0.01e6 / 3600.0

#: METPV temperature unit: 0.1 deg C.
METPV_TEMPERATURE_TO_C = 0.1

#: METPV missing-value markers.
METPV_MISSING = (8888.0, 9999.0)

#: Distance (km) between a weather file's location and the buildings beyond which a warning is
#: logged and recorded (numazu-geo choice, the same radius as the default climate's
#: ``potential.DEFAULT_CLIMATE_RANGE_KM``; no published threshold was found). A weather site
#: outside Japan's extent for buildings inside it is an error unless ``max_distance_km`` allows it.
WEATHER_SITE_WARN_KM = 50.0


@dataclass
class Climate:
    """Hourly weather at a site.

    Attributes
    ----------
    data : DataFrame with ``ghi``, ``dni``, ``dhi`` (W/m2), optional ``temp_air`` (deg C) and
        ``weight_h`` (hours each row stands for), DatetimeIndex in Asia/Tokyo at mid-interval.
    site : :class:`~numazu_geo.solar.sun.Site`.
    source : label of where the data came from (file name, or ``"APPROXIMATE default ..."``).
    approximate : True for the modelled default.
    partial : True when the data cover only part of a year on purpose (``partial=True`` in the
        readers); annual totals are then totals over that period, and ``source`` says so.
    weather_site : where the weather was measured, when the sun is computed elsewhere
        (:func:`climate_for_site`); ``site_distance_km`` is the distance between the two.
    """

    data: pd.DataFrame
    site: Site
    source: str
    approximate: bool = False
    partial: bool = False
    weather_site: Site | None = None
    site_distance_km: float | None = None
    _solpos: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    #: where the default climate came from: ``station`` (e.g. "三島 Mishima (47657)"),
    #: ``station_distance_km``, ``irradiation_station``, ``method``, ``data_credit`` (list).
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if "weight_h" not in self.data.columns:
            self.data = self.data.copy()
            self.data["weight_h"] = _step_hours(self.data.index)
        _validate(self.data, self.source)

    @property
    def times(self) -> pd.DatetimeIndex:
        return self.data.index

    def solar_position(self) -> pd.DataFrame:
        """Sun position at every timestamp (cached)."""
        if self._solpos is None:
            self._solpos = solar_position(self.times, self.site)
        return self._solpos

    def annual_kwh_m2(self, column: str = "ghi") -> float:
        """Annual irradiation of ``column`` in kWh/m2."""
        return float((self.data[column] * self.data["weight_h"]).sum() / 1000.0)

    def monthly_kwh_m2(self, column: str = "ghi") -> pd.Series:
        """Monthly irradiation of ``column`` in kWh/m2 (index 1..12)."""
        energy = self.data[column] * self.data["weight_h"] / 1000.0
        out = energy.groupby(self.times.month).sum()
        return out.reindex(range(1, 13), fill_value=0.0).rename(f"{column}_kwh_m2")

    def representative_days(self, day: int = 15) -> "Climate":
        """A lighter climate with one day per month (``day``), weighted by the days in its month.

        Annual totals are approximately preserved; useful for quick looks and tests.
        """
        idx = self.times
        keep = idx.day == day
        if not keep.any():
            raise ClimateCoverageError(self.source, f"no data on day {day} of any month")
        sub = self.data.loc[keep].copy()
        sub["weight_h"] = sub["weight_h"] * sub.index.days_in_month
        return replace(self, data=sub, source=f"{self.source} (day {day} of each month)", _solpos=None)

    def __repr__(self) -> str:
        return (
            f"Climate(source={self.source!r}, site=({self.site.latitude_deg:.4f}, {self.site.longitude_deg:.4f}), "
            f"rows={len(self.data)}, ghi={self.annual_kwh_m2():.0f} kWh/m2/yr, approximate={self.approximate})"
        )


def _step_hours(index: pd.DatetimeIndex) -> np.ndarray:
    if len(index) < 2:
        return np.ones(len(index))
    step = pd.Series(index).diff().median()
    return np.full(len(index), step / pd.Timedelta("1h"))


def _validate(data: pd.DataFrame, source: str) -> None:
    if not isinstance(data.index, pd.DatetimeIndex) or data.index.tz is None:
        raise WeatherFileError(source, "weather data needs a tz-aware DatetimeIndex")
    missing = [c for c in IRRADIANCE_COLUMNS if c not in data.columns]
    if missing:
        raise WeatherFileError(source, f"weather data lacks column(s) {missing} (need ghi, dni, dhi in W/m2)")
    if len(data) == 0:
        raise WeatherFileError(source, "weather data has no rows")
    values = data[list(IRRADIANCE_COLUMNS)].to_numpy(dtype=float)
    if np.isnan(values).any():
        raise WeatherFileError(source, f"{int(np.isnan(values).sum())} missing irradiance values")
    if (values < -1e-6).any():
        raise WeatherFileError(source, "negative irradiance values")
    if (values > MAX_IRRADIANCE_W_M2).any():
        raise WeatherFileError(
            source,
            f"irradiance up to {values.max():.0f} W/m2 exceeds {MAX_IRRADIANCE_W_M2:.0f} W/m2 "
            "(wrong units? this reader expects mean W/m2 per interval)",
        )


# --------------------------------------------------------------------------------------------
# default climate (JMA monthly normals)

#: An irradiation-measuring JMA station closer than this (km) to the site lends its own measured
#: monthly irradiation (scaled by the sunshine difference to the nearest sunshine station);
#: farther away the Angstrom-Prescott fit is used alone. numazu-geo choice (2026): about the
#: distance over which neighbouring JMA stations' annual sunshine normals differ by less than the
#: fit's leave-one-out error (3.3 %); e.g. Mishima-Shizuoka (44 km) differ by 7 %.
IRRADIATION_STATION_RANGE_KM = 25.0

#: Bendt et al. (1981) daily clearness distribution: minimum daily clearness index.
BENDT_KT_MIN = 0.05

#: Hour of the daily maximum air temperature in the sinusoidal daily cycle built from the monthly
#: mean daily maximum and minimum (numazu-geo choice: mid-afternoon, 14:00 JST).
TEMP_MAX_HOUR = 14.0

#: Seed of the fixed permutation that orders a month's daily clearness values (deterministic).
DAY_ORDER_SEED = 20261


def _angstrom_defaults() -> tuple[float, float]:
    from numazu_geo.solar.pv import solar_defaults

    d = solar_defaults()
    return float(d["angstrom_a"]), float(d["angstrom_b"])


def bendt_kt_max(kt_mean):
    """Upper bound of the daily clearness index for a monthly mean ``kt_mean`` (Bendt et al. 1981)."""
    kt_mean = np.asarray(kt_mean, dtype=float)
    return 0.6313 + 0.267 * kt_mean - 11.9 * (kt_mean - 0.75) ** 8


def _bendt_mean(gamma, lo, hi):
    if abs(gamma) < 1e-9:
        return 0.5 * (lo + hi)
    el, eh = np.exp(gamma * lo), np.exp(gamma * hi)
    return ((lo - 1 / gamma) * el - (hi - 1 / gamma) * eh) / (el - eh)


def bendt_daily_clearness(kt_mean: float, n_days: int) -> np.ndarray:
    """``n_days`` daily clearness indices whose distribution is Bendt et al.'s (1981) for the
    monthly mean ``kt_mean``: the quantiles ``(i - 0.5) / n`` of the cumulative distribution
    ``F(k) = (exp(g kmin) - exp(g k)) / (exp(g kmin) - exp(g kmax))``, with ``g`` solved so the
    distribution's mean is ``kt_mean``. Returned in increasing order.

    Bendt, P., Collares-Pereira, M., Rabl, A. (1981). The frequency distribution of daily
    insolation values. Solar Energy 27(1), 1-5.
    """
    from scipy.optimize import brentq

    lo = BENDT_KT_MIN
    hi = float(bendt_kt_max(kt_mean))
    kt = float(np.clip(kt_mean, lo + 1e-3, hi - 1e-3))
    gamma = brentq(lambda g: _bendt_mean(g, lo, hi) - kt, -200.0, 200.0)
    q = (np.arange(n_days) + 0.5) / n_days
    if abs(gamma) < 1e-9:
        return lo + q * (hi - lo)
    el, eh = np.exp(gamma * lo), np.exp(gamma * hi)
    return np.log(el - q * (el - eh)) / gamma


def _as_site(site) -> Site | None:
    if site is None or isinstance(site, Site):
        return site
    if isinstance(site, (tuple, list)) and len(site) in (2, 3):
        lat, lon = float(site[0]), float(site[1])
        alt = float(site[2]) if len(site) == 3 else default_site().altitude_m
        return Site(lat, lon, alt, TIMEZONE, f"{lat:.4f} N {lon:.4f} E")
    raise TypeError(f"default_climate: site must be a Site or (lat, lon), not {type(site).__name__}")


def monthly_normals_at(
    site,
    *,
    monthly_sunshine_h=None,
    annual_sunshine_h: float | None = None,
    angstrom_a: float | None = None,
    angstrom_b: float | None = None,
    irradiation_range_km: float = IRRADIATION_STATION_RANGE_KM,
) -> tuple[pd.DataFrame, dict]:
    """Monthly normals for ``site`` from the JMA stations (see :func:`default_climate`).

    Returns ``(table, meta)``: ``table`` indexed 1..12 with ``sunshine_h``, ``ghi_mj_m2_day``,
    ``ghi_kwh_m2`` (month total), ``temp_mean_c``, ``temp_max_c``, ``temp_min_c``,
    ``wind_speed_m_s``; ``meta`` names the stations, distances and the method.
    """
    from numazu_geo.solar import jma

    site = _as_site(site) or default_site()
    a0, b0 = _angstrom_defaults()
    a = a0 if angstrom_a is None else float(angstrom_a)
    b = b0 if angstrom_b is None else float(angstrom_b)
    sun_st = jma.nearest_station(site.latitude_deg, site.longitude_deg)
    normals = jma.monthly(sun_st.station_id).copy()
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
    meta = {
        "station": sun_st.label,
        "station_id": sun_st.station_id,
        "station_distance_km": round(sun_st.distance_km, 2),
        "angstrom_a": a,
        "angstrom_b": b,
        "data_credit": [jma.JMA_CREDIT],
    }
    sunshine = normals["sunshine_h"].to_numpy(dtype=float)
    label = f"sunshine of {sun_st.label}, {sun_st.distance_km:.1f} km"
    if monthly_sunshine_h is not None:
        sunshine = np.asarray(monthly_sunshine_h, dtype=float)
        if sunshine.shape != (12,) or (sunshine < 0).any():
            raise ValueError("default_climate: monthly_sunshine_h needs 12 non-negative values")
        label = "monthly sunshine given by the user"
    elif annual_sunshine_h is not None:
        sunshine = sunshine * float(annual_sunshine_h) / sunshine.sum()
        label += f", scaled to {float(annual_sunshine_h):.1f} h/yr by the user"
    ghi = jma.angstrom_prescott(sunshine, site.latitude_deg, a, b)
    method = f"Angstrom-Prescott (a={a:.3f}, b={b:.3f}) from {label}"
    rad_st = jma.nearest_station(site.latitude_deg, site.longitude_deg, require="irradiation")
    if monthly_sunshine_h is None and annual_sunshine_h is None and rad_st.distance_km <= irradiation_range_km:
        measured = jma.monthly(rad_st.station_id)
        at_rad = jma.angstrom_prescott(measured["sunshine_h"], rad_st.latitude_deg, a, b)
        h0_site, _ = jma.monthly_extraterrestrial(site.latitude_deg)
        h0_rad, _ = jma.monthly_extraterrestrial(rad_st.latitude_deg)
        # measured clearness of the irradiation station, moved by the fitted effect of the
        # sunshine difference between the two stations (1 when they are the same station)
        clearness = measured["global_radiation_mj_m2_day"].to_numpy() / h0_rad[0]
        ghi = clearness * (ghi / h0_site[0]) / (at_rad / h0_rad[0]) * h0_site[0]
        method = f"measured irradiation of {rad_st.label} ({rad_st.distance_km:.1f} km)"
        if rad_st.station_id != sun_st.station_id:
            method += f", scaled by the sunshine ratio to {sun_st.label}"
        meta["irradiation_station"] = rad_st.label
        meta["irradiation_station_distance_km"] = round(rad_st.distance_km, 2)
    meta["method"] = method
    table = pd.DataFrame(
        {
            "sunshine_h": sunshine,
            "ghi_mj_m2_day": ghi,
            "ghi_kwh_m2": ghi * days / 3.6,
            "temp_mean_c": normals["temp_mean_c"].to_numpy(dtype=float),
            "temp_max_c": normals["temp_max_c"].to_numpy(dtype=float),
            "temp_min_c": normals["temp_min_c"].to_numpy(dtype=float),
        },
        index=pd.RangeIndex(1, 13, name="month"),
    )
    wind = normals["wind_speed_m_s"].to_numpy(dtype=float)
    if np.isnan(wind).any():
        wind_st = jma.nearest_station(site.latitude_deg, site.longitude_deg, require="wind")
        wind = jma.monthly(wind_st.station_id)["wind_speed_m_s"].to_numpy(dtype=float)
        meta["wind_station"] = wind_st.label
    table["wind_speed_m_s"] = wind
    return table, meta


def default_climate(
    site=None,
    year: int = DEFAULT_YEAR,
    *,
    monthly_sunshine_h=None,
    annual_sunshine_h: float | None = None,
    angstrom_a: float | None = None,
    angstrom_b: float | None = None,
    days: str | None = None,
    irradiation_range_km: float = IRRADIATION_STATION_RANGE_KM,
) -> Climate:
    """An APPROXIMATE hourly year for any site in Japan, from JMA 1991-2020 monthly normals.

    1. **Station**: the nearest JMA station with monthly sunshine normals (833 stations; for central
       Numazu, Mishima 47657 at 6 km). Its name and distance go into ``climate.meta`` and the
       result's provenance.
    2. **Monthly irradiation**: Angstrom-Prescott ``H = (a + b n/N) H0`` from the station's
       monthly sunshine, with ``a, b`` fitted on the JMA stations that measure irradiation
       (:func:`numazu_geo.solar.jma.fit_angstrom`; leave-one-station-out RMSE of the annual total
       3.3 %, see ``data/solar_defaults.csv``). Where an irradiation station lies within
       ``irradiation_range_km`` its measured monthly normals are used instead, scaled by the
       fitted effect of any sunshine difference to the nearest sunshine station. Monthly sunshine
       gives the rainy-season (梅雨) dip in June.
    3. **Days**: each month's days get daily clearness indices from Bendt et al.'s (1981)
       distribution for the month's mean clearness (in a fixed pseudo-random order), scaled so
       the month keeps its total.
    4. **Hours**: each day's irradiation is spread over its hours in proportion to the Ineichen
       clear sky (pvlib, shipped Linke turbidity), then split into DNI and DHI by the Erbs model
       (``pvlib.irradiance.erbs``).
    5. **Temperature and wind**: ``temp_air`` follows a daily sinusoid between the monthly mean
       daily minimum and maximum around the monthly mean (maximum at 14:00); ``wind_speed`` is
       the monthly mean (JMA anemometer height, not corrected to 10 m).

    Give real hourly data (EPW via :func:`read_epw`, NEDO METPV via :func:`read_metpv`) to replace it.

    Without overrides the climate is built once per (site, year, days, range) in a process (about
    0.3 s) and each call returns an independent copy.

    Parameters
    ----------
    site : :class:`~numazu_geo.solar.sun.Site` or ``(lat, lon)``; default central Numazu. (An
        ``int`` here is read as ``year``, the order of earlier versions.)
    year : calendar year of the timestamps (a non-leap year gives 8,760 hours).
    monthly_sunshine_h : 12 monthly sunshine totals (h) replacing the station's.
    annual_sunshine_h : scale the station's monthly sunshine to this annual total (h).
    angstrom_a, angstrom_b : override the fitted coefficients.
    days : ``None`` for every hour; ``"monthly"`` for one average day per month (the 15th,
        hour-by-hour mean of the month, weighted by the days in the month; fast, for previews).
    irradiation_range_km : see step 2 (0 disables measured values).

    References
    ----------
    Bendt, P., Collares-Pereira, M., Rabl, A. (1981). Solar Energy 27(1), 1-5. Erbs, D.G., Klein,
    S.A., Duffie, J.A. (1982). Solar Energy 28(4), 293-302. Ineichen, P., Perez, R. (2002). Solar
    Energy 73(3), 151-157. Allen, R.G. et al. (1998). FAO Irrigation and Drainage Paper 56.
    """
    if isinstance(site, (int, np.integer)) and not isinstance(site, bool):
        site, year = None, int(site)
    if days not in (None, "monthly"):
        raise ValueError(f"default_climate: days must be None or 'monthly', not {days!r}")
    site = _as_site(site) or default_site()
    overrides = (monthly_sunshine_h, annual_sunshine_h, angstrom_a, angstrom_b)
    if all(v is None for v in overrides):
        return _copy_climate(_cached_default_climate(site, int(year), days, float(irradiation_range_km)))
    return _build_default_climate(site, year, monthly_sunshine_h=monthly_sunshine_h,
                                  annual_sunshine_h=annual_sunshine_h, angstrom_a=angstrom_a, angstrom_b=angstrom_b,
                                  days=days, irradiation_range_km=irradiation_range_km)  # fmt: skip


#: How many default climates (site, year, days) one process keeps (about 1 MB each).
DEFAULT_CLIMATE_CACHE_SIZE = 8


@functools.lru_cache(maxsize=DEFAULT_CLIMATE_CACHE_SIZE)
def _cached_default_climate(site: Site, year: int, days: str | None, irradiation_range_km: float) -> Climate:
    """The default climate without overrides, built once per (site, year, days, range) in a process.
    Never handed out directly: :func:`default_climate` returns a copy (:func:`_copy_climate`)."""
    return _build_default_climate(site, year, days=days, irradiation_range_km=irradiation_range_km)


def _copy_climate(climate: Climate) -> Climate:
    """An independent copy (data, sun positions and meta), so that callers may change theirs."""
    solpos = None if climate._solpos is None else climate._solpos.copy()
    return replace(climate, data=climate.data.copy(), meta=copy.deepcopy(climate.meta), _solpos=solpos)


def _build_default_climate(site: Site, year: int, *, monthly_sunshine_h=None, annual_sunshine_h=None,
                           angstrom_a=None, angstrom_b=None, days=None,
                           irradiation_range_km: float = IRRADIATION_STATION_RANGE_KM) -> Climate:
    """The work of :func:`default_climate` (no cache)."""
    import pvlib

    table, meta = monthly_normals_at(
        site, monthly_sunshine_h=monthly_sunshine_h, annual_sunshine_h=annual_sunshine_h,
        angstrom_a=angstrom_a, angstrom_b=angstrom_b, irradiation_range_km=irradiation_range_km,
    )  # fmt: skip
    times = year_times(year)
    solpos = solar_position(times, site)
    loc = pvlib.location.Location(site.latitude_deg, site.longitude_deg, tz=site.tz, altitude=site.altitude_m)
    cs = loc.get_clearsky(times, model="ineichen", solar_position=solpos)["ghi"].to_numpy()
    cosz = np.clip(np.cos(np.radians(solpos["zenith"].to_numpy())), 0.0, None)
    h0 = np.asarray(pvlib.irradiance.get_extra_radiation(times), dtype=float) * cosz  # W/m2

    day = (times.dayofyear.to_numpy() - 1).astype(np.int64)
    month = times.month.to_numpy()
    n_days = int(day.max()) + 1
    h0_day = np.bincount(day, weights=h0, minlength=n_days)  # Wh/m2/day
    cs_day = np.bincount(day, weights=cs, minlength=n_days)
    day_month = np.zeros(n_days, dtype=np.int64)
    day_month[day] = month
    ghi_day = np.zeros(n_days)
    rng = np.random.default_rng(DAY_ORDER_SEED)
    for m in range(1, 13):
        dm = np.nonzero(day_month == m)[0]
        target = float(table.loc[m, "ghi_kwh_m2"]) * 1000.0  # Wh/m2
        kt_mean = target / h0_day[dm].sum()
        kt = rng.permutation(bendt_daily_clearness(kt_mean, len(dm)))
        g = kt * h0_day[dm]
        # no day above its clear sky: clip, then give the excess to the other days
        for _ in range(5):
            g = g * target / g.sum()
            over = g > cs_day[dm]
            if not over.any():
                break
            g = np.where(over, cs_day[dm], g)
            free = ~over
            if free.any():
                g[free] *= (target - g[over].sum()) / g[free].sum()
        ghi_day[dm] = g
    with np.errstate(invalid="ignore", divide="ignore"):
        ghi = np.where(cs_day[day] > 0, ghi_day[day] * cs / cs_day[day], 0.0)
    split = pvlib.irradiance.erbs(ghi, solpos["zenith"].to_numpy(), times)
    dni = np.nan_to_num(np.asarray(split["dni"], dtype=float))
    dhi = np.nan_to_num(np.asarray(split["dhi"], dtype=float))
    hour = times.hour.to_numpy() + times.minute.to_numpy() / 60.0
    amp = 0.5 * (table["temp_max_c"] - table["temp_min_c"]).reindex(month).to_numpy()
    temp = table["temp_mean_c"].reindex(month).to_numpy() + amp * np.cos(2 * np.pi * (hour - TEMP_MAX_HOUR) / 24.0)
    wind = table["wind_speed_m_s"].reindex(month).to_numpy()
    data = pd.DataFrame({"ghi": ghi, "dni": dni, "dhi": dhi, "temp_air": temp, "wind_speed": wind}, index=times)
    data["weight_h"] = 1.0
    meta["monthly"] = table.round(4).reset_index().to_dict(orient="list")
    source = (
        f"APPROXIMATE default from JMA normals 1991-2020: {meta['station']} {meta['station_distance_km']:.1f} km; "
        f"{meta['method']}; Bendt daily clearness, Ineichen hourly shape, Erbs split"
    )
    climate = Climate(data, site, source, approximate=True, _solpos=solpos, meta=meta)
    if days == "monthly":
        return _average_days(climate)
    return climate


def _average_days(climate: Climate, day: int = 15) -> Climate:
    """One average day per month: the hour-by-hour mean over the month, at day ``day``'s times."""
    data = climate.data
    t = climate.times
    key = [t.month, t.hour]
    mean = data.groupby(key).transform("mean")
    keep = t.day == day
    sub = mean.loc[keep].copy()
    sub["weight_h"] = data["weight_h"].loc[keep] * t[keep].days_in_month
    out = Climate(sub, climate.site, f"{climate.source} (average day of each month)", True, meta=dict(climate.meta))
    out._solpos = climate.solar_position().loc[sub.index]
    return out


def air_temperature_and_wind(climate: Climate) -> pd.DataFrame:
    """``temp_air`` (deg C) and ``wind_speed`` (m/s) at the climate's timestamps.

    Columns the climate carries are used as they are; a missing one comes from the JMA monthly
    normals of the station nearest ``climate.site`` (daily temperature sinusoid, monthly mean
    wind: see :func:`default_climate`), and the gap is logged.
    """
    data = climate.data
    out = pd.DataFrame(index=data.index)
    have = [c for c in ("temp_air", "wind_speed") if c in data.columns and data[c].notna().all()]
    for c in have:
        out[c] = data[c].to_numpy(dtype=float)
    missing = [c for c in ("temp_air", "wind_speed") if c not in have]
    if missing:
        table, meta = monthly_normals_at(climate.site, irradiation_range_km=0.0)
        t = data.index
        month = t.month.to_numpy()
        hour = t.hour.to_numpy() + t.minute.to_numpy() / 60.0
        if "temp_air" in missing:
            amp = 0.5 * (table["temp_max_c"] - table["temp_min_c"]).reindex(month).to_numpy()
            out["temp_air"] = table["temp_mean_c"].reindex(month).to_numpy() + amp * np.cos(
                2 * np.pi * (hour - TEMP_MAX_HOUR) / 24.0
            )
        if "wind_speed" in missing:
            out["wind_speed"] = table["wind_speed_m_s"].reindex(month).to_numpy()
        log.info("%s: %s from JMA normals of %s", climate.source, " and ".join(missing), meta["station"])
    return out[["temp_air", "wind_speed"]]


# --------------------------------------------------------------------------------------------
# checks every reader applies: a whole year, and the weather's location


def year_coverage(index: pd.DatetimeIndex, year: int) -> tuple[int, int, list[str]]:
    """(hours of ``year`` present in ``index``, hours in ``year``, missing dates as text ranges).

    An hour counts as present when a timestamp falls inside it (local time, Asia/Tokyo). 29 February
    counts only when a row for it exists: typical-year files leave it out, so it is never *missing*.
    """
    local = index.tz_convert(TIMEZONE) if index.tz is not None else index
    hours = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="h", inclusive="left", tz=TIMEZONE)
    present = pd.DatetimeIndex(local.floor("h")).unique()
    leap_day = (hours.month == 2) & (hours.day == 29)
    has_leap = ((present.month == 2) & (present.day == 29)).any()
    expected = hours if has_leap else hours[~leap_day]
    got = expected.isin(present)
    missing = expected[~got]
    ranges: list[str] = []
    if len(missing):
        days = pd.DatetimeIndex(missing.normalize().unique())
        start = prev = days[0]
        for d in list(days[1:]) + [None]:
            if d is not None and (d - prev) == pd.Timedelta("1D"):
                prev = d
                continue
            ranges.append(start.strftime("%m-%d") if start == prev else f"{start:%m-%d}..{prev:%m-%d}")
            if d is not None:
                start = prev = d
    return int(got.sum()), len(expected), ranges


def check_year(df: pd.DataFrame, path, year: int, *, partial: bool = False) -> bool:
    """Check that hourly weather ``df`` covers every hour of ``year``; return whether it is partial.

    Duplicate hours are an error. With ``partial=False`` (default) a file that covers less than the
    whole year (truncated, a few days, a half year) raises
    :class:`~numazu_geo.errors.ClimateCoverageError` naming the file, the hours found and the missing
    dates: its "annual" totals would silently be totals over the part present. With ``partial=True``
    the period is accepted and the result is marked partial (``Climate.partial``).
    """
    local = df.index.tz_convert(TIMEZONE) if df.index.tz is not None else df.index
    dup = pd.DatetimeIndex(local.floor("h")).duplicated()
    if dup.any():
        first = local[dup][0]
        raise WeatherFileError(path, f"{int(dup.sum())} duplicate hour(s), first at {first:%Y-%m-%d %H:%M}")
    have, need, missing = year_coverage(df.index, year)
    if have >= need:
        return False
    shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
    if partial:
        log.warning("%s: covers %d of %d hours of %d (missing %s); results are for that period only",
                    path, have, need, year, shown)  # fmt: skip
        return True
    raise ClimateCoverageError(
        path,
        f"covers {have} of the {need} hours of a year (missing {shown}); a truncated or short file would "
        "give a wrong annual total. Use a whole year, or pass partial=True (CLI --partial-year) to "
        "analyse only the period it covers",
    )


def _check_not_dark(df: pd.DataFrame, path) -> None:
    """A file with no sunlight at all is a placeholder, not weather: it would give 0 kWh silently."""
    if not (df["ghi"].to_numpy(dtype=float) > 0).any():
        raise WeatherFileError(path, "global horizontal irradiance is zero in every hour (a placeholder file?)")


def _partial_label(df: pd.DataFrame) -> str:
    days = df["weight_h"].sum() / 24.0 if "weight_h" in df else len(df) / 24.0
    return f" (PARTIAL period {df.index.min():%m-%d}..{df.index.max():%m-%d}, {days:.1f} days)"


def _japan_extent() -> tuple[float, float, float, float]:
    from numazu_geo.citygml.validate import japan_extent

    return japan_extent()


def _in_extent(site: Site, extent) -> bool:
    w, s_, e, n = extent
    return w <= site.longitude_deg <= e and s_ <= site.latitude_deg <= n


def site_distance_km(a: Site, b: Site) -> float:
    """Great-circle distance between two sites in km (haversine, mean Earth radius 6,371 km)."""
    lat1, lon1, lat2, lon2 = map(np.radians, (a.latitude_deg, a.longitude_deg, b.latitude_deg, b.longitude_deg))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return float(2 * 6371.0 * np.arcsin(np.sqrt(min(1.0, h))))


def climate_for_site(
    climate: Climate,
    site: Site | None,
    *,
    max_distance_km: float | None = None,
    warn_km: float = WEATHER_SITE_WARN_KM,
) -> Climate:
    """Use ``climate`` for buildings at ``site``: check the distance and move the sun there.

    The weather's own location (EPW LOCATION header, METPV station line) is compared with ``site``
    (the buildings' centre). Beyond ``warn_km`` a warning is logged; beyond ``max_distance_km``
    (when given), or when the buildings lie in Japan and the weather site does not (e.g. an EPW for
    London), :class:`~numazu_geo.errors.ClimateSiteError` is raised naming the file and the distance.
    Pass ``max_distance_km=math.inf`` to use distant weather on purpose.

    Returns a copy whose ``site`` is the buildings' (so sun positions are computed where the roofs
    are), with ``weather_site`` and ``site_distance_km`` recorded and the distance in ``source``.
    ``site=None`` returns ``climate`` unchanged.
    """
    if site is None:
        return climate
    weather = climate.weather_site or climate.site
    dist = site_distance_km(weather, site)
    where = (f"weather site {weather.name or ''} ({weather.latitude_deg:.3f} N, {weather.longitude_deg:.3f} E) "
             f"is {dist:,.0f} km from the buildings ({site.latitude_deg:.3f} N, {site.longitude_deg:.3f} E)")  # fmt: skip
    if max_distance_km is not None:
        if dist > max_distance_km:
            raise ClimateSiteError(climate.source, f"{where}, more than max_distance_km={max_distance_km:g}")
    else:
        extent = _japan_extent()
        if _in_extent(site, extent) and not _in_extent(weather, extent):
            raise ClimateSiteError(
                climate.source,
                f"{where}, outside Japan: weather from elsewhere would give wrong yields. Use local weather, "
                "or pass max_distance_km=math.inf (CLI --max-weather-distance inf) to use it on purpose",
            )
    if dist > warn_km:
        log.warning("%s: %s; irradiance is the weather site's, the sun is computed at the buildings",
                    climate.source, where)  # fmt: skip
    moved = Site(site.latitude_deg, site.longitude_deg, site.altitude_m, site.tz, site.name or "buildings")
    source = climate.source if dist <= 1.0 else f"{climate.source} ({dist:,.0f} km from the buildings)"
    return replace(climate, site=moved, weather_site=weather, site_distance_km=dist, source=source, _solpos=None)


# --------------------------------------------------------------------------------------------
# readers


def _fill_gaps(df: pd.DataFrame, columns, path) -> pd.DataFrame:
    for col in columns:
        if col not in df.columns:
            continue
        bad = df[col].isna()
        if bad.mean() > MAX_MISSING_FRACTION:
            raise WeatherFileError(
                path, f"{int(bad.sum())} of {len(df)} values of {col} are missing (more than {MAX_MISSING_FRACTION:.0%})"
            )
        if bad.any():
            log.warning("%s: filling %d missing %s values by interpolation", path, int(bad.sum()), col)
            df[col] = df[col].interpolate(limit_direction="both").fillna(0.0)
    return df


def _decompose(df: pd.DataFrame, site: Site) -> pd.DataFrame:
    """Add dni/dhi from ghi with Erbs where a file gives only global horizontal irradiance."""
    import pvlib

    pos = solar_position(df.index, site)
    split = pvlib.irradiance.erbs(df["ghi"].to_numpy(), pos["zenith"].to_numpy(), df.index)
    df["dni"] = np.nan_to_num(np.asarray(split["dni"], dtype=float))
    df["dhi"] = np.nan_to_num(np.asarray(split["dhi"], dtype=float))
    return df


def read_epw(path: str | os.PathLike, *, year: int = DEFAULT_YEAR, partial: bool = False) -> Climate:
    """Read an EnergyPlus weather file (EPW) with ``pvlib.iotools.read_epw``.

    EPW rows are hour-ending in local standard time (pvlib labels them at the hour's start);
    timestamps are moved to the middle of each hour, coerced to ``year`` (typical-year files mix years) and converted to Asia/Tokyo. Missing
    irradiance (9999) up to 5 % of the hours is interpolated; more is an error. The file must cover
    every hour of the year (:func:`check_year`) unless ``partial=True``. The rows of 29 February of a
    leap-year file have no place in a common ``year``: they are dropped, counted in a warning and in
    the climate's label.
    """
    import pvlib

    path = Path(path)
    if not path.exists():
        raise WeatherFileError(path, "no such file")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    leap_rows = 0
    if not calendar.isleap(year):
        kept = lines[:8]  # the 8 header lines
        for line in lines[8:]:
            cells = line.split(",", 3)
            if len(cells) > 3 and cells[1].strip() == "2" and cells[2].strip() == "29":
                leap_rows += 1
                continue
            kept.append(line)
        lines = kept
    try:  # a buffer: pvlib would treat a path starting with 'http' as a URL
        raw, meta = pvlib.iotools.read_epw(io.StringIO("".join(lines)), coerce_year=year)
    except Exception as exc:  # pvlib raises assorted errors on malformed files
        raise WeatherFileError(path, f"not a readable EPW file ({type(exc).__name__}: {exc})") from exc
    try:
        site = Site(
            float(meta["latitude"]), float(meta["longitude"]), float(meta.get("altitude") or 0.0),
            TIMEZONE, str(meta.get("city") or path.stem),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise WeatherFileError(path, f"bad EPW LOCATION header ({exc})") from exc
    if len(raw) == 0:
        raise WeatherFileError(path, "EPW file has no data rows")
    df = pd.DataFrame(index=raw.index)
    for col in ("ghi", "dni", "dhi", "temp_air"):
        if col in raw.columns:
            values = pd.to_numeric(raw[col], errors="coerce").astype(float)
            limit = 9999.0 if col != "temp_air" else 99.9
            df[col] = values.where(values < limit)
    df = _fill_gaps(df, ("ghi", "dni", "dhi", "temp_air"), path)
    df = df.sort_index()
    step = pd.Series(df.index).diff().median() if len(df) > 1 else pd.Timedelta("1h")
    # pvlib labels EPW hour h (hour ending h:00) at its start, (h-1):00; the middle is +30 min
    df.index = (df.index + step / 2).tz_convert(TIMEZONE)
    df = df.sort_index()
    df["weight_h"] = step / pd.Timedelta("1h")
    is_partial = check_year(df, path, year, partial=partial)
    _check_not_dark(df, path)
    label = f"EPW {path.name}" + (_partial_label(df) if is_partial else "")
    if leap_rows:
        log.warning("%s: %d row(s) of 29 February dropped (a leap-year file; %d has no 29 February)",
                    path, leap_rows, year)  # fmt: skip
        label += f" (29 Feb dropped: {leap_rows} rows)"
    return Climate(df, site, label, partial=is_partial)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for enc in ("utf-8-sig", "cp932"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise WeatherFileError(path, "cannot decode the file (tried UTF-8 and Shift_JIS/cp932)")


def _num(text: str) -> float:
    return float(str(text).strip())


def read_metpv(
    path: str | os.PathLike,
    *,
    year: int = DEFAULT_YEAR,
    site: Site | None = None,
    elements: dict[int, str] | None = None,
    partial: bool = False,
) -> Climate:
    """Read a NEDO METPV-style hourly CSV (METPV-11 / METPV-20 layout), or a tidy hourly CSV.

    Supported layouts
    -----------------
    **METPV wide layout** (what NEDO distributes): an optional first line with the station
    ``id, name, lat_deg, lat_min, lon_deg, lon_min, elevation_m``; then one row per element and
    day: ``element, month, day, year_or_flag, v1 .. v24[, extra columns]`` where ``v1..v24`` are
    the values for the hours ending at 1:00 .. 24:00 JST. Elements (``METPV_ELEMENTS``): 1 global
    horizontal, 2 direct, 3 diffuse horizontal, all in 0.01 MJ/m2 per hour; 5 air temperature in
    0.1 deg C; 8888/9999 mark missing values. Element 2 is taken as direct *normal* irradiation
    when that closes ``GHI = DHI + DNI cos z`` better than a horizontal reading, else as direct
    horizontal; without 2 and 3, GHI is split with Erbs.

    **Tidy layout**: a header row and one row per hour with either a ``time``/``datetime`` column
    (hour-ending local time) or ``month, day, hour`` columns (hour 1..24, hour-ending), and
    ``ghi`` (plus optional ``dni``, ``dhi``, ``temp_air``) where a ``_mj_m2`` suffix means MJ/m2 per
    hour and no suffix or ``_w_m2`` means W/m2.

    Timestamps are moved to mid-hour (hour ending 13:00 -> 12:30) in Asia/Tokyo, year ``year``.
    The site comes from the station line, else ``site``, else the Numazu default (with a warning).
    Errors raise :class:`~numazu_geo.errors.WeatherFileError` naming the file and the line. The file
    must cover every hour of the year (:func:`check_year`) unless ``partial=True``.
    """
    path = Path(path)
    if not path.exists():
        raise WeatherFileError(path, "no such file")
    text = _read_text(path)
    rows = [r for r in csv.reader(io.StringIO(text))]
    rows = [[c.strip() for c in r] for r in rows]
    nonempty = [(i + 1, r) for i, r in enumerate(rows) if any(c for c in r)]
    if not nonempty:
        raise WeatherFileError(path, "file is empty")
    first_line, first = nonempty[0]
    if any(re.search(r"[A-Za-z]", c) for c in first) and _looks_like_tidy_header(first):
        clim = _read_tidy(path, text, year=year, site=site)
    else:
        clim = _read_metpv_wide(path, nonempty, year=year, site=site, elements=elements or METPV_ELEMENTS)
    if check_year(clim.data, path, year, partial=partial):
        clim = replace(clim, partial=True, source=clim.source + _partial_label(clim.data))
    _check_not_dark(clim.data, path)
    return clim


def _looks_like_tidy_header(cells) -> bool:
    names = {c.lower() for c in cells}
    return any(n.startswith("ghi") for n in names)


def _site_from_station(cells, path, line) -> Site | None:
    try:
        lat = _num(cells[2]) + _num(cells[3]) / 60.0
        lon = _num(cells[4]) + _num(cells[5]) / 60.0
        alt = _num(cells[6])
        return Site(lat, lon, alt, TIMEZONE, cells[1])
    except (IndexError, ValueError) as exc:
        raise WeatherFileError(path, f"bad station line ({exc})", line=line) from exc


def _read_metpv_wide(path, nonempty, *, year, site, elements) -> Climate:
    start = 0
    station_site = None
    first_line, first = nonempty[0]
    if len(first) < 28:  # station header, not a data row
        station_site = _site_from_station(first, path, first_line)
        start = 1
    values: dict[str, dict[pd.Timestamp, float]] = {}
    n_rows = 0
    for line, cells in nonempty[start:]:
        if len(cells) < 28:
            raise WeatherFileError(
                path, f"expected element, month, day, year and 24 hourly values, found {len(cells)} columns", line=line
            )
        try:
            element = int(_num(cells[0]))
            month = int(_num(cells[1]))
            day = int(_num(cells[2]))
            hourly = [_num(c) if c != "" else np.nan for c in cells[4:28]]
        except ValueError as exc:
            raise WeatherFileError(path, f"non-numeric value ({exc})", line=line) from exc
        name = elements.get(element)
        if name is None:
            continue
        try:
            date = pd.Timestamp(year=year, month=month, day=day)
        except ValueError as exc:
            if month == 2 and day == 29:
                continue  # typical-year files may carry Feb 29; a non-leap target year drops it
            raise WeatherFileError(path, f"bad date month={month} day={day}", line=line) from exc
        column = values.setdefault(name, {})
        for h, v in enumerate(hourly, start=1):
            if v in METPV_MISSING:
                v = np.nan
            column[date + pd.Timedelta(hours=h - 0.5)] = v
        n_rows += 1
    if "ghi" not in values:
        raise WeatherFileError(path, "no global horizontal irradiation rows (element 1) found")
    index = pd.DatetimeIndex(sorted(values["ghi"]))
    df = pd.DataFrame({k: pd.Series(v).reindex(index) for k, v in values.items()}, index=index)
    for col in ("ghi", "direct", "dhi"):
        if col in df.columns:
            df[col] = df[col] * METPV_IRRADIATION_TO_W_M2
    if "temp_air" in df.columns:
        df["temp_air"] = df["temp_air"] * METPV_TEMPERATURE_TO_C
    df.index = df.index.tz_localize(TIMEZONE)
    df = _fill_gaps(df, ("ghi", "direct", "dhi", "temp_air"), path)
    site = _choose_site(station_site, site, path)
    if "direct" in df.columns and "dhi" in df.columns:
        df = _assign_direct(df, site, path)
    else:
        df = _decompose(df.drop(columns=["direct", "dhi"], errors="ignore"), site)
    df["weight_h"] = 1.0
    return Climate(df, site, f"METPV {path.name}")


def _choose_site(station_site, site, path) -> Site:
    if station_site is not None:
        return station_site
    if site is not None:
        return site
    log.warning("%s: no station line and no site given; using the default Numazu site", path)
    return default_site()


def _assign_direct(df, site, path) -> pd.DataFrame:
    """Decide whether METPV 'direct' is normal-incidence or horizontal by closure with GHI."""
    pos = solar_position(df.index, site)
    cosz = np.clip(np.cos(np.radians(pos["zenith"].to_numpy())), 0.0, None)
    ghi, direct, dhi = (df[c].to_numpy(dtype=float) for c in ("ghi", "direct", "dhi"))
    day = cosz > 0.1
    total = ghi[day].sum()
    if total <= 0:
        raise WeatherFileError(path, "global irradiation is zero for the whole year")
    err_normal = np.abs(dhi[day] + direct[day] * cosz[day] - ghi[day]).sum() / total
    err_horiz = np.abs(dhi[day] + direct[day] - ghi[day]).sum() / total
    if err_normal <= err_horiz:
        df["dni"] = direct
        err = err_normal
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            df["dni"] = np.where(cosz > 0.05, direct / np.maximum(cosz, 0.05), 0.0)
        err = err_horiz
    if err > 0.25:
        log.warning("%s: GHI, direct and diffuse do not close (%.0f %% mismatch); splitting GHI with Erbs", path, 100 * err)
        return _decompose(df.drop(columns=["direct", "dni", "dhi"]), site)
    return df.drop(columns=["direct"])


_TIDY_UNITS = {"": 1.0, "_w_m2": 1.0, "_mj_m2": 1e6 / 3600.0, "_wh_m2": 1.0}


def _read_tidy(path, text, *, year, site) -> Climate:
    try:
        raw = pd.read_csv(io.StringIO(text))
    except Exception as exc:
        raise WeatherFileError(path, f"cannot parse CSV ({exc})") from exc
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    if "time" in raw.columns or "datetime" in raw.columns:
        col = "time" if "time" in raw.columns else "datetime"
        try:
            t = pd.to_datetime(raw[col])
        except Exception as exc:
            raise WeatherFileError(path, f"cannot parse column {col!r} as times ({exc})") from exc
        mid = pd.DatetimeIndex(t) - pd.Timedelta(minutes=30)  # hour-ending -> mid-hour, before
        index = pd.DatetimeIndex([ts.replace(year=year) for ts in mid])  # moving to ``year``
    elif {"month", "day", "hour"} <= set(raw.columns):
        try:
            base = pd.to_datetime(pd.DataFrame({"year": year, "month": raw["month"], "day": raw["day"]}))
        except Exception as exc:
            raise WeatherFileError(path, f"bad month/day values ({exc})") from exc
        index = pd.DatetimeIndex(base + pd.to_timedelta(raw["hour"].astype(float) - 0.5, unit="h"))
    else:
        raise WeatherFileError(path, "tidy CSV needs a 'time' column or 'month', 'day', 'hour' columns")
    index = index.tz_localize(TIMEZONE) if index.tz is None else index.tz_convert(TIMEZONE)
    df = pd.DataFrame(index=index)
    for name in ("ghi", "dni", "dhi"):
        for suffix, factor in _TIDY_UNITS.items():
            if name + suffix in raw.columns:
                df[name] = pd.to_numeric(raw[name + suffix], errors="coerce").to_numpy() * factor
                break
    if "ghi" not in df.columns:
        raise WeatherFileError(path, "no 'ghi' column (W/m2) or 'ghi_mj_m2' column (MJ/m2 per hour)")
    if "temp_air" in raw.columns:
        df["temp_air"] = pd.to_numeric(raw["temp_air"], errors="coerce").to_numpy()
    df = _fill_gaps(df, ("ghi", "dni", "dhi", "temp_air"), path)
    site = _choose_site(None, site, path)
    if not {"dni", "dhi"} <= set(df.columns):
        df = _decompose(df, site)
    df = df.sort_index()
    df["weight_h"] = 1.0
    return Climate(df, site, f"CSV {path.name}")


def load_climate(
    climate=None, *, year: int = DEFAULT_YEAR, site: Site | None = None, partial: bool = False
) -> Climate:
    """Turn what a user passes as ``climate=`` into a :class:`Climate`.

    ``None`` -> :func:`default_climate`; a Climate -> itself; a path ending ``.epw`` ->
    :func:`read_epw`; ``.csv`` -> :func:`read_metpv`; a DataFrame with ghi/dni/dhi -> wrapped
    (``site`` or the default site). Files must cover a whole year unless ``partial=True``.
    """
    if climate is None:
        return default_climate(site, year)
    if isinstance(climate, Climate):
        return climate
    if isinstance(climate, pd.DataFrame):
        clim = Climate(climate.copy(), site or default_site(), "user DataFrame")
        data_year = int(pd.Series(clim.times.year).mode().iloc[0])
        if check_year(clim.data, "user DataFrame", data_year, partial=partial):
            clim = replace(clim, partial=True, source=clim.source + _partial_label(clim.data))
        return clim
    if isinstance(climate, (str, os.PathLike)):
        path = Path(climate)
        ext = path.suffix.lower()
        if ext == ".epw":
            return read_epw(path, year=year, partial=partial)
        if ext in {".csv", ".txt"}:
            return read_metpv(path, year=year, site=site, partial=partial)
        raise WeatherFileError(path, f"unknown weather file type {ext!r} (use .epw or a METPV .csv)")
    raise TypeError(f"climate must be None, a Climate, a DataFrame or a path, not {type(climate).__name__}")


__all__ = [
    "Climate",
    "default_climate",
    "monthly_normals_at",
    "air_temperature_and_wind",
    "bendt_daily_clearness",
    "read_epw",
    "read_metpv",
    "load_climate",
    "climate_for_site",
    "check_year",
    "METPV_ELEMENTS",
]

