"""Figures for issue 12's maps: page size and build time of a district map with place context,
and read_features on the real water file (4,170 polygons). Prints one line per figure.

    PYTHONPATH=. python benchmarks/bench_maps_context.py [N_BUILDINGS]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def main(n: int = 2000) -> None:
    from numazu_geo import maps
    from numazu_geo.citygml import read_buildings
    from numazu_geo.citygml.features import read_features
    from numazu_geo.sample import make_district

    with tempfile.TemporaryDirectory() as tmp:
        d = make_district(Path(tmp) / "d", n_buildings=n, seed=1, progress=False)
        b = read_buildings(d.path, progress=False)
        maps.save_html(maps.view(maps.buildings_layer(b.head(5))), Path(tmp) / "warm.html")  # imports, bundle cache
        t0 = time.perf_counter()
        plain = maps.save_html(maps.view(maps.buildings_layer(b)), Path(tmp) / "plain.html")
        t1 = time.perf_counter()
        full = maps.district_map(b, Path(tmp) / "full.html")
        t2 = time.perf_counter()
        print(f"buildings only: {n} buildings, {t1 - t0:.2f} s, {plain.stat().st_size / 1e6:.1f} MB")
        print(f"district_map with context and labels: {t2 - t1:.2f} s, {full.stat().st_size / 1e6:.1f} MB "
              f"(ratio {(t2 - t1) / (t1 - t0):.2f} x time)")
    shared = Path(os.environ.get("NUMAZU_GEO_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")
    wtr = shared / "data/plateau/other/bunkyo13105_2025_533945_wtr_6697_op.gml"
    if wtr.exists():
        t0 = time.perf_counter()
        g = read_features(wtr, "wtr")
        print(f"read_features wtr (Bunkyo, 2.1 MB, 4,170 polygons -> {len(g)} features): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
