"""Grid electricity CO2 emission factors (``data/emission_factors.csv``) and kWh -> kg-CO2.

The table lists, per retail utility, menu and fiscal year, the *basic* (基礎排出係数) and
*adjusted* (調整後排出係数) factors in kg-CO2/kWh from the Ministry of the Environment / METI list of
emission factors by electricity supplier (電気事業者別排出係数), with source, publication date and
a status column (P = official text seen, S = secondary copy).

Numazu lies east of the Fuji River, in TEPCO's 50 Hz supply area, so the default is the latest
verified (status P) whole-company factor of TEPCO Energy Partner. The adjusted factor is the one
the Act on Promotion of Global Warming Countermeasures reporting uses for purchased electricity;
it is the default ``kind``.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from numazu_geo.paths import data_path

#: Numazu's retail utility area: TEPCO (east of the Fuji River). See data/emission_factors.csv.
DEFAULT_UTILITY = "TEPCO Energy Partner"
#: Menu used by default: the utility's whole-company (参考) factor.
DEFAULT_MENU = "whole company"
KINDS = ("adjusted", "basic")


@functools.lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    df = pd.read_csv(data_path("emission_factors.csv"), dtype={"operator_code": object})
    df["menu"] = df["menu"].fillna("")
    return df


def emission_factors() -> pd.DataFrame:
    """The whole factor table (a copy): one row per utility, menu and fiscal year."""
    return _table().copy()


def emission_factor(
    utility: str = DEFAULT_UTILITY,
    fiscal_year: int | None = None,
    *,
    menu: str | None = DEFAULT_MENU,
    verified_only: bool = True,
) -> pd.Series:
    """The table row for ``utility`` (case-insensitive; substring match allowed) and ``fiscal_year``.

    ``fiscal_year=None`` gives the latest year available (only ``status == "P"`` rows when
    ``verified_only``). The row has ``basic_kg_per_kwh``, ``adjusted_kg_per_kwh``, ``source``,
    ``published``, ``status``.
    """
    df = _table()
    name = df["utility"].str.lower()
    want = str(utility).strip().lower()
    rows = df[name == want]
    if rows.empty:
        rows = df[name.str.contains(want, regex=False)]
    if rows.empty:
        known = sorted(df["utility"].unique())
        raise KeyError(f"emission_factors.csv: no utility {utility!r}; known: {known}")
    if menu is not None and (rows["menu"] != "").any():
        by_menu = rows[rows["menu"].str.lower() == str(menu).lower()]
        if by_menu.empty:
            raise KeyError(f"emission_factors.csv: {utility!r} has no menu {menu!r}; menus: {sorted(rows['menu'].unique())}")
        rows = by_menu
    if verified_only:
        rows = rows[rows["status"] == "P"]
    if fiscal_year is not None:
        rows = rows[rows["fiscal_year"] == int(fiscal_year)]
        if rows.empty:
            years = sorted(_table().loc[_table()["utility"].str.lower().str.contains(want, regex=False), "fiscal_year"].unique())
            raise KeyError(f"emission_factors.csv: no factor for {utility!r} in FY{fiscal_year}; years: {years}")
    if rows.empty:
        raise KeyError(f"emission_factors.csv: no verified factor for {utility!r}")
    return rows.sort_values("fiscal_year").iloc[-1].copy()


def factor_kg_per_kwh(
    utility: str = DEFAULT_UTILITY,
    fiscal_year: int | None = None,
    *,
    kind: str = "adjusted",
    menu: str | None = DEFAULT_MENU,
) -> float:
    """The ``kind`` ("adjusted" or "basic") factor in kg-CO2/kWh."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    row = emission_factor(utility, fiscal_year, menu=menu)
    value = float(row[f"{kind}_kg_per_kwh"])
    if not np.isfinite(value):
        raise ValueError(
            f"emission_factors.csv: {row['utility']} FY{row['fiscal_year']} has no {kind} factor "
            "(none published); use kind='basic'"
        )
    return value


def kwh_to_co2_kg(
    kwh,
    factor: float | None = None,
    *,
    utility: str = DEFAULT_UTILITY,
    fiscal_year: int | None = None,
    kind: str = "adjusted",
    menu: str | None = DEFAULT_MENU,
):
    """kg-CO2 of ``kwh`` of grid electricity (the CO2 that PV generating ``kwh`` avoids).

    ``factor`` (kg-CO2/kWh) overrides the table lookup. NaN kWh count as 0, so totals never
    become NaN. Scalars give a float; arrays/Series keep their shape/index.
    """
    f = factor_kg_per_kwh(utility, fiscal_year, kind=kind, menu=menu) if factor is None else float(factor)
    if not np.isfinite(f) or f < 0:
        raise ValueError(f"emission factor must be a finite non-negative number, got {factor!r}")
    if isinstance(kwh, pd.Series):
        return kwh.astype(float).fillna(0.0) * f
    arr = np.nan_to_num(np.asarray(kwh, dtype=float), nan=0.0)
    return float(arr * f) if arr.ndim == 0 else arr * f


@functools.lru_cache(maxsize=None)
def _read_table(filename: str) -> pd.DataFrame:
    return pd.read_csv(data_path(filename), dtype={"usage_code": object, "operator_code": object, "code": object})


def load_table(filename: str, value_columns=None) -> pd.DataFrame:
    """A factor/intensity table from ``data/`` (a copy), checked for provenance.

    Every table of numbers in ``data/`` carries ``source`` and ``year`` columns; any row with a
    value in ``value_columns`` (default: every numeric column except ``year``) must name its source
    and year (``year`` or ``fiscal_year``), and a row without values must say why in a ``reason`` or ``note`` column. Raises
    ``ValueError`` naming the file and the rows otherwise. Used for the grid factors here, the
    building energy intensities and storage data sheets (:mod:`numazu_geo.energy`), and any
    further factor table (e.g. transport).
    """
    df = _read_table(filename).copy()
    year = "fiscal_year" if "fiscal_year" in df.columns and "year" not in df.columns else "year"
    for col in ("source", year):
        if col not in df.columns:
            raise ValueError(f"data/{filename}: no {col!r} column (every factor table names its source and year)")
    if value_columns is None:
        value_columns = [c for c in df.select_dtypes("number").columns if c not in ("year", "fiscal_year")]
    has_value = df[list(value_columns)].notna().any(axis=1) if len(value_columns) else pd.Series(False, index=df.index)
    missing = has_value & (df["source"].isna() | df[year].isna())
    if missing.any():
        raise ValueError(f"data/{filename}: rows {list(df.index[missing] + 2)} have values without a source and year")
    why = next((c for c in ("reason", "note") if c in df.columns), None)
    if why is not None:
        empty = ~has_value & df[why].isna()
        if empty.any():
            raise ValueError(f"data/{filename}: rows {list(df.index[empty] + 2)} have no value and no {why!r}")
    return df


# ---------------------------------------------------------------------------------------------
# Transport: g-CO2 per passenger-km by mode and fiscal year (data/transport_emission_factors.csv)
#
# The same kind of table as the electricity factors: one row per mode and fiscal year with
# source, publication date and status. The MLIT figures are a third-party transcription of a
# chart (status "S", see the table's note column); walking and cycling are 0 by definition
# (direct emissions), status "definition".

#: Transport modes the mobility module uses (rows of data/transport_emission_factors.csv).
TRANSPORT_MODES = ("walk", "bicycle", "car", "bus", "train", "aviation")


@functools.lru_cache(maxsize=1)
def _transport_table() -> pd.DataFrame:
    df = pd.read_csv(data_path("transport_emission_factors.csv"), dtype={"published": object})
    df["fiscal_year"] = df["fiscal_year"].astype("Int64")
    return df


def transport_factors() -> pd.DataFrame:
    """The transport factor table (a copy): one row per mode and fiscal year, g-CO2 per passenger-km."""
    return _transport_table().copy()


def transport_factor(mode: str, fiscal_year: int | None = None) -> pd.Series:
    """The table row for ``mode`` ("car", "bus", "train", "walk", ...) and ``fiscal_year``.

    ``fiscal_year=None`` gives the latest year in the table. Rows without a year (walk, bicycle:
    zero by definition) apply to every year. The row has ``g_co2_per_passenger_km``, ``source``,
    ``status`` ("S" = third-party transcription, see ``note``) and ``fiscal_year``.
    """
    df = _transport_table()
    rows = df[df["mode"] == str(mode).strip().lower()]
    if rows.empty:
        raise KeyError(f"transport_emission_factors.csv: no mode {mode!r}; known: {sorted(df['mode'].unique())}")
    if rows["fiscal_year"].isna().all():
        return rows.iloc[-1].copy()
    if fiscal_year is not None:
        rows = rows[rows["fiscal_year"] == int(fiscal_year)]
        if rows.empty:
            years = sorted(int(y) for y in df.loc[df["mode"] == mode, "fiscal_year"].dropna())
            raise KeyError(f"transport_emission_factors.csv: no {mode!r} factor for FY{fiscal_year}; years: {years}")
    return rows.sort_values("fiscal_year").iloc[-1].copy()


def transport_g_per_pkm(mode: str, fiscal_year: int | None = None) -> float:
    """g-CO2 per passenger-km of ``mode`` in ``fiscal_year`` (latest when None)."""
    return float(transport_factor(mode, fiscal_year)["g_co2_per_passenger_km"])
