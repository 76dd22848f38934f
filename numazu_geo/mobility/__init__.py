"""Trips, travel modes and walking/cycling CO2 credits from GPS tracks (GPX, GeoJSON, CSV).

>>> from numazu_geo import mobility
>>> legs = mobility.detect_trips("tracks/")            # doctest: +SKIP
>>> mobility.summary_table(legs, by="track")           # doctest: +SKIP

Pipeline: :func:`read_tracks` -> :func:`~numazu_geo.mobility.clean.clean_fixes` -> stays and gaps
(:func:`~numazu_geo.mobility.trips.find_stays`) -> legs -> :func:`~numazu_geo.mobility.modes.classify`
-> :func:`add_credits` (the SPOBY rule by default). :mod:`numazu_geo.mobility.synthetic` makes
seeded tracks along the sample district's streets for tests and lessons.
"""

from numazu_geo.mobility.credits import (
    SPOBY_BASELINE_MODE,
    SPOBY_CREDITED_MODES,
    SPOBY_MIN_DISTANCE_M,
    add_credits,
    credit_rule,
    credits_by,
    summary_table,
)
from numazu_geo.mobility.modes import FEATURE_COLUMNS, MODES, classify, classify_rules
from numazu_geo.mobility.thresholds import Thresholds
from numazu_geo.mobility.tracks import DEFAULT_TZ, read_track, read_tracks
from numazu_geo.mobility.trips import detect_trips, report_table, trips_from_legs

__all__ = [
    "DEFAULT_TZ", "FEATURE_COLUMNS", "MODES", "SPOBY_BASELINE_MODE", "SPOBY_CREDITED_MODES", "SPOBY_MIN_DISTANCE_M",
    "Thresholds", "add_credits", "classify", "classify_rules", "credit_rule", "credits_by", "detect_trips",
    "read_track", "read_tracks", "report_table", "summary_table", "trips_from_legs",
]
