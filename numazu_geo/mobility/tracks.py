"""Read GPS tracks: GPX (gpxpy), GeoJSON, CSV with detected columns, folders, lists and DataFrames.

Every reader returns the same *points* GeoDataFrame (EPSG:4326), one row per fix:

``track``       the track owner (a person): the file name without suffix, or a person/user/track
                column of a CSV or DataFrame
``source``      the file the fix came from (``"<DataFrame>"`` for in-memory input)
``time``        ``datetime64[ns, Asia/Tokyo]``
``tz_assumed``  True where the file gave times without a time zone: they are taken as JST
``accuracy_m``  reported horizontal accuracy (m) where the file has it, else NaN
``hdop``        horizontal dilution of precision (GPX ``<hdop>`` / CSV ``hdop``), else NaN

``gdf.attrs["read_errors"]`` lists the files that could not be read (``{"source", "error"}``)
when ``errors="report"`` (the default): a broken file never stops a batch. Fixes without a time
are dropped and counted in ``gdf.attrs["dropped_no_time"]`` (per source).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd

from numazu_geo.errors import SourceNotFoundError, TrackFileError

log = logging.getLogger(__name__)

#: Time zone given to timestamps without one (Numazu; the SPOBY pilot's users are in Japan).
DEFAULT_TZ = "Asia/Tokyo"
TRACK_SUFFIXES = (".gpx", ".geojson", ".json", ".csv")
POINT_COLUMNS = ["track", "source", "time", "tz_assumed", "accuracy_m", "hdop", "geometry"]

# CSV / DataFrame column names, lower-case, in order of preference
_TIME_NAMES = ("time", "timestamp", "datetime", "date_time", "time_utc", "utc", "recorded_at", "locationtime",
               "gps_time", "date", "日時", "時刻")
_LAT_NAMES = ("lat", "latitude", "lat_deg", "緯度")
_LON_NAMES = ("lon", "lng", "long", "longitude", "lon_deg", "経度")
_ACCURACY_NAMES = ("accuracy_m", "accuracy", "horizontal_accuracy", "hacc", "acc", "精度")
_HDOP_NAMES = ("hdop",)
_TRACK_NAMES = ("track", "person", "user", "user_id", "person_id", "participant", "device", "id")


def _empty() -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t in [
        ("track", object), ("source", object), ("time", f"datetime64[ns, {DEFAULT_TZ}]"), ("tz_assumed", bool),
        ("accuracy_m", float), ("hdop", float)]})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=4326), crs=4326)


def _to_time(values, path, what: str, tz: str) -> tuple[pd.Series, np.ndarray]:
    """Parse timestamps (strings, datetimes or epoch seconds/ms) to ``tz``; naive ones are taken as ``tz``.

    Returns the times and a boolean array: True where no time zone was given.
    """
    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values.dtype):  # already times
        v = values.reset_index(drop=True)
        if v.dt.tz is None:
            return v.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT"), v.notna().to_numpy()
        return v.dt.tz_convert(tz), np.zeros(len(v), dtype=bool)
    s = pd.Series(values, dtype=object).reset_index(drop=True)
    missing = s.isna().to_numpy()
    out = pd.Series(pd.NaT, index=s.index, dtype=f"datetime64[ns, {tz}]")
    assumed = np.zeros(len(s), dtype=bool)
    if missing.all():
        return out, assumed
    present = s[~missing]
    numeric = pd.to_numeric(present, errors="coerce")
    if numeric.notna().all():  # epoch seconds or milliseconds (UTC by definition)
        unit = "ms" if float(numeric.abs().median()) > 1e11 else "s"
        return pd.to_datetime(numeric, unit=unit, utc=True).dt.tz_convert(tz).reindex(s.index), assumed
    try:
        try:
            parsed = pd.to_datetime(present, format="mixed")
        except ValueError:
            # several UTC offsets (e.g. a device that switched zones), or zoned and unzoned times mixed
            zoned = present.map(lambda v: pd.Timestamp(v).tzinfo is not None)
            if not zoned.all():
                raise ValueError(f"{int((~zoned).sum())} of {len(zoned)} times have no time zone and the "
                                 "others do; cannot tell which zone those are in") from None
            parsed = pd.to_datetime(present, utc=True, format="mixed")
    except (ValueError, TypeError, OverflowError) as exc:
        raise TrackFileError(path, f"cannot read the {what} as times ({exc})") from None
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        assumed[~missing] = True
    else:
        parsed = parsed.dt.tz_convert(tz)
    return parsed.reindex(s.index), assumed


def _frame(path, track, lat, lon, times, *, accuracy=None, hdop=None, tz=DEFAULT_TZ) -> gpd.GeoDataFrame:
    if len(lat) == 0:
        raise TrackFileError(path, "the track is empty (no fixes)")
    lat = pd.to_numeric(pd.Series(lat, dtype=object), errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(pd.Series(lon, dtype=object), errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(lat) & np.isfinite(lon)) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.all() and len(lat):
        raise TrackFileError(path, "no fix has a valid latitude and longitude")
    t, assumed = _to_time(times, path, "time column", tz)
    n = len(lat)
    frame = pd.DataFrame({
        "track": pd.Series(track if not np.isscalar(track) else [track] * n, dtype=object).astype(str).to_numpy(),
        "source": str(path),
        "time": t.reset_index(drop=True),
        "tz_assumed": assumed,
        "accuracy_m": np.full(n, np.nan) if accuracy is None else pd.to_numeric(pd.Series(accuracy), errors="coerce").to_numpy(dtype=float),
        "hdop": np.full(n, np.nan) if hdop is None else pd.to_numeric(pd.Series(hdop), errors="coerce").to_numpy(dtype=float),
    })
    keep = ~bad
    n_bad = int(bad.sum())
    if n_bad:
        log.warning("%s: %d fixes without a valid position were dropped", path, n_bad)
    gdf = gpd.GeoDataFrame(frame[keep].reset_index(drop=True),
                           geometry=gpd.points_from_xy(lon[keep], lat[keep]), crs=4326)
    gdf.attrs["dropped_no_time"] = int(gdf["time"].isna().sum())
    gdf.attrs["dropped_bad_position"] = n_bad
    return gdf


def read_gpx(path: str | os.PathLike, *, tz: str = DEFAULT_TZ, track: str | None = None) -> gpd.GeoDataFrame:
    """Fixes of every ``<trk>``/``<trkseg>`` of a GPX 1.0/1.1 file (extensions are ignored)."""
    import gpxpy
    import gpxpy.gpx

    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", errors="strict") as fh:
            gpx = gpxpy.parse(fh)
    except (gpxpy.gpx.GPXException, ValueError, UnicodeDecodeError) as exc:
        raise TrackFileError(path, f"not a readable GPX file ({type(exc).__name__}: {exc})") from None
    except OSError as exc:
        raise TrackFileError(path, f"cannot open ({exc.strerror or exc})") from None
    points = [p for trk in gpx.tracks for seg in trk.segments for p in seg.points]
    if not points:  # no <trk>: a route with times is a track too (some apps export <rte>)
        points = [p for rte in gpx.routes for p in rte.points]
    lat = [p.latitude for p in points]
    lon = [p.longitude for p in points]
    times = [p.time for p in points]
    hdop = [p.horizontal_dilution for p in points]
    gdf = _frame(path, track or path.stem, lat, lon, times, hdop=hdop, tz=tz)
    return _check_times(gdf, path)


def _check_times(gdf, path):
    if len(gdf) == 0:
        raise TrackFileError(path, "the track is empty (no fixes)")
    if len(gdf) and gdf["time"].isna().all():
        raise TrackFileError(path, f"none of its {len(gdf)} fixes has a time")
    return gdf


def read_geojson(path: str | os.PathLike, *, tz: str = DEFAULT_TZ, track: str | None = None) -> gpd.GeoDataFrame:
    """Fixes from GeoJSON: Point features with a time property, or (Multi)LineStrings with per-vertex times.

    Per-vertex times are read from ``properties.coordTimes`` or ``properties.coordinateProperties.times``
    (as written by togeojson and GPS apps); a ``track``/``person``/``user`` property names the owner.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TrackFileError(path, f"not valid JSON ({exc})") from None
    except OSError as exc:
        raise TrackFileError(path, f"cannot open ({exc.strerror or exc})") from None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features") or []
    else:
        raise TrackFileError(path, "not a GeoJSON Feature or FeatureCollection")
    rows = {"track": [], "lat": [], "lon": [], "time": [], "acc": []}
    default_track = track or path.stem
    for i, feat in enumerate(features):
        geom = (feat or {}).get("geometry") or {}
        props = (feat or {}).get("properties") or {}
        owner = next((str(props[k]) for k in _TRACK_NAMES if props.get(k) not in (None, "")), default_track)
        if track is not None:
            owner = track
        gtype, coords = geom.get("type"), geom.get("coordinates")
        if gtype == "Point":
            t = next((props[k] for k in _TIME_NAMES if k in props), None)
            acc = next((props[k] for k in _ACCURACY_NAMES if k in props), None)
            if coords is None or len(coords) < 2:
                continue
            rows["track"].append(owner), rows["lon"].append(coords[0]), rows["lat"].append(coords[1])
            rows["time"].append(t), rows["acc"].append(acc)
        elif gtype in ("LineString", "MultiLineString"):
            lines = [coords] if gtype == "LineString" else list(coords or [])
            times = props.get("coordTimes") or (props.get("coordinateProperties") or {}).get("times")
            if times is None:
                raise TrackFileError(path, f"feature {i}: a {gtype} without per-vertex times (coordTimes)")
            flat_times = times if gtype == "LineString" else [t for part in times for t in part]
            flat = [c for line in lines for c in line]
            if len(flat_times) != len(flat):
                raise TrackFileError(path, f"feature {i}: {len(flat)} vertices but {len(flat_times)} times")
            for c, t in zip(flat, flat_times):
                rows["track"].append(owner), rows["lon"].append(c[0]), rows["lat"].append(c[1])
                rows["time"].append(t), rows["acc"].append(None)
    gdf = _frame(path, rows["track"], rows["lat"], rows["lon"], rows["time"], accuracy=rows["acc"], tz=tz)
    return _check_times(gdf, path)


def _find(columns: dict, names: Iterable[str]):
    for name in names:
        if name in columns:
            return columns[name]
    return None


def _from_table(df: pd.DataFrame, path, *, tz: str, track: str | None) -> gpd.GeoDataFrame:
    cols = {str(c).strip().lower(): c for c in df.columns}
    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns and not df.geometry.isna().all():
        g = df.geometry.to_crs(4326) if df.crs is not None and not df.crs.equals("EPSG:4326") else df.geometry
        if df.crs is None:
            raise TrackFileError(path, "the GeoDataFrame has no CRS")
        lat, lon = g.y.to_numpy(), g.x.to_numpy()
    else:
        lat_c, lon_c = _find(cols, _LAT_NAMES), _find(cols, _LON_NAMES)
        if lat_c is None or lon_c is None:
            raise TrackFileError(path, f"no latitude/longitude columns (looked for {_LAT_NAMES} / {_LON_NAMES}; "
                                       f"columns: {list(df.columns)})")
        lat, lon = df[lat_c].to_numpy(), df[lon_c].to_numpy()
    time_c = _find(cols, _TIME_NAMES)
    if time_c is None:
        raise TrackFileError(path, f"no time column (looked for {_TIME_NAMES}; columns: {list(df.columns)})")
    track_c = _find(cols, _TRACK_NAMES)
    owner = track if track is not None else (df[track_c].astype(str).to_numpy() if track_c is not None
                                             else (Path(str(path)).stem if path != "<DataFrame>" else "track"))
    acc_c, hdop_c = _find(cols, _ACCURACY_NAMES), _find(cols, _HDOP_NAMES)
    gdf = _frame(path, owner, lat, lon, df[time_c],
                 accuracy=None if acc_c is None else df[acc_c].to_numpy(),
                 hdop=None if hdop_c is None else df[hdop_c].to_numpy(), tz=tz)
    return _check_times(gdf, path)


def read_csv_track(path: str | os.PathLike, *, tz: str = DEFAULT_TZ, track: str | None = None) -> gpd.GeoDataFrame:
    """Fixes from a CSV with a time, latitude and longitude column (names detected, case-insensitive)."""
    path = Path(path)
    try:
        df = pd.read_csv(path, encoding="utf-8-sig")
    except UnicodeDecodeError:
        try:
            df = pd.read_csv(path, encoding="cp932")  # Shift_JIS files from Japanese tools
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise TrackFileError(path, f"not a readable CSV ({exc})") from None
    except pd.errors.EmptyDataError:
        raise TrackFileError(path, "the file is empty") from None
    except pd.errors.ParserError as exc:
        raise TrackFileError(path, f"not a readable CSV ({exc})") from None
    except OSError as exc:
        raise TrackFileError(path, f"cannot open ({exc.strerror or exc})") from None
    return _from_table(df, path, tz=tz, track=track)


def read_track(path: str | os.PathLike, *, tz: str = DEFAULT_TZ, track: str | None = None) -> gpd.GeoDataFrame:
    """One track file, by suffix (``.gpx``, ``.geojson``/``.json``, ``.csv``)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".gpx":
        return read_gpx(path, tz=tz, track=track)
    if suffix in (".geojson", ".json"):
        return read_geojson(path, tz=tz, track=track)
    if suffix == ".csv":
        return read_csv_track(path, tz=tz, track=track)
    raise TrackFileError(path, f"unknown track format {suffix!r} (expected one of {TRACK_SUFFIXES})")


def _expand(source) -> list:
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in TRACK_SUFFIXES)
            if not files:
                raise SourceNotFoundError(f"{p}: no track files ({', '.join(TRACK_SUFFIXES)}) in this folder")
            return files
        if not p.exists():
            raise SourceNotFoundError(f"{p}: no such file or folder")
        return [p]
    return [x for item in source for x in _expand(item)]


def read_tracks(source, *, tz: str = DEFAULT_TZ, errors: str = "report", progress: bool = False) -> gpd.GeoDataFrame:
    """Fixes of one or many tracks: a file, a folder (searched recursively), a list of them, or a DataFrame.

    ``errors="report"`` records unreadable files in ``attrs["read_errors"]`` (and logs a warning
    naming each) and goes on with the rest; ``errors="raise"`` raises the first
    :class:`~numazu_geo.errors.TrackFileError`. Times without a zone are taken as ``tz`` (JST)
    and flagged in ``tz_assumed``; ``attrs["tz_assumed_sources"]`` lists those files.
    """
    if errors not in ("report", "raise"):
        raise ValueError(f"errors must be 'report' or 'raise', not {errors!r}")
    if isinstance(source, pd.DataFrame):
        parts, read_errors = [_from_table(source, "<DataFrame>", tz=tz, track=None)], []
    else:
        files = _expand(source)
        parts, read_errors = [], []
        iterator = files
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(files, desc="reading tracks", unit="file")
        for f in iterator:
            try:
                parts.append(read_track(f, tz=tz))
            except TrackFileError as exc:
                if errors == "raise":
                    raise
                log.warning("%s", exc)
                read_errors.append({"source": str(f), "error": exc.reason})
    dropped_no_time = {}
    dropped_bad_position = {}
    kept = []
    for part in parts:
        src = str(part["source"].iloc[0]) if len(part) else None
        if src is not None:
            dropped_no_time[src] = part.attrs.get("dropped_no_time", 0)
            dropped_bad_position[src] = part.attrs.get("dropped_bad_position", 0)
        kept.append(part[part["time"].notna()])
    nonempty = [k for k in kept if len(k)]
    if nonempty:
        points = gpd.GeoDataFrame(pd.concat(nonempty, ignore_index=True), geometry="geometry", crs=4326)
    else:
        points = _empty()
    points.attrs["read_errors"] = read_errors
    points.attrs["dropped_no_time"] = dropped_no_time
    points.attrs["dropped_bad_position"] = dropped_bad_position
    points.attrs["tz_assumed_sources"] = sorted(points.loc[points["tz_assumed"], "source"].unique().tolist())
    points.attrs["tz"] = tz
    return points


def read_bus_stops(source) -> gpd.GeoDataFrame:
    """Bus stop locations as points (EPSG:4326) from a GTFS ``stops.txt`` or any CSV with
    ``stop_lat``/``stop_lon`` (or lat/lon) columns, a GeoJSON/GeoPackage of points, a (Geo)DataFrame,
    a GeoSeries, or a list of (lon, lat) pairs."""
    if isinstance(source, gpd.GeoSeries):
        source = gpd.GeoDataFrame(geometry=source)
    if isinstance(source, gpd.GeoDataFrame):
        if source.crs is None:
            raise ValueError("bus stops: the GeoDataFrame has no CRS")
        pts = source.geometry.to_crs(4326)
        return gpd.GeoDataFrame(geometry=pts[pts.notna() & ~pts.is_empty].representative_point(), crs=4326)
    if isinstance(source, pd.DataFrame):
        cols = {str(c).strip().lower(): c for c in source.columns}
        lat_c = _find(cols, ("stop_lat", *_LAT_NAMES))
        lon_c = _find(cols, ("stop_lon", *_LON_NAMES))
        if lat_c is None or lon_c is None:
            raise ValueError(f"bus stops: no stop_lat/stop_lon columns (columns: {list(source.columns)})")
        lat = pd.to_numeric(source[lat_c], errors="coerce")
        lon = pd.to_numeric(source[lon_c], errors="coerce")
        ok = lat.notna() & lon.notna()
        return gpd.GeoDataFrame(source[ok].reset_index(drop=True),
                                geometry=gpd.points_from_xy(lon[ok], lat[ok]), crs=4326)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise SourceNotFoundError(f"{path}: no such bus stop file")
        try:
            if path.suffix.lower() in (".csv", ".txt"):
                return read_bus_stops(pd.read_csv(path, encoding="utf-8-sig"))
            return read_bus_stops(gpd.read_file(path))
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise TrackFileError(path, f"cannot read bus stops ({exc})") from None
    pairs = np.asarray(list(source), dtype=float).reshape(-1, 2)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(pairs[:, 0], pairs[:, 1]), crs=4326)
