"""numazu_geo.mobility: reading, cleaning, trips and legs, modes, SPOBY credits, CLI (issue 14)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from numazu_geo import co2, mobility
from numazu_geo.mobility import synthetic
from numazu_geo.mobility.clean import clean_fixes

CAR_G_PER_KM = co2.transport_g_per_pkm("car")


@pytest.fixture(scope="module")
def generated():
    """Six noisy trips per mode (walk 4.5, bicycle 15, car 45 with stops, train 85 km/h cruise / about 70 median)."""
    fixes, truth = synthetic.mode_trips(6, seed=3)
    legs = mobility.detect_trips(fixes[["track", "time", "lat", "lon"]])
    return fixes, truth, legs


def _fixes_to_lonlat_frame(route_xy, mode, start="2026-06-08 07:30", seed=0, **kw):
    rng = np.random.default_rng(seed)
    df = synthetic.simulate_track(route_xy, mode, start, rng=rng, **kw)
    return df


# ------------------------------------------------------------------------------ modes and credits


def test_modes_of_generated_tracks_at_least_90_percent(generated):
    fixes, truth, legs = generated
    assert len(legs) == len(truth)  # one leg per single-mode trip, none lost
    m = legs.merge(truth, on="track", suffixes=("", "_true"))
    accuracy = float((m["mode"] == m["mode_true"]).mean())
    assert accuracy >= 0.9, m.loc[m["mode"] != m["mode_true"], ["track", "mode", "speed_kmh_p95"]]
    assert set(m["mode_true"]) == {"walk", "bicycle", "car", "train"}
    assert ((legs["mode_confidence"] > 0.5) & (legs["mode_confidence"] <= 1)).all()


def test_credit_is_true_distance_times_car_factor_within_2_percent(generated):
    _, truth, legs = generated
    m = legs.merge(truth, on="track", suffixes=("", "_true"))
    active = m[m["mode_true"].isin(["walk", "bicycle"])]
    expected = active["distance_m_true"] / 1000 * CAR_G_PER_KM
    assert (active["distance_m_true"] >= 750).all()
    ratio = active["co2_credit_g"] / expected
    assert ratio.between(0.98, 1.02).all(), ratio.describe()
    # and it is the leg's own distance x the factor, exactly
    np.testing.assert_allclose(active["co2_credit_g"], active["distance_m"] / 1000 * CAR_G_PER_KM, rtol=1e-12)
    assert (active["points"] == np.floor(active["co2_credit_g"])).all()


def test_car_and_train_earn_nothing(generated):
    _, truth, legs = generated
    m = legs.merge(truth, on="track", suffixes=("", "_true"))
    assert (m.loc[m["mode"].isin(["car", "train"]), "co2_credit_g"] == 0).all()
    assert (m.loc[m["mode_true"] == "car", "co2_credit_g"] == 0).all()


def test_600_m_walk_earns_nothing_and_900_m_walk_earns():
    grid = synthetic.Grid.sample()
    a = np.array(grid.node_xy(0, 0))
    direction = np.array(grid.node_xy(1, 0)) - a
    direction /= np.linalg.norm(direction)
    frames = []
    for name, length, start in (("short", 600.0, "2026-06-08 07:30"), ("long", 900.0, "2026-06-08 12:00")):
        route = np.array([a, a + direction * length])
        df = _fixes_to_lonlat_frame(route, "walk", start=start, seed=len(name), jump_prob=0.0)
        df.insert(0, "track", name)
        frames.append(df)
    legs = mobility.detect_trips(pd.concat(frames)[["track", "time", "lat", "lon"]]).set_index("track")
    assert (legs["mode"] == "walk").all()
    assert legs.loc["short", "distance_m"] == pytest.approx(600, rel=0.03)
    assert legs.loc["short", "co2_credit_g"] == 0
    assert legs.loc["long", "co2_credit_g"] == pytest.approx(legs.loc["long", "distance_m"] / 1000 * CAR_G_PER_KM)
    # configurable threshold: at 500 m the short walk earns too
    lower = mobility.add_credits(legs, min_distance_m=500)
    assert lower.loc["short", "co2_credit_g"] > 0
    assert lower.attrs["credit_rule"]["min_distance_m"] == 500


def test_credit_rule_baseline_and_factor_table_are_configurable(generated):
    _, _, legs = generated
    bus = mobility.add_credits(legs, baseline="bus", fiscal_year=2021)
    walk = legs["mode"] == "walk"
    np.testing.assert_allclose(bus.loc[walk, "co2_credit_g"], legs.loc[walk, "distance_m"] / 1000 * 90.0)
    own = mobility.add_credits(legs, factors={"car": 100.0}, credited_modes=("walk",))
    assert (own.loc[legs["mode"] == "bicycle", "co2_credit_g"] == 0).all()
    np.testing.assert_allclose(own.loc[walk, "co2_credit_g"], legs.loc[walk, "distance_m"] / 10)
    assert own.attrs["credit_rule"]["factor_status"] == "user"
    with pytest.raises(KeyError, match="baseline"):
        mobility.add_credits(legs, factors={"bus": 50.0})


def test_default_rule_records_its_unverified_factor(generated):
    rule = generated[2].attrs["credit_rule"]
    assert rule["baseline"] == "car" and rule["min_distance_m"] == 750
    assert rule["baseline_g_co2_per_km"] == 125.0 and rule["fiscal_year"] == 2024
    assert rule["factor_status"] == "S"  # third-party transcription, said so
    assert generated[2].attrs["thresholds"]["walk_max_speed_kmh"] == 9.1  # provenance of the mode rules


def test_transport_factor_table_has_sources_and_says_what_is_unverified():
    table = co2.transport_factors()
    assert {"mode", "fiscal_year", "g_co2_per_passenger_km", "source", "status", "note"} <= set(table.columns)
    assert table["source"].notna().all()
    mlit = table[table["mode"].isin(["car", "bus", "train"])]
    assert (mlit["status"] == "S").all() and mlit["note"].str.contains("not verified").all()
    assert co2.transport_g_per_pkm("train", 2022) == 20.0
    assert co2.transport_g_per_pkm("walk") == 0.0
    with pytest.raises(KeyError, match="FY2019"):
        co2.transport_g_per_pkm("car", 2019)


def test_user_classifier_callable_and_estimator(generated):
    fixes, _, _ = generated
    sub = fixes[fixes["track"].isin(["walk-00", "car-00"])][["track", "time", "lat", "lon"]]
    legs = mobility.detect_trips(sub, classifier=lambda f: np.where(f["speed_kmh_median"] < 20, "bicycle", "bus"))
    assert dict(zip(legs["track"], legs["mode"])) == {"walk-00": "bicycle", "car-00": "bus"}
    assert legs.set_index("track").loc["walk-00", "co2_credit_g"] > 0  # credited as a bicycle leg

    class Estimator:  # scikit-learn's protocol, without scikit-learn
        feature_names_in_ = np.array(["speed_kmh_p95"])
        classes_ = np.array(["car", "walk"])

        def predict(self, X):
            assert list(X.columns) == ["speed_kmh_p95"]
            return np.where(X["speed_kmh_p95"] < 10, "walk", "car")

        def predict_proba(self, X):
            p = (X["speed_kmh_p95"].to_numpy() < 10).astype(float)
            return np.column_stack([1 - p * 0.7, 0.3 + p * 0.4])

    legs = mobility.detect_trips(sub, classifier=Estimator()).set_index("track")
    assert legs.loc["walk-00", "mode"] == "walk" and legs.loc["walk-00", "mode_confidence"] == pytest.approx(0.7)
    assert legs.loc["car-00", "mode"] == "car" and legs.loc["car-00", "co2_credit_g"] == 0


def test_bus_told_from_car_when_bus_stops_are_given(tmp_path):
    fixes, truth = synthetic.mode_trips(6, seed=4, modes=("car", "bus", "bicycle"))
    stops = fixes.attrs["bus_stops"]
    pd.DataFrame({"stop_id": range(len(stops)), "stop_name": "停留所", "stop_lat": [la for _, la in stops],
                  "stop_lon": [lo for lo, _ in stops]}).to_csv(tmp_path / "stops.txt", index=False)  # GTFS layout
    legs = mobility.detect_trips(fixes[["track", "time", "lat", "lon"]], bus_stops=tmp_path / "stops.txt")
    m = legs.merge(truth, on="track", suffixes=("", "_true"))
    assert len(m) == len(truth)
    assert float((m["mode"] == m["mode_true"]).mean()) >= 0.9, m[["track", "mode", "bus_stops_passed", "bus_stops_dwelt"]]
    assert (m.loc[m["mode"] == "bus", "co2_credit_g"] == 0).all()
    # without bus stops, speed alone cannot tell: buses are cars (and earn nothing either way)
    plain = mobility.detect_trips(fixes[fixes["track"].str.startswith("bus")][["track", "time", "lat", "lon"]])
    assert set(plain["mode"]) == {"car"} and "bus_stops_dwelt" not in plain.columns


def test_slow_trains_need_rail_lines_and_then_are_found(tmp_path):
    """Trains cruising at only 60 km/h look like fast cars by speed; on the given rail line they are trains."""
    fixes, truth = synthetic.mode_trips(5, seed=5, modes=("car", "train"), cruise_kmh={"train": 60})
    f = fixes[["track", "time", "lat", "lon"]]
    synthetic.rail_lines().to_file(tmp_path / "rail.geojson", driver="GeoJSON")
    legs = mobility.detect_trips(f, rail_lines=tmp_path / "rail.geojson")
    m = legs.merge(truth, on="track", suffixes=("", "_true"))
    assert len(m) == len(truth) and (m["mode"] == m["mode_true"]).all(), m[["track", "mode", "rail_frac"]]
    assert (m.loc[m["mode_true"] == "train", "rail_frac"] > 0.95).all()
    assert (m.loc[m["mode_true"] == "car", "rail_frac"] < 0.5).all()
    # by speed alone they are taken for cars, with a low confidence that says so
    plain = mobility.detect_trips(f).merge(truth, on="track", suffixes=("", "_true"))
    slow = plain[plain["mode_true"] == "train"]
    assert (slow["mode"] == "car").all() and (slow["mode_confidence"] < 0.7).all()


# ------------------------------------------------------------------------------ trips and legs


def test_walk_train_walk_trip_is_split_into_legs():
    grid = synthetic.Grid.sample()
    rng = np.random.default_rng(11)
    station = np.array([0.0, 0.0])
    home = np.array(grid.node_xy(-6, 5))
    walk1 = np.vstack([home, [home[0], 0.0], station])
    rail = synthetic.rail_route(7000.0)
    far = rail[-1]
    walk2 = np.vstack([far, far + [0, 900.0]])
    t0 = pd.Timestamp("2026-06-08 07:00", tz="Asia/Tokyo")
    a = synthetic.simulate_track(walk1, "walk", t0, rng=rng, jump_prob=0)
    b = synthetic.simulate_track(rail, "train", a["time"].iloc[-1] + pd.Timedelta(seconds=5), rng=rng,
                                 wait_at_start_s=240, jump_prob=0)
    c = synthetic.simulate_track(walk2, "walk", b["time"].iloc[-1] + pd.Timedelta(seconds=5), rng=rng, jump_prob=0)
    df = pd.concat([a, b, c], ignore_index=True)
    df["track"] = "commuter"
    legs = mobility.detect_trips(df[["track", "time", "lat", "lon"]])
    assert legs["trip"].nunique() == 1
    assert legs["mode"].tolist() == ["walk", "train", "walk"]
    assert legs["leg"].tolist() == [1, 2, 3]
    assert legs.iloc[1]["distance_m"] == pytest.approx(7000, rel=0.05)
    assert (legs["start"].iloc[1:].to_numpy() == legs["end"].iloc[:-1].to_numpy()).all()  # legs join up
    assert legs.iloc[0]["co2_credit_g"] > 0 and legs.iloc[1]["co2_credit_g"] == 0
    trip = mobility.trips_from_legs(legs).iloc[0]
    assert trip["modes"] == "walk>train>walk" and trip["mode"] == "train" and trip["legs"] == 3
    assert trip["distance_m"] == pytest.approx(legs["distance_m"].sum())
    assert trip["co2_credit_g"] == pytest.approx(legs["co2_credit_g"].sum())
    merged = mobility.trips_from_legs(legs).to_crs(6676).geometry.iloc[0]
    assert merged.length == pytest.approx(legs.to_crs(6676).geometry.length.sum(), rel=1e-6)


def test_stays_and_gaps_split_trips_and_are_counted():
    rng = np.random.default_rng(5)
    grid = synthetic.Grid.sample()
    route1 = synthetic.street_route(grid, (0, 0), (5, 4), rng)
    route2 = route1[::-1].copy()
    t0 = pd.Timestamp("2026-06-08 07:30", tz="Asia/Tokyo")
    a = synthetic.simulate_track(route1, "walk", t0, rng=rng, jump_prob=0)
    end = a["time"].iloc[-1]
    # 40 minutes standing at the destination, the phone still logging every 5 s
    n = 40 * 12
    stay = pd.DataFrame({"time": end + pd.to_timedelta(np.arange(1, n + 1) * 5, unit="s"),
                         "lat": a["lat"].iloc[-1] + rng.normal(0, 3e-5, n), "lon": a["lon"].iloc[-1] + rng.normal(0, 3e-5, n)})
    b = synthetic.simulate_track(route2, "walk", stay["time"].iloc[-1] + pd.Timedelta(seconds=5), rng=rng, jump_prob=0)
    # then nothing for an hour, and a bicycle ride
    c = synthetic.simulate_track(route1, "bicycle", b["time"].iloc[-1] + pd.Timedelta(hours=1), rng=rng, jump_prob=0)
    df = pd.concat([a, stay, b, c], ignore_index=True)
    df["track"] = "pupil"
    legs = mobility.detect_trips(df[["track", "time", "lat", "lon"]])
    assert legs["trip"].nunique() == 3, legs[["trip", "mode", "start", "end"]]
    assert legs["mode"].tolist() == ["walk", "walk", "bicycle"]
    rep = mobility.report_table(legs).iloc[0]
    assert rep["fixes_in_stays"] >= n * 0.9
    _assert_accounted(mobility.report_table(legs))


def _assert_accounted(rep: pd.DataFrame):
    ok = rep[rep["status"] != "error"]
    parts = ok.filter(like="dropped_").sum(axis=1) + ok["fixes_in_stays"] + ok["fixes_in_trips"]
    assert (parts == ok["fixes_read"]).all(), rep


def test_clean_counts_every_removed_fix():
    t = np.array([0, 5, 10, 10, 15, 8, 20, 25, 30, 35, 40], dtype=float)
    x = np.array([0, 6, 12, 12, 18, 9, 5000, 30, 36, 42, 48], dtype=float)
    y = np.zeros_like(x)
    acc = np.array([5, 5, 5, 5, 500, 5, 5, 5, 5, 5, 5], dtype=float)
    keep, counts = clean_fixes(t, x, y, acc, None)
    assert counts == {"bad_accuracy": 1, "out_of_order": 1, "duplicate": 1, "impossible_speed": 1}
    assert keep.sum() == len(t) - 4
    assert np.all(np.diff(t[keep]) > 0)
    # a single fix stamped far in the future drops that fix, not everything after it
    t2 = np.array([0, 5, 1e9, 10, 15, 20], dtype=float)
    keep2, counts2 = clean_fixes(t2, np.arange(6.0) * 5, np.zeros(6), None, None)
    assert counts2["out_of_order"] == 1 and keep2.tolist() == [True, True, False, True, True, True]
    # a jump at the very start is dropped, not taken as the anchor
    keep3, counts3 = clean_fixes(np.arange(6.0) * 5, np.array([9000.0, 0, 6, 12, 18, 24]), np.zeros(6), None, None)
    assert counts3["impossible_speed"] == 1 and not keep3[0] and keep3[1:].all()


def test_thresholds_come_from_the_data_table_with_sources():
    t = mobility.Thresholds.default()
    table = t.sources()
    assert set(table["name"]) == {f.name for f in dataclasses.fields(t)}
    assert table["source"].notna().all() and table["status"].isin(["S", "P", "derived", "method"]).all()
    assert t.walk_max_speed_kmh == 9.1 and t.stay_min_duration_s == 1800


# ------------------------------------------------------------------------------ files: GPX, CSV, GeoJSON


GPX_OTHER_TOOL = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="Garmin Connect" xmlns="http://www.topografix.com/GPX/1/1"
  xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <metadata><name>朝の通学</name><time>2026-06-08T07:30:00</time></metadata>
  <trk><name>walk</name><type>walking</type>
{segments}
  </trk>
</gpx>
"""


def _gpx_segments(df: pd.DataFrame, n_segments: int, *, utc: bool = False) -> str:
    out = []
    bounds = np.linspace(0, len(df), n_segments + 1).astype(int)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        part = df.iloc[lo:hi]
        pts = []
        for _, r in part.iterrows():
            t = r["time"].tz_convert("UTC") if utc else r["time"].tz_localize(None)
            stamp = t.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if utc else "")
            pts.append(f'      <trkpt lat="{r["lat"]:.7f}" lon="{r["lon"]:.7f}"><ele>12.3</ele><time>{stamp}</time>'
                       f"<hdop>1.2</hdop><extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>96</gpxtpx:hr>"
                       f"</gpxtpx:TrackPointExtension></extensions></trkpt>")
        out.append("    <trkseg>\n" + "\n".join(pts) + "\n    </trkseg>")
    return "\n".join(out)


@pytest.fixture(scope="module")
def walk_fixes():
    grid = synthetic.Grid.sample()
    rng = np.random.default_rng(2)
    route = synthetic.street_route(grid, (0, 0), (6, 6), rng)
    df = synthetic.simulate_track(route, "walk", "2026-06-08 07:30", rng=rng, jump_prob=0)
    return df, float(synthetic._arc(route)[-1])


def test_gpx_from_other_tools_with_extensions_segments_and_no_time_zone(tmp_path, walk_fixes):
    df, length = walk_fixes
    naive = tmp_path / "pupil-a.gpx"
    naive.write_text(GPX_OTHER_TOOL.format(segments=_gpx_segments(df, 3)), encoding="utf-8")
    aware = tmp_path / "pupil-b.gpx"
    aware.write_text(GPX_OTHER_TOOL.format(segments=_gpx_segments(df, 1, utc=True)), encoding="utf-8")
    pts = mobility.read_tracks([naive, aware])
    assert len(pts) == 2 * len(df)
    a, b = pts[pts["track"] == "pupil-a"], pts[pts["track"] == "pupil-b"]
    assert a["tz_assumed"].all() and not b["tz_assumed"].any()
    assert pts.attrs["tz_assumed_sources"] == [str(naive)]
    # the naive 07:30 is read as JST; the UTC file is the same instant
    assert a["time"].iloc[0] == pd.Timestamp("2026-06-08 07:30", tz="Asia/Tokyo") == b["time"].iloc[0]
    assert str(a["time"].dt.tz) == "Asia/Tokyo" and a["hdop"].eq(1.2).all()
    legs = mobility.detect_trips(tmp_path)
    assert len(legs) == 2 and (legs["mode"] == "walk").all()
    assert legs["distance_m"].to_numpy() == pytest.approx([length, length], rel=0.03)
    assert legs.set_index("track")["tz_assumed"].to_dict() == {"pupil-a": True, "pupil-b": False}
    assert "JST" in legs.attrs["tz_note"] or "Asia/Tokyo" in legs.attrs["tz_note"]


def test_broken_files_are_reported_and_the_rest_processed(tmp_path, walk_fixes, caplog):
    df, _ = walk_fixes
    (tmp_path / "good.gpx").write_text(GPX_OTHER_TOOL.format(segments=_gpx_segments(df, 2)), encoding="utf-8")
    (tmp_path / "broken.gpx").write_text(GPX_OTHER_TOOL.format(segments=_gpx_segments(df, 1))[:900], encoding="utf-8")
    (tmp_path / "empty.gpx").write_text(GPX_OTHER_TOOL.format(segments=""), encoding="utf-8")
    (tmp_path / "single.gpx").write_text(GPX_OTHER_TOOL.format(segments=_gpx_segments(df.iloc[:1], 1)), encoding="utf-8")
    (tmp_path / "notime.csv").write_text("lat,lon\n35.1,138.86\n", encoding="utf-8")
    # out-of-order times and a GPS jump in a CSV with its own column names
    bad = df[["time", "lat", "lon"]].copy()
    bad["time"] = bad["time"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    bad.iloc[[10, 11]] = bad.iloc[[11, 10]].to_numpy()
    bad.loc[bad.index[30], "lat"] += 0.05  # 5.5 km away for one fix
    bad.columns = ["Timestamp", "Latitude", "Longitude"]
    bad.to_csv(tmp_path / "jumpy.csv", index=False)
    with caplog.at_level("WARNING"):
        legs = mobility.detect_trips(tmp_path)
    rep = mobility.report_table(legs)
    by_file = {src.rsplit("/", 1)[-1]: row for src, row in zip(rep["source"], rep.to_dict("records"))}
    assert by_file["broken.gpx"]["status"] == "error" and "GPX" in by_file["broken.gpx"]["message"]
    assert by_file["empty.gpx"]["status"] == "error" and "empty" in by_file["empty.gpx"]["message"]
    assert by_file["notime.csv"]["status"] == "error" and "time column" in by_file["notime.csv"]["message"]
    assert by_file["single.gpx"]["status"] == "too few fixes" and by_file["single.gpx"]["dropped_short_trips"] == 1
    assert by_file["jumpy.csv"]["dropped_out_of_order"] == 1 and by_file["jumpy.csv"]["dropped_impossible_speed"] == 1
    assert set(legs["source"].str.rsplit("/", n=1).str[-1]) == {"good.gpx", "jumpy.csv"}
    assert "broken.gpx" in caplog.text and "single.gpx" in caplog.text
    assert "jumpy.csv (track jumpy): dropped 1 out of order" in caplog.text
    _assert_accounted(rep)


def test_csv_columns_detected_epoch_ms_accuracy_and_japanese_names(tmp_path, walk_fixes):
    df, _ = walk_fixes
    t_ms = (df["time"].dt.tz_convert("UTC").astype("int64") // 10**6).to_numpy()
    acc = np.full(len(df), 8.0)
    acc[[5, 6, 7]] = 350.0
    pd.DataFrame({"LocationTime": t_ms, "Lat": df["lat"], "Lng": df["lon"], "Accuracy": acc}).to_csv(
        tmp_path / "android.csv", index=False)
    pd.DataFrame({"日時": df["time"].dt.strftime("%Y/%m/%d %H:%M:%S"), "緯度": df["lat"], "経度": df["lon"]}).to_csv(
        tmp_path / "japanese.csv", index=False, encoding="cp932")
    # a logger export with a person column, a fix without time and one without a position
    rows = pd.DataFrame({"user": ["kenta"] * len(df) + ["yui"] * len(df),
                         "time": list(df["time"].dt.strftime("%Y-%m-%dT%H:%M:%S+09:00")) * 2,
                         "latitude": list(df["lat"]) * 2, "longitude": list(df["lon"]) * 2})
    rows.loc[3, "time"] = None
    rows.loc[len(df) + 4, "latitude"] = None
    rows.to_csv(tmp_path / "logger.csv", index=False)
    pts = mobility.read_tracks(tmp_path)
    assert pts.attrs["dropped_no_time"][str(tmp_path / "logger.csv")] == 1
    assert pts.attrs["dropped_bad_position"][str(tmp_path / "logger.csv")] == 1
    rep = mobility.report_table(mobility.detect_trips(pts)).set_index("track")
    assert rep.loc[["kenta", "yui"], "fixes_read"].sum() == 2 * len(df)
    _assert_accounted(rep)
    (tmp_path / "logger.csv").unlink()
    pts = mobility.read_tracks(tmp_path)
    assert pts.groupby("track").size().to_dict() == {"android": len(df), "japanese": len(df)}
    assert pts.groupby("track")["tz_assumed"].all().to_dict() == {"android": False, "japanese": True}
    assert (pts.groupby("track")["time"].first() == df["time"].iloc[0]).all()
    rep = mobility.report_table(mobility.detect_trips(pts)).set_index("track")
    assert rep.loc["android", "dropped_bad_accuracy"] == 3 and rep.loc["japanese", "dropped_bad_accuracy"] == 0
    # zoned and unzoned times in one file: refused with the reason, not silently read as UTC
    pd.DataFrame({"time": ["2026-06-08T07:30:00Z", "2026-06-08T07:30:05"], "lat": [35.1, 35.1],
                  "lon": [138.86, 138.86]}).to_csv(tmp_path / "mixed.csv", index=False)
    with pytest.raises(Exception, match="mixed.csv.*no time zone"):
        mobility.read_track(tmp_path / "mixed.csv")


def test_geojson_points_and_linestring_with_coord_times(tmp_path, walk_fixes):
    import json

    df, length = walk_fixes
    times = df["time"].dt.strftime("%Y-%m-%dT%H:%M:%S+09:00").tolist()
    line = {"type": "Feature", "properties": {"name": "x", "coordTimes": times},
            "geometry": {"type": "LineString", "coordinates": df[["lon", "lat"]].to_numpy().tolist()}}
    (tmp_path / "line.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [line]}))
    pts = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"time": t, "person": "kenta"}, "geometry": {"type": "Point", "coordinates": [lo, la]}}
        for t, lo, la in zip(times, df["lon"], df["lat"])]}
    (tmp_path / "points.geojson").write_text(json.dumps(pts))
    legs = mobility.detect_trips(tmp_path)
    assert sorted(legs["track"]) == ["kenta", "line"]
    assert legs["distance_m"].to_numpy() == pytest.approx([length, length], rel=0.03)
    (tmp_path / "bad.geojson").write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                                          '"properties": {}, "geometry": {"type": "LineString", "coordinates": [[0,0],[1,1]]}}]}')
    with pytest.raises(Exception, match="bad.geojson.*coordTimes"):
        mobility.read_tracks(tmp_path / "bad.geojson", errors="raise")


# ------------------------------------------------------------------------------ summaries, CLI


def test_summary_per_person_day_and_week(generated):
    _, _, legs = generated
    per_person = mobility.summary_table(legs, by="track")
    assert per_person.iloc[-1]["track"] == "total"
    assert per_person.iloc[-1]["co2_credit_g"] == pytest.approx(legs["co2_credit_g"].sum())
    body = per_person.iloc[:-1].set_index("track")
    one = legs[legs["track"] == "walk-00"]
    assert body.loc["walk-00", "co2_credit_g"] == pytest.approx(one["co2_credit_g"].sum())
    assert body.loc["walk-00", "walk_km"] == pytest.approx(one["distance_m"].sum() / 1000)
    by_day = mobility.credits_by(legs, by=["track", "day"])
    assert by_day["co2_credit_g"].sum() == pytest.approx(legs["co2_credit_g"].sum())
    week = mobility.credits_by(legs, by="week")
    assert len(week) == 1 and str(week["week"].iloc[0]) == "2026-06-08"  # a Monday


def test_cli_trips_writes_table_and_summary_and_skips_broken(tmp_path, walk_fixes, capsys):
    from numazu_geo.cli import main
    from numazu_geo.io import read_parquet

    df, _ = walk_fixes
    folder = tmp_path / "tracks"
    folder.mkdir()
    (folder / "a.gpx").write_text(GPX_OTHER_TOOL.format(segments=_gpx_segments(df, 2)), encoding="utf-8")
    (folder / "b.gpx").write_text("<gpx><trk><trkseg><trkpt lat=", encoding="utf-8")
    out = tmp_path / "out" / "trips.parquet"
    rc = main(["trips", str(folder), "-o", str(out), "--summary", str(tmp_path / "per_person.csv"),
               "--report", str(tmp_path / "report.csv")])
    captured = capsys.readouterr()
    assert rc == 0 and "b.gpx" in captured.err and "1 file(s) skipped" in captured.out
    legs = read_parquet(out)
    assert len(legs) == 1 and legs.crs.to_epsg() == 4326 and legs["mode"].iloc[0] == "walk"
    assert legs.attrs["credit_rule"]["min_distance_m"] == 750
    summary = pd.read_csv(tmp_path / "per_person.csv")
    assert summary["track"].tolist() == ["a", "total"]
    assert pd.read_csv(tmp_path / "report.csv")["status"].tolist().count("error") == 1
    # every file broken: exit status 1, the table is not written
    rc = main(["trips", str(folder / "b.gpx"), "-o", str(tmp_path / "none.parquet")])
    assert rc == 1 and "b.gpx" in capsys.readouterr().err and not (tmp_path / "none.parquet").exists()
    rc = main(["trips", str(folder), "-o", str(tmp_path / "x.txt")])
    assert rc == 1 and "x.txt" in capsys.readouterr().err
    rc = main(["trips", str(folder), "-o", str(tmp_path / "outdir") + "/"])  # a folder: default name inside
    assert rc == 0 and (tmp_path / "outdir" / "trips.parquet").is_file()


def test_trips_layer_colours_by_mode_with_credit_tooltip(generated):
    from numazu_geo import maps
    from numazu_geo.maps.layers import MODE_RGBA

    legs = generated[2]
    ja = maps.trips_layer(legs, color_by="mode", lang="ja")
    names = [label for label, _ in ja.legend.categories]
    assert names == ["徒歩", "自転車", "車", "電車"]
    walk_rec = next(r for r in ja.data if "徒歩" in r["tooltip"])
    assert tuple(walk_rec["color"]) == MODE_RGBA["walk"] and "CO2削減" in walk_rec["tooltip"]
    en = maps.trips_layer(legs, color_by="mode", lang="en")
    assert [label for label, _ in en.legend.categories] == ["Walk", "Bicycle", "Car", "Train"]
    assert any("CO2 credit" in r["tooltip"] and "Walk" in r["tooltip"] for r in en.data)
    # both languages travel with the layer for the page's language switch
    assert [label for label, _ in ja.legends["en"].categories] == ["Walk", "Bicycle", "Car", "Train"]
    assert "Walk" in walk_rec["tooltip_en"] and "CO2 credit" in walk_rec["tooltip_en"]


def test_fast_stay_detection_equals_the_plain_algorithm():
    """find_stays skips fixes that cannot start a stay; on random tracks it must equal Li et al.'s loop."""
    from numazu_geo.mobility.trips import find_stays

    def plain(t, x, y, r, dur):
        n, stay, i = len(t), np.zeros(len(t), dtype=bool), 0
        while i < n:
            j = i + 1
            while j < n and (x[j] - x[i]) ** 2 + (y[j] - y[i]) ** 2 <= r * r:
                j += 1
            if t[j - 1] - t[i] >= dur:
                stay[i:j], i = True, j
            else:
                i += 1
        return stay

    rng = np.random.default_rng(0)
    for _ in range(60):
        n = int(rng.integers(1, 300))
        t = np.cumsum(rng.uniform(1, 30, n))
        step = rng.choice([0.0, 1.0, 10.0], size=n, p=[0.5, 0.3, 0.2]) * rng.uniform(0, 20)
        x, y = np.cumsum(rng.normal(0, 1, n) * step), np.cumsum(rng.normal(0, 1, n) * step)
        r, dur = float(rng.uniform(5, 300)), float(rng.uniform(30, 2000))
        np.testing.assert_array_equal(find_stays(t, x, y, r, dur), plain(t, x, y, r, dur))
