"""``numazu-geo map``: a GeoParquet table (buildings, roof faces, survey points, trips) to an offline 3D map."""

from __future__ import annotations

import argparse
from pathlib import Path

from numazu_geo.errors import InputFileError

_KINDS = ("auto", "buildings", "roofs", "points", "trips")


def _guess_kind(gdf) -> str:
    types = set(gdf.geometry.dropna().geom_type.unique())
    if types and types <= {"Point", "MultiPoint"}:
        return "points"
    if types and types <= {"LineString", "MultiLineString"}:
        return "trips"
    if "face_id" in gdf.columns and bool(gdf.geometry.has_z.any()):
        return "roofs"
    return "buildings"


def _read_geoarrow(path: Path, first_error: Exception):
    """Parquet with GeoArrow geometry columns but no GeoParquet ``geo`` metadata (also a valid layout)."""
    import geopandas as gpd
    import pyarrow.parquet as pq

    try:
        return gpd.GeoDataFrame.from_arrow(pq.read_table(path))
    except Exception as exc:  # noqa: BLE001 - report the original problem
        if isinstance(first_error, InputFileError):  # already names the file and the problem
            raise first_error from exc
        raise InputFileError(path, f"not a readable GeoParquet file ({first_error})") from exc


def make_map(input_path, output, *, color_by=None, height_by="measured_height_m", lang="ja", online=False,
             title=None, kind="auto", stretch=False, context=True, png=None) -> Path:
    """Read ``input_path`` (GeoParquet) and write the map HTML to ``output``; return the path.

    The title defaults to the place and the quantity shown (from the data), the credit to the
    data's cities and years. ``context``: draw the roads, water and flood areas of the dataset the
    buildings were read from when it is still where ``source_file`` says. ``png``: also write a
    picture of the whole view (needs Chromium).
    """
    from numazu_geo import maps
    from numazu_geo.io import check_output, read_parquet

    input_path = Path(input_path)
    output = check_output(output, default_name=f"{input_path.stem}_map.html", formats=(".html", ".htm"),
                          what="map")  # before reading anything
    if png is not None:
        png = check_output(png, default_name=f"{input_path.stem}_map.png", formats=(".png",), what="map picture")
    if input_path.suffix.lower() != ".parquet":
        raise InputFileError(input_path, "expected a GeoParquet file (.parquet), e.g. from `numazu-geo solar`")
    try:
        gdf = read_parquet(input_path)
    except (OSError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        gdf = _read_geoarrow(input_path, exc)
    if gdf.crs is None:
        raise InputFileError(input_path, "the table has no CRS; cannot place it on a map")
    if len(gdf) == 0:
        raise InputFileError(input_path, "the table is empty: nothing to map")
    import shapely

    geoms = gdf.geometry.to_numpy()
    if all(g is None or shapely.is_empty(g) for g in geoms):
        raise InputFileError(input_path, f"all {len(gdf)} geometries are empty: nothing to place on a map")
    if color_by is not None and color_by not in gdf.columns:
        raise InputFileError(input_path, f"no column {color_by!r} to colour by (columns: {', '.join(map(str, gdf.columns))})")
    kind = _guess_kind(gdf) if kind == "auto" else kind
    if kind == "buildings":
        layer = maps.buildings_layer(gdf, color_by=color_by, height_by=height_by, lang=lang, stretch=stretch)
    elif kind == "roofs":
        layer = maps.roofs_layer(gdf, color_by=color_by or "kwh_m2_year", lang=lang, stretch=stretch)
    elif kind == "points":
        layer = maps.green_view_layer(gdf, color_by=color_by or "gvi", lang=lang)
    else:
        layer = maps.trips_layer(gdf, color_by=color_by, lang=lang)
    ctx = []
    if context and kind in {"buildings", "roofs"}:
        from numazu_geo.maps.district import context_source

        source = context_source(gdf)
        if source is not None and layer.bounds_lonlat is not None:
            from numazu_geo.maps.district import context_bbox

            ctx = maps.place_layers(source, lang=lang, bbox=context_bbox(layer.bounds_lonlat))
        names = maps.labels_layer(gdf) if kind == "buildings" else None
        if names is not None:
            ctx.append(names)
    deck = maps.view(layer, title=title, lang=lang, basemap="gsi", context=ctx, provenance=gdf)
    out = maps.save_html(deck, output, offline=not online)
    if png is not None:
        maps.save_png(out, png, lang=lang)
    return out


def _cmd_map(args: argparse.Namespace) -> int:
    out = make_map(args.input, args.output, color_by=args.color_by, height_by=args.height_by, lang=args.lang,
                   online=args.online, title=args.title, kind=args.kind, stretch=args.stretch,
                   context=not args.no_context, png=args.png)
    print(out)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "map", help="write an offline 3D map (one HTML file) from a GeoParquet table",
        description="Write a self-contained 3D map (deck.gl inlined, no network needed) from a GeoParquet table of "
                    "buildings, roof faces, green-view survey points or trips.",
    )
    p.add_argument("input", metavar="INPUT.parquet", help="GeoParquet table (e.g. solar_buildings.parquet)")
    p.add_argument("-o", "--output", required=True, metavar="MAP.html",
                   help="HTML file to write, or a folder ending in '/' for <input>_map.html inside")
    p.add_argument("--color-by", default=None, metavar="COL",
                   help="column to colour by (default: kwh_m2_year, else measured_height_m; gvi for points)")
    p.add_argument("--height-by", default="measured_height_m", metavar="COL", help="building height column (m)")
    p.add_argument("--lang", choices=["ja", "en"], default="ja", help="labels and tooltips (default: ja)")
    p.add_argument("--online", action="store_true",
                   help="add the GSI base map (地理院タイル); the page then needs internet for the tiles")
    p.add_argument("--title", default=None, help="page title (default: the place and the quantity, from the data)")
    p.add_argument("--stretch", action="store_true",
                   help="colour over this data's own range instead of the quantity's fixed range "
                        "(maps then do not compare)")
    p.add_argument("--no-context", action="store_true",
                   help="leave out the roads, water and flood areas of the dataset the table was read from")
    p.add_argument("--png", default=None, metavar="MAP.png",
                   help="also write a picture of the whole view (needs Chromium)")
    p.add_argument("--kind", choices=_KINDS, default="auto", help="layer type (default: from the geometry)")
    p.set_defaults(func=_cmd_map)
