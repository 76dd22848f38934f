"""Checks on hourly energy series: one clear error per problem, never a silent resample or fill."""

from __future__ import annotations

import numpy as np
import pandas as pd

from numazu_geo.errors import EnergyInputError

__all__ = ["EnergyInputError", "hourly_arrays"]


def _values(name: str, x, n: int | None = None) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        if n is None:
            raise EnergyInputError(f"{name}: a single number needs a series to take its length from")
        arr = np.full(n, float(arr))
    if arr.ndim != 1:
        raise EnergyInputError(f"{name}: expected one value per hour (1-D), got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise EnergyInputError(
            f"{name}: {int(bad.sum())} missing or non-finite value(s) (first at position {int(np.argmax(bad))}); "
            "fill them yourself: no value is made up here"
        )
    neg = arr < 0
    if neg.any():
        i = int(np.argmax(neg))
        raise EnergyInputError(f"{name}: {int(neg.sum())} negative value(s) (first {arr[i]!r} at position {i}); kWh cannot be negative")
    return arr


def _check_index(name: str, idx: pd.Index) -> None:
    if not isinstance(idx, pd.DatetimeIndex):
        return
    if len(idx) > 1:
        step = idx[1:] - idx[:-1]
        wrong = np.asarray(step != pd.Timedelta(hours=1))
        if wrong.any():
            i = int(np.argmax(wrong))
            raise EnergyInputError(
                f"{name}: time steps must all be 1 hour; step {i} is {step[i]} "
                f"({idx[i]} -> {idx[i + 1]}). Resample it yourself; nothing is resampled here"
            )


def hourly_arrays(**series) -> tuple[dict[str, np.ndarray], pd.Index | None]:
    """Validated float arrays of equal length from Series/arrays/scalars given by name.

    Series must share one index (length, time zone, 1-hour steps, same timestamps); arrays must
    have the same length; scalars (e.g. a constant kW load) are spread over the hours. Returns
    ``({name: array}, index)`` where ``index`` is the first Series' index (or None).
    """
    index, index_name = None, None
    n, first = None, None
    for name, x in series.items():
        if isinstance(x, pd.DataFrame):
            raise EnergyInputError(f"{name}: expected one series, got a DataFrame with columns {list(x.columns)[:5]}")
        if isinstance(x, pd.Series):
            _check_index(name, x.index)
            if index is None:
                index, index_name = x.index, name
            else:
                if len(x) != len(index):
                    raise EnergyInputError(f"{name} has {len(x)} hours but {index_name} has {len(index)}")
                if isinstance(index, pd.DatetimeIndex) != isinstance(x.index, pd.DatetimeIndex):
                    raise EnergyInputError(f"{name} and {index_name}: one has timestamps and the other not")
                if isinstance(index, pd.DatetimeIndex):
                    tz_a, tz_b = index.tz, x.index.tz
                    if (tz_a is None) != (tz_b is None) or (tz_a is not None and str(tz_a) != str(tz_b)):
                        raise EnergyInputError(f"{name} is in time zone {tz_b} but {index_name} in {tz_a}")
                if not x.index.equals(index):
                    i = int(np.argmax(np.asarray(x.index != index)))
                    raise EnergyInputError(
                        f"{name} and {index_name} cover different hours (first difference at position {i}: "
                        f"{x.index[i]} vs {index[i]})"
                    )
        if np.ndim(x) == 1:
            m = len(x)
            if n is not None and m != n:
                raise EnergyInputError(f"{name} has {m} hours but {first} has {n}")
            n, first = m, first or name
    if n is None:
        raise EnergyInputError(f"at least one of {list(series)} must be a series (one value per hour)")
    if n == 0:
        raise EnergyInputError(f"{list(series)}: the series are empty")
    return {name: _values(name, x, n) for name, x in series.items()}, index
