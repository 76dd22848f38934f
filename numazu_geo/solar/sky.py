"""Sky subdivision (Tregenza's 145 patches) and hemisphere sampling directions.

Tregenza (1987), "Subdivision of the sky hemisphere for luminance measurements", Lighting
Research & Technology 19(1):13-14: seven 12-degree altitude bands centred at 6, 18, ..., 78 deg
holding 30, 30, 24, 24, 18, 12 and 6 patches, and one circular cap above 84 deg: 145 patches of
roughly equal solid angle. Radiance (genskyvec, Reinhart's subdivision) and Ladybug use the same
subdivision for climate-based sky matrices; binning hourly sun positions into these patches is how
such tools cut the number of shadow rays per point from thousands of hours to ~100 directions.

Conventions: altitude above the horizon in degrees, azimuth 0 = north, clockwise (90 = east); unit
direction vectors x east, y north, z up. Patch 0 is centred on north in the lowest band, patches
run clockwise within a band, bands run upward, the zenith cap is the last patch (144). Patch
numbering therefore differs from Radiance's (which starts at north and runs toward west); only the
geometry matters here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Tregenza (1987): patches per 12-degree altitude band, from the horizon up.
TREGENZA_COUNTS = (30, 30, 24, 24, 18, 12, 6)
#: Tregenza (1987): altitude band width in degrees; the zenith cap covers 84-90 deg.
TREGENZA_BAND_DEG = 12.0
N_TREGENZA = sum(TREGENZA_COUNTS) + 1  # 145

_BAND_START = np.concatenate([[0], np.cumsum(TREGENZA_COUNTS)])  # first patch index per band


def direction_vectors(altitude_deg, azimuth_deg) -> np.ndarray:
    """Unit vectors (..., 3) (x east, y north, z up) toward the given altitude/azimuth (deg)."""
    alt = np.radians(np.asarray(altitude_deg, dtype=float))
    az = np.radians(np.asarray(azimuth_deg, dtype=float))
    c = np.cos(alt)
    return np.stack([c * np.sin(az), c * np.cos(az), np.sin(alt)], axis=-1)


def tregenza_patches() -> pd.DataFrame:
    """The 145 Tregenza sky patches.

    Returns
    -------
    DataFrame
        145 rows (index = patch number) with ``altitude_deg``, ``azimuth_deg`` (patch centre;
        the zenith cap has altitude 90 and azimuth 0), ``solid_angle_sr`` (exact: band patches
        ``2*pi*(sin a2 - sin a1)/n``, cap ``2*pi*(1 - sin 84 deg)``; they sum to ``2*pi``),
        ``altitude_min_deg``, ``altitude_max_deg``, ``azimuth_width_deg``, ``band`` (0..7) and the
        unit centre direction ``dx, dy, dz``.
    """
    rows = []
    for band, n in enumerate(TREGENZA_COUNTS):
        a1 = band * TREGENZA_BAND_DEG
        a2 = a1 + TREGENZA_BAND_DEG
        width = 360.0 / n
        omega = 2 * np.pi * (np.sin(np.radians(a2)) - np.sin(np.radians(a1))) / n
        for j in range(n):
            rows.append((a1 + TREGENZA_BAND_DEG / 2, j * width, omega, a1, a2, width, band))
    a1 = len(TREGENZA_COUNTS) * TREGENZA_BAND_DEG
    cap = 2 * np.pi * (1 - np.sin(np.radians(a1)))
    rows.append((90.0, 0.0, cap, a1, 90.0, 360.0, len(TREGENZA_COUNTS)))
    df = pd.DataFrame(
        rows,
        columns=[
            "altitude_deg",
            "azimuth_deg",
            "solid_angle_sr",
            "altitude_min_deg",
            "altitude_max_deg",
            "azimuth_width_deg",
            "band",
        ],
    )
    d = direction_vectors(df["altitude_deg"].to_numpy(), df["azimuth_deg"].to_numpy())
    df["dx"], df["dy"], df["dz"] = d[:, 0], d[:, 1], d[:, 2]
    df.index.name = "patch"
    return df


def patch_index(altitude_deg, azimuth_deg) -> np.ndarray:
    """Tregenza patch number (0..144) of each direction; -1 below the horizon or NaN.

    Vectorised over any array shape. Altitudes from 0 up to 12 deg fall in the first band (the
    horizon itself, 0 deg, counts as sky); 84 deg and above is the zenith cap (144).
    """
    alt = np.asarray(altitude_deg, dtype=float)
    az = np.mod(np.asarray(azimuth_deg, dtype=float), 360.0)
    alt, az = np.broadcast_arrays(alt, az)
    out = np.full(alt.shape, -1, dtype=np.int64)
    ok = np.isfinite(alt) & np.isfinite(az) & (alt >= 0)
    band = np.minimum((np.where(ok, alt, 0) // TREGENZA_BAND_DEG).astype(np.int64), 7)
    counts = np.array(TREGENZA_COUNTS + (1,))
    n = counts[band]
    width = 360.0 / n
    j = np.floor((np.where(ok, az, 0) + width / 2) / width).astype(np.int64) % n
    idx = _BAND_START[band] + j
    out[ok] = idx[ok]
    return out


def hemisphere_directions(n: int, *, weighting: str = "cosine") -> tuple[np.ndarray, np.ndarray]:
    """``n`` evenly spread unit directions on the upper hemisphere (z up) with quadrature weights.

    ``weighting="cosine"`` (default) places the points with a cosine-weighted density (Vogel's
    sunflower spiral on the unit disc lifted to the hemisphere, Malley's method), so each
    direction carries the same weight ``1/n`` in the cosine-weighted integral that defines a view
    factor: ``view_factor = sum(weights * visible)``. ``weighting="uniform"`` spreads them evenly
    in solid angle (Fibonacci hemisphere) and returns weights proportional to ``cos(zenith)``,
    also summing to 1. Deterministic: the same ``n`` gives the same directions.

    Returns
    -------
    directions : (n, 3) float64
    weights : (n,) float64, summing to 1
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    golden = np.pi * (3.0 - np.sqrt(5.0))
    i = np.arange(n) + 0.5
    phi = i * golden
    if weighting == "cosine":
        r = np.sqrt(i / n)
        z = np.sqrt(1.0 - r * r)
        d = np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)
        w = np.full(n, 1.0 / n)
    elif weighting == "uniform":
        z = 1.0 - i / n
        r = np.sqrt(1.0 - z * z)
        d = np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)
        w = z / z.sum()
    else:
        raise ValueError(f"weighting must be 'cosine' or 'uniform', got {weighting!r}")
    return d, w
