"""The numbers that clean tracks, cut trips and tell modes apart, from ``data/mobility_thresholds.csv``.

Each row there has its source and year; ``status`` says how far to trust it: ``S`` a cited rule
or measurement (recalled or quoted, see ``note``), ``derived`` computed from another row,
``method`` a parameter of this project's method, tuned on the synthetic tracks of the tests.

>>> from numazu_geo.mobility import Thresholds
>>> t = Thresholds.default()
>>> t.walk_max_speed_kmh
9.1
>>> import dataclasses; fast_stays = dataclasses.replace(t, stay_min_duration_s=600.0)
"""

from __future__ import annotations

import dataclasses
import functools

import pandas as pd

from numazu_geo.paths import data_path


@functools.lru_cache(maxsize=1)
def threshold_table() -> pd.DataFrame:
    """``data/mobility_thresholds.csv``: name, value, unit, source, year, status, note."""
    return pd.read_csv(data_path("mobility_thresholds.csv"))


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Thresholds of cleaning, trip splitting and the default mode rules (see the data table for sources)."""

    walk_max_speed_kmh: float
    bicycle_max_speed_kmh: float
    road_max_speed_kmh: float
    max_plausible_speed_kmh: float
    stay_radius_m: float
    stay_min_duration_s: float
    max_gap_s: float
    max_hdop: float
    max_accuracy_m: float
    stop_speed_kmh: float
    speed_window_s: float
    median_window_s: float
    min_leg_duration_s: float
    simplify_tolerance_m: float
    min_trip_points: int
    bus_stop_radius_m: float
    bus_stop_min_dwell_s: float
    bus_min_stops: int
    bus_stop_share: float
    rail_radius_m: float
    rail_share: float

    @classmethod
    def default(cls) -> "Thresholds":
        table = threshold_table().set_index("name")["value"]
        values = {}
        for f in dataclasses.fields(cls):
            if f.name not in table.index:
                raise KeyError(f"data/mobility_thresholds.csv: no row {f.name!r}")
            values[f.name] = int(table[f.name]) if f.type in ("int", int) else float(table[f.name])
        return cls(**values)

    def sources(self) -> pd.DataFrame:
        """The table rows behind these values (for provenance in reports)."""
        return threshold_table().copy()
