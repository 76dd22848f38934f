"""``numazu-geo solar``: rooftop solar potential of a PLATEAU district from the command line.

    numazu-geo solar buildings.parquet -o solar.parquet
    numazu-geo solar udx/bldg/ -o solar.parquet --faces faces.parquet --climate numazu.epw
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "solar",
        help="rooftop solar potential with 3D shading, PV yield and avoided CO2",
        description=(
            "Annual rooftop irradiation, PV capacity and yield, and avoided CO2 per building, with "
            "shading by neighbouring buildings (Embree ray casting). Without --climate an APPROXIMATE "
            "modelled Numazu climate is used; give an EPW or NEDO METPV file for real weather."
        ),
    )
    p.add_argument("source", help="buildings GeoParquet (from `numazu-geo ingest`), or a CityGML file, folder or zip")
    p.add_argument("-o", "--output", required=True, help="buildings result (.parquet, .gpkg, .geojson or .csv)")
    p.add_argument("--faces", help="also write the per-face result here")
    p.add_argument("--points", help="also write per-point results here (large; for heat maps)")
    p.add_argument("--climate", help="hourly weather: .epw or NEDO METPV .csv (default: approximate Numazu climate)")
    p.add_argument("--year", type=int, default=None, help="calendar year of the timestamps (default 2023)")
    p.add_argument("--spacing", type=float, default=None, help="sample spacing on roofs in metres (default 1.0)")
    p.add_argument(
        "--sun-binning", choices=["tregenza", "hourly"], default="tregenza",
        help="tregenza: one shadow ray per sky patch (fast, default); hourly: one per daylight hour (exact)",
    )  # fmt: skip
    p.add_argument("--model", choices=["perez", "haydavies", "isotropic"], default="perez", help="transposition model")
    p.add_argument("--no-shading", action="store_true", help="skip ray casting (unobstructed roofs)")
    p.add_argument("--quick", action="store_true", help="one day per month instead of every hour (preview)")
    p.add_argument("--pv-model", choices=["pvwatts", "plateau"], default="pvwatts",
                   help="pvwatts: temperature-aware pvlib chain (default); plateau: PLATEAU SolarPotential's P x H x 0.88")
    p.add_argument("--raster", help="also write roof irradiation and sky view factor as a Cloud-Optimised GeoTIFF")
    p.add_argument("--raster-resolution", type=float, default=None, help="pixel size of --raster in metres (default 1.0)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from numazu_geo.io import read_parquet, write_table
    from numazu_geo.solar.climate import load_climate
    from numazu_geo.solar.potential import SPACING_M, solar_potential
    from numazu_geo.solar.sun import DEFAULT_YEAR

    year = args.year or DEFAULT_YEAR
    source = args.source
    if Path(source).suffix.lower() == ".parquet":
        source = read_parquet(source)
    climate = None
    if args.climate:
        climate = load_climate(args.climate, year=year)
    if args.quick and climate is not None:
        climate = climate.representative_days(15)
    result = solar_potential(
        source,
        climate=climate,
        year=year,
        spacing_m=args.spacing or SPACING_M,
        sun_binning=None if args.sun_binning == "hourly" else "tregenza",
        model=args.model,
        shading=not args.no_shading,
        keep_points=bool(args.points or args.raster),
        progress=not args.no_progress,
        pv_model=args.pv_model,
        climate_days="monthly" if args.quick and climate is None else None,
    )
    write_table(result.buildings, args.output)
    if args.faces:
        write_table(result.faces, args.faces)
    if args.points and result.points is not None:
        write_table(result.points, args.points)
    if args.raster:
        from numazu_geo.solar.raster import RESOLUTION_M, write_roof_raster

        write_roof_raster(result, args.raster, resolution_m=args.raster_resolution or RESOLUTION_M)
    s = result.summary()
    print(f"climate: {s['climate_source']}")
    print(
        f"{s['n_buildings']} buildings, {s['n_viable']} with usable roofs ({100 * s['share_roofs_viable']:.0f} %): "
        f"{s['total_kw']:,.0f} kW, {s['total_mwh_year']:,.0f} MWh/yr ({s['specific_yield_kwh_kwp']:,.0f} kWh/kWp), "
        f"avoiding {s['co2_avoided_t_year']:,.0f} t-CO2/yr (~{s['households_co2_equivalent']:,.0f} households' CO2)"
    )
    print(
        f"viable roof area {s['viable_area_m2']:,.0f} of {s['roof_area_m2']:,.0f} m2; "
        f"{s['n_buildings_with_viable_face']} buildings with at least one viable face"
    )
    print(result.caption("en"))
    written = [args.output, args.faces, args.points, args.raster]
    print("wrote " + ", ".join(str(w) for w in written if w))
    return 0
