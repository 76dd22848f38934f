"""What buildings use and emit: the district's energy and CO2 ledger.

:func:`building_energy` estimates, per building, the annual energy use and CO2 from its usage and
floor area with the intensities of ``data/building_energy_intensity.csv`` (each row with source,
year and status; usages without a citable value stay NaN with the reason in ``energy_reason``).

Two bases appear in the table, as cited:

* ``primary_mj_per_m2``: primary energy per m2 of floor area (DECC averages for offices, shops
  and hotels). Its electricity equivalent is ``primary MJ / 9.76 MJ/kWh`` (the primary-energy
  factor of purchased electricity in the building energy-efficiency standard, the same factor ZEB
  accounting uses to credit on-site PV), and the CO2 is that electricity equivalent times the
  grid factor (``co2_basis = "electricity equivalent"``). The split between electricity and fuel
  is not in the cited sources, so ``electricity_kwh_year`` and ``fuel_kwh_year`` stay NaN.
* ``co2_kg_per_building``: CO2 per building (MoE household survey: detached houses, one household
  each). ``co2_basis = "household survey"``; energy columns NaN.

Floor area: ``total_floor_area_m2`` where PLATEAU has it, else footprint area x storeys above
ground (``floor_area_estimated = True``), else NaN. Joined with rooftop PV (``kwh_year`` from
:func:`numazu_geo.solar_potential`), ``pv_coverage_frac`` is the share of the building's
electricity-equivalent use its own roof could generate in a year.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from numazu_geo.co2.buildings import grid_factor
from numazu_geo.co2.factors import load_table
from numazu_geo.errors import EnergyInputError

log = logging.getLogger(__name__)

INTENSITY_TABLE = "building_energy_intensity.csv"
LEDGER_COLUMNS = (
    "floor_area_m2", "floor_area_estimated", "energy_basis", "primary_energy_mj_m2_year",
    "primary_energy_gj_year", "electricity_equiv_kwh_year", "electricity_kwh_year", "fuel_kwh_year",
    "co2_kg_year", "co2_kg_m2_year", "co2_basis", "energy_source", "energy_reason",
)  # fmt: skip


def intensity_table() -> pd.DataFrame:
    """``data/building_energy_intensity.csv`` (a copy), checked for sources."""
    return load_table(INTENSITY_TABLE, ["primary_energy_mj_m2_year", "co2_kg_per_building_year"])


def floor_area_m2(buildings) -> tuple[np.ndarray, np.ndarray]:
    """(floor area m2, estimated flag): ``total_floor_area_m2``, else footprint x storeys above
    ground (footprint area in the buildings' projected CRS), else NaN."""
    n = len(buildings)
    total = (pd.to_numeric(buildings["total_floor_area_m2"], errors="coerce").to_numpy(dtype=float)
             if "total_floor_area_m2" in buildings.columns else np.full(n, np.nan))  # fmt: skip
    total = np.where(total > 0, total, np.nan)
    est = np.full(n, np.nan)
    if "storeys_above_ground" in buildings.columns and hasattr(buildings, "geometry"):
        storeys = pd.to_numeric(buildings["storeys_above_ground"], errors="coerce").to_numpy(dtype=float)
        crs = getattr(buildings, "crs", None)
        if crs is not None and not crs.is_projected and (~np.isfinite(total) & (storeys > 0)).any():
            raise EnergyInputError(
                f"building_energy: footprints are in a geographic CRS ({crs.to_string()}) and some buildings need "
                "footprint x storeys; project them (e.g. to_crs(6676)) so their area is in m2"
            )
        foot = buildings.geometry.area.to_numpy(dtype=float) if crs is None or crs.is_projected else np.full(n, np.nan)
        est = np.where((storeys > 0) & (foot > 0), foot * storeys, np.nan)
    area = np.where(np.isfinite(total), total, est)
    return area, ~np.isfinite(total) & np.isfinite(area)


def building_energy(
    buildings,
    solar=None,
    *,
    factor_kg_per_kwh: float | None = None,
    **factor_options,
) -> pd.DataFrame:
    """Annual energy use and CO2 per building (the ledger).

    Parameters
    ----------
    buildings : GeoDataFrame of buildings (``usage_code``, ``total_floor_area_m2``,
        ``storeys_above_ground``, footprint geometry in a projected CRS), e.g. from
        :func:`numazu_geo.read_buildings`, or a SolarResult's ``.buildings`` (then ``kwh_year`` is
        used for the PV coverage).
    solar : optional SolarResult or table with ``building_key`` and ``kwh_year`` to join.
    factor_kg_per_kwh, factor_options : the grid factor (:func:`numazu_geo.co2.grid_factor`;
        default the latest verified TEPCO Energy Partner adjusted factor).

    Returns
    -------
    A copy of ``buildings`` with :data:`LEDGER_COLUMNS` added (and ``pv_kwh_year``,
    ``pv_coverage_frac`` where PV is known). ``attrs["energy"]`` records the factor and tables.
    """
    if not isinstance(buildings, pd.DataFrame):
        buildings = getattr(buildings, "buildings", None)
        if not isinstance(buildings, pd.DataFrame):
            raise TypeError("building_energy expects a buildings (Geo)DataFrame or a SolarResult")
    if "usage_code" not in buildings.columns:
        raise EnergyInputError("building_energy: the buildings have no usage_code column (PLATEAU bldg:usage)")
    table = intensity_table().set_index("usage_code")
    factor = grid_factor(factor_kg_per_kwh, **factor_options)
    primary_factor = _primary_factor()
    out = buildings.copy()
    code = out["usage_code"].astype("string").fillna("").str.strip().to_numpy(dtype=object)
    known = np.isin(code, table.index.to_numpy())
    rows = table.reindex(np.where(known, code, None))
    area, estimated = floor_area_m2(out)
    basis = rows["basis"].to_numpy(dtype=object)
    mj_m2 = rows["primary_energy_mj_m2_year"].to_numpy(dtype=float)
    per_bldg = rows["co2_kg_per_building_year"].to_numpy(dtype=float)

    primary_gj = np.where(basis == "primary_mj_per_m2", mj_m2 * area / 1000.0, np.nan)
    elec_equiv = primary_gj * 1000.0 / primary_factor
    co2 = np.where(basis == "primary_mj_per_m2", elec_equiv * factor["kg_per_kwh"],
                   np.where(basis == "co2_kg_per_building", per_bldg, np.nan))  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        co2_m2 = np.where(area > 0, co2 / area, np.nan)

    has_value = np.isfinite(mj_m2) | np.isfinite(per_bldg)
    reason = np.where(has_value, "", rows["reason"].fillna("").to_numpy(dtype=object))
    reason = np.where(known, reason, np.where(code == "", "no usage code", [f"usage code {c!r} not in the table" for c in code]))
    no_area = has_value & (basis == "primary_mj_per_m2") & ~np.isfinite(area)
    reason = np.where(no_area, "no floor area (no total_floor_area_m2, storeys or footprint)", reason)
    reason = np.where(np.isfinite(co2) | (reason != ""), reason, "no cited intensity")
    # a cited per-building value is never hidden by a missing floor area (only its per-m2 value is)
    out["floor_area_m2"] = area
    out["floor_area_estimated"] = estimated
    out["energy_basis"] = np.where(known, basis, None)
    out["primary_energy_mj_m2_year"] = mj_m2
    out["primary_energy_gj_year"] = primary_gj
    out["electricity_equiv_kwh_year"] = elec_equiv
    out["electricity_kwh_year"] = np.nan  # no cited electricity / fuel split (module docstring)
    out["fuel_kwh_year"] = np.nan
    out["co2_kg_year"] = co2
    out["co2_kg_m2_year"] = co2_m2
    out["co2_basis"] = np.where(basis == "primary_mj_per_m2", "electricity equivalent",
                                np.where(basis == "co2_kg_per_building", "household survey", None))  # fmt: skip
    out.loc[~np.isfinite(co2), "co2_basis"] = None
    out["energy_source"] = [
        f"{src} ({int(yr)})" if ok else ""
        for ok, src, yr in zip(has_value, rows["source"].to_numpy(dtype=object), rows["year"].to_numpy(dtype=float))
    ]
    out["energy_reason"] = reason

    pv = _pv_kwh(out, solar)
    if pv is not None:
        out["pv_kwh_year"] = pv
        with np.errstate(invalid="ignore", divide="ignore"):
            out["pv_coverage_frac"] = np.where(elec_equiv > 0, pv / elec_equiv, np.nan)
    out.attrs = dict(getattr(buildings, "attrs", {}) or {})
    out.attrs["energy"] = {
        "intensity_table": f"data/{INTENSITY_TABLE}",
        "electricity_primary_mj_per_kwh": primary_factor,
        "emission_factor_kg_per_kwh": factor["kg_per_kwh"],
        "emission_factor_label": factor["label"],
    }
    return out


def _primary_factor() -> float:
    from numazu_geo.energy.resilience import energy_default

    return energy_default("electricity_primary_mj_per_kwh")


def _pv_kwh(buildings: pd.DataFrame, solar) -> np.ndarray | None:
    if solar is None:
        if "kwh_year" in buildings.columns:
            return pd.to_numeric(buildings["kwh_year"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        return None
    table = getattr(solar, "buildings", solar)
    if not {"building_key", "kwh_year"} <= set(table.columns):
        raise EnergyInputError("building_energy: solar= needs building_key and kwh_year (a SolarResult or its .buildings)")
    from numazu_geo.solar.roofs import _building_key

    keys = (buildings["building_key"] if "building_key" in buildings.columns else _building_key(buildings)).astype(object)
    kwh = table.drop_duplicates("building_key").set_index("building_key")["kwh_year"]
    matched = keys.isin(kwh.index)
    if len(kwh) and len(keys) and not matched.any():
        raise EnergyInputError(
            f"building_energy: none of the {len(kwh)} buildings of the solar result is among the {len(keys)} "
            "buildings (a solar result of other data?)"
        )  # fmt: skip
    if not matched.all():  # not computed: unknown PV, not zero
        log.warning("building_energy: %d of %d buildings are not in the solar result; their PV is left empty",
                    int((~matched).sum()), len(keys))  # fmt: skip
    return pd.to_numeric(keys.map(kwh), errors="coerce").fillna(0.0).where(matched).to_numpy(dtype=float)


def ledger_summary(ledger: pd.DataFrame, by: str = "usage") -> pd.DataFrame:
    """District totals of :func:`building_energy` by ``"usage"`` (usage code and label) or ``"mesh"``
    (3rd-order grid square of each footprint's centroid; needs a CRS), or any column name.

    Columns: ``n_buildings``, ``n_with_co2`` (buildings with a cited value), ``floor_area_m2``,
    ``primary_energy_gj_year``, ``co2_t_year``, ``pv_kwh_year`` and ``pv_coverage_frac`` (PV over
    electricity-equivalent use, over the buildings that have both). Totals skip NaN buildings:
    read them with ``n_with_co2``.
    """
    df = pd.DataFrame(ledger.drop(columns=getattr(ledger, "geometry", pd.Series()).name or [], errors="ignore"))
    if by == "usage":
        keys = ["usage_code"] + (["usage"] if "usage" in df.columns else [])
    elif by == "mesh":
        df["mesh3"] = _mesh3(ledger)
        keys = ["mesh3"]
    elif by in df.columns:
        keys = [by]
    else:
        raise KeyError(f"ledger_summary: by must be 'usage', 'mesh' or a column, not {by!r}")
    co2 = pd.to_numeric(df["co2_kg_year"], errors="coerce")
    pv = pd.to_numeric(df.get("pv_kwh_year", pd.Series(np.nan, index=df.index)), errors="coerce")
    equiv = pd.to_numeric(df["electricity_equiv_kwh_year"], errors="coerce")
    both = equiv.notna() & (equiv > 0)
    work = pd.DataFrame({
        **{k: df[k].astype(str) for k in keys},
        "n_buildings": 1, "n_with_co2": co2.notna().astype(int),
        "floor_area_m2": pd.to_numeric(df["floor_area_m2"], errors="coerce"),
        "primary_energy_gj_year": pd.to_numeric(df["primary_energy_gj_year"], errors="coerce"),
        "co2_t_year": co2 / 1000.0, "pv_kwh_year": pv,
        "_pv_cov": pv.where(both & pv.notna(), 0.0), "_equiv": equiv.where(both & pv.notna(), 0.0),
    })  # fmt: skip
    g = work.groupby(keys, dropna=False).sum(min_count=1)
    g["n_buildings"] = g["n_buildings"].fillna(0).astype(int)
    g["n_with_co2"] = g["n_with_co2"].fillna(0).astype(int)
    g["pv_coverage_frac"] = np.where(g["_equiv"] > 0, g["_pv_cov"] / g["_equiv"].where(g["_equiv"] > 0, 1.0), np.nan)
    return g.drop(columns=["_pv_cov", "_equiv"]).reset_index()


def _mesh3(ledger) -> np.ndarray:
    from numazu_geo.citygml.sources import mesh3_code

    if getattr(ledger, "crs", None) is None:
        raise EnergyInputError("ledger_summary(by='mesh'): the ledger needs footprint geometry with a CRS")
    pts = ledger.geometry.representative_point().to_crs(6668)
    return mesh3_code(pts.y.to_numpy(), pts.x.to_numpy()).astype(str)
