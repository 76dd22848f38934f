"""Coordinate reference systems for PLATEAU data.

PLATEAU files are in EPSG:6697 (JGD2011 geographic 3D, **latitude, longitude, height**; heights
above Tokyo Bay mean sea level). Horizontal transforms here go from EPSG:6668 (JGD2011 2D) with
``always_xy=True`` (longitude, latitude in; x east, y north out) and leave heights untouched.

``crs="auto"`` chooses the Japan Plane Rectangular Coordinate System zone (平面直角座標系, JGD2011,
EPSG:6669 zone I ... EPSG:6687 zone XIX) that contains the data. Zones are assigned by prefecture
and, in Hokkaido, Tokyo's southern islands, Kagoshima and Okinawa, by municipality or area
(国土交通省告示第九号「平面直角座標系」, 2002; GSI https://www.gsi.go.jp/sokuchikijun/jpc.html).
"""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter

import numpy as np
import pyproj

log = logging.getLogger(__name__)

SOURCE_CRS_3D = "EPSG:6697"  # what the files declare (lat, lon, h)
SOURCE_CRS_2D = "EPSG:6668"  # its horizontal part, used for transforms (heights pass through)

#: EPSG code of zone n (1..19) is JPRC_EPSG_BASE + n (EPSG:6669 = zone I, EPSG:6676 = zone VIII)
JPRC_EPSG_BASE = 6668

#: prefecture code (JIS X 0401) -> zone, for prefectures in a single zone (告示第九号, 2002)
PREFECTURE_ZONE = {
    "02": 10, "03": 10, "04": 10, "05": 10, "06": 10, "07": 9, "08": 9, "09": 9, "10": 9,
    "11": 9, "12": 9, "13": 9, "14": 9, "15": 8, "16": 7, "17": 7, "18": 6, "19": 8, "20": 8,
    "21": 7, "22": 8, "23": 7, "24": 6, "25": 6, "26": 6, "27": 6, "28": 5, "29": 6, "30": 6,
    "31": 5, "32": 3, "33": 5, "34": 3, "35": 3, "36": 4, "37": 4, "38": 4, "39": 4, "40": 2,
    "41": 2, "42": 1, "43": 2, "44": 2, "45": 2, "46": 2, "47": 15,
}  # fmt: skip

# Hokkaido (告示第九号): XI = Otaru, Hakodate, Date, Hokuto, Shiribeshi, Oshima, Hiyama, and Toyoura,
# Sobetsu, Toyako in Iburi; XIII = Kitami, Obihiro, Kushiro, Abashiri, Nemuro, Okhotsk, Tokachi,
# Kushiro, Nemuro subprefectures; XII = the rest. By JIS X 0402 municipality code:
_HOKKAIDO_XI_CITIES = {"01202", "01203", "01233", "01236"}
_HOKKAIDO_XIII_CITIES = {"01206", "01207", "01208", "01211", "01223"}
_HOKKAIDO_XI_TOWNS = {"01571", "01575", "01584"}  # Toyoura, Sobetsu, Toyako (Iburi)
_HOKKAIDO_TOWN_RANGES = (  # (first, last, zone) for towns and villages (code >= 01300)
    (1330, 1409, 11),  # Oshima, Hiyama, Shiribeshi
    (1540, 1569, 13),  # Okhotsk
    (1630, 1699, 13),  # Tokachi, Kushiro, Nemuro
)
_CITY_HINT_RE = re.compile(r"(?<![0-9])([0-4][0-9]{4})_[a-z]")

#: zone origins (lat, lon) in degrees, used only when no municipality code is known
ZONE_ORIGINS = {
    1: (33, 129.5), 2: (33, 131), 3: (36, 132 + 1 / 6), 4: (33, 133.5), 5: (36, 134 + 1 / 3),
    6: (36, 136), 7: (36, 137 + 1 / 6), 8: (36, 138.5), 9: (36, 139 + 5 / 6), 10: (40, 140 + 5 / 6),
    11: (44, 140.25), 12: (44, 142.25), 13: (44, 144.25), 14: (26, 142), 15: (26, 127.5),
    16: (26, 124), 17: (26, 131), 18: (20, 136), 19: (26, 154),
}  # fmt: skip


def zone_epsg(zone: int) -> int:
    if not 1 <= zone <= 19:
        raise ValueError(f"Japan Plane Rectangular zone must be 1..19, got {zone}")
    return JPRC_EPSG_BASE + zone


def _hokkaido_zone(city: str | None, lat: float, lon: float) -> int:
    if city:
        if city in _HOKKAIDO_XI_CITIES or city in _HOKKAIDO_XI_TOWNS:
            return 11
        if city in _HOKKAIDO_XIII_CITIES:
            return 13
        num = int(city[:5])
        for first, last, zone in _HOKKAIDO_TOWN_RANGES:
            if first <= num <= last:
                return zone
        return 12
    if lon >= 143.0:
        return 13
    return 11 if lon < 141.2 else 12


def zone_for(city_code: str | None, lat: float, lon: float) -> int:
    """Plane Rectangular zone for a municipality code (5 digits, may be None) at ``lat``, ``lon``."""
    pref = city_code[:2] if city_code and len(city_code) >= 2 and city_code[:2].isdigit() else None
    if pref == "01":
        return _hokkaido_zone(city_code, lat, lon)
    if pref == "13" and lat < 28.0:  # Tokyo south of 28 N: Ogasawara XIV, Okinotorishima XVIII, Minamitorishima XIX
        return 18 if lon < 140.5 else (19 if lon > 143.0 else 14)
    if pref == "46" and (lon < 130.0 or (lat < 29.0 and lon <= 130 + 13 / 60)):
        return 1  # Kagoshima's western islands and Amami
    if pref == "47":
        return 16 if lon < 126.0 else (17 if lon > 130.0 else 15)
    if pref in PREFECTURE_ZONE:
        return PREFECTURE_ZONE[pref]
    # no municipality code: the zone whose origin is nearest (approximate near zone borders)
    best = min(
        ZONE_ORIGINS,
        key=lambda z: (ZONE_ORIGINS[z][0] - lat) ** 2 + ((ZONE_ORIGINS[z][1] - lon) * np.cos(np.radians(lat))) ** 2,
    )
    return best


def city_hint_from_path(path: str) -> str | None:
    """A municipality code from an official dataset path (``22203_numazu-shi_city_2023_...``)."""
    match = _CITY_HINT_RE.search(path.replace("\\", "/"))
    return match.group(1) if match else None


def auto_crs(city_codes, lat, lon, *, hints=()) -> pyproj.CRS:
    """The Plane Rectangular zone holding most buildings.

    ``city_codes``: per-building municipality codes (None/NA where unknown); ``lat``/``lon``:
    per-building representative coordinates (degrees); ``hints``: codes from file paths, used
    for buildings without one.
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    hint = next((h for h in hints if h), None)
    votes: Counter = Counter()
    approximate = 0
    for code, la, lo in zip(city_codes, lat, lon):
        if not (np.isfinite(la) and np.isfinite(lo)):
            continue
        code = code if isinstance(code, str) and code else hint
        if code is None:
            approximate += 1
        votes[zone_for(code, float(la), float(lo))] += 1
    if not votes:
        raise ValueError("cannot choose a plane rectangular zone: no building has coordinates")
    (zone, count), *others = votes.most_common()
    if others:
        log.warning(
            "data spans plane rectangular zones %s; using zone %d (EPSG:%d), which holds %d of %d buildings",
            sorted(votes), zone, zone_epsg(zone), count, sum(votes.values()),
        )
    if approximate:
        log.warning(
            "%d buildings have no municipality code; their zone was guessed from the nearest zone origin",
            approximate,
        )
    return pyproj.CRS.from_epsg(zone_epsg(zone))


def resolve_crs(crs) -> pyproj.CRS | None:
    """None for ``"auto"``, else a pyproj CRS (anything ``pyproj.CRS.from_user_input`` accepts)."""
    if crs is None or (isinstance(crs, str) and crs.lower() == "auto"):
        return None
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise ValueError(f"crs={crs!r} is not a coordinate reference system pyproj understands: {exc}") from exc


@functools.lru_cache(maxsize=32)
def _transformer(target_wkt: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(SOURCE_CRS_2D, pyproj.CRS.from_wkt(target_wkt), always_xy=True)


def transform_lonlat(lon: np.ndarray, lat: np.ndarray, target: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    """JGD2011 longitude/latitude (degrees) to ``target`` x, y, in one vectorised call."""
    if target.equals(pyproj.CRS.from_epsg(6668)) or target.equals(pyproj.CRS.from_epsg(6697)):
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = _transformer(target.to_wkt()).transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)
