"""Cut cleaned tracks into trips (at stays and long gaps) and trips into single-mode legs; the whole pipeline.

:func:`detect_trips` is the one call: read -> clean -> trips -> legs -> modes -> credits. It
returns one row per leg (a single-mode trip is one leg) as a GeoDataFrame in EPSG:4326 with
``track``, ``trip``, ``leg``, ``start``, ``end``, ``mode``, ``mode_confidence``, ``distance_m``,
``duration_s``, ``speed_kmh_median``, ``co2_credit_g``, ``points``, the other features of
:mod:`numazu_geo.mobility.modes`, ``tz_assumed``, ``source`` and the leg's LineString.
``attrs["report"]`` accounts for every fix of every file (see :func:`report_table`).

Method
------
- Positions are projected to the tracks' UTM zone and median-filtered (``median_window_s``, at least
  5 fixes) against GPS noise.
- Stays: the stay-point algorithm of Li et al. (2008): fixes that remain within
  ``stay_radius_m`` of a first fix for at least ``stay_min_duration_s`` form a stay, trimmed to
  the fixes where the person stood still (:func:`trim_stays`); trips are what lies between stays.
  A gap without fixes longer than ``max_gap_s`` also ends a trip (stays never span a gap).
- Legs: each fix is *stopped*, *walking pace* (up to ``walk_max_speed_kmh``) or *riding*; stops
  join the spell around them and spells shorter than ``min_leg_duration_s`` join their longer
  neighbour (Zheng et al. 2008 use walking as the link between modes in the same way). What
  remains, e.g. walk -> train -> walk, are the legs.
- Distance: the leg's median-filtered line simplified (Douglas-Peucker, ``simplify_tolerance_m``)
  and measured in metres.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from numazu_geo.mobility import credits as _credits
from numazu_geo.mobility.clean import DROP_REASONS, clean_fixes
from numazu_geo.mobility.modes import (
    BUS_FEATURE_COLUMNS,
    FEATURE_COLUMNS,
    RAIL_FEATURE_COLUMNS,
    bus_stop_features,
    classify,
    leg_features,
    rail_features,
)
from numazu_geo.mobility.thresholds import Thresholds
from numazu_geo.mobility.tracks import DEFAULT_TZ, read_bus_stops, read_tracks

log = logging.getLogger(__name__)

#: Fewest fixes in the running median that filters positions (at sparse sampling the window widens to hold them).
MIN_MEDIAN_FIXES = 5
LEG_COLUMNS = ["track", "trip", "leg", "start", "end", "mode", "mode_confidence", "distance_m", "duration_s",
               "speed_kmh_median", "co2_credit_g", "points", "speed_kmh_p85", "speed_kmh_p95", "speed_kmh_max",
               "accel_ms2_p95", "stop_frac", "stops_per_km", "n_fixes", "tz_assumed", "source"]
REPORT_COLUMNS = ["source", "track", "status", "message", "fixes_read", "dropped_no_time", "dropped_bad_position",
                  *[f"dropped_{r}" for r in DROP_REASONS], "fixes_in_stays", "dropped_short_trips",
                  "fixes_in_trips", "trips", "legs"]


# ---------------------------------------------------------------------------------------------
# building blocks (pure functions on arrays: t in seconds, x/y in metres)


def median_filter_xy(t_s: np.ndarray, x_m: np.ndarray, y_m: np.ndarray, window_s: float,
                    min_fixes: int = MIN_MEDIAN_FIXES) -> tuple[np.ndarray, np.ndarray]:
    """Centred running median of positions over ``window_s`` seconds (at least ``min_fixes`` fixes).

    Fixes closer than half a window to either end stay as they are: a shorter window there would
    pull the track's ends inwards and shorten it.
    """
    t = np.asarray(t_s, dtype=float)
    x = np.asarray(x_m, dtype=float)
    y = np.asarray(y_m, dtype=float)
    n = len(t)
    if n < 3:
        return x.copy(), y.copy()
    window_s = max(window_s, float(np.median(np.diff(t))) * (min_fixes - 1))
    half = window_s / 2
    lo = np.searchsorted(t, t - half, side="left")
    hi = np.searchsorted(t, t + half, side="right")
    # the windows as rows of a padded index matrix (NaN beyond each window's end), in blocks of rows
    width = int((hi - lo).max())
    xs, ys = np.empty(n), np.empty(n)
    block = max(1, 2_000_000 // width)
    for b0 in range(0, n, block):
        b1 = min(n, b0 + block)
        cols = lo[b0:b1, None] + np.arange(width)[None, :]
        inside = cols < hi[b0:b1, None]
        cols = np.minimum(cols, n - 1)
        xs[b0:b1] = np.nanmedian(np.where(inside, x[cols], np.nan), axis=1)
        ys[b0:b1] = np.nanmedian(np.where(inside, y[cols], np.nan), axis=1)
    edge = (t - t[0] < half) | (t[-1] - t < half) | (hi - lo < min_fixes)
    xs[edge] = x[edge]
    ys[edge] = y[edge]
    return xs, ys


def speeds_ms(t_s: np.ndarray, x_m: np.ndarray, y_m: np.ndarray, window_s: float) -> np.ndarray:
    """Speed at each fix: displacement over the fixes within ``window_s`` centred on it, divided by their time span."""
    t = np.asarray(t_s, dtype=float)
    n = len(t)
    if n < 2:
        return np.zeros(n)
    lo = np.searchsorted(t, t - window_s / 2, side="left")
    hi = np.searchsorted(t, t + window_s / 2, side="right") - 1
    idx = np.arange(n)
    lo = np.minimum(lo, np.maximum(idx - 1, 0))  # at least one neighbour on each side where possible
    hi = np.maximum(hi, np.minimum(idx + 1, n - 1))
    span = t[hi] - t[lo]
    d = np.hypot(x_m[hi] - x_m[lo], y_m[hi] - y_m[lo])
    return np.where(span > 0, d / np.where(span > 0, span, 1.0), 0.0)


def find_stays(t_s: np.ndarray, x_m: np.ndarray, y_m: np.ndarray, radius_m: float, min_duration_s: float) -> np.ndarray:
    """Stay-point detection (Li et al. 2008): True for fixes that belong to a stay.

    A stay starts at fix i when every following fix up to ``min_duration_s`` later stays within
    ``radius_m`` of fix i; it lasts while they do. Fixes whose position ``min_duration_s`` later is
    already farther than ``radius_m`` cannot start a stay and are skipped without a scan (exactly
    the same result as the plain algorithm, much faster on moving tracks).
    """
    n = len(t_s)
    stay = np.zeros(n, dtype=bool)
    if n == 0:
        return stay
    r2 = radius_m * radius_m
    j_t = np.searchsorted(t_s, t_s + min_duration_s, side="left")
    ok = j_t < n
    jt = np.minimum(j_t, n - 1)
    candidate = ok & ((x_m[jt] - x_m) ** 2 + (y_m[jt] - y_m) ** 2 <= r2)
    cands = np.flatnonzero(candidate)
    k = 0
    while k < len(cands):
        i = int(cands[k])
        # first fix j > i farther than radius_m from fix i (vectorised in chunks)
        j = i + 1
        while j < n:
            end = min(n, j + 256)
            far = np.flatnonzero((x_m[j:end] - x_m[i]) ** 2 + (y_m[j:end] - y_m[i]) ** 2 > r2)
            if len(far):
                j = j + int(far[0])
                break
            j = end
        if t_s[j - 1] - t_s[i] >= min_duration_s:
            stay[i:j] = True
            nxt = j
        else:
            nxt = i + 1
        k = int(np.searchsorted(cands, nxt))
    return stay


def trim_stays(stay: np.ndarray, speed_ms: np.ndarray, stop_ms: float) -> np.ndarray:
    """Shrink each stay to where the person stood still: the stay-point algorithm starts a stay up to
    ``stay_radius_m`` before the place (the walk in) and ends it up to that far after (the walk out);
    those moving fixes belong to the trips, or a 900 m walk to school would lose its last 200 m."""
    out = stay.copy()
    idx = np.flatnonzero(np.diff(np.concatenate([[0], stay.astype(np.int8), [0]])))
    for a, b in zip(idx[::2], idx[1::2]):
        lo, hi = a, b
        while lo < hi and speed_ms[lo] > stop_ms:
            lo += 1
        while hi > lo and speed_ms[hi - 1] > stop_ms:
            hi -= 1
        out[a:b] = False
        out[lo:hi] = True
    return out


def split_trips(t_s: np.ndarray, stay: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Trip number per fix (-1 inside stays): a new trip after each stay and each gap over ``max_gap_s``."""
    n = len(t_s)
    trip = np.full(n, -1, dtype=np.int64)
    current = -1
    prev_moving = False
    for i in range(n):
        if stay[i]:
            prev_moving = False
            continue
        if not prev_moving or (i > 0 and t_s[i] - t_s[i - 1] > max_gap_s):
            current += 1
        trip[i] = current
        prev_moving = True
    return trip


def split_legs(t_s: np.ndarray, speed_ms: np.ndarray, params: Thresholds) -> np.ndarray:
    """Leg number per fix of one trip: change points between walking pace and riding (see module doc)."""
    n = len(t_s)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    v = np.asarray(speed_ms) * 3.6
    state = np.where(v <= params.stop_speed_kmh, 0, np.where(v <= params.walk_max_speed_kmh, 1, 2))
    moving = state > 0
    if not moving.any():
        return np.zeros(n, dtype=np.int64)
    # stops take the state of the spell before them (after them at the start)
    s = pd.Series(np.where(moving, state, np.nan)).ffill().bfill().to_numpy().astype(int)
    # run-length encode, merge runs shorter than min_leg_duration_s into the longer neighbour
    while True:
        change = np.flatnonzero(np.diff(s)) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [n]])
        if len(starts) == 1:
            break
        dur = np.array([t_s[min(e, n - 1)] - t_s[b] for b, e in zip(starts, ends)])
        k = int(np.argmin(dur))
        if dur[k] >= params.min_leg_duration_s:
            break
        left = dur[k - 1] if k > 0 else -1.0
        right = dur[k + 1] if k + 1 < len(starts) else -1.0
        nb = k - 1 if left >= right else k + 1
        s[starts[k]:ends[k]] = s[starts[nb]]
    change = np.flatnonzero(np.diff(s)) + 1
    leg = np.zeros(n, dtype=np.int64)
    for c in change:
        leg[c:] += 1
    return leg


def line_length_m(x_m: np.ndarray, y_m: np.ndarray, tolerance_m: float) -> tuple[float, shapely.LineString | None]:
    """Length (m) of the simplified line through the positions, and that line (None with < 2 distinct points)."""
    if len(x_m) < 2:
        return 0.0, None
    line = shapely.LineString(np.column_stack([x_m, y_m]))
    simple = shapely.simplify(line, tolerance_m, preserve_topology=False)
    return float(simple.length), simple


# ---------------------------------------------------------------------------------------------
# the pipeline


def _report_row(source, track) -> dict:
    row = dict.fromkeys(REPORT_COLUMNS, 0)
    row.update(source=source, track=track, status="ok", message="")
    return row


def _legs_of_track(g: gpd.GeoDataFrame, p: Thresholds, row: dict, bus_tree=None, rail_zone=None) -> list[dict]:
    t = (g["time"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    x, y = g.geometry.x.to_numpy(), g.geometry.y.to_numpy()
    acc = g["accuracy_m"].to_numpy(float)
    hdop = g["hdop"].to_numpy(float)
    keep, counts = clean_fixes(t, x, y, acc, hdop, p)
    for reason, c in counts.items():
        row[f"dropped_{reason}"] = c
    t, x, y = t[keep], x[keep], y[keep]
    times = g["time"].array[keep]
    tz_assumed = bool(g["tz_assumed"].any())
    if len(t) < p.min_trip_points:
        row["dropped_short_trips"] += len(t)
        row["status"] = "too few fixes"
        row["message"] = f"{len(t)} usable fix(es) left after cleaning; a trip needs at least {p.min_trip_points}"
        return []
    xs, ys = median_filter_xy(t, x, y, p.median_window_s)
    stay = np.zeros(len(t), dtype=bool)
    # stays are looked for between gaps only: across a gap the logger was off, and the gap ends the trip anyway
    cuts = np.concatenate([[0], np.flatnonzero(np.diff(t) > p.max_gap_s) + 1, [len(t)]])
    for a, b in zip(cuts[:-1], cuts[1:]):
        seg = find_stays(t[a:b], xs[a:b], ys[a:b], p.stay_radius_m, p.stay_min_duration_s)
        v = speeds_ms(t[a:b], xs[a:b], ys[a:b], p.speed_window_s)
        stay[a:b] = trim_stays(seg, v, p.stop_speed_kmh / 3.6)
    row["fixes_in_stays"] = int(stay.sum())
    trip_no = split_trips(t, stay, p.max_gap_s)
    legs = []
    n_trips = 0
    for k in range(int(trip_no.max()) + 1 if len(trip_no) else 0):
        sel = np.flatnonzero(trip_no == k)
        if len(sel) < p.min_trip_points:
            row["dropped_short_trips"] += len(sel)
            continue
        tt, xx, yy = t[sel], x[sel], y[sel]
        fx, fy = median_filter_xy(tt, xx, yy, p.median_window_s)
        v = speeds_ms(tt, fx, fy, p.speed_window_s)
        leg_no = split_legs(tt, v, p)
        trip_id = f"{g['track'].iloc[0]}#{n_trips + 1}"
        made = 0
        for j in range(int(leg_no.max()) + 1):
            ls = np.flatnonzero(leg_no == j)
            # a leg shares its first fix with the previous leg's last, so lines connect
            lsel = np.concatenate([[ls[0] - 1], ls]) if j > 0 else ls
            if len(lsel) < 2:
                continue
            dist, line = line_length_m(fx[lsel], fy[lsel], p.simplify_tolerance_m)
            if line is None:
                continue
            feats = leg_features(tt[lsel], v[lsel], dist, p)
            if bus_tree is not None:
                feats.update(bus_stop_features(tt[lsel], fx[lsel], fy[lsel], v[lsel], bus_tree, p))
            if rail_zone is not None:
                feats.update(rail_features(fx[lsel], fy[lsel], rail_zone))
            legs.append({
                "track": str(g["track"].iloc[0]), "trip": trip_id, "leg": made + 1,
                "start": times[sel][lsel[0]], "end": times[sel][lsel[-1]], **feats,
                "n_fixes": int(len(lsel)), "tz_assumed": tz_assumed, "source": row["source"], "geometry": line,
            })
            made += 1
        if made:
            n_trips += 1
            row["fixes_in_trips"] += len(sel)
        else:
            row["dropped_short_trips"] += len(sel)
    row["trips"] = n_trips
    row["legs"] = len(legs)
    return legs


def _rail_zone(rail_lines, crs, radius_m: float):
    """Rail lines (GeoDataFrame/GeoSeries or a file) buffered by ``radius_m`` in ``crs``, prepared."""
    import shapely

    if isinstance(rail_lines, (str, os.PathLike)):
        rail_lines = gpd.read_file(rail_lines)
    if isinstance(rail_lines, gpd.GeoDataFrame):
        rail_lines = rail_lines.geometry
    if not isinstance(rail_lines, gpd.GeoSeries) or rail_lines.crs is None:
        raise ValueError("rail_lines must be a GeoDataFrame/GeoSeries with a CRS, or a file GeoPandas reads")
    lines = rail_lines.to_crs(crs)
    zone = shapely.union_all(lines[lines.notna()].buffer(radius_m).to_numpy())
    shapely.prepare(zone)
    return zone


def detect_trips(
    source,
    *,
    classifier=None,
    params: Thresholds | None = None,
    tz: str = DEFAULT_TZ,
    credit: dict | None = None,
    errors: str = "report",
    progress: bool = False,
    bus_stops=None,
    rail_lines=None,
) -> gpd.GeoDataFrame:
    """Trips and legs with mode and CO2 credit from GPS tracks (files, folder, list, DataFrame or points).

    Parameters
    ----------
    source
        What :func:`~numazu_geo.mobility.read_tracks` reads, or its points GeoDataFrame.
    classifier
        None for the documented rules, or a callable / scikit-learn-style estimator over the
        features (see :func:`numazu_geo.mobility.modes.classify`).
    params
        :class:`~numazu_geo.mobility.Thresholds` (default: ``data/mobility_thresholds.csv``).
    credit
        Keyword arguments of :func:`numazu_geo.mobility.credit_rule` (threshold, baseline, ...);
        default: the SPOBY rule.
    errors
        ``"report"`` (a broken file is logged, recorded and skipped) or ``"raise"``.
    bus_stops
        Bus stop locations (GTFS ``stops.txt``, points, ...; see
        :func:`~numazu_geo.mobility.tracks.read_bus_stops`): legs get ``bus_stops_passed`` and
        ``bus_stops_dwelt`` and the rules can say ``bus``.
    rail_lines
        Railway centre lines (GeoDataFrame/GeoSeries in any CRS, or a file GeoPandas reads, e.g.
        PLATEAU ``tran`` railways or national rail data): legs get ``rail_frac`` and the rules call
        a motor leg a train exactly when it runs on a line.

    Returns
    -------
    GeoDataFrame (EPSG:4326), one row per leg; ``attrs``: ``report`` (list of dicts, one per
    file and track: every fix counted), ``read_errors``, ``tz_assumed_sources``, ``credit_rule``,
    ``thresholds``.
    """
    p = params or Thresholds.default()
    rule = _credits.credit_rule(**(credit or {}))
    if isinstance(source, gpd.GeoDataFrame) and {"track", "time", "source"} <= set(source.columns):
        points = source
    else:
        points = read_tracks(source, tz=tz, errors=errors, progress=progress)
    report = []
    for err in points.attrs.get("read_errors", []):
        row = _report_row(err["source"], "")
        row.update(status="error", message=err["error"])
        report.append(row)
    all_legs: list[dict] = []
    crs = None
    if len(points):
        crs = points.estimate_utm_crs()
        metric = points.to_crs(crs)
        bus_tree = None
        if bus_stops is not None:
            from scipy.spatial import cKDTree

            stops_m = read_bus_stops(bus_stops).to_crs(crs)
            bus_tree = cKDTree(np.column_stack([stops_m.geometry.x, stops_m.geometry.y])) if len(stops_m) else None
        rail_zone = None
        if rail_lines is not None:
            rail_zone = _rail_zone(rail_lines, crs, p.rail_radius_m)
        groups = metric.groupby(["source", "track"], sort=False)
        if progress:
            from tqdm.auto import tqdm

            groups = tqdm(groups, total=groups.ngroups, desc="trips", unit="track")
        counted = set()
        for (src, track), g in groups:
            row = _report_row(src, track)
            if src not in counted:  # fixes dropped while reading are counted once per file, on its first track
                counted.add(src)
                row["dropped_no_time"] = int(points.attrs.get("dropped_no_time", {}).get(src, 0))
                row["dropped_bad_position"] = int(points.attrs.get("dropped_bad_position", {}).get(src, 0))
            row["fixes_read"] = len(g) + row["dropped_no_time"] + row["dropped_bad_position"]
            legs = _legs_of_track(g, p, row, bus_tree, rail_zone)
            drops = {r: row[f"dropped_{r}"] for r in DROP_REASONS if row[f"dropped_{r}"]}
            if drops:  # out-of-order or repeated times point at a broken file; jumps and bad accuracy are routine GPS
                level = logging.WARNING if drops.keys() & {"out_of_order", "duplicate"} else logging.INFO
                log.log(level, "%s (track %s): dropped %s", src, track,
                        ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in drops.items()))
            if row["status"] != "ok":
                log.warning("%s (track %s): %s", src, track, row["message"])
            elif not legs:
                row["status"] = "no trips"
                row["message"] = "no movement outside stays"
            all_legs.extend(legs)
            report.append(row)
    if all_legs:
        frame = pd.DataFrame(all_legs)
        legs = gpd.GeoDataFrame(frame, geometry="geometry", crs=crs).to_crs(4326)
        feature_cols = list(FEATURE_COLUMNS) + [c for c in (*BUS_FEATURE_COLUMNS, *RAIL_FEATURE_COLUMNS)
                                                if c in legs.columns]
        modes, conf = classify(legs[feature_cols], classifier, p)
        legs["mode"] = modes
        legs["mode_confidence"] = conf
    else:
        legs = gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in LEG_COLUMNS if c not in ("geometry",)},
                                geometry=gpd.GeoSeries([], crs=4326), crs=4326)
        for c in FEATURE_COLUMNS:
            legs[c] = pd.Series(dtype=float)
    legs = _credits.add_credits(legs, rule)
    legs = legs[[*LEG_COLUMNS, *[c for c in (*BUS_FEATURE_COLUMNS, *RAIL_FEATURE_COLUMNS) if c in legs.columns],
                 "geometry"]]
    legs.attrs = {
        "report": report,
        "read_errors": points.attrs.get("read_errors", []),
        "tz": tz,
        "tz_assumed_sources": points.attrs.get("tz_assumed_sources", []),
        "tz_note": (f"times without a time zone were taken as {tz}" if points.attrs.get("tz_assumed_sources") else ""),
        "credit_rule": rule,
        "classifier": "rules (data/mobility_thresholds.csv)" if classifier is None else repr(classifier),
        "thresholds": dataclasses.asdict(p),
        "bus_stops_given": bus_stops is not None,
        "rail_lines_given": rail_lines is not None,
    }
    n_dropped = sum(r[f"dropped_{k}"] for r in report for k in DROP_REASONS)
    log.info("%d legs from %d files; %d fixes dropped in cleaning; %d files failed", len(legs),
             len({r["source"] for r in report}), n_dropped, len(legs.attrs["read_errors"]))
    return legs


def trips_from_legs(legs: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per trip from the legs of :func:`detect_trips` (same CRS).

    ``mode`` is the mode of the trip's longest leg, ``modes`` the legs' modes in order (e.g.
    ``"walk>train>walk"``); ``distance_m``, ``duration_s`` (first start to last end) and
    ``co2_credit_g``/``points`` are over all legs; the geometry is the legs' lines merged.
    """
    if len(legs) == 0:
        return legs.iloc[0:0][["track", "trip", "start", "end", "mode", "distance_m", "co2_credit_g", "geometry"]]
    ordered = legs.sort_values(["trip", "leg"])
    rows = []
    for trip, g in ordered.groupby("trip", sort=False):
        longest = g.loc[g["distance_m"].idxmax()]
        rows.append({
            "track": g["track"].iloc[0], "trip": trip, "start": g["start"].iloc[0], "end": g["end"].iloc[-1],
            "mode": longest["mode"], "modes": ">".join(g["mode"]), "legs": len(g),
            "distance_m": float(g["distance_m"].sum()),
            "duration_s": float((g["end"].iloc[-1] - g["start"].iloc[0]).total_seconds()),
            "co2_credit_g": float(g["co2_credit_g"].sum()), "points": int(g["points"].sum()),
            "tz_assumed": bool(g["tz_assumed"].any()), "source": g["source"].iloc[0],
            "geometry": shapely.line_merge(shapely.union_all(g.geometry.to_numpy())),
        })
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=legs.crs).sort_values(["track", "start"], ignore_index=True)
    out.attrs = dict(legs.attrs)
    return out


def report_table(legs_or_report) -> pd.DataFrame:
    """The cleaning and trip report as a table: one row per file and track, every fix accounted for.

    ``fixes_read = dropped_* + fixes_in_stays + dropped_short_trips + fixes_in_trips`` on each
    ``ok`` row; ``status`` is ``error`` (file unreadable), ``too few fixes`` or ``no trips`` otherwise.
    """
    rows = legs_or_report.attrs["report"] if hasattr(legs_or_report, "attrs") else legs_or_report
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)
