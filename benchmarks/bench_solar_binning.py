"""Tregenza sun binning vs exact hourly beam shading on a real dense PLATEAU LOD2 block.

Runs :func:`numazu_geo.solar_potential` twice on the same roofs, scene and full hourly year
(APPROXIMATE default Numazu climate): once with ``sun_binning="tregenza"`` (one shadow ray per sky
patch the sun visits) and once with ``sun_binning=None`` (one ray per daylight hour, exact), and
prints the rays cast, wall time and the annual-irradiation error of the binned run per face and
per building (area-weighted), plus the default climate's figures.

    .venv/bin/python benchmarks/bench_solar_binning.py [path.gml] [spacing_m]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/plateau/v2_uro2.0/tokyo13111_2022_53392633_bldg_6697_2_op__lod2_tex.gml"


def main() -> None:
    from numazu_geo.citygml import read_buildings, read_roof_surfaces, read_solids
    from numazu_geo.solar.climate import default_climate
    from numazu_geo.solar.potential import solar_potential
    from numazu_geo.solar.pv import specific_yield_kwh_kwp

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    spacing = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    clim = default_climate()
    print(f"default climate: GHI {clim.annual_kwh_m2('ghi'):.0f}, DNI {clim.annual_kwh_m2('dni'):.0f}, "
          f"DHI {clim.annual_kwh_m2('dhi'):.0f} kWh/m2/yr (APPROXIMATE)")  # fmt: skip
    b = read_buildings(path, progress=False)
    rs = read_roof_surfaces(path, crs=b.crs, progress=False)
    so = read_solids(path, crs=b.crs, progress=False)
    runs = {}
    for name, binning in (("tregenza", "tregenza"), ("hourly", None)):
        t0 = time.perf_counter()
        r = solar_potential(b, roof_surfaces=rs, solids=so, climate=clim, spacing_m=spacing, sun_binning=binning, progress=False)
        runs[name] = (r, time.perf_counter() - t0)
        n_pts = int(r.faces["n_points"].sum())
        print(f"{name:9s}: {len(r.buildings)} buildings, {n_pts} points, {r.parameters['rays_cast']:,} rays, "
              f"{runs[name][1]:.1f} s")  # fmt: skip
    (rt, tt), (rh, th) = runs["tregenza"], runs["hourly"]
    f_t, f_h = rt.faces, rh.faces
    ok = f_h["n_points"] > 0
    err = (f_t.loc[ok, "kwh_m2_year"] / f_h.loc[ok, "kwh_m2_year"] - 1).to_numpy()
    w = f_h.loc[ok, "area_m2"].to_numpy()
    print(f"face annual error (tregenza / hourly - 1): area-weighted mean {np.average(err, weights=w):+.4f}, "
          f"mean |err| {np.average(np.abs(err), weights=w):.4f}, max |err| {np.abs(err).max():.4f}")  # fmt: skip
    eb = (rt.buildings["kwh_year"] / rh.buildings["kwh_year"] - 1).to_numpy()
    print(f"building kWh/yr error: max |err| {np.nanmax(np.abs(eb)):.4f}; district total "
          f"{rt.buildings['kwh_year'].sum() / rh.buildings['kwh_year'].sum() - 1:+.4f}")  # fmt: skip
    loss_t = rt.buildings["shading_loss"].to_numpy()
    loss_h = rh.buildings["shading_loss"].to_numpy()
    print(f"shading_loss max abs difference {np.nanmax(np.abs(loss_t - loss_h)):.4f}")
    print(f"speed-up tregenza vs hourly: {th / tt:.1f}x wall, {rh.parameters['rays_cast'] / rt.parameters['rays_cast']:.1f}x rays")
    from numazu_geo import co2

    s = co2.summarise_district(rh)
    print(f"district (hourly): {s['total_kw']:.0f} kW, {s['total_mwh_year']:.0f} MWh/yr, "
          f"{s['specific_yield_kwh_kwp']:.0f} kWh/kWp, {s['co2_avoided_t_year']:.0f} t-CO2/yr")  # fmt: skip
    print(f"unshaded kWh/kWp at the best face orientation here: {specific_yield_kwh_kwp(rh.faces['unshaded_kwh_m2_year'].max()):.0f}")


if __name__ == "__main__":
    main()
