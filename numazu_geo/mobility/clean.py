"""Clean GPS fixes: bad accuracy, out-of-order and duplicate times, impossible speeds (GPS jumps).

Works on one track's fixes at a time (times in seconds, positions in a metric CRS) and returns a
boolean mask of the fixes to keep plus the count of each reason a fix was dropped, so the
caller's report accounts for every point.

Out-of-order fixes are those outside the longest time-ordered run of the file (so one fix stamped
far in the future drops that fix, not all that follow); duplicates are repeated times within it
(the first is kept). A GPS jump is a fix reached faster than
:attr:`~numazu_geo.mobility.Thresholds.max_plausible_speed_kmh` from the previous kept fix.
"""

from __future__ import annotations

import bisect

import numpy as np

from numazu_geo.mobility.thresholds import Thresholds

DROP_REASONS = ("bad_accuracy", "out_of_order", "duplicate", "impossible_speed")


def _longest_ordered(t: np.ndarray) -> np.ndarray:
    """Indices of the longest non-decreasing subsequence of ``t`` (patience sorting, O(n log n))."""
    tails: list = []  # tails[k] = smallest tail value of a run of length k+1
    tail_idx: list[int] = []
    prev = np.full(len(t), -1, dtype=np.int64)
    for i, v in enumerate(t):
        k = bisect.bisect_right(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_idx.append(i)
        else:
            tails[k] = v
            tail_idx[k] = i
        prev[i] = tail_idx[k - 1] if k > 0 else -1
    out = []
    i = tail_idx[-1] if tail_idx else -1
    while i >= 0:
        out.append(i)
        i = prev[i]
    return np.asarray(out[::-1], dtype=np.int64)


def _speed_ok(t, x, y, i, j, vmax) -> bool:
    dt = t[j] - t[i]
    return dt > 0 and np.hypot(x[j] - x[i], y[j] - y[i]) / dt <= vmax


def clean_fixes(t_s: np.ndarray, x_m: np.ndarray, y_m: np.ndarray, accuracy_m=None, hdop=None,
                params: Thresholds | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """Mask of fixes to keep (in the given order) and ``{reason: count}`` of the dropped ones.

    ``t_s`` seconds (any origin), ``x_m``/``y_m`` metres in a projected CRS, in file order.
    """
    p = params or Thresholds.default()
    n = len(t_s)
    keep = np.ones(n, dtype=bool)
    counts = dict.fromkeys(DROP_REASONS, 0)
    if n == 0:
        return keep, counts
    bad = np.zeros(n, dtype=bool)
    if accuracy_m is not None:
        acc = np.asarray(accuracy_m, dtype=float)
        bad |= np.isfinite(acc) & (acc > p.max_accuracy_m)
    if hdop is not None:
        h = np.asarray(hdop, dtype=float)
        bad |= np.isfinite(h) & (h > p.max_hdop)
    keep &= ~bad
    counts["bad_accuracy"] = int(bad.sum())

    idx = np.flatnonzero(keep)
    ordered = idx[_longest_ordered(t_s[idx])] if len(idx) else idx
    counts["out_of_order"] = int(len(idx) - len(ordered))
    dup = np.zeros(len(ordered), dtype=bool)
    if len(ordered) > 1:
        dup[1:] = np.diff(t_s[ordered]) == 0
    counts["duplicate"] = int(dup.sum())
    ordered = ordered[~dup]

    vmax = p.max_plausible_speed_kmh / 3.6
    # anchor: the first fix from which the next two are reachable (so a jump at the start is not the anchor)
    anchor = 0
    while anchor < len(ordered) - 2 and not (
        _speed_ok(t_s, x_m, y_m, ordered[anchor], ordered[anchor + 1], vmax)
        and _speed_ok(t_s, x_m, y_m, ordered[anchor], ordered[anchor + 2], vmax)
    ):
        anchor += 1
    if anchor >= len(ordered) - 2:
        anchor = 0  # too short to tell: keep the first fix as anchor
    rest = ordered[anchor:]
    kept = [int(rest[0])] if len(rest) else []
    jumps = anchor
    p_ = 1
    while p_ < len(rest):
        if not _speed_ok(t_s, x_m, y_m, kept[-1], rest[p_], vmax):
            jumps += 1  # a jump: dropped; the next fix is checked against the last kept one
            p_ += 1
            continue
        # fast-forward: from this fix on, keep every fix up to the next implausible step
        tail = rest[p_:]
        step = np.hypot(np.diff(x_m[tail]), np.diff(y_m[tail])) / np.diff(t_s[tail])
        bad = np.flatnonzero(step > vmax)
        stop = int(bad[0]) + 1 if len(bad) else len(tail)
        kept.extend(int(i) for i in tail[:stop])
        p_ += stop
    counts["impossible_speed"] = int(jumps)
    keep = np.zeros(n, dtype=bool)
    keep[np.asarray(kept, dtype=np.int64)] = True
    assert int(keep.sum()) + sum(counts.values()) == n
    return keep, counts
