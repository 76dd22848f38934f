"""Building-level checks of what the CityGML readers return: nothing silently wrong.

Applied once, to every reader's final table (:func:`finish`), and to the raw coordinates before any
projection (:func:`check_extent`):

- **Extent**: PLATEAU data are in Japan. Coordinates are checked in the files' own CRS (EPSG:6697,
  latitude first) against the area of use of JGD2011 (EPSG:6668, "Japan - onshore and offshore",
  from the EPSG dataset through pyproj). A file with buildings outside it (another country, swapped
  latitude/longitude, a projected CRS mislabelled) raises
  :class:`~numazu_geo.errors.DataExtentError` naming the file, or with ``errors="skip"`` is skipped and
  recorded like a broken file. It is never projected into a Japanese plane zone.
- **Duplicates**: the same building read twice (a file given twice, a folder plus the zip of the same
  data, a repeated ``gml:id``, or another ``gml:id`` with the same i-UR building ID) is kept once, the
  first time it is read; the copies are dropped, counted in ``attrs["duplicates_dropped"]`` and logged
  as a warning. Solar totals are therefore never doubled.
- **Sentinels**: PLATEAU writes -9999 for "unknown"; hostile or broken data also carry 9999.
  ``measured_height_m``, ``ground_z_m`` and ``roof_z_m`` with ``abs(value) >= 9999`` become NaN;
  3D rows (roof polygons, shells) with such a vertex height are dropped; both are counted in
  ``attrs["sentinels_replaced"]``.
- **Zero-area footprints** are flagged in ``geometry_issue`` (the footprint is kept empty).
- **Target CRS**: geocentric (e.g. EPSG:4978), vertical or engineering CRSs are refused
  (:func:`check_target_crs`); 2D geographic (lon/lat) and projected CRSs are accepted.
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import pandas as pd
import pyproj
import shapely

from numazu_geo.errors import CRSError, DataExtentError

log = logging.getLogger(__name__)

#: EPSG code whose area of use is "Japan's extent" here: JGD2011 (EPSG:6668), Japan onshore and
#: offshore (EPSG dataset, via pyproj).
JAPAN_EXTENT_EPSG = 6668

#: |value| at or above this is a PLATEAU "unknown" sentinel (PLATEAU 標準製品仕様書: -9999), or the
#: positive 9999 that broken data carry, never a height: Japan's highest point, Mt Fuji, is 3,776 m.
SENTINEL_ABS = 9999.0

#: A footprint whose mean width (2 x area / perimeter) is under this is a line, not a building:
#: ten times the resolution of PLATEAU's 9-decimal degree coordinates (1e-9 deg, about 0.11 mm).
MIN_FOOTPRINT_WIDTH_M = 0.001

_HEIGHT_COLUMNS = ("measured_height_m", "ground_z_m", "roof_z_m")


@functools.lru_cache(maxsize=1)
def japan_extent() -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees: the EPSG area of use of JGD2011 (EPSG:6668)."""
    area = pyproj.CRS.from_epsg(JAPAN_EXTENT_EPSG).area_of_use
    return (area.west, area.south, area.east, area.north)


def in_japan(lon, lat) -> np.ndarray:
    """Boolean array: the points (degrees) lie inside :func:`japan_extent`."""
    w, s, e, n = japan_extent()
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)


# --------------------------------------------------------------------------------------------
# extent (raw coordinates, before projection)


def _describe_outside(lon: np.ndarray, lat: np.ndarray) -> str:
    """Why these points are not in Japan, with a hint for the common mistakes."""
    w, s, e, n = japan_extent()
    i = 0
    example = f"e.g. latitude {lat[i]:.5f}, longitude {lon[i]:.5f}"
    if (np.abs(lat) > 90).any() or in_japan(lat, lon).mean() > 0.5:
        hint = ("latitude and longitude look swapped: EPSG:6697 (PLATEAU) writes latitude first, "
                "'35.10 138.86 12.3'")  # fmt: skip
    elif (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
        hint = "these are not degrees (projected coordinates labelled EPSG:6697?)"
    else:
        hint = "the data are not in Japan; this reader handles PLATEAU (Japan) CityGML in EPSG:6697"
    return (f"outside Japan's extent (JGD2011 area of use {w:g}..{e:g} E, {s:g}..{n:g} N), {example}; {hint}")


def check_extent(rep: np.ndarray, results, failures: list, errors: str = "raise") -> np.ndarray:
    """Check each row's representative point (``rep``: lon, lat in degrees) is inside Japan.

    ``results`` are the per-file reader results (their ``rows`` and ``label``), in row order. A file
    with any building outside raises :class:`DataExtentError` (``errors="raise"``), or has all its rows
    dropped and ``{"file", "error"}`` appended to ``failures`` (``errors="skip"``).
    Returns the boolean mask of rows to keep. Rows without coordinates are kept.
    """
    n = len(rep)
    keep = np.ones(n, dtype=bool)
    if n == 0:
        return keep
    lon, lat = rep[:, 0], rep[:, 1]
    located = np.isfinite(lon) & np.isfinite(lat)
    outside = located & ~in_japan(lon, lat)
    if not outside.any():
        return keep
    counts = [len(r.rows) for r in results]
    file_of_row = np.repeat(np.arange(len(results)), counts)
    for k in np.unique(file_of_row[outside]):
        rows = outside & (file_of_row == k)
        label = results[k].label
        msg = f"{int(rows.sum())} of {counts[k]} buildings lie {_describe_outside(lon[rows], lat[rows])}"
        if errors == "raise":
            raise DataExtentError(label, msg)
        err = DataExtentError(label, msg)
        log.warning("skipped %s", err)
        failures.append({"file": label, "error": str(err)})
        keep &= file_of_row != k
    return keep


def check_lonlat_frame(gdf) -> None:
    """Refuse a frame of lon/lat geometries (EPSG:6668, before projection) with features outside
    Japan, naming the first such source file (``source_file`` column) and how many are outside."""
    if len(gdf) == 0:
        return
    rep = gdf.geometry.representative_point()
    lon, lat = rep.x.to_numpy(), rep.y.to_numpy()
    outside = np.isfinite(lon) & np.isfinite(lat) & ~in_japan(lon, lat)
    if not outside.any():
        return
    files = gdf["source_file"].astype(object).to_numpy() if "source_file" in gdf.columns else np.full(len(gdf), None)
    label = files[np.flatnonzero(outside)[0]]
    rows = outside & (files == label)
    raise DataExtentError(
        label, f"{int(rows.sum())} of {int((files == label).sum())} features lie {_describe_outside(lon[rows], lat[rows])}"
    )


# --------------------------------------------------------------------------------------------
# target CRS


def check_target_crs(target: pyproj.CRS | None, *, what: str = "crs") -> pyproj.CRS | None:
    """Refuse a target CRS footprints cannot be expressed in: geocentric, vertical, engineering, 3D-only.

    Accepts a projected CRS (metres; needed for areas and solar) or a 2D/3D geographic CRS (lon/lat).
    Raises :class:`~numazu_geo.errors.CRSError` (a ``ValueError``) naming the CRS and what to use instead.
    """
    if target is None:
        return None
    name = target.to_string()
    if target.is_geocentric:
        raise CRSError(
            f"{what}={name} is geocentric (Earth-centred X, Y, Z): building footprints and heights cannot be "
            "expressed in it; use 'auto' (the Japan Plane Rectangular zone) or a projected CRS such as EPSG:6676"
        )
    if not (target.is_projected or target.is_geographic):
        raise CRSError(
            f"{what}={name} is a {target.type_name}, not a horizontal CRS; use 'auto' or a projected CRS such "
            "as EPSG:6676"
        )
    return target


# --------------------------------------------------------------------------------------------
# the final table


def _str_key(series: pd.Series) -> pd.Series:
    """Strings with NA for missing or blank values (object dtype, None for NA)."""
    out = series.astype("string")
    out = out.mask(out.str.strip() == "")
    return out.astype(object).where(out.notna(), None)


def drop_duplicates(gdf, kind: str):
    """Drop copies of a building read more than once; see the module documentation.

    ``kind``: ``"buildings"`` or ``"solids"`` (one row per building) or ``"roofs"`` (one row per roof
    polygon). A building belongs to the first source file that provided its ``gml_id``; rows of the
    same ``gml_id`` from later files are copies. Within one file, a repeated building row (or, for
    roofs, a repeated polygon: same ``gml_id``, ``surface_id`` and geometry) is a copy. A row whose i-UR
    ``building_id`` was already seen under another ``gml_id`` is a copy too (BuildingPart rows, which
    share their building's ID, are exempt).
    """
    n = len(gdf)
    if n == 0 or "gml_id" not in gdf.columns:
        return gdf
    gid = _str_key(gdf["gml_id"])
    src = _str_key(gdf["source_file"]) if "source_file" in gdf.columns else pd.Series("", index=gdf.index)
    frame = pd.DataFrame({"gid": gid.fillna(""), "src": src.fillna("")}, index=gdf.index)
    has_gid = gid.notna().to_numpy()
    first_src = frame.groupby("gid", sort=False)["src"].transform("first")
    by_file = has_gid & (frame["src"] != first_src).to_numpy()
    if kind == "roofs":
        keys = pd.DataFrame({
            "gid": frame["gid"], "sid": _str_key(gdf["surface_id"]).fillna("") if "surface_id" in gdf else "",
        }, index=gdf.index)  # fmt: skip
        within = np.zeros(n, dtype=bool)
        cand = np.flatnonzero(keys.duplicated(keep=False).to_numpy())  # same building and surface id
        if len(cand):  # ... and the same polygon
            sub = keys.iloc[cand].assign(wkb=shapely.to_wkb(np.asarray(gdf.geometry.values)[cand], output_dimension=3))
            within[cand] = sub.duplicated().to_numpy()
        within &= has_gid & ~by_file
    else:
        part = gdf["parent_id"].notna().to_numpy() if "parent_id" in gdf.columns else np.zeros(n, bool)
        within = has_gid & frame["gid"].duplicated().to_numpy() & ~by_file & ~part
    by_bid = np.zeros(n, dtype=bool)
    if "building_id" in gdf.columns:
        bid = _str_key(gdf["building_id"])
        part = gdf["parent_id"].notna().to_numpy() if "parent_id" in gdf.columns else np.zeros(n, bool)
        ok = (bid.notna().to_numpy()) & has_gid & ~part & ~by_file & ~within
        sub = pd.DataFrame({"bid": bid[ok], "gid": frame["gid"][ok]})
        first_gid = sub.groupby("bid", sort=False)["gid"].transform("first")
        by_bid[np.flatnonzero(ok)] = (sub["gid"] != first_gid).to_numpy()
    drop = by_file | within | by_bid
    if not drop.any():
        return gdf
    gids = frame["gid"].to_numpy()

    def n_buildings(mask):
        return int(len(pd.unique(gids[mask])))

    record = {
        "buildings": n_buildings(drop),
        "rows": int(drop.sum()),
        "same_gml_id_in_another_file": n_buildings(by_file),
        "repeated_in_one_file": n_buildings(within),
        "same_building_id_other_gml_id": n_buildings(by_bid),
        "examples": [str(g) for g in pd.unique(gids[drop])[:5]],
        # rows dropped per source file (the copy's file)
        "by_file": {str(k): int(v) for k, v in frame.loc[drop, "src"].value_counts(sort=False).items()},
    }
    out = gdf.loc[~drop].reset_index(drop=True)
    out.attrs = dict(gdf.attrs)
    out.attrs["duplicates_dropped"] = record
    log.warning(
        "%d duplicate building(s) dropped (%d %s rows): %d read again from another file, %d repeated in one file (or the file given twice), "
        "%d with a building ID already seen; e.g. %s",
        record["buildings"], record["rows"], kind, record["same_gml_id_in_another_file"],
        record["repeated_in_one_file"], record["same_building_id_other_gml_id"], ", ".join(record["examples"]),
    )  # fmt: skip
    return out


def replace_sentinels(gdf, kind: str):
    """Heights ``abs(v) >= 9999`` to NaN; 3D rows with such vertex heights dropped (counted in attrs)."""
    counts: dict[str, int] = {}
    gdf = gdf.copy() if any(c in gdf.columns for c in _HEIGHT_COLUMNS) else gdf
    for col in _HEIGHT_COLUMNS:
        if col in gdf.columns:
            values = pd.to_numeric(gdf[col], errors="coerce").to_numpy(dtype=float)
            bad = np.abs(values) >= SENTINEL_ABS
            if bad.any():
                counts[col] = int(bad.sum())
                gdf[col] = np.where(bad, np.nan, values)
    if kind in ("roofs", "solids") and len(gdf):
        geoms = np.asarray(gdf.geometry.values)
        parts, index = shapely.get_coordinates(geoms, include_z=True, return_index=True)
        if len(parts):
            bad_rows = np.unique(index[np.abs(parts[:, 2]) >= SENTINEL_ABS])
            if len(bad_rows):
                counts["rows_with_sentinel_vertex_height"] = int(len(bad_rows))
                keep = np.ones(len(gdf), dtype=bool)
                keep[bad_rows] = False
                attrs = dict(gdf.attrs)
                gdf = gdf.loc[keep].reset_index(drop=True)
                gdf.attrs = attrs
    if counts:
        gdf.attrs["sentinels_replaced"] = counts
        log.warning("PLATEAU 'unknown' values (|v| >= %g) treated as missing: %s", SENTINEL_ABS,
                    ", ".join(f"{k} {v}" for k, v in counts.items()))  # fmt: skip
    return gdf


def flag_zero_area(gdf):
    """Footprints with no area (collinear or repeated vertices, up to coordinate rounding) get
    ``geometry_issue`` and an empty geometry, as the reader does for exactly zero areas.

    In a projected CRS a footprint whose mean width ``2 * area / perimeter`` is under
    :data:`MIN_FOOTPRINT_WIDTH_M` is a line with rounding noise, not a building.
    """
    if "geometry_issue" not in gdf.columns or len(gdf) == 0 or gdf.crs is None:
        return gdf
    geoms = np.asarray(gdf.geometry.values)
    located = ~pd.isna(geoms)
    located[located] = ~shapely.is_empty(geoms[located])
    area = np.where(located, shapely.area(geoms), np.nan)
    if gdf.crs.is_projected:
        perimeter = np.where(located, shapely.length(geoms), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            zero = located & ((area <= 0) | (2.0 * area / perimeter < MIN_FOOTPRINT_WIDTH_M))
    else:
        zero = located & (area <= 0)
    if not zero.any():
        return gdf
    attrs = dict(gdf.attrs)
    gdf = gdf.copy()
    issue = gdf["geometry_issue"].astype(object).to_numpy(copy=True)
    for i in np.flatnonzero(zero):
        if issue[i] is None or pd.isna(issue[i]) or not issue[i]:
            issue[i] = "degenerate footprint (zero area)"
    gdf["geometry_issue"] = pd.array(issue, dtype="string")
    gdf.loc[zero, gdf.geometry.name] = shapely.Polygon()
    gdf.attrs = attrs
    log.warning("%d footprint(s) with zero area flagged in geometry_issue", int(zero.sum()))
    return gdf


def finish(gdf, kind: str):
    """All table-level checks of one reader result (``kind``: buildings, roofs or solids)."""
    gdf = replace_sentinels(gdf, kind)
    gdf = drop_duplicates(gdf, kind)
    if kind == "buildings":
        gdf = flag_zero_area(gdf)
    return gdf


__all__ = [
    "japan_extent", "in_japan", "check_extent", "check_lonlat_frame", "check_target_crs", "drop_duplicates", "replace_sentinels",
    "flag_zero_area", "finish", "SENTINEL_ABS", "JAPAN_EXTENT_EPSG",
]  # fmt: skip
