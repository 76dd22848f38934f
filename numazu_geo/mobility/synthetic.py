"""Seeded synthetic GPS tracks along the sample district's streets, for tests and lessons.

Routes follow the street grid of :mod:`numazu_geo.sample` (:func:`numazu_geo.sample.street_grid`)
around Numazu Station; trains run on a straight synthetic line through the station (roughly
east-west, like the Tokaido Main Line; not its real alignment). Movement is simulated once a
second with each mode's cruise speed, acceleration, braking and stops (crossings, traffic lights,
stations), then sampled every ``interval_s`` and disturbed with GPS-like errors:

- a slowly varying error (first-order autoregressive, ``noise_m`` standard deviation per axis,
  correlation time :data:`NOISE_CORRELATION_S`), plus a small independent error per fix
  (:data:`WHITE_NOISE_FRAC` of ``noise_m``);
- occasional jumps of 1-3 km (``jump_prob`` per fix), which the cleaning must drop;
- optional gaps (signal lost for ``gap_s``).

Every number here describes made-up movement, not measured behaviour: the tracks exist to test
that the pipeline recovers what was simulated (mode, distance, credit), nothing more.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pandas as pd

from numazu_geo import sample
from numazu_geo.sample import NUMAZU_STATION_LAT, NUMAZU_STATION_LON, street_grid

#: Synthetic movement per mode: cruise speed (km/h), acceleration and braking (m/s2), speed through
#: corners (km/h), chance of stopping at a crossing and how long (s). Made-up, plausible values.
MODE_KINEMATICS = {
    "walk": dict(cruise_kmh=4.5, accel=0.5, brake=0.5, corner_kmh=4.0, stop_prob=0.15, stop_s=(5, 25)),
    "bicycle": dict(cruise_kmh=15.0, accel=0.8, brake=1.2, corner_kmh=10.0, stop_prob=0.2, stop_s=(5, 25)),
    "car": dict(cruise_kmh=45.0, accel=1.5, brake=2.0, corner_kmh=18.0, stop_prob=0.35, stop_s=(15, 50)),
    "bus": dict(cruise_kmh=35.0, accel=1.0, brake=1.2, corner_kmh=15.0, stop_prob=0.25, stop_s=(15, 40)),
    "train": dict(cruise_kmh=85.0, accel=0.7, brake=0.8, corner_kmh=85.0, stop_prob=0.0, stop_s=(30, 40)),
}
#: Distance between the synthetic train's stations (m) and its dwell time (s).
TRAIN_STATION_SPACING_M = 2500.0
#: Least distance between the synthetic bus stops along a route (m); stops sit mid-block, away from crossings.
BUS_STOP_SPACING_M = 350.0
#: Dwell at a synthetic bus stop (s).
BUS_DWELL_S = (15.0, 40.0)
#: Bearing of the synthetic rail line through the station (degrees from north, clockwise).
RAIL_BEARING_DEG = 80.0
#: Correlation time of the slowly varying GPS error (s).
NOISE_CORRELATION_S = 30.0
#: Independent per-fix error as a fraction of ``noise_m``.
WHITE_NOISE_FRAC = 0.35


@dataclasses.dataclass
class Grid:
    pitch_a_m: float
    pitch_b_m: float
    rotation_rad: float
    local_crs: str

    @classmethod
    def sample(cls, center_lat: float = NUMAZU_STATION_LAT, center_lon: float = NUMAZU_STATION_LON) -> "Grid":
        g = street_grid(center_lat, center_lon)
        return cls(g["pitch_a_m"], g["pitch_b_m"], math.radians(g["rotation_deg"]), g["local_crs"])

    def node_xy(self, i: float, j: float) -> tuple[float, float]:
        """Local x, y (m) of the crossing of street lines i (along b) and j (along a)."""
        a, b = (i + 0.5) * self.pitch_a_m, (j + 0.5) * self.pitch_b_m
        c, s = math.cos(self.rotation_rad), math.sin(self.rotation_rad)
        return a * c - b * s, a * s + b * c

    def water(self):
        """The sample's river and sea (with its beach strip) on this grid's plane, as one shapely geometry.

        Built from the same rough sketches :mod:`numazu_geo.sample` uses (``KANO_RIVER_LATLON``,
        ``SHORE_LATLON``), so synthetic routes can keep to dry streets.
        """
        import shapely
        from pyproj import Transformer

        tr = Transformer.from_crs("EPSG:4326", self.local_crs, always_xy=True)
        river = np.array([tr.transform(lo, la) for la, lo in sample.KANO_RIVER_LATLON])
        shore = np.array([tr.transform(lo, la) for la, lo in sample.SHORE_LATLON])
        far = 20000.0
        sea = shapely.Polygon([(shore[0, 0] - far, shore[0, 1]), *map(tuple, shore), (shore[-1, 0] + far, shore[-1, 1]),
                               (shore[-1, 0] + far, -far), (shore[0, 0] - far, -far)])
        return shapely.union_all([shapely.LineString(river).buffer(sample.KANO_RIVER_HALF_WIDTH_M),
                                  sea.buffer(sample.BEACH_WIDTH_M)])

    @functools.cached_property
    def _to_lonlat(self):
        from pyproj import Transformer

        return Transformer.from_crs(self.local_crs, "EPSG:4326", always_xy=True)

    def to_lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Longitude, latitude (EPSG:4326) of local-plane metres."""
        return self._to_lonlat.transform(np.asarray(x), np.asarray(y))


def street_route(grid: Grid, start: tuple[int, int], end: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A shortest route along the streets between two crossings (i, j) with at most three turns, (n, 2) metres."""
    (i, j), (i1, j1) = start, end
    na, nb = abs(i1 - i), abs(j1 - j)
    # at most three turns: the blocks along a split in two runs around one run along b (or the other way)
    first_a = bool(rng.random() < 0.5)
    if first_a:
        cut = int(rng.integers(0, na + 1))
        steps = ["a"] * cut + ["b"] * nb + ["a"] * (na - cut)
    else:
        cut = int(rng.integers(0, nb + 1))
        steps = ["b"] * cut + ["a"] * na + ["b"] * (nb - cut)
    nodes = [(i, j)]
    di, dj = int(np.sign(i1 - i)), int(np.sign(j1 - j))
    for s in steps:
        i, j = (i + di, j) if s == "a" else (i, j + dj)
        nodes.append((i, j))
    xy = np.array([grid.node_xy(a, b) for a, b in nodes], dtype=float)
    keep = np.ones(len(xy), dtype=bool)  # drop straight-through nodes: corners only
    for k in range(1, len(xy) - 1):
        d0, d1 = xy[k] - xy[k - 1], xy[k + 1] - xy[k]
        keep[k] = abs(d0[0] * d1[1] - d0[1] * d1[0]) > 1e-6
    return xy[keep]


def rail_route(length_m: float, *, offset_m: float = 0.0) -> np.ndarray:
    """A straight synthetic rail line through the station (local metres), ``offset_m`` along it from the station."""
    b = math.radians(RAIL_BEARING_DEG)
    ux, uy = math.sin(b), math.cos(b)
    sx, sy = 0.0, 0.0  # the station square
    return np.array([[sx + ux * offset_m, sy + uy * offset_m],
                     [sx + ux * (offset_m + length_m), sy + uy * (offset_m + length_m)]])


def rail_lines(length_m: float = 40000.0, grid: Grid | None = None):
    """The synthetic rail line (the one :func:`rail_route` runs on), ``length_m`` long centred on the station,
    as a GeoDataFrame in EPSG:4326 (for ``detect_trips(rail_lines=...)``)."""
    import geopandas as gpd
    import shapely

    grid = grid or Grid.sample()
    xy = rail_route(length_m, offset_m=-length_m / 2)
    xs = np.linspace(xy[0, 0], xy[1, 0], 101)
    ys = np.linspace(xy[0, 1], xy[1, 1], 101)
    lon, lat = grid.to_lonlat(xs, ys)
    return gpd.GeoDataFrame({"name": ["synthetic line"]}, geometry=[shapely.LineString(np.column_stack([lon, lat]))],
                            crs=4326)


def _arc(route: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(route, axis=0).T))])


def bus_stop_positions(route: np.ndarray, grid: Grid, spacing_m: float = BUS_STOP_SPACING_M) -> np.ndarray:
    """Distances along ``route`` (m) of bus stops: mid-block points at least ``spacing_m`` apart."""
    arc = _arc(route)
    out, last = [], 0.0
    for (p0, p1), a0 in zip(zip(route[:-1], route[1:]), arc[:-1]):
        seg = float(np.hypot(*(p1 - p0)))
        d = p1 - p0
        # blocks along this segment: pitch a if it runs along the grid's a axis, else b
        ang = (math.atan2(d[1], d[0]) - grid.rotation_rad) % math.pi
        pitch = grid.pitch_a_m if min(ang, math.pi - ang) < math.pi / 4 else grid.pitch_b_m
        for k in range(int(seg // pitch)):
            pos = a0 + (k + 0.5) * pitch
            if pos - last >= spacing_m and arc[-1] - pos > pitch / 2:
                out.append(pos)
                last = pos
    return np.asarray(out)


def simulate_motion(route: np.ndarray, mode: str, rng: np.random.Generator, *, speed_kmh: float | None = None,
                    wait_at_start_s: float = 0.0, stops_at=()) -> tuple[np.ndarray, np.ndarray]:
    """Distance along ``route`` (m) each second from the start: (t_s, s_m). Stops, corners and braking included.

    ``stops_at``: distances along the route (m) where the vehicle always stops (bus stops).
    """
    k = MODE_KINEMATICS[mode]
    cruise = (speed_kmh or k["cruise_kmh"] * rng.uniform(0.9, 1.1)) / 3.6
    arc = _arc(route)
    total = float(arc[-1])
    corner_v = min(cruise, k["corner_kmh"] / 3.6)
    # control points along the route: (position, speed limit there, dwell)
    points = []
    if mode == "train":
        for pos in np.arange(TRAIN_STATION_SPACING_M, total, TRAIN_STATION_SPACING_M):
            if total - pos > 300:
                points.append((float(pos), 0.0, float(rng.uniform(*k["stop_s"]))))
    else:
        for pos in arc[1:-1]:
            if rng.random() < k["stop_prob"]:
                points.append((float(pos), 0.0, float(rng.uniform(*k["stop_s"]))))
            else:
                points.append((float(pos), corner_v, 0.0))
    for pos in stops_at:
        points.append((float(pos), 0.0, float(rng.uniform(*BUS_DWELL_S))))
    points.sort(key=lambda p: p[0])
    points.append((total, 0.0, 0.0))
    t, s, v = 0.0, 0.0, 0.0
    ts, ss = [0.0], [0.0]
    if wait_at_start_s > 0:
        n = int(wait_at_start_s)
        ts += list(np.arange(1, n + 1, dtype=float))
        ss += [0.0] * n
        t = float(n)
    nxt = 0
    dt = 1.0
    while s < total - 0.01 and t < 6 * 3600:
        while nxt < len(points) and points[nxt][0] <= s + 0.01:
            pos, lim, dwell = points[nxt]
            if dwell > 0:
                for _ in range(int(dwell)):
                    t += dt
                    ts.append(t), ss.append(s)
                v = 0.0
            nxt += 1
        # the highest speed from which we can still brake to each coming limit
        allowed = cruise
        for pos, lim, _ in points[nxt:nxt + 3]:
            allowed = min(allowed, math.sqrt(lim * lim + 2 * k["brake"] * max(pos - s, 0.0)))
        v = min(v + k["accel"] * dt, allowed) if v < allowed else max(allowed, v - k["brake"] * dt)
        v = max(v, 0.3)  # never stall between control points
        step = v * dt
        if nxt < len(points):
            step = min(step, points[nxt][0] - s)
        s += step
        t += dt
        ts.append(t), ss.append(s)
    return np.asarray(ts), np.asarray(ss)


def _gps_noise(n: int, interval_s: float, noise_m: float, rng: np.random.Generator) -> np.ndarray:
    phi = math.exp(-interval_s / NOISE_CORRELATION_S)
    e = np.zeros((n, 2))
    e[0] = rng.normal(0, noise_m, 2)
    innov = rng.normal(0, noise_m * math.sqrt(1 - phi * phi), (n, 2))
    for i in range(1, n):
        e[i] = phi * e[i - 1] + innov[i]
    return e + rng.normal(0, noise_m * WHITE_NOISE_FRAC, (n, 2))


def simulate_track(route: np.ndarray, mode: str, start, *, rng: np.random.Generator, interval_s: float = 5.0,
                   noise_m: float = 4.0, jump_prob: float = 0.003, gap_s: float = 0.0, speed_kmh: float | None = None,
                   wait_at_start_s: float = 0.0, grid: Grid | None = None, stops_at=()) -> pd.DataFrame:
    """Fixes of one trip along ``route`` (local metres): ``time`` (JST), ``lat``, ``lon``, ``x_true_m``, ``y_true_m``."""
    grid = grid or Grid.sample()
    t_sec, s_m = simulate_motion(route, mode, rng, speed_kmh=speed_kmh, wait_at_start_s=wait_at_start_s,
                                 stops_at=stops_at)
    tq = np.arange(0.0, t_sec[-1] + 1e-9, interval_s)
    if tq[-1] < t_sec[-1]:
        tq = np.append(tq, t_sec[-1])
    sq = np.interp(tq, t_sec, s_m)
    arc = _arc(route)
    x = np.interp(sq, arc, route[:, 0])
    y = np.interp(sq, arc, route[:, 1])
    noise = _gps_noise(len(tq), interval_s, noise_m, rng)
    nx, ny = x + noise[:, 0], y + noise[:, 1]
    jumps = rng.random(len(tq)) < jump_prob
    jumps[[0, -1]] = False
    ang = rng.uniform(0, 2 * np.pi, jumps.sum())
    dist = rng.uniform(1000, 3000, jumps.sum())
    nx[jumps] += dist * np.cos(ang)
    ny[jumps] += dist * np.sin(ang)
    keep = np.ones(len(tq), dtype=bool)
    if gap_s > 0 and tq[-1] > 3 * gap_s:
        g0 = rng.uniform(gap_s, tq[-1] - 2 * gap_s)
        keep &= ~((tq > g0) & (tq < g0 + gap_s))
    lon, lat = grid.to_lonlat(nx[keep], ny[keep])
    start = pd.Timestamp(start)
    if start.tzinfo is None:
        start = start.tz_localize("Asia/Tokyo")
    return pd.DataFrame({
        "time": start + pd.to_timedelta(tq[keep], unit="s"),
        "lat": np.round(lat, 7), "lon": np.round(lon, 7),
        "x_true_m": x[keep], "y_true_m": y[keep],
    })


def _node_at_distance(grid: Grid, rng: np.random.Generator, lo_m: float, hi_m: float, origin=(0, 0)) -> tuple[int, int]:
    for _ in range(1000):
        i = origin[0] + int(rng.integers(-12, 13))
        j = origin[1] + int(rng.integers(-20, 21))
        manhattan = abs(i - origin[0]) * grid.pitch_a_m + abs(j - origin[1]) * grid.pitch_b_m
        if lo_m <= manhattan <= hi_m:
            return i, j
    raise ValueError(f"no crossing {lo_m}-{hi_m} m from {origin} along the streets")


def mode_trips(n_per_mode: int = 10, seed: int = 0, *, modes=("walk", "bicycle", "car", "train"), interval_s: float = 5.0,
               noise_m: float = 4.0, start: str = "2026-06-08 07:30",
               cruise_kmh: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Single-mode trips for testing the mode rules: (fixes, truth).

    ``fixes``: ``track`` (one per trip), ``time``, ``lat``, ``lon``. ``truth``: ``track``, ``mode``,
    ``distance_m`` (length of the route travelled). Walks are 0.8-2.5 km, rides 2-5 km, train
    trips 6-12 km (with stations every :data:`TRAIN_STATION_SPACING_M`). Buses stop at mid-block
    bus stops (:func:`bus_stop_positions`); their locations are in ``fixes.attrs["bus_stops"]``
    as (lon, lat) pairs. ``cruise_kmh`` ({mode: km/h}) overrides a mode's cruise speed
    (:data:`MODE_KINEMATICS`), e.g. ``{"train": 60}`` for a slow line.
    """
    rng = np.random.default_rng(seed)
    grid = Grid.sample()
    ranges = {"walk": (800, 2500), "bicycle": (2000, 5000), "car": (2000, 5000), "bus": (2000, 5000),
              "train": (6000, 12000)}
    fixes, truth, bus_stops = [], [], []
    t0 = pd.Timestamp(start, tz="Asia/Tokyo")
    for mode in modes:
        for k in range(n_per_mode):
            name = f"{mode}-{k:02d}"
            if mode == "train":
                route = rail_route(float(rng.uniform(*ranges[mode])), offset_m=float(rng.uniform(-3000, 0)))
            else:
                a = _node_at_distance(grid, rng, 0, 600)
                b = _node_at_distance(grid, rng, *ranges[mode], origin=a)
                route = street_route(grid, a, b, rng)
            stops = bus_stop_positions(route, grid) if mode == "bus" else ()
            if len(stops):
                arc = _arc(route)
                lon, lat = grid.to_lonlat(np.interp(stops, arc, route[:, 0]), np.interp(stops, arc, route[:, 1]))
                bus_stops.extend(zip(np.round(lon, 7).tolist(), np.round(lat, 7).tolist()))
            df = simulate_track(route, mode, t0 + pd.Timedelta(hours=k), rng=rng, interval_s=interval_s,
                                noise_m=noise_m, grid=grid, stops_at=stops, speed_kmh=(cruise_kmh or {}).get(mode))
            df.insert(0, "track", name)
            fixes.append(df)
            truth.append({"track": name, "mode": mode, "distance_m": float(_arc(route)[-1])})
    out = pd.concat(fixes, ignore_index=True)
    out.attrs["bus_stops"] = bus_stops
    return out, pd.DataFrame(truth)


def _dry_route(grid: Grid, a, b, rng: np.random.Generator, water, tries: int = 20) -> np.ndarray | None:
    """A street route from a to b that crosses no water (None when none of ``tries`` does)."""
    import shapely

    for _ in range(tries):
        route = street_route(grid, a, b, rng)
        if not shapely.LineString(route).intersects(water):
            return route
    return None


def _dry_home(grid: Grid, rng: np.random.Generator, school, water, lo_m: float = 300, hi_m: float = 2200):
    """A crossing ``lo_m``-``hi_m`` along the streets from the school with a dry route to it."""
    for _ in range(200):
        home = _node_at_distance(grid, rng, lo_m, hi_m, origin=school)
        if _dry_route(grid, home, school, rng, water) is not None:
            return home
    raise ValueError("no home with a route to the school that keeps out of the river and the sea")


def school_week(n_pupils: int = 20, seed: int = 0, *, school: tuple[int, int] = (2, -3), week_start: str = "2026-06-08",
                days: int = 5, shares: dict | None = None, interval_s: float = 5.0,
                noise_m: float = 4.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A class's week of trips to and from a school in the sample district: (fixes, truth).

    Each pupil lives 0.3-2.2 km from the school along the streets (routes keep out of the sample's
    river and sea) and goes by their usual mode
    (``shares``, default 60 % walk, 20 % bicycle, 20 % driven by car) on most days; on rainy
    days (one per week, seeded) a third of the walkers and cyclists are driven. ``fixes`` has
    ``track`` (pupil), ``time`` (JST), ``lat``, ``lon``; ``truth`` one row per trip with
    ``track``, ``day``, ``direction``, ``mode``, ``distance_m``.
    """
    rng = np.random.default_rng(seed)
    grid = Grid.sample()
    shares = shares or {"walk": 0.6, "bicycle": 0.2, "car": 0.2}
    names = list(shares)
    p = np.asarray([shares[m] for m in names], dtype=float)
    usual = rng.choice(names, size=n_pupils, p=p / p.sum())
    water = grid.water()
    homes = [_dry_home(grid, rng, school, water) for _ in range(n_pupils)]
    rainy = int(rng.integers(0, days))
    fixes, truth = [], []
    for pupil in range(n_pupils):
        name = f"pupil-{pupil + 1:02d}"
        for d in range(days):
            day = pd.Timestamp(week_start, tz="Asia/Tokyo") + pd.Timedelta(days=d)
            mode = str(usual[pupil])
            if d == rainy and mode in ("walk", "bicycle") and rng.random() < 1 / 3:
                mode = "car"
            for direction, when in (("to school", day + pd.Timedelta(hours=7, minutes=int(rng.integers(20, 50)))),
                                    ("home", day + pd.Timedelta(hours=15, minutes=int(rng.integers(10, 60))))):
                a, b = (homes[pupil], school) if direction == "to school" else (school, homes[pupil])
                route = _dry_route(grid, a, b, rng, water)
                df = simulate_track(route, mode, when, rng=rng, interval_s=interval_s, noise_m=noise_m, grid=grid)
                df.insert(0, "track", name)
                fixes.append(df)
                truth.append({"track": name, "day": day.date(), "direction": direction, "mode": mode,
                              "distance_m": float(_arc(route)[-1])})
    return pd.concat(fixes, ignore_index=True), pd.DataFrame(truth)


def school_location(school: tuple[int, int] = (2, -3)) -> tuple[float, float]:
    """(lon, lat) of the school crossing used by :func:`school_week`."""
    grid = Grid.sample()
    x, y = grid.node_xy(*school)
    lon, lat = grid.to_lonlat(np.array([x]), np.array([y]))
    return float(lon[0]), float(lat[0])
