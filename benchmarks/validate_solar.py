"""Validation of the solar defaults (issue 11): figures for benchmarks/RESULTS.md.

1. Angstrom-Prescott fit: modelled vs measured annual irradiation at the JMA stations that measure
   it (leave-one-station-out).
2. Default climate at Numazu: horizontal irradiation, June vs May, and the 30 deg south unshaded
   specific yield and performance ratio beside the reference range.
3. The sample district (``make_district``, full hourly year, 2 m spacing): specific yield and
   capacity factor beside the national measured residential capacity factor (13.7-14.1 %), viable
   share; with ``--json`` the totals are written for an old-vs-new comparison.

Usage::

    nice -n 10 .venv/bin/python benchmarks/validate_solar.py --buildings 200
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def fit_figures():
    from numazu_geo.solar import jma

    a, b = jma.fit_angstrom()
    loo = jma.angstrom_leave_one_out()
    e = loo["error_pct"]
    print(f"Angstrom-Prescott fit over {len(loo)} stations: a = {a:.4f}, b = {b:.4f}")
    print(f"  leave-one-station-out annual error: mean {e.mean():+.2f} %, RMSE {np.sqrt((e ** 2).mean()):.2f} %, "
          f"|error| <= 5 % at {(e.abs() <= 5).sum()} of {len(e)}, worst {e.iloc[e.abs().argmax()]:+.1f} % "
          f"({loo['name'].iloc[e.abs().argmax()]}); median monthly RMSE {loo['monthly_rmse_pct'].median():.1f} %")
    for sid in ("47656", "47662", "47412", "47772", "47807"):
        row = loo[loo["station_id"] == sid]
        if len(row):
            r = row.iloc[0]
            print(f"  {r['name']} {sid}: measured {r['measured_kwh_m2_year']:.0f}, fit {r['predicted_kwh_m2_year']:.0f} "
                  f"kWh/m2/yr ({r['error_pct']:+.1f} %)")


def numazu_figures():
    import geopandas as gpd
    import shapely

    from numazu_geo.solar.climate import default_climate
    from numazu_geo.solar.potential import solar_potential

    clim = default_climate()
    m = clim.monthly_kwh_m2().to_numpy() / np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    print(f"Numazu default climate: {clim.meta['station']} at {clim.meta['station_distance_km']:.1f} km; "
          f"horizontal {clim.annual_kwh_m2():.0f} kWh/m2/yr; May {m[4]:.2f}, June {m[5]:.2f} kWh/m2/day; "
          f"diffuse share {clim.annual_kwh_m2('dhi') / clim.annual_kwh_m2():.2f}")
    x0, y0, z0 = 32800.0, -99560.0, 10.0  # central Numazu in EPSG:6676
    rise = 10.0 * np.tan(np.radians(30.0))
    roof = shapely.Polygon([(x0, y0, z0), (x0 + 10, y0, z0), (x0 + 10, y0 + 10, z0 + rise), (x0, y0 + 10, z0 + rise)])
    rs = gpd.GeoDataFrame({"gml_id": ["r"], "building_id": ["R"], "surface_id": ["s"], "roof_source": "lod2"},
                          geometry=[roof], crs="EPSG:6676")  # fmt: skip
    for model in ("pvwatts", "plateau"):
        f = solar_potential(roof_surfaces=rs, climate=clim, shading=False, progress=False, spacing_m=2.0,
                            pv_model=model).faces.iloc[0]  # fmt: skip
        print(f"  30 deg south unshaded, pv_model={model}: POA {f['kwh_m2_year']:.0f} kWh/m2/yr "
              f"(tilt gain {f['kwh_m2_year'] / clim.annual_kwh_m2():.3f}), specific yield "
              f"{f['specific_yield_kwh_kwp']:.0f} kWh/kWp, PR {f['performance_ratio']:.3f}")


def district_figures(n: int, out_json: str | None):
    from numazu_geo.sample import make_district
    from numazu_geo.solar.potential import solar_potential

    with tempfile.TemporaryDirectory() as tmp:
        d = make_district(Path(tmp) / "d", n, seed=1, progress=False)
        t0 = time.perf_counter()
        res = solar_potential(d.path, spacing_m=2.0, progress=False)
        dt = time.perf_counter() - t0
    s = res.summary()
    cf = s["specific_yield_kwh_kwp"] / 8760
    print(f"Sample district, {n} buildings ({dt:.0f} s): {s['total_kw']:.0f} kW, {s['total_mwh_year']:.0f} MWh/yr, "
          f"specific yield {s['specific_yield_kwh_kwp']:.0f} kWh/kWp (capacity factor {100 * cf:.1f} %); "
          f"viable area {s['viable_area_m2']:.0f} of usable {s['usable_area_m2']:.0f} m2; "
          f"{s['n_buildings_with_viable_face']} of {s['n_buildings']} buildings with a viable face")
    if out_json:
        Path(out_json).write_text(json.dumps({k: v for k, v in s.items() if not isinstance(v, dict)}, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buildings", type=int, default=200)
    ap.add_argument("--json", default=None, help="write the district summary here")
    args = ap.parse_args()
    fit_figures()
    numazu_figures()
    district_figures(args.buildings, args.json)


if __name__ == "__main__":
    main()
