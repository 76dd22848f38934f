"""``numazu-geo ingest``: PLATEAU CityGML to a GeoParquet (or CSV / GeoPackage / GeoJSON) file."""

from __future__ import annotations

import argparse
import logging
import sys
import time

log = logging.getLogger(__name__)

_EPILOG = """\
examples:
  numazu-geo ingest 22203_numazu-shi_city_2023_citygml_1_op.zip -o numazu.parquet
  numazu-geo ingest udx/bldg/ -o buildings.gpkg --crs EPSG:6676 --mesh 52385628
  numazu-geo ingest udx/bldg/ -o roofs.parquet --what roofs

The output format follows the extension: .parquet (GeoParquet, keeps read errors in its
metadata), .gpkg, .geojson, or .csv (attributes only). Data: 3D都市モデル（Project PLATEAU）, MLIT.
"""


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "ingest",
        help="read PLATEAU CityGML (file, folder or zip) into GeoParquet",
        description=(
            "Read PLATEAU building CityGML (a .gml file, a dataset folder with udx/bldg/, or the "
            "official zip, read in place) into one table: one row per building with attributes "
            "and a 2D footprint (--what buildings), one row per roof polygon in 3D (roofs), or "
            "triangulated 3D shells (solids)."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", nargs="+", help=".gml file(s), dataset folder(s) or PLATEAU zip(s)")
    p.add_argument(
        "-o", "--output", required=True,
        help="output file (.parquet, .gpkg, .geojson, .csv), or a folder ending in '/' for <what>.parquet inside",
    )  # fmt: skip
    p.add_argument(
        "--what", choices=("buildings", "roofs", "solids"), default="buildings", help="what to write (default buildings)"
    )
    p.add_argument(
        "--crs",
        default="auto",
        help="output CRS: 'auto' (the JGD2011 plane rectangular zone of the data, e.g. EPSG:6676 for "
        "Shizuoka; default) or anything pyproj accepts, e.g. EPSG:6668",
    )
    p.add_argument("--lod", type=int, choices=(0, 1, 2), default=None, help="take footprints from this LOD only")
    p.add_argument("--mesh", nargs="+", default=None, metavar="CODE", help="3rd-order mesh code(s) to read")
    p.add_argument(
        "--bbox", nargs=4, type=float, default=None, metavar=("WEST", "SOUTH", "EAST", "NORTH"),
        help="keep buildings inside this lon/lat box (degrees)",
    )  # fmt: skip
    p.add_argument(
        "--errors", choices=("skip", "raise"), default="skip",
        help="on a broken file: skip it and report it at the end (default), or stop",
    )  # fmt: skip
    p.add_argument("--parts", action="store_true", help="also write one row per BuildingPart (with parent_id)")
    p.add_argument("--codelists", default=None, help="a codelists/ folder to use before the dataset's own")
    p.add_argument("--processes", type=int, default=None, help="worker processes (default: automatic)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from numazu_geo.citygml import read_buildings, read_roof_surfaces, read_solids
    from numazu_geo.errors import NumazuGeoError
    from numazu_geo.io import check_output, write_table

    output = check_output(args.output, default_name=f"{args.what}.parquet")  # before any reading
    source = args.source if len(args.source) > 1 else args.source[0]
    common = dict(
        crs=args.crs,
        bbox=args.bbox,
        mesh=args.mesh,
        errors=args.errors,
        progress=not args.no_progress,
        processes=args.processes,
    )
    t0 = time.perf_counter()
    if args.what == "buildings":
        gdf = read_buildings(source, lod=args.lod, parts=args.parts, codelists=args.codelists, **common)
    elif args.what == "roofs":
        gdf = read_roof_surfaces(source, **common)
    else:
        gdf = read_solids(source, **common)
    seconds = time.perf_counter() - t0
    errors = gdf.attrs.get("errors", [])
    n_files = gdf.attrs.get("source_files", 0)
    if n_files == 0:  # nothing read: a failure, and the existing output (if any) stays as it was
        first = errors[0]["error"] if errors else "no CityGML file found"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise NumazuGeoError(f"no input file could be read, {output} not written: {first}{more}")
    out = write_table(gdf, output)
    print(
        f"numazu-geo ingest: {len(gdf)} {args.what} rows from {n_files} file(s) in {seconds:.1f} s "
        f"-> {out} ({gdf.crs.to_string() if gdf.crs else 'no CRS'})",
        file=sys.stderr,
    )
    if args.what == "buildings" and "geometry_issue" in gdf:
        issues = gdf["geometry_issue"].dropna()
        if len(issues):
            print(f"  {len(issues)} building(s) kept with an empty or repaired footprint:", file=sys.stderr)
            for reason, count in issues.value_counts().head(5).items():
                print(f"    {count} x {reason}", file=sys.stderr)
    dup = gdf.attrs.get("duplicates_dropped")
    if dup:
        print(f"  {dup['buildings']} duplicate building(s) dropped (read twice; kept once, see the output's "
              "metadata 'duplicates_dropped')", file=sys.stderr)  # fmt: skip
    for col, count in (gdf.attrs.get("sentinels_replaced") or {}).items():
        print(f"  {count} x {col}: PLATEAU 'unknown' value (+-9999) read as missing", file=sys.stderr)
    if errors:
        print(f"  {len(errors)} file(s) skipped:", file=sys.stderr)
        for err in errors[:20]:
            print(f"    {err['error']}", file=sys.stderr)
        if len(errors) > 20:
            print(f"    ... and {len(errors) - 20} more (see the output's metadata)", file=sys.stderr)
    return 0
