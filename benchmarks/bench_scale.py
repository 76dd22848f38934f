"""Benchmark: a whole synthetic city through numazu_geo.pipeline on 1 and 2 Dask workers (issue 10).

Writes a synthetic PLATEAU city (``numazu_geo.sample.make_district``, default 100,000 buildings,
one file per 3rd-order mesh), then runs :func:`numazu_geo.pipeline.run_city` (ingest + solar)
twice in the same process, each on a fresh ``LocalCluster`` of single-threaded worker processes:
with 1 worker and with 2. Prints for each: wall time, buildings/s, the sum of task seconds (CPU
work), each worker's peak resident memory (``getrusage`` in the worker), and checks that both runs
give the same kWh. Memory is compared with the largest mesh plus its halo (the solids and roofs a
solar task loads). Finally a written estimate per core for larger cities from the measured
throughput.

Solar settings are those of a preview, so the run fits a shared 2-core machine: the quick climate
(one day per month), 4 m sample spacing (``--spacing``), 64 sky-view rays. The per-building cost
scales about linearly with the number of sample points and hours.

Usage: ``python benchmarks/bench_scale.py [--buildings 100000] [--spacing 4] [--workers 1 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KB on Linux


def _one_run(city: Path, out: Path, workers: int, spacing: float, svf_rays: int) -> dict:
    from dask.distributed import Client, LocalCluster

    from numazu_geo.pipeline import run_city

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           memory_limit=0)  # fmt: skip
    client = Client(cluster)
    try:
        t0 = time.perf_counter()
        run = run_city(city, out, client=client, spacing_m=spacing, quick=True,
                       solar_options={"svf_rays": svf_rays}, progress=False)  # fmt: skip
        wall = time.perf_counter() - t0
        peaks = sorted(client.run(_peak_rss_mb).values())
        cpu = sorted(client.run(time.process_time).values())
    finally:
        client.close()
        cluster.close()
    parts = run.manifest["parts"]
    task_s = {s: sum(v["seconds"] for k, v in parts.items() if k.startswith(s + "/")) for s in ("ingest", "solar")}
    task_cpu = {s: sum(v["cpu_seconds"] for k, v in parts.items() if k.startswith(s + "/")) for s in ("ingest", "solar")}
    n = sum(v["rows"] for k, v in parts.items() if k.startswith("solar/"))
    kwh = sum(v["kwh_year"] for k, v in parts.items() if k.startswith("solar/"))
    return {"workers": workers, "wall_s": wall, "buildings": n, "kwh_year": kwh, "task_s": task_s,
            "task_cpu_s": task_cpu, "worker_cpu_s": cpu, "peak_rss_mb": peaks, "failed": len(run.failed), "manifest": run.manifest}  # fmt: skip


def _largest_halo(out: Path, manifest: dict) -> dict:
    """The solar task that loads the most: its mesh's roofs and solids plus its halo's solids."""
    best = None
    for name, part in manifest["parts"].items():
        if not name.startswith("solar/"):
            continue
        key = name.split("/", 1)[1]
        files = [out / "_work" / "roofs" / f"{key}.parquet"] + [
            out / "_work" / "solids" / f"{k}.parquet" for k in [key, *part["halo"]]
        ]
        size = sum(f.stat().st_size for f in files if f.exists())
        if best is None or size > best["parquet_mb"]:
            ingest = manifest["parts"][f"ingest/{key}"]
            best = {"key": key, "halo": len(part["halo"]), "parquet_mb": size, "buildings": ingest["rows"],
                    "solids_in_halo": sum(manifest["parts"][f"ingest/{k}"]["solids"] for k in [key, *part["halo"]])}
    best["parquet_mb"] /= 1e6
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--buildings", type=int, default=100_000)
    ap.add_argument("--spacing", type=float, default=4.0, help="roof sample spacing (m)")
    ap.add_argument("--svf-rays", type=int, default=64)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--keep", default=None, help="keep the city and outputs in this folder")
    args = ap.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)
    from numazu_geo.sample import make_district

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_scale_"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        city = tmp / "city"
        if not (city / "udx").exists():
            make_district(city, n_buildings=args.buildings, seed=7, progress=False)
        gml = sorted((city / "udx" / "bldg").glob("*.gml"))
        size = sum(p.stat().st_size for p in gml)
        print(f"city: {args.buildings} buildings, {len(gml)} mesh files, {size / 1e6:.0f} MB CityGML "
              f"(written in {time.perf_counter() - t0:.0f} s); {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        print(f"solar settings: quick climate (12 days), spacing {args.spacing} m, {args.svf_rays} sky-view rays")
        results = []
        for w in args.workers:
            out = tmp / f"out_{w}"
            shutil.rmtree(out, ignore_errors=True)
            r = _one_run(city, out, w, args.spacing, args.svf_rays)
            r["halo"] = _largest_halo(out, r["manifest"])
            results.append(r)
            print(
                f"workers={w}: wall {r['wall_s']:7.1f} s  {r['buildings'] / r['wall_s']:7.1f} buildings/s  "
                f"task CPU s ingest {r['task_cpu_s']['ingest']:.0f} + solar {r['task_cpu_s']['solar']:.0f}  "
                f"worker CPU s {', '.join(f'{c:.0f}' for c in r['worker_cpu_s'])}  "
                f"peak RSS per worker {', '.join(f'{m:.0f}' for m in r['peak_rss_mb'])} MB  "
                f"(load average {os.getloadavg()[0]:.1f}, failed {r['failed']})"
            )
        base = results[0]
        for r in results[1:]:
            same = abs(r["kwh_year"] - base["kwh_year"]) <= 1e-9 * abs(base["kwh_year"])
            cpu_bound = sum(base["worker_cpu_s"]) / max(r["worker_cpu_s"])
            print(f"speed-up {base['workers']} -> {r['workers']} workers: {base['wall_s'] / r['wall_s']:.2f}x wall, "
                  f"{cpu_bound:.2f}x CPU-bound (1-worker CPU / busiest worker's CPU); same kWh: {same}")  # fmt: skip
        h = base["halo"]
        print(f"largest solar task: mesh {h['key']} ({h['buildings']} buildings) + {h['halo']} halo meshes: "
              f"{h['parquet_mb']:.1f} MB of GeoParquet roofs/solids, {h['solids_in_halo']} shells")  # fmt: skip
        # throughput per core from the tasks' CPU seconds (independent of the worker count and of load)
        per_bldg = (base["task_cpu_s"]["ingest"] + base["task_cpu_s"]["solar"]) / max(1, base["buildings"])
        print(f"work per building: {per_bldg * 1000:.1f} ms of one core (task CPU, ingest + solar, these settings)")
        for label, n in (("tens of thousands (a Numazu-size city)", 50_000),
                         ("hundreds of thousands (Shizuoka's PLATEAU cities together)", 500_000),
                         ("one million (Tokyo's 23 wards, plateau.md)", 1_000_000)):  # fmt: skip
            core_min = n * per_bldg / 60
            print(f"  {n:>9,} buildings [{label}]: {core_min:7.1f} core-minutes -> {core_min / 2:6.1f} min on 2 "
                  f"idle cores, {core_min / 16:5.1f} min on 16 (CPU only, before scheduling and I/O)")  # fmt: skip
        print(json.dumps({"results": [{k: v for k, v in r.items() if k != "manifest"} for r in results]}, default=str))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
