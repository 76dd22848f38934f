"""Segmentation metrics: confusion matrix, per-class IoU and per-image class-share error.

Pure NumPy; shared by the training script, the evaluation command and the tests.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int, ignore_index: int | None = None
                     ) -> np.ndarray:
    """``(num_classes, num_classes)`` int64 counts, rows = true class, columns = predicted class.

    Pixels whose target equals ``ignore_index`` (or lies outside ``0..num_classes-1``) are skipped.
    """
    pred = np.asarray(pred).ravel().astype(np.int64)
    target = np.asarray(target).ravel().astype(np.int64)
    if pred.shape != target.shape:
        raise ValueError(f"prediction has {pred.size} pixels but target has {target.size}")
    keep = (target >= 0) & (target < num_classes)
    if ignore_index is not None:
        keep &= target != ignore_index
    pred = np.clip(pred[keep], 0, num_classes - 1)
    idx = target[keep] * num_classes + pred
    return np.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def iou_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class intersection over union; NaN for a class absent from both truth and prediction."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, tp / np.where(denom > 0, denom, 1), np.nan)


def class_share_pct(labels: np.ndarray, cls: int | tuple[int, ...], valid: np.ndarray | None = None) -> float:
    """Percentage of (valid) pixels whose label is in ``cls``."""
    labels = np.asarray(labels)
    hit = np.isin(labels, np.atleast_1d(cls))
    if valid is None:
        return float(100.0 * hit.mean()) if hit.size else float("nan")
    n = int(np.count_nonzero(valid))
    return float(100.0 * np.count_nonzero(hit & valid) / n) if n else float("nan")
