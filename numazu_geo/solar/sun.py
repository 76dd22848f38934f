"""The site and the sun: where the roofs are, and where the sun is over a typical year.

Times are labelled at the middle of each interval (``HH:30`` for hourly data) in ``Asia/Tokyo``,
so a sun position stands for the whole hour it represents; each step carries a weight in hours
(``weight_h``) so that subsampled years (one day per month in tests) still integrate to annual
totals.

References
----------
Reda, I. & Andreas, A. (2004). Solar position algorithm for solar radiation applications.
Solar Energy 76(5), 577-589 (pvlib ``nrel_numpy``).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from numazu_geo.paths import data_path

#: Time zone of every timestamp the solar engine produces (JST, UTC+9, no daylight saving).
TIMEZONE = "Asia/Tokyo"

#: Default calendar year of the typical year: a non-leap year so a year has 8,760 hours.
DEFAULT_YEAR = 2023


@dataclass(frozen=True)
class Site:
    """A place on Earth: latitude/longitude in degrees (WGS84), altitude in metres above MSL."""

    latitude_deg: float
    longitude_deg: float
    altitude_m: float = 0.0
    tz: str = TIMEZONE
    name: str = ""

    def __post_init__(self):
        if not -90.0 <= float(self.latitude_deg) <= 90.0:
            raise ValueError(f"Site: latitude {self.latitude_deg} is outside -90..90 degrees")
        if not -180.0 <= float(self.longitude_deg) <= 360.0:
            raise ValueError(f"Site: longitude {self.longitude_deg} is outside -180..360 degrees")


@functools.lru_cache(maxsize=1)
def climate_parameters() -> dict[str, str]:
    """The rows of ``data/climate_numazu.csv`` as ``{name: value}`` (strings)."""
    with open(data_path("climate_numazu.csv"), encoding="utf-8") as fh:
        return {row["name"]: row["value"] for row in csv.DictReader(fh)}


def default_site() -> Site:
    """The default site: central Numazu (``data/climate_numazu.csv``)."""
    p = climate_parameters()
    return Site(
        latitude_deg=float(p["latitude_deg"]),
        longitude_deg=float(p["longitude_deg"]),
        altitude_m=float(p["altitude_m"]),
        tz=p["timezone"],
        name=p["site_name"],
    )


def year_times(year: int = DEFAULT_YEAR, *, freq: str = "1h", tz: str = TIMEZONE) -> pd.DatetimeIndex:
    """Timestamps at the middle of every ``freq`` interval of ``year`` (e.g. 00:30, 01:30, ...)."""
    step = pd.Timedelta(freq)
    start = pd.Timestamp(year=year, month=1, day=1, tz=tz)
    end = pd.Timestamp(year=year + 1, month=1, day=1, tz=tz)
    return pd.date_range(start + step / 2, end, freq=step, inclusive="left")


def solar_position(times: pd.DatetimeIndex, site: Site) -> pd.DataFrame:
    """Sun position for ``times`` at ``site`` (pvlib SPA, ``nrel_numpy``).

    Returns a DataFrame indexed like ``times`` with ``apparent_zenith``, ``zenith``,
    ``apparent_elevation``, ``elevation``, ``azimuth`` (degrees, azimuth 0 = north, clockwise).
    """
    import pvlib

    if not isinstance(times, pd.DatetimeIndex) or times.tz is None:
        raise ValueError("solar_position: times must be a tz-aware DatetimeIndex")
    pos = pvlib.solarposition.get_solarposition(
        times, site.latitude_deg, site.longitude_deg, altitude=site.altitude_m, method="nrel_numpy"
    )
    return pos[["apparent_zenith", "zenith", "apparent_elevation", "elevation", "azimuth"]]


def sun_vectors(elevation_deg, azimuth_deg) -> np.ndarray:
    """Unit vectors toward the sun (x east, y north, z up) from elevation and azimuth in degrees."""
    el = np.radians(np.asarray(elevation_deg, dtype=float))
    az = np.radians(np.asarray(azimuth_deg, dtype=float))
    return np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], axis=-1)


def possible_sunshine_hours(times: pd.DatetimeIndex, latitude_deg: float) -> pd.Series:
    """Astronomical day length N per day of ``times`` (FAO-56 eq. 24, 25 and 34), in hours.

    Allen, R.G. et al. (1998). Crop evapotranspiration, FAO Irrigation and Drainage Paper 56.
    """
    days = pd.DatetimeIndex(times.normalize().unique())
    doy = days.day_of_year.to_numpy()
    decl = 0.409 * np.sin(2 * np.pi / 365 * doy - 1.39)  # FAO-56 eq. 24, radians
    phi = np.radians(latitude_deg)
    ws = np.arccos(np.clip(-np.tan(phi) * np.tan(decl), -1.0, 1.0))  # eq. 25
    return pd.Series(24.0 / np.pi * ws, index=days, name="possible_sunshine_h")  # eq. 34
