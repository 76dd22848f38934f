"""Green view index of one image: ``green_view_index(image) -> GreenViewResult``.

Three projections:

* ``"equirectangular"`` (chosen automatically for 2:1 images): the panorama is cut into perspective
  views (:data:`~numazu_geo.greenview.panorama.DEFAULT_VIEWS`), each view is segmented, the class maps
  are projected back onto the sphere and the index is the vegetation share of the *solid angle* within
  a latitude band (default -60..+90 deg, leaving out the nadir cap with the tripod or car).
* ``"treepedia"``: MIT Treepedia's protocol (6 headings at pitch 0, 60-degree FOV, plain pixel share
  over the views; Li et al. 2015), to compare with published numbers.
* ``"perspective"`` (any other image): plain pixel share of the photo.

All shares are percentages. The green view ratio of MLIT's 2005 survey treats about 25 % as the level
where people begin to feel "a lot of green" (see :data:`MLIT_LOT_OF_GREEN_PCT`).
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from numazu_geo.errors import ImageError
from numazu_geo.greenview import panorama as pano
from numazu_geo.greenview.segmenters import Segmenter, get_segmenter

#: MLIT press release of 12 Aug 2005 (survey of 22 Jul 2004): above about 25 % green view ratio people
#: begin to feel "a lot of green".
MLIT_LOT_OF_GREEN_PCT = 25.0

#: Rows of the equirectangular grid on which per-view class maps are combined (the mask is then
#: resized to the input). 512 rows = 0.35 deg per pixel, finer than the default views' 0.28..0.4 deg.
SPHERE_GRID_ROWS = 512

PROJECTIONS = ("auto", "equirectangular", "perspective", "treepedia")

#: Images smaller than this on a side get a warning with their index (numazu-geo choice): the
#: shipped network's output stride is 16 (LR-ASPP MobileNetV3, Howard et al. 2019), so such an image
#: is classified in at most 2x2 output cells and its index is close to all or nothing (a 1x1 image
#: gives exactly 0 or 100 %).
MIN_IMAGE_SIDE_PX = 32

logger = logging.getLogger(__name__)


@dataclass
class GreenViewResult:
    """Outcome of :func:`green_view_index`.

    ``gvi``, ``sky_share``, ``building_view`` are percentages of the image (or of the counted panorama
    band) covered by vegetation, sky and buildings (NaN when the segmenter has no such class).
    ``sky_share`` was called ``sky_view`` before 0.2; the old name still works for one release, with a
    ``DeprecationWarning``. It is a share of pixels, not the ray-cast ``sky_view_factor`` of
    :mod:`numazu_geo.solar` (a cosine-weighted hemisphere fraction of a surface).
    ``mask`` is the boolean vegetation mask at input resolution; ``labels`` the class map at input
    resolution (``-1`` where no view looked, e.g. the nadir cap with the default views);
    ``classes`` names the class ids.
    """

    gvi: float
    sky_share: float
    building_view: float
    mask: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    projection: str
    segmenter: str
    n_views: int = 1
    coverage_pct: float = 100.0
    band_deg: tuple[float, float] | None = None
    view_gvi: tuple[float, ...] = field(default_factory=tuple)
    source: str | None = None
    warning: str = ""  # e.g. the image is too small for a meaningful index

    @property
    def sky_view(self) -> float:
        """Deprecated name of :attr:`sky_share` (a pixel share, not the solar sky view factor)."""
        import warnings

        warnings.warn("GreenViewResult.sky_view is deprecated; use sky_share (a share of the image, not the "
                      "solar module's sky_view_factor)", DeprecationWarning, stacklevel=2)
        return self.sky_share

    @property
    def lot_of_green(self) -> bool:
        """True when ``gvi`` exceeds MLIT's 25 % "a lot of green" level."""
        return bool(self.gvi > MLIT_LOT_OF_GREEN_PCT)

    def as_dict(self) -> dict:
        """Scalar fields (no arrays), e.g. for a table row."""
        return {
            "gvi": self.gvi,
            "sky_share": self.sky_share,
            "building_view": self.building_view,
            "projection": self.projection,
            "segmenter": self.segmenter,
            "n_views": self.n_views,
            "coverage_pct": self.coverage_pct,
        }

    def __repr__(self) -> str:
        return (f"GreenViewResult(gvi={self.gvi:.1f}%, sky_share={self.sky_share:.1f}%, "
                f"building_view={self.building_view:.1f}%, projection={self.projection!r}, "
                f"segmenter={self.segmenter!r}, shape={self.mask.shape})")


# ------------------------------------------------------------------------------------------ input
def load_rgb(image, *, name: str | None = None) -> np.ndarray:
    """Return an ``(H, W, 3)`` uint8 RGB array from a path, bytes, a numpy array or a PIL image.

    EXIF orientation is applied. Raises :class:`~numazu_geo.errors.ImageError` naming the file when
    it cannot be decoded.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(image, (str, os.PathLike, bytes, bytearray)):
        label = name or (os.fspath(image) if isinstance(image, (str, os.PathLike)) else "<bytes>")
        try:
            src = io.BytesIO(image) if isinstance(image, (bytes, bytearray)) else open(image, "rb")
        except OSError as exc:
            raise ImageError(label, f"cannot open image ({exc.strerror or exc})") from exc
        try:
            with src, Image.open(src) as im:
                im.load()
                im = ImageOps.exif_transpose(im)
                return np.asarray(im.convert("RGB"))
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise ImageError(label, f"not a readable image ({exc})") from exc
    if hasattr(image, "convert") and hasattr(image, "size"):  # PIL image
        return np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    label = name or "<array>"
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ImageError(label, f"expected an (H, W, 3) RGB array, got shape {arr.shape}")
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ImageError(label, f"image is only {arr.shape[1]}x{arr.shape[0]} px: too small to segment")
    arr = arr[:, :, :3]
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if np.issubdtype(arr.dtype, np.floating):
        if np.nanmax(arr) <= 1.0 + 1e-6:
            arr = arr * 255.0
        return np.clip(np.nan_to_num(arr), 0, 255).round().astype(np.uint8)
    return np.clip(arr, 0, 255).astype(np.uint8)


def _share(labels: np.ndarray, ids: Sequence[int], valid: np.ndarray | None = None) -> float:
    if not len(ids):
        return float("nan")
    hit = np.isin(labels, np.asarray(ids))
    if valid is not None:
        n = int(valid.sum())
        return float(100.0 * np.count_nonzero(hit & valid) / n) if n else float("nan")
    return float(100.0 * hit.mean())


# ------------------------------------------------------------------------------------------ main
def green_view_index(image, *, projection: str = "auto", segmenter: Segmenter | str | os.PathLike | None = None,
                     method: str | None = None, views: Sequence[pano.View] | None = None,
                     band_deg: tuple[float, float] = pano.DEFAULT_BAND_DEG,
                     sphere_rows: int = SPHERE_GRID_ROWS) -> GreenViewResult:
    """Green view index (percent of the view covered by vegetation) of one photo or panorama.

    Parameters
    ----------
    image : path, bytes, ``(H, W, 3)`` RGB numpy array or PIL image.
    projection : ``"auto"`` (2:1 images are equirectangular panoramas, others perspective photos),
        ``"equirectangular"``, ``"perspective"`` or ``"treepedia"`` (needs a panorama).
    segmenter : a :class:`~numazu_geo.greenview.segmenters.Segmenter`, ``"exg"``, a ``.safetensors``
        path or a transformers checkpoint folder; default: the shipped CamVid model.
    method : ``"model"`` (default) or ``"exg"`` (Treepedia's colour index), when ``segmenter`` is None.
    views : perspective views for equirectangular mode (default ``panorama.DEFAULT_VIEWS``).
    band_deg : (lower, upper) latitude band in degrees counted in equirectangular mode.
    sphere_rows : rows of the equirectangular grid the view maps are combined on.

    Returns
    -------
    GreenViewResult

    References
    ----------
    Li X. et al. (2015) Assessing street-level urban greenery using Google Street View and a modified
    green view index. Urban Forestry & Urban Greening 14:675-685.
    """
    if projection not in PROJECTIONS:
        raise ValueError(f"projection must be one of {PROJECTIONS}, got {projection!r}")
    source = os.fspath(image) if isinstance(image, (str, os.PathLike)) else None
    rgb = load_rgb(image)
    seg = get_segmenter(segmenter, method=method)
    h, w = rgb.shape[:2]
    warning = ""
    if min(h, w) < MIN_IMAGE_SIDE_PX:
        warning = (f"image is only {w}x{h} px (under {MIN_IMAGE_SIDE_PX} px a side): the index rests on a few "
                   "pixels and is not meaningful")
        logger.warning("%s: %s", source or "<array>", warning)
    if projection == "auto":
        projection = "equirectangular" if pano.is_equirectangular(rgb.shape) else "perspective"
    if projection in ("equirectangular", "treepedia") and not pano.is_equirectangular(rgb.shape):
        raise ImageError(source or "<array>", f"{projection} mode needs a 2:1 equirectangular panorama, got {w}x{h}")

    if projection == "perspective":
        labels = np.asarray(seg.segment([rgb])[0])
        return GreenViewResult(
            gvi=_share(labels, seg.vegetation_ids), sky_share=_share(labels, seg.sky_ids),
            building_view=_share(labels, seg.building_ids), mask=np.isin(labels, seg.vegetation_ids),
            labels=labels.astype(np.int16), classes=tuple(seg.classes), projection="perspective",
            segmenter=seg.name, source=source, warning=warning)

    if projection == "treepedia":
        views = pano.TREEPEDIA_VIEWS
    views = tuple(views) if views is not None else pano.DEFAULT_VIEWS
    work = pano.shrink_for_views(rgb, views)
    view_imgs = pano.perspective_views(work, views)
    view_labels = [np.asarray(m) for m in seg.segment(view_imgs)]
    rows = int(min(h, sphere_rows))
    sphere = pano.views_to_equirect(view_labels, views, rows, 2 * rows)
    covered = sphere >= 0
    import cv2

    labels = cv2.resize(sphere, (w, h), interpolation=cv2.INTER_NEAREST) if (rows, 2 * rows) != (h, w) else sphere
    mask = np.isin(labels, seg.vegetation_ids)
    if projection == "treepedia":
        per_view = tuple(_share(m, seg.vegetation_ids) for m in view_labels)
        allpix = np.concatenate([m.ravel() for m in view_labels])
        return GreenViewResult(
            gvi=_share(allpix, seg.vegetation_ids), sky_share=_share(allpix, seg.sky_ids),
            building_view=_share(allpix, seg.building_ids), mask=mask, labels=labels, classes=tuple(seg.classes),
            projection="treepedia", segmenter=seg.name, n_views=len(views),
            coverage_pct=_coverage(covered, None), band_deg=None, view_gvi=per_view, source=source, warning=warning)

    weights = pano.band_row_weights(rows, band_deg)
    per_view = tuple(_share(m, seg.vegetation_ids) for m in view_labels)
    return GreenViewResult(
        gvi=pano.weighted_share_pct(sphere, seg.vegetation_ids, weights, covered) if seg.vegetation_ids else np.nan,
        sky_share=pano.weighted_share_pct(sphere, seg.sky_ids, weights, covered) if seg.sky_ids else np.nan,
        building_view=(pano.weighted_share_pct(sphere, seg.building_ids, weights, covered)
                       if seg.building_ids else np.nan),
        mask=mask, labels=labels, classes=tuple(seg.classes), projection="equirectangular", segmenter=seg.name,
        n_views=len(views), coverage_pct=_coverage(covered, weights), band_deg=tuple(band_deg), view_gvi=per_view,
        source=source, warning=warning)


def _coverage(covered: np.ndarray, weights: np.ndarray | None) -> float:
    """Percentage of the counted area (band, solid-angle weighted) that some view looked at."""
    rows = covered.shape[0]
    if weights is None:
        weights = pano.latitude_weights(rows)
    total = weights.sum() * covered.shape[1]
    return float(100.0 * (covered.sum(axis=1) * weights).sum() / total) if total > 0 else float("nan")


def write_mask_png(result: GreenViewResult, path: str | os.PathLike) -> Path:
    """Write the vegetation mask as an 8-bit PNG (255 = vegetation), atomically."""
    import cv2

    from numazu_geo.io import atomic_path

    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), result.mask.astype(np.uint8) * 255):
            raise ImageError(path, "cannot write mask PNG")
    return path
