"""Evaluate segmenters on labelled street frames: per-class IoU, Tree IoU, per-image green-share error.

Usage::

    python -m numazu_geo.greenview.evaluate ../shared/data/camvid/test/images ../shared/data/camvid/test/labels

``LABELS`` holds one single-channel PNG per image (same file stem), pixel value = CamVid class index
(11 = unlabelled, ignored). The shipped model and the ExG colour baseline are scored side by side on
the same pixels (``--compare greenview_lraspp_mnv3_camvid`` adds the previous model). The green share
of an image is the percentage of its labelled pixels that are vegetation (CamVid class 5, Tree); its
error is reported as the mean absolute difference (MAE) and the mean signed difference (bias, predicted
minus true) in percentage points over images.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from numazu_geo.greenview.metrics import class_share_pct, confusion_matrix, iou_from_confusion
from numazu_geo.greenview.model import CAMVID_CLASSES, CAMVID_IGNORE_INDEX, CAMVID_TREE


def pair_images_labels(images_dir: str | Path, labels_dir: str | Path) -> list[tuple[Path, Path]]:
    """``(image, label)`` pairs matched by file stem; raises if none match."""
    from numazu_geo.errors import SourceNotFoundError

    images_dir, labels_dir = Path(images_dir), Path(labels_dir)
    for d in (images_dir, labels_dir):
        if not d.is_dir():
            raise SourceNotFoundError(f"{d}: no such folder")
    labels = {p.stem: p for p in labels_dir.iterdir() if p.suffix.lower() == ".png"}
    pairs = [(p, labels[p.stem]) for p in sorted(images_dir.iterdir())
             if p.suffix.lower() in {".jpg", ".jpeg", ".png"} and p.stem in labels]
    if not pairs:
        raise SourceNotFoundError(f"{images_dir}: no image has a label PNG of the same name in {labels_dir}")
    return pairs


def evaluate_segmenter(segmenter, pairs, *, tree_class: int = CAMVID_TREE, ignore_index: int = CAMVID_IGNORE_INDEX,
                       num_classes: int = len(CAMVID_CLASSES), progress: bool = False) -> dict:
    """Score one segmenter on ``(image, label)`` pairs.

    For a segmenter with the CamVid classes, per-class IoU over all classes; for any other segmenter,
    only vegetation vs. the rest (its ``vegetation_ids``) against the label's ``tree_class``.
    """
    import cv2
    from tqdm.auto import tqdm

    from numazu_geo.greenview.gvi import load_rgb

    camvid = tuple(getattr(segmenter, "classes", ())) == tuple(CAMVID_CLASSES)
    n = num_classes if camvid else 2
    cm = np.zeros((n, n), np.int64)
    errors, shares = [], []
    t0 = time.perf_counter()
    for img_path, lab_path in tqdm(pairs, desc=segmenter.name, disable=not progress):
        rgb = load_rgb(img_path)
        lab = cv2.imread(str(lab_path), cv2.IMREAD_UNCHANGED)
        if lab is None:
            raise FileNotFoundError(f"{lab_path}: cannot read label PNG")
        if lab.shape[:2] != rgb.shape[:2]:
            lab = cv2.resize(lab, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
        pred = np.asarray(segmenter.segment([rgb])[0])
        valid = lab != ignore_index
        veg_pred = np.isin(pred, segmenter.vegetation_ids)
        if camvid:
            cm += confusion_matrix(pred, lab, n, ignore_index)
        else:
            cm += confusion_matrix(veg_pred.astype(np.int64), (lab == tree_class).astype(np.int64)
                                   + np.where(valid, 0, 99), n)
        truth = class_share_pct(lab, tree_class, valid)
        est = float(100.0 * np.count_nonzero(veg_pred & valid) / max(1, np.count_nonzero(valid)))
        errors.append(est - truth)
        shares.append((img_path.name, truth, est))
    seconds = time.perf_counter() - t0
    iou = iou_from_confusion(cm)
    err = np.asarray(errors)
    out = {
        "segmenter": segmenter.name,
        "images": len(pairs),
        "tree_iou": float(iou[tree_class] if camvid else iou[1]),
        "green_share_mae_pct": float(np.mean(np.abs(err))),
        "green_share_bias_pct": float(np.mean(err)),
        "green_share_max_abs_error_pct": float(np.max(np.abs(err))),
        "seconds_per_image": seconds / max(1, len(pairs)),
        "per_image": [{"image": a, "label_pct": round(b, 2), "predicted_pct": round(c, 2)} for a, b, c in shares],
    }
    if camvid:
        out["per_class_iou"] = {name: None if np.isnan(v) else float(v) for name, v in zip(CAMVID_CLASSES, iou)}
        out["miou"] = float(np.nanmean(iou))
        out["pixel_accuracy"] = float(np.trace(cm) / max(1, cm.sum()))
    return out


def evaluate_as_panorama(segmenter, pairs, *, fov_deg: float = 60.0, pano_rows: int = 1024,
                         tree_class: int = CAMVID_TREE, ignore_index: int = CAMVID_IGNORE_INDEX,
                         progress: bool = False) -> dict:
    """Paste each labelled frame into an otherwise grey equirectangular panorama and score the panorama path.

    The frame becomes a pinhole view of horizontal field of view ``fov_deg`` at heading 0, pitch 0
    (CamVid does not publish its lens; 60 deg is an assumption). The panorama then goes through
    :func:`green_view_index` with the default views, and the back-projected vegetation mask is compared
    with the label pasted the same way, on the frame's pixels only. Tests view cutting, scale change and
    back-projection end to end.
    """
    import cv2
    from tqdm.auto import tqdm

    from numazu_geo.greenview import panorama as pano
    from numazu_geo.greenview.gvi import green_view_index, load_rgb

    cm = np.zeros((2, 2), np.int64)
    errors = []
    for img_path, lab_path in tqdm(pairs, desc=f"{segmenter.name} as panorama", disable=not progress):
        rgb = load_rgb(img_path)
        lab = cv2.imread(str(lab_path), cv2.IMREAD_UNCHANGED)
        view = pano.View(0.0, 0.0, float(fov_deg), rgb.shape[0], rgb.shape[1])
        truth, cov = pano.equirect_from_view(lab, view, pano_rows, 2 * pano_rows, fill=ignore_index,
                                             interpolation="nearest")
        sphere, _ = pano.equirect_from_view(rgb, view, pano_rows, 2 * pano_rows, fill=128)
        res = green_view_index(sphere, segmenter=segmenter, projection="equirectangular")
        valid = cov & (truth != ignore_index)
        t = (truth == tree_class) & valid
        pr = res.mask & valid
        cm += confusion_matrix(pr[valid].astype(np.int64), t[valid].astype(np.int64), 2)
        errors.append(100.0 * (pr.sum() - t.sum()) / max(1, valid.sum()))
    iou = iou_from_confusion(cm)
    return {"segmenter": segmenter.name, "fov_deg": fov_deg, "images": len(pairs), "tree_iou": float(iou[1]),
            "green_share_mae_pct": float(np.mean(np.abs(errors))), "green_share_bias_pct": float(np.mean(errors))}


def format_report(results: list[dict]) -> str:
    """Side-by-side text table of :func:`evaluate_segmenter` results."""
    names = [r["segmenter"] for r in results]
    width = max(14, *(len(n) for n in names))
    lines = [f"{'':22s}" + "".join(f"{n:>{width + 2}s}" for n in names)]

    def row(label, values):
        cells = "".join(f"{'-' if v is None else format(v, '.3f'):>{width + 2}s}" if not isinstance(v, str)
                        else f"{v:>{width + 2}s}" for v in values)
        lines.append(f"{label:22s}{cells}")

    for cname in CAMVID_CLASSES:
        row(f"IoU {cname}", [r.get("per_class_iou", {}).get(cname) for r in results])
    row("mean IoU", [r.get("miou") for r in results])
    lines.append("-" * len(lines[0]))
    row("Tree IoU", [r["tree_iou"] for r in results])
    row("green share MAE (pt)", [r["green_share_mae_pct"] for r in results])
    row("green share bias (pt)", [r["green_share_bias_pct"] for r in results])
    row("seconds per image", [r["seconds_per_image"] for r in results])
    lines.append(f"images: {results[0]['images']}  (vegetation = CamVid class {CAMVID_TREE} 'tree'; "
                 "ExG has no class map, so only its vegetation IoU is shown)")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m numazu_geo.greenview.evaluate",
                                description="Score the default model beside other segmenters (the previous model, "
                                            "the ExG baseline...) on labelled frames.")
    p.add_argument("images", type=Path, help="folder of RGB frames")
    p.add_argument("labels", type=Path, help="folder of label PNGs (CamVid class indices, 11 = unlabelled)")
    p.add_argument("--model", default=None,
                   help="model to score: a shipped model name or a .safetensors path (default: the default model)")
    p.add_argument("--compare", nargs="*", default=(), metavar="SEGMENTER",
                   help="more segmenters scored beside it, as get_segmenter specs: a registered backend name, "
                        "'<backend>:<argument>' or a shipped model name (e.g. greenview_lraspp_mnv3_camvid)")
    p.add_argument("--input-size", type=int, nargs=2, default=None, metavar=("H", "W"),
                   help="network input size for the model (default: its own)")
    p.add_argument("--uncalibrated", action="store_true",
                   help="also score the model without its vegetation logit offset")
    p.add_argument("--tta", action="store_true", help="also score the model with horizontal-flip test-time augmentation")
    p.add_argument("--no-exg", action="store_true", help="skip the ExG baseline")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for PyTorch")
    p.add_argument("--as-panorama", type=float, default=None, metavar="FOV_DEG",
                   help="also score the panorama path: frames pasted into panoramas as views of this FOV")
    p.add_argument("--json", type=Path, default=None, help="write all figures to this JSON file")
    p.add_argument("--record-in-metadata", action="store_true",
                   help="store the model's figures under metrics[<split name>] in the weights' .json metadata "
                        "and regenerate the model card <name>.md from it")
    p.add_argument("--split-name", default="camvid_test", help="key used with --record-in-metadata")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from numazu_geo.greenview.segmenters import TorchSegmenter, get_segmenter

    pairs = pair_images_labels(args.images, args.labels)
    size = tuple(args.input_size) if args.input_size else None
    model = TorchSegmenter(args.model, threads=args.threads, input_size=size)
    segs = [model]
    if args.uncalibrated:
        raw = TorchSegmenter(args.model, input_size=size, calibrated=False)
        raw.name += " (uncalibrated)"
        segs.append(raw)
    if args.tta:
        tta = TorchSegmenter(args.model, tta=True, input_size=size)
        tta.name += "+flip"
        segs.append(tta)
    segs += [get_segmenter(spec) for spec in args.compare]
    if not args.no_exg and not any(s.name == "exg" for s in segs):
        segs.append(get_segmenter("exg"))
    results = [evaluate_segmenter(s, pairs, progress=True) for s in segs]
    print(format_report(results))
    pano_results = []
    if args.as_panorama:
        for seg in [model] + [s for s in segs[1:] if s.name == "exg"]:
            r = evaluate_as_panorama(seg, pairs, fov_deg=args.as_panorama, progress=True)
            print(f"as panorama (frames pasted as {r['fov_deg']:.0f}-deg views, default views back-projected) "
                  f"{r['segmenter']}: Tree IoU {r['tree_iou']:.3f}, green share MAE {r['green_share_mae_pct']:.2f} "
                  f"pt, bias {r['green_share_bias_pct']:+.2f} pt")
            pano_results.append(r)
    if args.json:
        from numazu_geo.io import write_text_atomic

        write_text_atomic(args.json, json.dumps({"frames": results, "as_panorama": pano_results}, indent=2) + "\n")
    if args.record_in_metadata:
        from numazu_geo.greenview.model import weights_paths, write_metadata

        _, meta_path = weights_paths(args.model)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        entry = {k: v for k, v in results[0].items() if k not in {"per_image", "segmenter"}}
        entry["images_dir"] = str(args.images)
        meta.setdefault("metrics", {})[args.split_name] = entry
        brief = ("tree_iou", "green_share_mae_pct", "green_share_bias_pct", "images")
        for seg, res in zip(segs, results):
            if seg.name == "exg":
                meta["metrics"][f"{args.split_name}_exg_baseline"] = {k: res[k] for k in brief}
        others = [dict({k: res.get(k) for k in brief + ("miou",)}, segmenter=seg.name)
                  for seg, res in zip(segs[1:], results[1:]) if seg.name != "exg" and "+flip" not in seg.name]
        if others:
            meta["metrics"][f"{args.split_name}_compared"] = others
        if pano_results:
            meta["metrics"][f"{args.split_name}_as_panorama"] = pano_results[0]
        if args.tta:
            flip = next(r for seg, r in zip(segs, results) if seg.name.endswith("+flip"))
            meta["metrics"][f"{args.split_name}_flip_tta"] = {
                k: flip[k] for k in ("tree_iou", "miou", "green_share_mae_pct", "green_share_bias_pct", "images")}
        _, card = write_metadata(meta, meta_path)
        print(f"recorded in {meta_path} and {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
