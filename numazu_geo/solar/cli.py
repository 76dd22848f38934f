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
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from numazu_geo.io import read_parquet, write_table
    from numazu_geo.solar.climate import default_climate, load_climate
    from numazu_geo.solar.potential import SPACING_M, solar_potential
    from numazu_geo.solar.sun import DEFAULT_YEAR

    year = args.year or DEFAULT_YEAR
    source = args.source
    if Path(source).suffix.lower() == ".parquet":
        source = read_parquet(source)
    climate = None
    if args.climate:
        climate = load_climate(args.climate, year=year)
    if args.quick:
        climate = climate.representative_days(15) if climate is not None else default_climate(year, days="monthly")
    result = solar_potential(
        source,
        climate=climate,
        year=year,
        spacing_m=args.spacing or SPACING_M,
        sun_binning=None if args.sun_binning == "hourly" else "tregenza",
        model=args.model,
        shading=not args.no_shading,
        keep_points=bool(args.points),
        progress=not args.no_progress,
    )
    from numazu_geo import co2

    result = co2.add_avoided_co2(result)  # solar gives energy; co2 converts it (same columns as before)
    write_table(result.buildings, args.output)
    if args.faces:
        write_table(result.faces, args.faces)
    if args.points and result.points is not None:
        write_table(result.points, args.points)
    s = co2.summarise_district(result)
    print(f"climate: {result.climate.source}")
    print(
        f"{s['n_buildings']} buildings, {s['n_viable']} with usable roofs ({100 * s['share_roofs_viable']:.0f} %): "
        f"{s['total_kw']:,.0f} kW, {s['total_mwh_year']:,.0f} MWh/yr ({s['specific_yield_kwh_kwp']:,.0f} kWh/kWp), "
        f"avoiding {s['co2_avoided_t_year']:,.0f} t-CO2/yr (~{s['households_co2_equivalent']:,.0f} households' CO2)"
    )
    print(f"wrote {args.output}" + (f", {args.faces}" if args.faces else "") + (f", {args.points}" if args.points else ""))
    return 0
