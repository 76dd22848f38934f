"""Calibrating the vegetation share: one logit offset chosen on held-out labelled frames.

The green view index users read is a share of pixels, so a segmenter that is systematically too
generous or too mean with vegetation at tree edges biases every figure. A single offset ``b`` added
to the vegetation logit before the arg-max (a per-class threshold shift; cf. Guo et al. 2017 on
post-hoc calibration, of which temperature scaling is the multiplicative form) moves the boundary.
:func:`choose_logit_offset` picks ``b`` on frames held out of training, never on the test split,
minimising the per-image mean absolute green-share error (ties: the smaller ``|b|``), and reports the
per-image mean signed error (bias) before and after.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: Offsets tried (logit units): -3 .. +3 in steps of 0.05. A wider shift would mean the model, not its
#: threshold, is wrong; the grid edges are reported as such.
DEFAULT_OFFSET_GRID = tuple(np.round(np.arange(-3.0, 3.0001, 0.05), 2))


def share_errors_pct(margins: Sequence[np.ndarray], truths: Sequence[np.ndarray], valids: Sequence[np.ndarray],
                     offset: float) -> np.ndarray:
    """Per-image predicted minus true vegetation share (percentage points) with ``offset`` added.

    ``margins``: per image, the vegetation logit minus the largest other logit (a pixel is vegetation
    when ``margin + offset > 0``); ``truths``: true vegetation masks; ``valids``: labelled pixels.
    """
    out = np.empty(len(margins))
    for i, (m, t, v) in enumerate(zip(margins, truths, valids)):
        n = max(1, int(np.count_nonzero(v)))
        pred = (np.asarray(m) + offset > 0) & v
        out[i] = 100.0 * (int(np.count_nonzero(pred)) - int(np.count_nonzero(np.asarray(t) & v))) / n
    return out


def vegetation_iou(margins, truths, valids, offset: float) -> float:
    """Vegetation IoU over all images with ``offset`` added (pooled intersection over pooled union)."""
    inter = union = 0
    for m, t, v in zip(margins, truths, valids):
        p = (np.asarray(m) + offset > 0) & v
        t = np.asarray(t) & v
        inter += int(np.count_nonzero(p & t))
        union += int(np.count_nonzero(p | t))
    return inter / union if union else float("nan")


def choose_logit_offset(margins, truths, valids, grid: Sequence[float] = DEFAULT_OFFSET_GRID) -> dict:
    """The vegetation logit offset minimising the per-image green-share MAE on the given frames.

    Returns ``offset`` and the MAE, bias and vegetation IoU before (offset 0) and after, plus
    ``at_grid_edge`` when the best offset is the smallest or largest tried.
    """
    if not len(margins):
        raise ValueError("no frames to calibrate on")
    grid = sorted(float(g) for g in grid)
    best, best_mae = 0.0, np.inf
    for g in sorted(grid, key=abs):  # ties go to the smaller shift
        mae = float(np.mean(np.abs(share_errors_pct(margins, truths, valids, g))))
        if mae < best_mae - 1e-9:
            best, best_mae = g, mae
    before = share_errors_pct(margins, truths, valids, 0.0)
    after = share_errors_pct(margins, truths, valids, best)
    return {
        "offset": round(best, 4),
        "criterion": "per-image green-share MAE",
        "images": len(margins),
        "mae_before_pct": round(float(np.mean(np.abs(before))), 3),
        "bias_before_pct": round(float(np.mean(before)), 3),
        "tree_iou_before": round(vegetation_iou(margins, truths, valids, 0.0), 4),
        "mae_after_pct": round(float(np.mean(np.abs(after))), 3),
        "bias_after_pct": round(float(np.mean(after)), 3),
        "tree_iou_after": round(vegetation_iou(margins, truths, valids, best), 4),
        "at_grid_edge": best in (grid[0], grid[-1]),
    }
