"""Green view throughput: panoramas per second at 2048 x 1024 with the default views.

Prints the shipped model beside the ExG colour baseline (Treepedia rules, with its mean-shift
filter) measured in the same run on the same panoramas, plus a stage breakdown for the model.

    python benchmarks/bench_greenview.py [--n 8] [--threads 2]

The panoramas are JPEG files built from CamVid test frames around the horizon (when ../shared is
present; otherwise a procedural street-like scene), decoded from disk as a survey would.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build_panorama(width: int = 2048, seed: int = 0) -> np.ndarray:
    """A 2:1 street-like panorama: CamVid frames on the horizon ring, sky above, road below."""
    import cv2

    h = width // 2
    rng = np.random.default_rng(seed)
    pano = np.empty((h, width, 3), np.uint8)
    pano[: h // 2] = (150, 185, 225)
    pano[h // 2:] = (90, 90, 95)
    frames_dir = REPO.parent / "shared" / "data" / "camvid" / "test" / "images"
    frames = sorted(frames_dir.glob("*.jpg")) if frames_dir.is_dir() else []
    band_h = h // 3
    top = h // 2 - band_h // 2
    n = 6
    for k in range(n):
        x0, x1 = k * width // n, (k + 1) * width // n
        if frames:
            f = frames[int(rng.integers(len(frames)))]
            img = cv2.imread(str(f))[:, :, ::-1]
            pano[top:top + band_h, x0:x1] = cv2.resize(img, (x1 - x0, band_h), interpolation=cv2.INTER_AREA)
        else:
            block = rng.integers(0, 255, (band_h // 8, (x1 - x0) // 8, 3), dtype=np.uint8)
            pano[top:top + band_h, x0:x1] = cv2.resize(block, (x1 - x0, band_h), interpolation=cv2.INTER_NEAREST)
    return pano


def time_survey(paths, segmenter, **kw) -> tuple[float, list[float]]:
    from numazu_geo.greenview import green_view_index

    t0 = time.perf_counter()
    gvis = [green_view_index(p, segmenter=segmenter, **kw).gvi for p in paths]
    return time.perf_counter() - t0, gvis


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=8, help="panoramas per method")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--width", type=int, default=2048)
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    from numazu_geo.greenview import DEFAULT_VIEWS, ExGSegmenter, TorchSegmenter, panorama

    tmp = Path(tempfile.mkdtemp(prefix="bench_gv_"))
    paths = []
    for i in range(args.n):
        p = tmp / f"pano_{i:02d}.jpg"
        cv2.imwrite(str(p), build_panorama(args.width, seed=i)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(p)
    model = TorchSegmenter(threads=args.threads)
    exg = ExGSegmenter()
    device = model.device
    print(f"numazu-geo green view benchmark: {args.n} panoramas {args.width}x{args.width // 2} (JPEG from disk), "
          f"{len(DEFAULT_VIEWS)} default views of {DEFAULT_VIEWS[0].height}x{DEFAULT_VIEWS[0].width} px, "
          f"torch threads {args.threads}, device {device}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs visible")
    time_survey(paths[:1], model)  # warm-up: tables, allocator
    time_survey(paths[:1], exg)
    t_model, g_model = time_survey(paths, model)
    t_exg, g_exg = time_survey(paths, exg)
    t_tree, _ = time_survey(paths, model, projection="treepedia")
    # stage breakdown for the model
    from numazu_geo.greenview.gvi import load_rgb

    rgb = load_rgb(paths[0])
    reps = 3
    t0 = time.perf_counter()
    for _ in range(reps):
        rgb = load_rgb(paths[0])
    t_decode = (time.perf_counter() - t0) / reps
    t0 = time.perf_counter()
    for _ in range(reps):
        views = panorama.perspective_views(rgb, DEFAULT_VIEWS)
    t_remap = (time.perf_counter() - t0) / reps
    t0 = time.perf_counter()
    for _ in range(reps):
        labels = model.segment(views)
    t_seg = (time.perf_counter() - t0) / reps
    t0 = time.perf_counter()
    for _ in range(reps):
        panorama.views_to_equirect(labels, DEFAULT_VIEWS, 512, 1024)
    t_back = (time.perf_counter() - t0) / reps

    pps_model = args.n / t_model
    pps_exg = args.n / t_exg
    print(f"{'method':34s}{'panoramas/s':>12s}{'s/panorama':>12s}{'mean GVI %':>12s}")
    print(f"{'model (' + model.name + ')':34s}{pps_model:12.2f}{t_model / args.n:12.3f}{np.mean(g_model):12.1f}")
    print(f"{'ExG baseline (Treepedia rules)':34s}{pps_exg:12.2f}{t_exg / args.n:12.3f}{np.mean(g_exg):12.1f}")
    print(f"{'model, treepedia mode (6 views)':34s}{args.n / t_tree:12.2f}{t_tree / args.n:12.3f}{'':>12s}")
    print(f"ratio model / ExG throughput: {pps_model / pps_exg:.2f}x")
    print(f"model stages per panorama: decode {t_decode * 1e3:.0f} ms, remap {t_remap * 1e3:.0f} ms, "
          f"segment {t_seg * 1e3:.0f} ms, back-project {t_back * 1e3:.0f} ms")
    target = 2.0
    print(f"target >= {target} panoramas/s: {'met' if pps_model >= target else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
