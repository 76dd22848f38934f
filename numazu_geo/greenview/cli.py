"""``numazu-geo greenview PHOTOS_DIR -o gvi.parquet``: green view index of every photo of a survey."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "greenview",
        help="green view index (緑視率) of street photos / 360-degree panoramas -> GeoParquet",
        description="Segment every photo of a folder and write one point per photo (EXIF GPS, EPSG:4326) with "
                    "the green view index, sky and building shares, capture time and heading.",
    )
    p.add_argument("photos", type=Path, help="folder of photos (JPEG/PNG/TIFF) or one photo")
    p.add_argument("-o", "--out", required=True,
                   help="output GeoParquet file, or a folder ending in '/' for green_view.parquet inside")
    try:  # the one registry of backends; without the [greenview] extra the run itself says what to install
        from numazu_geo.greenview.segmenters import SEGMENTER_BACKENDS
    except ImportError:
        SEGMENTER_BACKENDS = {}
    p.add_argument("--method", choices=tuple(SEGMENTER_BACKENDS) or None, default="model",
                   help="segmentation backend: " + "; ".join(f"'{k}': {v.description}"
                                                              for k, v in SEGMENTER_BACKENDS.items()))
    p.add_argument("--model", default=None,
                   help="argument of the backend: a shipped model name (e.g. greenview_lraspp_mnv3_camvid, the "
                        "previous default), a .safetensors file, or a folder with a transformers checkpoint "
                        "(needs pip install numazu-geo[hf])")
    p.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="network input per image or view for --method model (default: the model's own); "
                        "192 256 is the fast setting of the default model (its card gives both settings' figures)")
    p.add_argument("--projection", choices=("auto", "equirectangular", "perspective", "treepedia"), default="auto",
                   help="auto: 2:1 images are panoramas; treepedia: 6 views, pitch 0, FOV 60, plain pixel share")
    p.add_argument("--band", type=float, nargs=2, metavar=("LOWER", "UPPER"), default=None,
                   help="latitude band counted in panoramas, degrees (default -60 90: leaves out the nadir cap)")
    p.add_argument("--masks", type=Path, default=None, help="write vegetation mask PNGs to this folder")
    p.add_argument("--recursive", action="store_true", help="also read photos in sub-folders")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    import numpy as np

    from numazu_geo.errors import NumazuGeoError
    from numazu_geo.greenview import panorama
    from numazu_geo.greenview.survey import green_view_survey
    from numazu_geo.io import check_output, to_parquet

    out = check_output(args.out, default_name="green_view.parquet", formats=(".parquet",))  # before any work
    segmenter = (args.model if args.method == "model" else f"{args.method}:{args.model}") if args.model else args.method
    if args.input_size:
        if args.method != "model":
            raise NumazuGeoError(f"--input-size is for --method model, not {args.method}")
        from numazu_geo.greenview.segmenters import TorchSegmenter

        segmenter = TorchSegmenter(args.model, input_size=tuple(args.input_size))
    gdf = green_view_survey(
        args.photos,
        segmenter=segmenter,
        projection=args.projection,
        band_deg=tuple(args.band) if args.band else panorama.DEFAULT_BAND_DEG,
        mask_dir=args.masks,
        recursive=args.recursive,
        progress=not args.no_progress,
    )
    ok = gdf["error"] == ""
    if not ok.any():  # nothing analysed: a failure, and an existing output stays as it was
        errors = gdf.attrs.get("errors", [])
        first = f"{errors[0]['file']}: {errors[0]['error']}" if errors else "no photos"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise NumazuGeoError(f"none of the {len(gdf)} photos could be analysed, {out} not written: {first}{more}")
    to_parquet(gdf, out)
    located = ok & ~gdf.geometry.is_empty & gdf.geometry.notna()
    mean = float(np.nanmean(gdf.loc[ok, "gvi"]))
    print(f"{out}: {int(ok.sum())} of {len(gdf)} photos analysed ({int(located.sum())} with GPS), "
          f"mean green view index {mean:.1f} %")
    for err in gdf.attrs.get("errors", []):
        print(f"  skipped {err['file']}: {err['error']}")
    for warn in gdf.attrs.get("warnings", []):
        print(f"  note {warn['file']}: {warn['warning']}")
    return 0
