"""``numazu-geo trips``: GPS tracks (GPX, GeoJSON, CSV; files or folders) to trips with mode and CO2 credit."""

from __future__ import annotations

import argparse
import sys

from numazu_geo.errors import NumazuGeoError

_BY = ("track", "day", "week", "track,day", "track,week")


def run_trips(tracks, output, *, summary=None, by: str = "track", min_distance_m: float | None = None,
              baseline: str | None = None, fiscal_year: int | None = None, report=None, bus_stops=None, rail_lines=None) -> dict:
    """Detect trips in ``tracks`` and write the legs (and optionally the summary / report). Returns counts.

    Output paths are checked before any reading; all requested tables are written together (all or
    none); when no file could be read nothing is written and :class:`~numazu_geo.errors.NumazuGeoError`
    names every file and its problem.
    """
    from numazu_geo.io import check_output, check_outputs_distinct, write_tables
    from numazu_geo.mobility import detect_trips, report_table, summary_table

    output = check_output(output, default_name="trips.parquet")
    if summary is not None:
        summary = check_output(summary, default_name="trips_summary.csv", formats=(".csv", ".parquet"),
                               what="--summary")
    if report is not None:
        report = check_output(report, default_name="trips_report.csv", formats=(".csv",), what="--report")
    check_outputs_distinct(output, summary, report)
    credit = {}
    if min_distance_m is not None:
        credit["min_distance_m"] = float(min_distance_m)
    if baseline is not None:
        credit["baseline"] = baseline
    if fiscal_year is not None:
        credit["fiscal_year"] = int(fiscal_year)
    legs = detect_trips(list(tracks), credit=credit or None, progress=sys.stderr.isatty(), bus_stops=bus_stops,
                        rail_lines=rail_lines)
    rep = report_table(legs)
    failed = rep[rep["status"] == "error"]
    if len(rep) and len(failed) == len(rep):
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise NumazuGeoError(f"no track could be read, {output} not written: "
                             f"{failed['source'].iloc[0]}: {failed['message'].iloc[0]}{more}")
    tables = {output: legs}
    if summary is not None:
        tables[summary] = summary_table(legs, by=by.split(",") if "," in by else by)
    if report is not None:
        tables[report] = rep
    write_tables(tables)
    return {"legs": len(legs), "trips": int(legs["trip"].nunique()) if len(legs) else 0, "files": int(rep["source"].nunique()),
            "failed": failed[["source", "message"]].values.tolist(),
            "problems": rep[~rep["status"].isin(["ok", "error"])][["source", "status", "message"]].values.tolist(),
            "dropped": int(rep.filter(like="dropped_").to_numpy().sum()),
            "co2_credit_g": float(legs["co2_credit_g"].sum()) if len(legs) else 0.0,
            "tz_assumed": list(legs.attrs.get("tz_assumed_sources", [])), "output": output}


def _cmd_trips(args: argparse.Namespace) -> int:
    res = run_trips(args.tracks, args.output, summary=args.summary, by=args.by, min_distance_m=args.min_distance_m,
                    baseline=args.baseline, fiscal_year=args.fiscal_year, report=args.report, bus_stops=args.bus_stops,
                    rail_lines=args.rail_lines)
    for src, msg in res["failed"]:
        print(f"numazu-geo trips: skipped {src}: {msg}", file=sys.stderr)
    for src, status, msg in res["problems"]:
        print(f"numazu-geo trips: {src}: {status}: {msg}", file=sys.stderr)
    if res["tz_assumed"]:
        print(f"numazu-geo trips: times without a time zone taken as JST in {len(res['tz_assumed'])} file(s)",
              file=sys.stderr)
    print(f"{res['output']}: {res['trips']} trips, {res['legs']} legs from {res['files']} file(s); "
          f"{res['dropped']} fixes dropped in cleaning, {len(res['failed'])} file(s) skipped; "
          f"credited {res['co2_credit_g']:,.0f} g-CO2")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "trips", help="GPS tracks to trips with travel mode and walking/cycling CO2 credit",
        description="Read GPS tracks (GPX, GeoJSON, CSV; files or folders), clean them, cut trips and legs, tell "
                    "the travel mode and credit walking/cycling legs of 750 m or more with the CO2 a car would have "
                    "emitted (the SPOBY rule; 1 g = 1 point). A broken file is reported and skipped.",
    )
    p.add_argument("tracks", nargs="+", metavar="TRACKS", help="track files or folders")
    p.add_argument("-o", "--output", required=True, metavar="TRIPS.parquet",
                   help="legs table to write (.parquet, .csv, .gpkg or .geojson; a folder/ writes trips.parquet in it)")
    p.add_argument("--summary", default=None, metavar="SUMMARY.csv", help="also write credits per person (see --by)")
    p.add_argument("--by", choices=_BY, default="track", metavar="GROUPING",
                   help="grouping of --summary: track (= person; default), day, week, 'track,day' or 'track,week'")
    p.add_argument("--report", default=None, metavar="REPORT.csv",
                   help="also write the cleaning report (every fix of every file accounted for)")
    p.add_argument("--bus-stops", default=None, metavar="STOPS.txt",
                   help="bus stop locations (GTFS stops.txt, CSV with stop_lat/stop_lon, GeoJSON) to tell buses from cars")
    p.add_argument("--rail-lines", default=None, metavar="RAIL.geojson",
                   help="railway lines (any file GeoPandas reads) to tell trains from cars by where they run")
    p.add_argument("--min-distance-m", type=float, default=None, help="credit threshold in metres (default: 750)")
    p.add_argument("--baseline", default=None, help="mode whose CO2 a credited leg saves (default: car)")
    p.add_argument("--fiscal-year", type=int, default=None, help="year of the transport factor (default: latest)")
    p.set_defaults(func=_cmd_trips)
