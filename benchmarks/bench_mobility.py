"""Mobility: mode accuracy and distance/credit error on synthetic tracks, and trips throughput.

    python benchmarks/bench_mobility.py [--seeds 3] [--per-mode 10] [--pupils 30]

Part 1 sweeps GPS noise (standard deviation of the slowly varying error, m) and sampling interval
over seeded single-mode trips (walk 4.5, bicycle 15, car 45 km/h cruise with stops, bus 35 km/h
with mid-block stops (their locations given), train 85 km/h cruise with stations) and prints the share of trips with the right mode and the walk/bicycle
distance error against the simulated route. Part 2 times ``detect_trips`` on a class's week of CSV
files beside the baseline of only reading the same files with pandas, in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from numazu_geo import mobility  # noqa: E402
from numazu_geo.mobility import synthetic  # noqa: E402


def accuracy(seeds: int, per_mode: int) -> pd.DataFrame:
    rows = []
    for noise in (2.0, 4.0, 8.0):
        for interval in (1.0, 5.0):
            right, n, errs = 0, 0, []
            for seed in range(seeds):
                fixes, truth = synthetic.mode_trips(per_mode, seed=100 + seed, noise_m=noise, interval_s=interval,
                                                    modes=("walk", "bicycle", "car", "bus", "train"))
                legs = mobility.detect_trips(fixes[["track", "time", "lat", "lon"]], bus_stops=fixes.attrs["bus_stops"])
                m = truth.merge(legs, on="track", how="left", suffixes=("_true", ""))
                one = m.groupby("track").filter(lambda g: len(g) == 1)  # trips cut into several legs count as wrong
                right += int((one["mode"] == one["mode_true"]).sum())
                n += len(truth)
                act = one[one["mode_true"].isin(["walk", "bicycle"])]
                errs.extend((act["distance_m"] / act["distance_m_true"] - 1).tolist())
            e = np.abs(errs) * 100
            rows.append({"noise_m": noise, "interval_s": interval, "trips": n, "mode_right_pct": 100 * right / n,
                         "walk_bike_dist_err_mean_pct": float(np.mean(errs) * 100),
                         "abs_err_p95_pct": float(np.percentile(e, 95)), "abs_err_max_pct": float(e.max())})
    return pd.DataFrame(rows)


def throughput(pupils: int) -> dict:
    fixes, _ = synthetic.school_week(pupils, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        for pupil, one in fixes.groupby("track"):
            one[["time", "lat", "lon"]].to_csv(Path(tmp) / f"{pupil}.csv", index=False)
        t0 = time.perf_counter()
        for f in sorted(Path(tmp).glob("*.csv")):
            pd.read_csv(f, parse_dates=["time"])
        base = time.perf_counter() - t0
        t0 = time.perf_counter()
        legs = mobility.detect_trips(tmp)
        full = time.perf_counter() - t0
    return {"fixes": len(fixes), "trips": int(legs["trip"].nunique()), "read_csv_s": base, "detect_trips_s": full,
            "ratio": full / base, "fixes_per_s": len(fixes) / full}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--per-mode", type=int, default=10)
    ap.add_argument("--pupils", type=int, default=30)
    args = ap.parse_args()
    pd.set_option("display.width", 160)
    print(accuracy(args.seeds, args.per_mode).round(2).to_string(index=False))
    t = throughput(args.pupils)
    print(f"\nclass week: {t['fixes']:,} fixes, {t['trips']} trips; pandas read_csv only {t['read_csv_s']:.2f} s, "
          f"detect_trips {t['detect_trips_s']:.2f} s (ratio {t['ratio']:.1f}x, {t['fixes_per_s']:,.0f} fixes/s)")


if __name__ == "__main__":
    main()
