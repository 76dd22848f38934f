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

from pathlib import Path
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


def size_key(input_size) -> str:
    """``"HxW"``: the key of a network input size in ``calibration["by_input_size"]``."""
    h, w = (int(v) for v in input_size)
    return f"{h}x{w}"


def logit_offsets_for(meta: dict, input_size) -> dict[int, float]:
    """The vegetation logit offsets a model's metadata gives for a network input size: the offsets
    fitted at that size on held-out frames (``calibration["by_input_size"]``) when there are some,
    else the ones fitted at the model's own input size."""
    cal = meta.get("calibration") or {}
    entry = (cal.get("by_input_size") or {}).get(size_key(input_size)) or cal
    return {int(k): float(v) for k, v in (entry.get("logit_offsets") or {}).items()}


def calibrate_at_size(name_or_path, data_dir, input_size, *, threads: int | None = None) -> dict:
    """Fit the vegetation logit offset of a shipped (or user) model at another network input size, on the
    held-out training sequence the model was selected and calibrated on (never the test split), and
    record it in the model's metadata under ``calibration["by_input_size"]["HxW"]`` (the card is
    regenerated). A smaller input sees fewer thin branches and sky gaps, so it needs its own offset.
    """
    import torch

    from numazu_geo.greenview import model as gm
    from numazu_geo.greenview.train import load_frames, vegetation_margins

    if threads:
        torch.set_num_threads(int(threads))
    net, meta = gm.load_network(name_or_path)
    held = (meta.get("training_data") or {}).get("held_out", "")
    if not held.startswith("hold_"):
        raise SystemExit(f"{meta.get('name')}: the model held no training sequence out, so it has no frames to "
                         "calibrate on that it never trained on")
    frames = load_frames(Path(data_dir), list(meta["training_data"]["splits"]), hold_out=held.removeprefix("hold_"))
    margins, truths, valids = vegetation_margins(
        net, frames.eval_images, frames.eval_labels, input_hw=tuple(int(v) for v in input_size),
        mean=meta["mean"], std=meta["std"], vegetation_class=gm.CAMVID_TREE, ignore_index=gm.CAMVID_IGNORE_INDEX)
    cal = choose_logit_offset(margins, truths, valids)
    cal.update(logit_offsets={str(gm.CAMVID_TREE): cal["offset"]}, chosen_on=held)
    meta.setdefault("calibration", {}).setdefault("by_input_size", {})[size_key(input_size)] = cal
    gm.write_metadata(meta, gm.weights_paths(name_or_path)[1])
    return cal


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m numazu_geo.greenview.calibration",
                                description="Fit a model's vegetation logit offset at another input size on its "
                                            "held-out training sequence, and record it in its metadata.")
    p.add_argument("--model", default=None, help="shipped model name or .safetensors path (default: the default)")
    p.add_argument("--data", required=True, help="CamVid folder ({train,val}/{images,labels})")
    p.add_argument("--input-size", type=int, nargs=2, required=True, metavar=("H", "W"))
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    cal = calibrate_at_size(args.model, args.data, args.input_size, threads=args.threads)
    print(f"offset {cal['offset']:+.2f} on {cal['chosen_on']} ({cal['images']} frames) at "
          f"{size_key(args.input_size)}: MAE {cal['mae_before_pct']:.2f} -> {cal['mae_after_pct']:.2f} points, "
          f"bias {cal['bias_before_pct']:+.2f} -> {cal['bias_after_pct']:+.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
