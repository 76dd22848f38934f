"""``numazu-geo energy`` and ``numazu-geo resilience``: the building ledger and shelter autonomy.

    numazu-geo energy buildings.parquet -o ledger.parquet [--solar solar.parquet] [--summary by_usage.csv]
    numazu-geo resilience buildings.parquet --critical-load-kw 2 [--shelters ID,ID] -o shelters.parquet
"""

from __future__ import annotations

import logging
from pathlib import Path

from numazu_geo.co2.cli_options import add_grid_factor_arguments, grid_factor_arguments
from numazu_geo.errors import EnergyInputError, InputFileError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "energy",
        help="annual energy use and CO2 per building (the ledger), with PV coverage",
        description=(
            "Energy use and CO2 per building from its PLATEAU usage and floor area, with the cited "
            "intensities of data/building_energy_intensity.csv (usages without a citable value stay "
            "empty, with the reason). With --solar (or a solar result as input) the share of each "
            "building's use its own roof could cover."
        ),
    )
    p.add_argument("source", help="buildings GeoParquet (from `numazu-geo ingest` or `numazu-geo solar`)")
    p.add_argument("-o", "--output", required=True, help="ledger (.parquet, .gpkg, .geojson or .csv)")
    p.add_argument("--solar", help="solar result per building (GeoParquet from `numazu-geo solar`) to join")
    p.add_argument("--summary", help="also write the district summary here (.csv)")
    p.add_argument("--by", choices=["usage", "mesh"], default="usage", help="summary grouping (default usage)")
    add_grid_factor_arguments(p, "the buildings' CO2")
    p.set_defaults(func=run_energy)

    r = subparsers.add_parser(
        "resilience",
        help="hours a shelter's critical load runs in a blackout on PV, battery and EVs",
        description=(
            "Simulates an outage starting at every hour of the year for each shelter: hours until its "
            "critical load is first unmet with PV only, PV + battery and PV + battery + EVs (V2H). "
            "Shelters: --shelters ids, else buildings of usage 422 (schools, community halls). There "
            "is no default critical load (no official figure was found): give --critical-load-kw."
        ),
    )
    r.add_argument("source", help="buildings GeoParquet with source_file, or a CityGML file, folder or zip")
    r.add_argument("-o", "--output", required=True, help="shelter table (.parquet, .gpkg, .geojson or .csv)")
    r.add_argument("--shelters", help="comma-separated building ids (building_id or gml_id)")
    r.add_argument("--usages", default="422", help="shelter usage codes when no ids are given (default 422: schools, halls)")
    r.add_argument("--critical-load-kw", type=float, required=True, help="critical load of each shelter (kW, constant)")
    r.add_argument("--battery", default=None, help="battery data-sheet name in data/storage_specs.csv (default: none)")
    r.add_argument("--battery-kwh", type=float, help="battery capacity (kWh); power and efficiency from --battery's sheet")
    r.add_argument("--evs", type=int, default=0, help="number of EVs plugged in through V2H")
    r.add_argument("--ev", default="Nissan LEAF (40 kWh)", help="EV data-sheet name")
    r.add_argument("--v2h", default="Nichicon EV Power Station (V2H)", help="V2H unit data-sheet name")
    r.add_argument("--max-hours", type=int, default=None, help="longest outage simulated (default: a year)")
    r.add_argument("--duration", type=float, default=None, help="ride-through target for the battery size (h, default 72)")
    r.add_argument("--share", type=float, default=None, help="also size a battery to ride through --duration on this share of start hours")
    r.add_argument("--climate", help="hourly weather (.epw or METPV .csv); default an approximate climate from the JMA normals of the station nearest the buildings")
    r.add_argument("--spacing", type=float, default=2.0, help="roof sample spacing (m, default 2)")
    r.add_argument("--no-progress", action="store_true", help="hide progress bars")
    r.set_defaults(func=run_resilience)


def _read(path) -> object:
    from numazu_geo.io import read_parquet

    p = Path(path)
    if p.suffix.lower() != ".parquet":
        raise InputFileError(p, "expected a GeoParquet file (.parquet)")
    if not p.exists():
        raise InputFileError(p, "file not found")
    return read_parquet(p)


def run_energy(args) -> int:
    from numazu_geo.energy.ledger import building_energy, ledger_summary
    from numazu_geo.io import check_output, check_outputs_distinct, write_tables

    # outputs checked before any work; written together (all or none)
    output = check_output(args.output, default_name="energy_ledger.parquet", what="ledger output")
    summary_out = check_output(args.summary, default_name=f"energy_by_{args.by}.csv", what="summary output") if args.summary else None
    check_outputs_distinct(output, summary_out)
    factor = grid_factor_arguments(args)
    buildings = _read(args.source)
    solar = _read(args.solar) if args.solar else None
    try:
        ledger = building_energy(buildings, solar=solar, **factor)
    except EnergyInputError as exc:
        if solar is None or "solar result" not in str(exc):
            raise
        raise InputFileError(args.solar, f"{exc} ({args.source})") from exc
    summary = ledger_summary(ledger, args.by)
    tables = {output: ledger}
    if summary_out is not None:
        tables[summary_out] = summary
    written = write_tables(tables)
    n_co2 = int(ledger["co2_kg_year"].notna().sum())
    print(
        f"{len(ledger)} buildings, {n_co2} with a cited intensity: {ledger['co2_kg_year'].sum() / 1000:,.0f} t-CO2/yr "
        f"(grid factor {ledger.attrs['energy']['emission_factor_kg_per_kwh']:.3f} kg/kWh); "
        f"{len(ledger) - n_co2} without (reasons in energy_reason)"
    )
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def run_resilience(args) -> int:
    import geopandas as gpd
    import numpy as np

    from numazu_geo.energy.resilience import battery_size_needed, select_shelters, shelter_table
    from numazu_geo.energy.storage import EV, Battery
    from numazu_geo.io import check_output, write_tables
    from numazu_geo.solar.potential import _building_key, solar_potential

    output = check_output(args.output, default_name="shelter_resilience.parquet", what="shelter table output")
    if not args.critical_load_kw > 0:
        raise EnergyInputError(f"--critical-load-kw must be > 0, got {args.critical_load_kw}")
    source = args.source
    if Path(source).suffix.lower() == ".parquet":
        buildings = _read(source)
    else:
        from numazu_geo import citygml

        buildings = citygml.read_buildings(source, progress=not args.no_progress)
    ids = [s.strip() for s in args.shelters.split(",") if s.strip()] if args.shelters else None
    usages = tuple(u.strip() for u in args.usages.split(",") if u.strip())
    shelters = select_shelters(buildings, ids, usages=usages)
    if shelters.empty:
        raise EnergyInputError(f"resilience: no shelters (no building of usage {', '.join(usages)} here); pass --shelters ids")
    keys = list(dict.fromkeys(_building_key(shelters).astype(object)))
    battery = None
    if args.battery or args.battery_kwh:
        spec = Battery.from_spec(args.battery) if args.battery else Battery.default()
        battery = spec.scaled(args.battery_kwh) if args.battery_kwh else spec
    evs = EV.from_spec(args.ev, args.v2h, count=args.evs) if args.evs > 0 else None
    result = solar_potential(
        buildings, climate=args.climate, spacing_m=args.spacing, hourly=keys, progress=not args.no_progress
    )
    table = shelter_table(result.hourly, args.critical_load_kw, battery, evs, max_hours=args.max_hours)
    if args.share is not None:
        table["battery_kwh_needed"] = [
            battery_size_needed(result.hourly[k], args.critical_load_kw, args.duration, args.share, evs=evs) for k in keys
        ]
    geo = shelters.assign(building_key=_building_key(shelters).to_numpy())[["building_key", shelters.geometry.name]]
    out = gpd.GeoDataFrame(geo.merge(table, on="building_key", how="right"), geometry=shelters.geometry.name, crs=shelters.crs)
    out.attrs["resilience"] = {
        "critical_load_kw": args.critical_load_kw, "battery": None if battery is None else dict(battery.__dict__),
        "evs": None if evs is None else dict(evs.__dict__), "climate": result.climate.source,
        "pv_model": result.hourly.attrs.get("pv_model"),
    }  # fmt: skip
    write_tables({output: out})
    col = "pv_battery_ev_median_h" if evs is not None and battery is not None else (
        "pv_battery_median_h" if battery is not None else ("pv_ev_median_h" if evs is not None else "pv_median_h"))
    print(f"climate: {result.climate.source}")
    print(f"{len(out)} shelters, critical load {args.critical_load_kw:g} kW: median autonomy "
          f"{np.nanmedian(out[col]):,.0f} h (range {out[col].min():,.0f}-{out[col].max():,.0f} h)")  # fmt: skip
    print(f"wrote {output}")
    return 0
