"""``numazu-geo solar``: rooftop solar potential of a PLATEAU district from the command line.

    numazu-geo solar buildings.parquet -o solar.parquet
    numazu-geo solar udx/bldg/ -o solar.parquet --faces faces.parquet --climate numazu.epw
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from numazu_geo.co2.cli_options import add_grid_factor_arguments, grid_factor_arguments

log = logging.getLogger(__name__)


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "solar",
        help="rooftop solar potential with 3D shading, PV yield and avoided CO2",
        description=(
            "Annual rooftop irradiation, PV capacity and yield, and avoided CO2 per building, with "
            "shading by neighbouring buildings (Embree ray casting). Without --climate an APPROXIMATE "
            "hourly climate is modelled from the JMA normals of the nearest station; give an EPW or NEDO "
            "METPV file for real weather."
        ),
    )
    p.add_argument("source", help="buildings GeoParquet (from `numazu-geo ingest`), or a CityGML file, folder or zip")
    p.add_argument(
        "-o", "--output", required=True,
        help="buildings result (.parquet, .gpkg, .geojson or .csv); a folder ending in '/' (e.g. out/) gets "
        "solar_buildings.parquet, and solar_faces.parquet beside it",
    )  # fmt: skip
    p.add_argument("--faces", help="also write the per-face result here (a folder: solar_faces.parquet inside)")
    p.add_argument("--points", help="also write per-point results here (large; for heat maps)")
    p.add_argument("--climate", help="hourly weather: .epw or NEDO METPV .csv (default: approximate climate from the JMA normals of the station nearest the buildings)")
    p.add_argument(
        "--partial-year", action="store_true",
        help="accept a weather file that covers only part of a year; totals are then for that period only",
    )  # fmt: skip
    p.add_argument(
        "--max-weather-distance", type=float, default=None, metavar="KM",
        help="refuse weather measured farther than KM from the buildings (default: warn beyond 50 km, refuse "
        "weather from outside Japan; 'inf' allows any)",
    )  # fmt: skip
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
    p.add_argument("--raster", help="also write roof irradiation and sky view factor as a Cloud-Optimised GeoTIFF (.tif)")
    p.add_argument("--raster-resolution", type=float, default=None, help="pixel size of --raster in metres (default 1.0)")
    add_grid_factor_arguments(p, "the avoided CO2")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from numazu_geo.errors import SourceNotFoundError
    from numazu_geo.io import check_output, check_outputs_distinct, read_parquet, write_tables
    from numazu_geo.solar.climate import load_climate
    from numazu_geo.solar.potential import SPACING_M, solar_potential
    from numazu_geo.solar.sun import DEFAULT_YEAR

    # every output path is checked before the (long) computation
    output = check_output(args.output, default_name="solar_buildings.parquet")
    faces_out = check_output(args.faces, default_name="solar_faces.parquet", what="faces output") if args.faces else None
    if faces_out is None and (args.output.endswith(("/", "\\")) or Path(args.output).is_dir()):
        faces_out = output.parent / "solar_faces.parquet"  # `-o out/`: the faces go in the folder too
    points_out = (
        check_output(args.points, default_name="solar_points.parquet", what="points output") if args.points else None
    )
    raster_out = (
        check_output(args.raster, default_name="solar_roofs.tif", formats=(".tif", ".tiff"), what="raster output")
        if args.raster
        else None
    )
    check_outputs_distinct(output, faces_out, points_out, *([raster_out] if raster_out else []))
    if not Path(args.source).exists():
        raise SourceNotFoundError(f"{args.source}: no such file or folder")
    if args.climate and not Path(args.climate).is_file():
        raise SourceNotFoundError(f"{args.climate}: no such weather file")

    from numazu_geo import co2

    factor = grid_factor_arguments(args)
    year = args.year or DEFAULT_YEAR
    source = args.source
    if Path(source).suffix.lower() == ".parquet":
        from numazu_geo.errors import InputFileError, NumazuGeoError
        from numazu_geo.solar.potential import _one_row_per_building

        source = read_parquet(source)
        try:  # checked here too, to name the file
            source = _one_row_per_building(source)
        except NumazuGeoError as exc:
            raise InputFileError(args.source, str(exc).removeprefix("solar_potential: ")) from exc
    climate = None
    if args.climate:
        climate = load_climate(args.climate, year=year, partial=args.partial_year)
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
        keep_points=bool(points_out or raster_out),
        progress=not args.no_progress,
        max_weather_distance_km=args.max_weather_distance,
        pv_model=args.pv_model,
        climate_days="monthly" if args.quick and climate is None else None,
    )
    result = co2.add_avoided_co2(result, **factor)  # solar gives energy; co2 converts it
    tables = {output: result.buildings}
    if faces_out is not None:
        tables[faces_out] = result.faces
    if points_out is not None and result.points is not None:
        tables[points_out] = result.points
    if raster_out is not None:
        from numazu_geo.solar.raster import RESOLUTION_M, write_roof_raster

        resolution = args.raster_resolution or RESOLUTION_M
        tables[raster_out] = lambda tmp: write_roof_raster(result, tmp, resolution_m=resolution)
    written = write_tables(tables)  # all files (tables and raster) replaced together, or none
    s = co2.summarise_district(result)
    print(f"climate: {result.climate.source}")
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
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
