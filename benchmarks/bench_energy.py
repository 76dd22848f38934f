"""Benchmark of hourly PV and the energy / resilience functions (issue 15).

Part 1: ``solar_potential`` on a synthetic district, annual only (the baseline, best of
``--repeat``) against the same call with ``hourly=`` k buildings and ``hourly=True``, in the same
run; the hourly sums are checked against the annual ``kwh_year``.
Part 2: ``energy.hourly_balance`` (one building, a year with a battery) and ``energy.outage_hours``
(an outage starting at each of the 8,760 hours, PV + battery + EVs, up to ``--max-hours``).

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_energy.py --buildings 500 --hourly 10
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def _best(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buildings", type=int, default=500)
    ap.add_argument("--hourly", type=int, default=10, help="buildings with hourly output in the second call")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--max-hours", type=int, default=168)
    args = ap.parse_args(argv)

    import numazu_geo as ng
    from numazu_geo import energy
    from numazu_geo.solar.climate import default_climate

    with tempfile.TemporaryDirectory() as tmp:
        d = ng.make_district(Path(tmp) / "d", n_buildings=args.buildings, seed=1, progress=False)
        b = ng.read_buildings(d.path, progress=False)
        roofs = ng.read_roof_surfaces(d.path, progress=False)
        solids = ng.read_solids(d.path, progress=False)
    from numazu_geo.solar.shading import ShadingScene

    scene = ShadingScene.from_solids(solids)
    climate = default_climate()
    kw = dict(roof_surfaces=roofs, scene=scene, climate=climate, spacing_m=2.0, progress=False)
    t_annual, r = _best(lambda: ng.solar_potential(b, **kw), args.repeat)
    keys = list(r.buildings.loc[r.buildings["kw"] > 0, "building_key"][: args.hourly])
    t_some, rs = _best(lambda: ng.solar_potential(b, hourly=keys, **kw), args.repeat)
    t_all, ra = _best(lambda: ng.solar_potential(b, hourly=True, **kw), 1)
    annual = ra.buildings.set_index("building_key")["kwh_year"]
    err = np.nanmax(np.abs(ra.hourly.sum() / annual.loc[ra.hourly.columns].replace(0, np.nan) - 1))
    print(f"district: {len(b)} buildings, {len(r.faces)} faces, {len(climate.times)} hours")
    print(f"annual only            : {t_annual:6.2f} s (baseline)")
    print(f"hourly for {len(keys):>4} bldgs  : {t_some:6.2f} s = {t_some / t_annual:.2f}x")
    print(f"hourly for all {len(ra.hourly.columns):>5}  : {t_all:6.2f} s = {t_all / t_annual:.2f}x, "
          f"{ra.hourly.memory_usage(deep=False).sum() / 1e6:.0f} MB")
    print(f"hourly sum vs annual kwh_year: max |rel err| {err:.1e}")

    pv = rs.hourly[keys[0]]
    load = pv * 0 + 2.0
    t_bal, bal = _best(lambda: energy.hourly_balance(pv, load, energy.Battery.default()), args.repeat)
    print(f"hourly_balance, 1 building x 8,760 h with a battery: {t_bal * 1000:.0f} ms")
    ev = energy.EV.from_spec("Nissan LEAF (40 kWh)", "Nichicon EV Power Station (V2H)", count=2)
    t_out, h = _best(lambda: energy.outage_hours(pv, 2.0, energy.Battery.default(units=2), ev, max_hours=args.max_hours),
                     args.repeat)  # fmt: skip
    print(f"outage_hours, 8,760 start hours x up to {args.max_hours} h, PV + battery + 2 EVs: {t_out * 1000:.0f} ms "
          f"(median {h.median():.0f} h)")
    t_size, size = _best(lambda: energy.battery_size_needed(pv, 2.0, 72, 0.9), 1)
    print(f"battery_size_needed (72 h on 90 % of starts): {size:.1f} kWh in {t_size:.2f} s")


if __name__ == "__main__":
    main()
