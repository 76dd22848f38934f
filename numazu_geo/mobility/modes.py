"""Travel mode of a leg from speed, acceleration and stop features, by documented rules or your own classifier.

Features (one row per leg; speeds from median-filtered positions over
:attr:`~numazu_geo.mobility.Thresholds.speed_window_s`, so GPS noise does not read as movement):

====================  ==========================================================================
``speed_kmh_median``  median speed while moving (speed above ``stop_speed_kmh``)
``speed_kmh_p85``     85th percentile of the moving speed
``speed_kmh_p95``     95th percentile of the moving speed ("top speeds" of Zheng et al. 2008)
``speed_kmh_max``     largest smoothed speed
``accel_ms2_p95``     95th percentile of the absolute acceleration ("top accelerations", ibid.)
``stop_frac``         share of the leg's time spent below ``stop_speed_kmh``
``stops_per_km``      starts of stopped spells per km ("stop rate", ibid.)
``distance_m``        length of the leg; ``duration_s`` its duration
====================  ==========================================================================

Default rules (:func:`classify_rules`; thresholds and their sources in ``data/mobility_thresholds.csv``):

1. **walk** when ``speed_kmh_p95 <= walk_max_speed_kmh`` (9.1 km/h: the fastest maximum gait
   speed of adults, Bohannon 1997);
2. **bicycle** when ``speed_kmh_p95 <= bicycle_max_speed_kmh`` (24 km/h: where Japanese rules end
   electric assist, 道路交通法施行規則 第1条の3);
3. **train** when ``speed_kmh_median > road_max_speed_kmh`` (60 km/h: the legal road maximum,
   道路交通法施行令 第11条): most of the moving time faster than a car may go on ordinary roads;
   when rail lines are given (``detect_trips(rail_lines=...)``, e.g. PLATEAU ``tran`` railways or
   national rail data), a leg faster than cycling is a train exactly when ``rail_share`` or more
   of its fixes lie within ``rail_radius_m`` of a line (feature ``rail_frac``), so slow lines are
   trains and fast cars on expressways are cars;
4. **car** otherwise; **bus** (instead of car or bicycle) when bus stop locations are given
   (``detect_trips(bus_stops=...)``, e.g. a GTFS ``stops.txt``) and the leg stopped (``bus_stop_min_dwell_s``) at ``bus_min_stops``
   or more of them and at ``bus_stop_share`` or more of those it passed (features
   ``bus_stops_dwelt``/``bus_stops_passed``). Without bus stops, speed alone cannot tell a bus from
   a car (both earn no credit under the SPOBY rule).

``mode_confidence`` of the rules is a margin score, not a calibrated probability: 0.5 at a
threshold, rising towards 1 as the deciding speed moves away from it (0.88 when it is 10 %
away, :data:`CONFIDENCE_SCALE`). A classifier's ``predict_proba`` gives its own.

Reference: Zheng Y., Liu L., Wang L., Xie X. (2008), Learning transportation mode from raw GPS
data for geographic applications on the web, WWW 2008 (segment features, change points).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from numazu_geo.mobility.thresholds import Thresholds

MODES = ("walk", "bicycle", "car", "bus", "train")
#: Features that exist only when bus stops are given (NaN otherwise; not in FEATURE_COLUMNS).
BUS_FEATURE_COLUMNS = ("bus_stops_passed", "bus_stops_dwelt")
#: Feature that exists only when rail lines are given (NaN otherwise; not in FEATURE_COLUMNS).
RAIL_FEATURE_COLUMNS = ("rail_frac",)
FEATURE_COLUMNS = ("distance_m", "duration_s", "speed_kmh_median", "speed_kmh_p85", "speed_kmh_p95",
                   "speed_kmh_max", "accel_ms2_p95", "stop_frac", "stops_per_km")
#: Log-ratio of speeds at which the rule confidence reaches tanh(1) x 0.5 + 0.5 = 0.88 (project choice:
#: a leg 10 % away from a threshold speed is fairly, not fully, certain).
CONFIDENCE_SCALE = float(np.log(1.10))


def bus_stop_features(t_s: np.ndarray, x_m: np.ndarray, y_m: np.ndarray, speed_ms: np.ndarray, bus_stops,
                      params: Thresholds | None = None) -> dict:
    """``bus_stops_passed``/``bus_stops_dwelt``: bus stops the leg came within ``bus_stop_radius_m`` of,
    and those where it stopped: its time within that radius exceeds the time passing through at the
    leg's median moving speed by ``bus_stop_min_dwell_s`` or more (so a cyclist rolling past a stop
    does not count). ``bus_stops``: a ``scipy.spatial.cKDTree`` of stop positions in the same metres
    as ``x_m``/``y_m``."""
    p = params or Thresholds.default()
    t = np.asarray(t_s, dtype=float)
    if bus_stops is None or len(t) == 0:
        return {"bus_stops_passed": np.nan, "bus_stops_dwelt": np.nan}
    v = np.asarray(speed_ms, dtype=float)
    moving = v[v > p.stop_speed_kmh / 3.6]
    pass_s = 2 * p.bus_stop_radius_m / float(np.median(moving)) if len(moving) else np.inf
    w = np.zeros(len(t))
    if len(t) > 1:
        dt = np.diff(t)
        w[:-1] += dt / 2
        w[1:] += dt / 2
    near = bus_stops.query_ball_point(np.column_stack([x_m, y_m]), r=p.bus_stop_radius_m)
    time_at: dict[int, float] = {}
    for weight, stops in zip(w, near):
        for k in stops:
            time_at[k] = time_at.get(k, 0.0) + weight
    dwelt = sum(1 for s in time_at.values() if s - pass_s >= p.bus_stop_min_dwell_s)
    return {"bus_stops_passed": float(len(time_at)), "bus_stops_dwelt": float(dwelt)}


def rail_features(x_m: np.ndarray, y_m: np.ndarray, rail_zone) -> dict:
    """``rail_frac``: share of the leg's fixes within the rail zone (rail lines buffered by
    ``rail_radius_m``, a prepared shapely geometry in the same metres as ``x_m``/``y_m``)."""
    import shapely

    if rail_zone is None or len(x_m) == 0:
        return {"rail_frac": np.nan}
    return {"rail_frac": float(shapely.contains_xy(rail_zone, np.asarray(x_m), np.asarray(y_m)).mean())}


def leg_features(t_s: np.ndarray, speed_ms: np.ndarray, distance_m: float, params: Thresholds | None = None) -> dict:
    """Features of one leg from its times (s) and smoothed speeds (m/s); ``distance_m`` measured separately."""
    p = params or Thresholds.default()
    t = np.asarray(t_s, dtype=float)
    v = np.asarray(speed_ms, dtype=float)
    stop = p.stop_speed_kmh / 3.6
    dt = np.diff(t)
    moving = v > stop
    vm = v[moving] if moving.any() else v
    kmh = vm * 3.6
    if len(t) > 2:
        acc = np.abs(np.diff(v)) / np.where(dt > 0, dt, np.nan)
        acc = acc[np.isfinite(acc)]
    else:
        acc = np.array([0.0])
    duration = float(t[-1] - t[0]) if len(t) else 0.0
    # time weights: each fix stands for half the interval on either side
    w = np.zeros(len(t))
    if len(t) > 1:
        w[:-1] += dt / 2
        w[1:] += dt / 2
    stop_frac = float(w[~moving].sum() / w.sum()) if w.sum() > 0 else 0.0
    starts = int(np.sum(~moving[1:] & moving[:-1])) if len(v) > 1 else 0
    return {
        "distance_m": float(distance_m),
        "duration_s": duration,
        "speed_kmh_median": float(np.median(kmh)) if len(kmh) else 0.0,
        "speed_kmh_p85": float(np.percentile(kmh, 85)) if len(kmh) else 0.0,
        "speed_kmh_p95": float(np.percentile(kmh, 95)) if len(kmh) else 0.0,
        "speed_kmh_max": float(np.max(v) * 3.6) if len(v) else 0.0,
        "accel_ms2_p95": float(np.percentile(acc, 95)) if len(acc) else 0.0,
        "stop_frac": stop_frac,
        "stops_per_km": starts / (distance_m / 1000.0) if distance_m > 0 else 0.0,
    }


def _margin_confidence(value, threshold) -> np.ndarray:
    ratio = np.abs(np.log(np.maximum(np.asarray(value, float), 1e-6) / threshold))
    return 0.5 + 0.5 * np.tanh(ratio / CONFIDENCE_SCALE)


def classify_rules(features: pd.DataFrame, params: Thresholds | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Modes and margin confidences of the default rules (see the module doc)."""
    p = params or Thresholds.default()
    p95 = features["speed_kmh_p95"].to_numpy(float)
    med = features["speed_kmh_median"].to_numpy(float)
    mode = np.where(p95 <= p.walk_max_speed_kmh, "walk",
                    np.where(p95 <= p.bicycle_max_speed_kmh, "bicycle",
                             np.where(med > p.road_max_speed_kmh, "train", "car")))
    conf = np.ones(len(mode))
    walk = mode == "walk"
    conf[walk] = _margin_confidence(p95[walk], p.walk_max_speed_kmh)
    bike = mode == "bicycle"
    conf[bike] = np.minimum(_margin_confidence(p95[bike], p.walk_max_speed_kmh),
                            _margin_confidence(p95[bike], p.bicycle_max_speed_kmh))
    train = mode == "train"
    conf[train] = _margin_confidence(med[train], p.road_max_speed_kmh)
    car = mode == "car"
    conf[car] = np.minimum(_margin_confidence(p95[car], p.bicycle_max_speed_kmh),
                           _margin_confidence(med[car], p.road_max_speed_kmh))
    mode = mode.astype(object)
    if "rail_frac" in features.columns:  # only when rail lines were given: trains run on them, cars do not
        rail = features["rail_frac"].to_numpy(float)
        motor = (mode == "car") | (mode == "train")
        on_rail = np.isfinite(rail) & (rail >= p.rail_share)
        mode[motor & on_rail] = "train"
        mode[motor & np.isfinite(rail) & ~on_rail] = "car"
        conf[motor & np.isfinite(rail)] = np.where(on_rail, rail, 1 - rail)[motor & np.isfinite(rail)]
        car = mode == "car"
    if "bus_stops_dwelt" in features.columns:  # only when bus stops were given
        dwelt = features["bus_stops_dwelt"].to_numpy(float)
        passed = features["bus_stops_passed"].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(passed > 0, dwelt / passed, 0.0)
        # a slow bus in traffic can stay under bicycle speeds: bicycle-speed legs that stop at bus stops are buses too
        bus = (car | bike) & np.isfinite(dwelt) & (dwelt >= p.bus_min_stops) & (share >= p.bus_stop_share)
        mode[bus] = "bus"
        conf[bus] = np.minimum(conf[bus], share[bus])  # the share of passed stops where it stopped
    return mode, conf


def classify(features: pd.DataFrame, classifier=None, params: Thresholds | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Modes and confidences of legs from their features.

    ``classifier`` is None (the default rules), a callable ``f(features) -> modes`` or
    ``-> (modes, confidences)``, or a scikit-learn-style estimator with ``predict`` (and
    optionally ``predict_proba`` + ``classes_``); an estimator with ``feature_names_in_`` gets
    those columns, otherwise :data:`FEATURE_COLUMNS` in that order.
    """
    if len(features) == 0:
        return np.array([], dtype=object), np.array([], dtype=float)
    if classifier is None:
        return classify_rules(features, params)
    if hasattr(classifier, "predict"):
        cols = list(getattr(classifier, "feature_names_in_", FEATURE_COLUMNS))
        X = features[cols]
        modes = np.asarray(classifier.predict(X), dtype=object)
        conf = np.full(len(modes), np.nan)
        if hasattr(classifier, "predict_proba"):
            proba = np.asarray(classifier.predict_proba(X), dtype=float)
            conf = proba.max(axis=1)
        return _check_modes(modes, len(features)), conf
    if callable(classifier):
        out = classifier(features.copy())
        if isinstance(out, tuple) and len(out) == 2:
            modes, conf = np.asarray(out[0], dtype=object), np.asarray(out[1], dtype=float)
        else:
            modes, conf = np.asarray(out, dtype=object), np.full(len(features), np.nan)
        return _check_modes(modes, len(features)), conf
    raise TypeError(f"classifier must be None, a callable or an estimator with predict(), not {type(classifier).__name__}")


def _check_modes(modes: np.ndarray, n: int) -> np.ndarray:
    if len(modes) != n:
        raise ValueError(f"the classifier returned {len(modes)} modes for {n} legs")
    return modes
