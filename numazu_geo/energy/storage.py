"""Stationary batteries and electric vehicles (V2H) as hourly storage.

Data-sheet values live in ``data/storage_specs.csv`` (each row with source, year and status);
:meth:`Battery.from_spec` and :meth:`EV.from_spec` build storage from a row by name.

Model (hourly steps, energy on the AC side): a battery charges at most ``power_kw`` x 1 h of AC
energy, of which ``sqrt(round_trip_efficiency)`` reaches the cells, and discharges at most
``power_kw`` x 1 h of AC energy, drawing ``1 / sqrt(round_trip_efficiency)`` times that from the
cells, so a full cycle returns ``round_trip_efficiency`` of what went in. The state of charge
stays within ``[0, capacity_kwh]`` (``capacity_kwh`` is the usable capacity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from numazu_geo.errors import EnergyInputError

STORAGE_TABLE = "storage_specs.csv"
#: Row of ``data/storage_specs.csv`` used by :meth:`Battery.default`.
DEFAULT_BATTERY = "Tesla Powerwall 2"


def storage_specs():
    """The storage data-sheet table (``data/storage_specs.csv``), a copy."""
    from numazu_geo.co2.factors import load_table

    return load_table(STORAGE_TABLE, ["usable_kwh", "power_kw", "round_trip_efficiency"])


def _spec(name: str, kind: str):
    df = storage_specs()
    rows = df[(df["kind"] == kind) & (df["name"].str.lower() == str(name).lower())]
    if rows.empty:
        known = sorted(df.loc[df["kind"] == kind, "name"])
        raise KeyError(f"data/{STORAGE_TABLE}: no {kind} named {name!r}; known: {known}")
    return rows.iloc[0]


def _check_fraction(owner: str, name: str, value: float, *, open_low: bool = False) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0 or v > 1 or (open_low and v == 0):
        rng = "(0, 1]" if open_low else "[0, 1]"
        raise EnergyInputError(f"{owner}: {name} must be in {rng}, got {value!r}")
    return v


@dataclass(frozen=True)
class Battery:
    """A stationary battery.

    Parameters
    ----------
    capacity_kwh : usable capacity (kWh), > 0.
    power_kw : maximum charge and discharge power on the AC side (kW), > 0.
    round_trip_efficiency : AC-to-AC share of a full cycle, in (0, 1] (no default: take it from
        the data sheet, e.g. :meth:`from_spec`; 1.0 is a lossless battery).
    initial_soc_frac : state of charge at the start, as a share of ``capacity_kwh`` (default 1:
        full, as a battery is at the start of an outage).
    """

    capacity_kwh: float
    power_kw: float
    round_trip_efficiency: float
    initial_soc_frac: float = 1.0

    def __post_init__(self):
        for name in ("capacity_kwh", "power_kw"):
            v = float(getattr(self, name))
            if not math.isfinite(v) or v <= 0:
                what = "zero power: it could never charge or discharge" if name == "power_kw" and v == 0 else "must be > 0"
                raise EnergyInputError(f"Battery: {name} {what} (got {getattr(self, name)!r})")
        _check_fraction("Battery", "round_trip_efficiency", self.round_trip_efficiency, open_low=True)
        _check_fraction("Battery", "initial_soc_frac", self.initial_soc_frac)

    @property
    def charge_efficiency(self) -> float:
        return math.sqrt(float(self.round_trip_efficiency))

    @property
    def discharge_efficiency(self) -> float:
        return math.sqrt(float(self.round_trip_efficiency))

    @classmethod
    def from_spec(cls, name: str = DEFAULT_BATTERY, *, units: int = 1, initial_soc_frac: float = 1.0) -> Battery:
        """``units`` batteries of the data-sheet row ``name`` (``data/storage_specs.csv``)."""
        row = _spec(name, "battery")
        if int(units) < 1:
            raise EnergyInputError(f"Battery.from_spec: units must be >= 1, got {units!r}")
        return cls(
            float(row["usable_kwh"]) * int(units), float(row["power_kw"]) * int(units),
            float(row["round_trip_efficiency"]), initial_soc_frac,
        )  # fmt: skip

    @classmethod
    def default(cls, **kwargs) -> Battery:
        """One :data:`DEFAULT_BATTERY` (Tesla Powerwall 2 data sheet: 13.5 kWh, 5 kW, 90 %)."""
        return cls.from_spec(DEFAULT_BATTERY, **kwargs)

    def scaled(self, capacity_kwh: float) -> Battery:
        """The same battery with another capacity and power in proportion (same C-rate)."""
        f = float(capacity_kwh) / float(self.capacity_kwh)
        return Battery(float(capacity_kwh), self.power_kw * f, self.round_trip_efficiency, self.initial_soc_frac)


@dataclass(frozen=True)
class EV:
    """Electric vehicles that feed a building through V2H during an outage.

    Parameters
    ----------
    usable_kwh : energy each car can give (kWh), > 0.
    v2h_kw : V2H output power per car (kW), > 0.
    efficiency : share of the car's battery energy that reaches the building (V2H conversion; the
        data sheet's, e.g. :meth:`from_spec`).
    count : number of cars plugged in.
    initial_soc_frac : charge of the cars at the start of the outage (default 1: full).
    reserve_frac : share of ``usable_kwh`` kept for driving (not given to the building).

    The cars only discharge into the building (they are not recharged from PV in the model), which
    makes the autonomy they add a lower bound where V2H units can also charge.
    """

    usable_kwh: float
    v2h_kw: float
    efficiency: float
    count: int = 1
    initial_soc_frac: float = 1.0
    reserve_frac: float = 0.0

    def __post_init__(self):
        for name in ("usable_kwh", "v2h_kw"):
            v = float(getattr(self, name))
            if not math.isfinite(v) or v <= 0:
                what = "zero power: the cars could not feed the building" if name == "v2h_kw" and v == 0 else "must be > 0"
                raise EnergyInputError(f"EV: {name} {what} (got {getattr(self, name)!r})")
        if int(self.count) != self.count or self.count < 0:
            raise EnergyInputError(f"EV: count must be a whole number >= 0, got {self.count!r}")
        _check_fraction("EV", "efficiency", self.efficiency, open_low=True)
        _check_fraction("EV", "initial_soc_frac", self.initial_soc_frac)
        _check_fraction("EV", "reserve_frac", self.reserve_frac)

    @property
    def energy_kwh(self) -> float:
        """Energy the cars can deliver to the building at the start (AC side, all cars)."""
        usable = self.usable_kwh * max(self.initial_soc_frac - self.reserve_frac, 0.0)
        return float(self.count) * usable * float(self.efficiency)

    @property
    def power_kw(self) -> float:
        return float(self.count) * float(self.v2h_kw)

    @classmethod
    def from_spec(cls, car: str, v2h: str, *, count: int = 1, **kwargs) -> EV:
        """Cars of data-sheet row ``car`` through V2H unit ``v2h`` (``data/storage_specs.csv``)."""
        c, u = _spec(car, "ev"), _spec(v2h, "v2h")
        return cls(float(c["usable_kwh"]), float(u["power_kw"]), float(u["round_trip_efficiency"]), count, **kwargs)
