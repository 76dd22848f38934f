"""JMA climate normals (1991-2020): the shipped subset, nearest stations, Angstrom-Prescott fit.

The project ships ``data/jma_normals_1991_2020.csv.gz``: for every JMA station with 12 monthly
sunshine normals (833 stations), the monthly normals of sunshine, global irradiation (where
measured: 69 of those stations; 71 measure irradiation, but Mt Fuji and Showa Station have no
sunshine normals), air temperature (mean, mean daily maximum and minimum) and wind speed, with
the station's coordinates. It is derived from the full table in ``../shared/data/jma_normals``
by :func:`build_normals_subset`.

Credit (JMA terms of use, 政府標準利用規約 2.0): "出典：気象庁ホームページ（平年値 1991-2020）",
values derived by numazu-geo (monthly irradiation modelled from sunshine where not measured).

Angstrom-Prescott
-----------------
Monthly mean daily global irradiation ``H = (a + b n/N) H0`` (Angstrom 1924, Prescott 1940; FAO-56
eq. 35) with ``H0`` the extraterrestrial irradiation on a horizontal plane (FAO-56 eq. 21) and
``N`` the day length (eq. 34), both averaged over the days of the month at the station's latitude.
:func:`fit_angstrom` fits one ``(a, b)`` pair by least squares over all station-months that
measure both irradiation and sunshine; :func:`angstrom_leave_one_out` gives its error on stations
left out of the fit (the figures are in ``data/solar_defaults.csv`` and ``benchmarks/RESULTS.md``).

References
----------
Allen, R.G., Pereira, L.S., Raes, D., Smith, M. (1998). FAO Irrigation and Drainage Paper 56,
eq. 21-35. Prescott, J.A. (1940). Evaporation from a water surface in relation to solar
radiation. Trans. R. Soc. S. Aust. 64, 114-118.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from numazu_geo.paths import data_path

#: The shipped subset of the JMA normals (see the module docstring).
NORMALS_FILE = "jma_normals_1991_2020.csv.gz"

#: Credit line JMA asks for (政府標準利用規約 2.0), naming the period.
JMA_CREDIT = "出典：気象庁ホームページ（平年値 1991-2020）を加工して作成"

#: Mean Earth radius (km) for great-circle distances (IUGG mean radius R1).
EARTH_RADIUS_KM = 6371.0088

#: Solar constant used by FAO-56 eq. 21, MJ m-2 min-1.
GSC_MJ_M2_MIN = 0.0820

VALUE_COLUMNS = (
    "temp_mean_c",
    "temp_max_c",
    "temp_min_c",
    "wind_speed_m_s",
    "sunshine_h",
    "global_radiation_mj_m2_day",
)
STATION_COLUMNS = ("station_id", "name", "name_kana", "latitude_deg", "longitude_deg", "altitude_m")

_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def build_normals_subset(src_dir: str | os.PathLike, out_path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Write the shipped subset from the full JMA normals folder (``stations.csv`` and
    ``normals_1991_2020.csv``): stations with 12 monthly sunshine normals, one row per station
    and month, the columns of :data:`VALUE_COLUMNS`. Returns the table."""
    src = Path(src_dir)
    stations = pd.read_csv(src / "stations.csv", dtype={"station_id": str})
    normals = pd.read_csv(src / "normals_1991_2020.csv", dtype={"station_id": str})
    normals = normals[normals["month"].astype(str) != "annual"].copy()
    normals["month"] = normals["month"].astype(int)
    n_sun = normals.groupby("station_id")["sunshine_h"].count()
    keep = n_sun.index[n_sun == 12]
    table = normals[normals["station_id"].isin(keep)][["station_id", "month", *VALUE_COLUMNS]]
    meta = stations.drop_duplicates("station_id")[list(STATION_COLUMNS)]
    table = meta.merge(table, on="station_id", how="inner").sort_values(["station_id", "month"])
    for col in ("latitude_deg", "longitude_deg"):
        table[col] = table[col].round(5)
    if out_path is not None:
        header = (
            "# JMA climate normals 1991-2020 (monthly), stations with 12 monthly sunshine normals.\n"
            f"# {JMA_CREDIT}. Source: JMA normals pages (nml_sfc_ym / nml_amd_ym) as scraped in October 2022 by\n"
            "# the R package clidatajp (GitHub matutosi/clidatajp, MIT); subset made by "
            "numazu_geo.solar.jma.build_normals_subset.\n"
            "# Units: temperatures deg C (mean, mean daily max, mean daily min), wind m/s, sunshine h per month,\n"
            "# global irradiation MJ/m2/day (monthly mean; empty where not measured).\n"
        )
        import gzip

        with gzip.open(out_path, "wt", encoding="utf-8", newline="") as fh:
            fh.write(header)
            table.to_csv(fh, index=False, float_format="%.6g")
    return table.reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def normals() -> pd.DataFrame:
    """The shipped monthly normals (one row per station and month)."""
    df = pd.read_csv(data_path(NORMALS_FILE), comment="#", dtype={"station_id": str})
    return df


@functools.lru_cache(maxsize=1)
def stations() -> pd.DataFrame:
    """One row per station of the shipped subset, with ``has_irradiation``."""
    df = normals()
    meta = df.drop_duplicates("station_id")[list(STATION_COLUMNS)].set_index("station_id")
    n_rad = df.groupby("station_id")["global_radiation_mj_m2_day"].count()
    meta["has_irradiation"] = n_rad.reindex(meta.index).fillna(0).to_numpy() == 12
    n_wind = df.groupby("station_id")["wind_speed_m_s"].count()
    meta["has_wind"] = n_wind.reindex(meta.index).fillna(0).to_numpy() == 12
    return meta


def monthly(station_id: str) -> pd.DataFrame:
    """Monthly normals of one station, index 1..12."""
    df = normals()
    sub = df[df["station_id"] == str(station_id)].set_index("month").sort_index()
    if len(sub) != 12:
        raise KeyError(f"{NORMALS_FILE}: no monthly normals for station {station_id!r}")
    return sub[list(VALUE_COLUMNS)]


def distance_km(lat1, lon1, lat2, lon2):
    """Great-circle (haversine) distance in km."""
    p1, l1, p2, l2 = map(np.radians, (lat1, lon1, lat2, lon2))
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


@dataclass(frozen=True)
class Station:
    station_id: str
    name: str
    name_kana: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    distance_km: float

    @property
    def label(self) -> str:
        return f"{self.name} {self.name_kana} ({self.station_id})"


def nearest_station(latitude_deg: float, longitude_deg: float, *, require: str | None = None) -> Station:
    """The nearest station of the subset; ``require="irradiation"`` or ``"wind"`` restricts it to
    stations with 12 monthly normals of that element."""
    st = stations()
    if require == "irradiation":
        st = st[st["has_irradiation"]]
    elif require == "wind":
        st = st[st["has_wind"]]
    elif require is not None:
        raise ValueError(f"nearest_station: require must be None, 'irradiation' or 'wind', not {require!r}")
    d = distance_km(latitude_deg, longitude_deg, st["latitude_deg"].to_numpy(), st["longitude_deg"].to_numpy())
    i = int(np.argmin(d))
    row = st.iloc[i]
    return Station(
        str(st.index[i]), str(row["name"]), str(row["name_kana"]), float(row["latitude_deg"]),
        float(row["longitude_deg"]), float(row["altitude_m"]), float(d[i]),
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------
# extraterrestrial irradiation and day length (FAO-56)


def monthly_extraterrestrial(latitude_deg) -> tuple[np.ndarray, np.ndarray]:
    """Monthly means of daily extraterrestrial horizontal irradiation ``H0`` (MJ/m2/day, FAO-56
    eq. 21) and day length ``N`` (h, eq. 34) for each latitude: two arrays (L, 12)."""
    lat = np.radians(np.atleast_1d(np.asarray(latitude_deg, dtype=float)))[:, None]
    doy = np.arange(1, 366)[None, :]
    dr = 1 + 0.033 * np.cos(2 * np.pi / 365 * doy)  # eq. 23
    decl = 0.409 * np.sin(2 * np.pi / 365 * doy - 1.39)  # eq. 24
    ws = np.arccos(np.clip(-np.tan(lat) * np.tan(decl), -1.0, 1.0))  # eq. 25
    ra = 24 * 60 / np.pi * GSC_MJ_M2_MIN * dr * (ws * np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.sin(ws))
    n = 24 / np.pi * ws  # eq. 34
    month = np.repeat(np.arange(12), _DAYS)
    h0 = np.stack([ra[:, month == m].mean(axis=1) for m in range(12)], axis=1)
    nn = np.stack([n[:, month == m].mean(axis=1) for m in range(12)], axis=1)
    return h0, nn


def relative_sunshine(sunshine_h_month, latitude_deg) -> np.ndarray:
    """``n/N`` per month from monthly sunshine totals (h) at a latitude."""
    _, nn = monthly_extraterrestrial(latitude_deg)
    return np.clip(np.asarray(sunshine_h_month, dtype=float) / _DAYS / nn[0], 0.0, 1.0)


def angstrom_prescott(sunshine_h_month, latitude_deg, a: float, b: float) -> np.ndarray:
    """Monthly mean daily global irradiation (MJ/m2/day) from monthly sunshine (h), 12 values."""
    h0, _ = monthly_extraterrestrial(latitude_deg)
    return (a + b * relative_sunshine(sunshine_h_month, latitude_deg)) * h0[0]


# ------------------------------------------------------------------------------------------------
# fit


@functools.lru_cache(maxsize=1)
def _training() -> pd.DataFrame:
    """Station-months measuring both irradiation and sunshine, with ``x = n/N`` and ``y = H/H0``."""
    df = normals()
    st = stations()
    ids = st.index[st["has_irradiation"]]
    sub = df[df["station_id"].isin(ids)].sort_values(["station_id", "month"]).copy()
    lat = st.loc[ids, "latitude_deg"].to_numpy()
    h0, nn = monthly_extraterrestrial(lat)
    order = {sid: i for i, sid in enumerate(ids)}
    row = sub["station_id"].map(order).to_numpy()
    col = sub["month"].to_numpy() - 1
    sub["h0_mj_m2_day"] = h0[row, col]
    sub["x"] = np.clip(sub["sunshine_h"].to_numpy() / _DAYS[col] / nn[row, col], 0.0, 1.0)
    sub["y"] = sub["global_radiation_mj_m2_day"].to_numpy() / sub["h0_mj_m2_day"].to_numpy()
    return sub


def _lstsq(x, y) -> tuple[float, float]:
    b, a = np.polyfit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), 1)
    return float(a), float(b)


@functools.lru_cache(maxsize=1)
def fit_angstrom() -> tuple[float, float]:
    """Angstrom-Prescott ``(a, b)`` fitted by least squares on ``H/H0`` over every station-month
    of the JMA normals that measures both irradiation and sunshine (69 stations x 12 months)."""
    t = _training()
    return _lstsq(t["x"], t["y"])


def angstrom_leave_one_out() -> pd.DataFrame:
    """Leave-one-station-out check of :func:`fit_angstrom`: for each irradiation station, fit on
    the others and predict its 12 months from its own sunshine. One row per station with the
    measured and predicted annual irradiation (kWh/m2/yr) and the error in percent."""
    t = _training()
    rows = []
    for sid, g in t.groupby("station_id", sort=True):
        rest = t[t["station_id"] != sid]
        a, b = _lstsq(rest["x"], rest["y"])
        days = _DAYS[g["month"].to_numpy() - 1]
        measured = float((g["global_radiation_mj_m2_day"].to_numpy() * days).sum() / 3.6)
        predicted = float(((a + b * g["x"].to_numpy()) * g["h0_mj_m2_day"].to_numpy() * days).sum() / 3.6)
        monthly_err = (a + b * g["x"].to_numpy()) / g["y"].to_numpy() - 1.0
        rows.append(
            {
                "station_id": sid, "name": g["name"].iloc[0], "latitude_deg": float(g["latitude_deg"].iloc[0]),
                "measured_kwh_m2_year": measured, "predicted_kwh_m2_year": predicted,
                "error_pct": 100.0 * (predicted / measured - 1.0),
                "monthly_rmse_pct": 100.0 * float(np.sqrt(np.mean(monthly_err**2))),
            }  # fmt: skip
        )
    return pd.DataFrame(rows)


__all__ = [
    "JMA_CREDIT",
    "NORMALS_FILE",
    "Station",
    "angstrom_leave_one_out",
    "angstrom_prescott",
    "build_normals_subset",
    "distance_km",
    "fit_angstrom",
    "monthly",
    "monthly_extraterrestrial",
    "nearest_station",
    "normals",
    "relative_sunshine",
    "stations",
]
