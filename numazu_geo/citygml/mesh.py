"""Japanese standard grid square (mesh) codes, JIS X 0410: the one implementation.

PLATEAU names each CityGML file after its grid square (``52385628_bldg_6697_op.gml``). Orders:
1st (4 digits, 40' of latitude x 1 deg of longitude), 2nd (6 digits, 1/8 of that: 5' x 7'30"),
3rd (8 digits, 1/10 of the 2nd: 30" x 45", about 1 km), half and quarter squares (9 and 10
digits, numbered 1-4 = SW, SE, NW, NE).

Points are placed in whole 30" / 45" steps (integer arithmetic after one scaling, with a small
epsilon), so a point printed on a cell edge stays in the cell it starts.

References
----------
- JIS X 0410:1976 地域メッシュコード; Statistics Bureau of Japan, 地域メッシュ統計の概要.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["mesh_code", "mesh3_code", "mesh_bounds", "mesh_code_from_name", "mesh_neighbours", "is_mesh_code"]

_NAME_RE = re.compile(r"(?<![0-9])([0-9]{10}|[0-9]{9}|[0-9]{8}|[0-9]{6})_(?=[a-zA-Z])")


def _units(lat, lon):
    """(lat, lon) -> integer (30", 45") steps from (0 N, 100 E); validates the range."""
    lat_a = np.atleast_1d(np.asarray(lat, dtype=float))
    lon_a = np.atleast_1d(np.asarray(lon, dtype=float))
    if np.any(~np.isfinite(lat_a)) or np.any(~np.isfinite(lon_a)):
        raise ValueError("mesh_code: latitude/longitude must be finite numbers")
    if np.any((lat_a < 20) | (lat_a >= 66.66)) or np.any((lon_a < 100) | (lon_a >= 180)):
        raise ValueError("mesh_code: point outside the range of Japanese grid squares "
                         f"(lat 20-66.6 N, lon 100-180 E): lat={lat!r}, lon={lon!r}")  # fmt: skip
    # 1 unit = 30" of latitude (1/120 deg) and 45" of longitude (1/80 deg)
    lat_u = np.floor(lat_a * 120.0 + 1e-7).astype(np.int64)
    lon_u = np.floor((lon_a - 100.0) * 80.0 + 1e-7).astype(np.int64)
    return lat_u, lon_u


def mesh3_code(lat, lon) -> np.ndarray:
    """3rd-order (8-digit) grid square codes of points as an int64 array (0-d for scalars)."""
    shape = np.broadcast_shapes(np.shape(lat), np.shape(lon))
    lat_u, lon_u = _units(lat, lon)
    return (((lat_u // 80) * 1_000_000 + (lon_u // 80) * 10_000 + ((lat_u % 80) // 10) * 1000
            + ((lon_u % 80) // 10) * 100 + (lat_u % 10) * 10 + lon_u % 10)).reshape(shape)  # fmt: skip


def mesh_code(lat, lon):
    """3rd-order grid square code (8 digits, about 1 km) of a point.

    Scalars give a ``str``; arrays give an array of ``str``.

    >>> mesh_code(35.681236, 139.767125)   # Tokyo Station
    '53394611'
    >>> mesh_code(35.1025, 138.86)         # Numazu Station
    '52385628'
    """
    scalar = np.ndim(lat) == 0 and np.ndim(lon) == 0
    out = np.char.zfill(np.atleast_1d(mesh3_code(lat, lon)).astype(str), 8)
    return str(out[0]) if scalar else out


def is_mesh_code(code) -> bool:
    try:
        mesh_bounds(code)
    except ValueError:
        return False
    return True


def mesh_bounds(code: str | int) -> tuple[float, float, float, float]:
    """(west_lon, south_lat, east_lon, north_lat) of a 4, 6, 8, 9 or 10-digit grid square code."""
    s = str(code).strip()
    if len(s) not in (4, 6, 8, 9, 10) or not s.isdigit():
        raise ValueError(f"not a grid square (mesh) code: {code!r}")
    lat_u = int(s[0:2]) * 80  # in 30" steps
    lon_u = int(s[2:4]) * 80  # in 45" steps
    size = 80
    if len(s) >= 6:
        q, v = int(s[4]), int(s[5])
        if q > 7 or v > 7:
            raise ValueError(f"not a grid square code (2nd-order digits must be 0-7): {code!r}")
        lat_u, lon_u, size = lat_u + q * 10, lon_u + v * 10, 10
    if len(s) >= 8:
        lat_u, lon_u, size = lat_u + int(s[6]), lon_u + int(s[7]), 1
    south, west, dlat, dlon = lat_u / 120.0, 100.0 + lon_u / 80.0, size / 120.0, size / 80.0
    for digit in s[8:]:
        k = int(digit) - 1
        if k not in range(4):
            raise ValueError(f"not a grid square (mesh) code: {code!r}")
        dlat, dlon = dlat / 2, dlon / 2
        south += (k // 2) * dlat
        west += (k % 2) * dlon
    return (west, south, west + dlon, south + dlat)


def mesh_code_from_name(name: str) -> str | None:
    """The grid square code in a PLATEAU file name, or None.

    Real names vary (``_op2``, ``_2_op``, ``_psc_op``, no ``_op`` at all, a city prefix), so the
    code is the first run of 6, 8, 9 or 10 digits followed by ``_`` and a letter.

    >>> mesh_code_from_name("52382287_bldg_6697_psc_op.gml")
    '52382287'
    >>> mesh_code_from_name("tokyo13111_53392633_bldg_6697_2_op__lod2_tex.gml")
    '53392633'
    >>> mesh_code_from_name("test_buildingpart.gml") is None
    True
    """
    match = _NAME_RE.search(name)
    return match.group(1) if match else None


def mesh_neighbours(code: str | int, rings: int = 1) -> list[str]:
    """The 3rd-order squares within ``rings`` steps of an 8-digit code (itself excluded), across
    1st- and 2nd-order boundaries."""
    s = str(code)
    if len(s) != 8:
        raise ValueError(f"mesh_neighbours needs an 8-digit 3rd-order code, got {code!r}")
    w, south, e, n = mesh_bounds(s)
    lat_c, lon_c = (south + n) / 2, (w + e) / 2
    out = []
    for dy in range(-rings, rings + 1):
        for dx in range(-rings, rings + 1):
            if dx or dy:
                out.append(mesh_code(lat_c + dy / 120.0, lon_c + dx / 80.0))
    return out
