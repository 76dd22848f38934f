"""Hourly weather for the solar engine: the approximate Numazu default and readers for real data.

A :class:`Climate` holds an hourly (or finer) DataFrame with ``ghi``, ``dni``, ``dhi`` in W/m2
(mean irradiance over the interval), optional ``temp_air`` in deg C, and ``weight_h`` (hours each
row stands for), on a DatetimeIndex in ``Asia/Tokyo`` labelled at the middle of each interval.

The default (:func:`default_climate`) is **APPROXIMATE**: no measured monthly irradiation normals
for Numazu, Shizuoka or Mishima were available to the project, so it is modelled:

1. clear sky by Ineichen-Perez with pvlib's shipped monthly Linke turbidity;
2. monthly horizontal irradiation from Angstrom-Prescott ``H = (a + b n/N) H0`` with the FAO-56
   coefficients ``a = 0.25, b = 0.50``, extraterrestrial ``H0`` and day length ``N`` for the site,
   and relative sunshine ``n/N`` from the JMA Shizuoka 1991-2020 annual normal (2,151.5 h). Monthly
   sunshine normals were not found, so the annual relative sunshine is used for every month
   (the real Pacific-coast pattern, sunny winters and a dull June, is not represented) unless the
   user passes ``monthly_sunshine_h``;
3. every hour's clear-sky GHI scaled by its month's factor, then split into DNI and DHI with the
   Erbs diffuse-fraction model.

Give real hourly data (EPW via :func:`read_epw`, NEDO METPV via :func:`read_metpv`) to replace it.

References
----------
Allen, R.G., Pereira, L.S., Raes, D., Smith, M. (1998). FAO Irrigation and Drainage Paper 56,
eq. 21-35. Ineichen, P. & Perez, R. (2002). Solar Energy 73(3), 151-157. Erbs, D.G., Klein, S.A.,
Duffie, J.A. (1982). Solar Energy 28(4), 293-302.
"""

from __future__ import annotations

import csv
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
    climate_parameters,
    default_site,
    possible_sunshine_hours,
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
# default climate


def default_climate(
    year: int = DEFAULT_YEAR,
    *,
    site: Site | None = None,
    annual_sunshine_h: float | None = None,
    monthly_sunshine_h=None,
    angstrom_a: float | None = None,
    angstrom_b: float | None = None,
    days: str | None = None,
    method: str = "sunshine_mix",
) -> Climate:
    """The APPROXIMATE default climate for Numazu (see the module docstring for the method).

    Parameters
    ----------
    year : calendar year of the timestamps (a non-leap year gives 8,760 hours).
    site : defaults to central Numazu (``data/climate_numazu.csv``).
    annual_sunshine_h : annual sunshine hours (default JMA Shizuoka 1991-2020 normal, 2,151.5 h).
    monthly_sunshine_h : 12 monthly sunshine hours; overrides ``annual_sunshine_h``.
    angstrom_a, angstrom_b : Angstrom-Prescott coefficients (default FAO-56: 0.25, 0.50).
    days : ``None`` for every hour, ``"monthly"`` for the 15th of each month only (weighted by
        the days in the month; fast, for tests and previews).
    method : how hours get their beam and diffuse parts. ``"sunshine_mix"`` (default): a share
        ``n/N`` of each hour is clear sky (Ineichen) and the rest overcast (diffuse only), the
        overcast level chosen so the month sums to the Angstrom-Prescott total. ``"erbs"``: every
        hour's clear-sky GHI scaled by the month's factor and split by the Erbs hourly model; this
        overstates diffuse light (about 64 % of GHI here, against about 40-45 % from Erbs' own
        monthly-average correlation) because the hourly model sees a uniformly hazy sky.
    """
    import pvlib

    p = climate_parameters()
    site = site or default_site()
    a = float(p["angstrom_a"]) if angstrom_a is None else float(angstrom_a)
    b = float(p["angstrom_b"]) if angstrom_b is None else float(angstrom_b)
    times = year_times(year)
    solpos = solar_position(times, site)
    loc = pvlib.location.Location(site.latitude_deg, site.longitude_deg, tz=site.tz, altitude=site.altitude_m)
    cs = loc.get_clearsky(times, model="ineichen", solar_position=solpos)

    cosz = np.clip(np.cos(np.radians(solpos["zenith"].to_numpy())), 0.0, None)
    h0 = pvlib.irradiance.get_extra_radiation(times).to_numpy() * cosz  # W/m2 on the horizontal
    month = times.month
    h0_month = pd.Series(h0, index=times).groupby(month).sum()
    cs_month = cs["ghi"].groupby(month).sum()
    n_day = possible_sunshine_hours(times, site.latitude_deg)
    n_month = n_day.groupby(n_day.index.month).sum()

    if monthly_sunshine_h is not None:
        sun_h = pd.Series(np.asarray(monthly_sunshine_h, dtype=float), index=range(1, 13))
        if len(sun_h) != 12 or (sun_h < 0).any():
            raise ValueError("default_climate: monthly_sunshine_h needs 12 non-negative values")
        rel = (sun_h / n_month).clip(0.0, 1.0)
        label = "monthly sunshine given by the user"
    else:
        total = float(p["annual_sunshine_h"]) if annual_sunshine_h is None else float(annual_sunshine_h)
        rel_year = min(max(total / float(n_month.sum()), 0.0), 1.0)
        rel = pd.Series(rel_year, index=range(1, 13))
        label = f"annual sunshine {total:.1f} h spread evenly in relative terms"

    target = (a + b * rel) * h0_month  # Angstrom-Prescott (FAO-56 eq. 35), month sums of W/m2 * 1 h
    if method == "sunshine_mix":
        # sunshine duration is the time with beam above 120 W/m2 (WMO), so a share rel of the time
        # is clear sky and the rest overcast (no beam), with the overcast level set so the month
        # sums to the Angstrom-Prescott total (the clear/cloudy mix PLATEAU SolarPotential uses)
        s_h = rel.reindex(month).to_numpy()
        overcast_scale = ((target - rel * cs_month) / ((1.0 - rel) * cs_month)).clip(0.0, 1.0)
        overcast = cs["ghi"].to_numpy() * overcast_scale.reindex(month).to_numpy()
        ghi = s_h * cs["ghi"].to_numpy() + (1.0 - s_h) * overcast
        dni = s_h * cs["dni"].to_numpy()
        dhi = s_h * cs["dhi"].to_numpy() + (1.0 - s_h) * overcast
        label += "; clear/overcast mix by relative sunshine"
    elif method == "erbs":
        scale = (target / cs_month).clip(upper=1.0)
        ghi = cs["ghi"].to_numpy() * scale.reindex(month).to_numpy()
        split = pvlib.irradiance.erbs(ghi, solpos["zenith"].to_numpy(), times)
        dni = np.nan_to_num(np.asarray(split["dni"], dtype=float))
        dhi = np.nan_to_num(np.asarray(split["dhi"], dtype=float))
        label += "; scaled clear sky split by Erbs"
    else:
        raise ValueError(f"default_climate: method must be 'sunshine_mix' or 'erbs', not {method!r}")
    data = pd.DataFrame({"ghi": ghi, "dni": dni, "dhi": dhi}, index=times)
    data["weight_h"] = 1.0
    source = (
        f"APPROXIMATE default for {site.name or 'site'}: Ineichen clear sky, monthly totals by "
        f"Angstrom-Prescott (a={a}, b={b}; {label})"
    )
    climate = Climate(data, site, source, approximate=True, _solpos=solpos)
    if days == "monthly":
        sub = climate.representative_days(15)
        sub._solpos = solpos.loc[sub.times]
        return sub
    if days is not None:
        raise ValueError(f"default_climate: days must be None or 'monthly', not {days!r}")
    return climate


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
    every hour of the year (:func:`check_year`) unless ``partial=True``.
    """
    import pvlib

    path = Path(path)
    if not path.exists():
        raise WeatherFileError(path, "no such file")
    try:
        raw, meta = pvlib.iotools.read_epw(path, coerce_year=year)
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
        return default_climate(year, site=site)
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
    "read_epw",
    "read_metpv",
    "load_climate",
    "climate_for_site",
    "check_year",
    "METPV_ELEMENTS",
]

