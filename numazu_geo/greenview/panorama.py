"""Panorama geometry: equirectangular detection, perspective views, back-projection, solid-angle shares.

Conventions (shared by every function here):

* An equirectangular panorama of ``H x W`` pixels (``W = 2 H``) spans longitude -180..180 deg from
  the left edge to the right edge and latitude +90 (zenith, top row) .. -90 (nadir, bottom row).
  Pixel ``(row i, column j)`` has its centre at ``lon = (j + 0.5) / W * 360 - 180`` and
  ``lat = 90 - (i + 0.5) / H * 180``. The image centre (lon 0) is the camera's forward direction;
  with Google Photo Sphere XMP, ``GPano:PoseHeadingDegrees`` gives its compass bearing.
* A view's ``heading_deg`` is measured clockwise from the panorama centre (same sense as azimuth,
  0 = forward), ``pitch_deg`` upward from the horizon, ``fov_deg`` is the horizontal field of view
  of a pinhole camera with square pixels.
* Directions are unit vectors ``(x right, y up, z forward)``.

Each row of an equirectangular image covers a solid angle proportional to ``cos(latitude)``
(Snyder 1987, *Map Projections: A Working Manual*, USGS PP 1395, ch. 12), so shares of the field of
view are computed with ``cos(lat)`` weights; a plain pixel count over-weights zenith and nadir.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

#: Relative tolerance on the 2:1 aspect ratio for ``projection="auto"`` to treat an image as equirectangular.
EQUIRECT_ASPECT_TOLERANCE = 0.01

#: Default vertical band of the green view index, degrees of latitude (lower, upper). The lower limit
#: leaves out the 30-degree nadir cap (6.7 % of the sphere) where the tripod, the car roof or the
#: photographer sits; the value is this project's choice (Treepedia's views, pitch 0 and 60-degree
#: FOV, reach about -40 deg at their corners; Li et al. 2015).
DEFAULT_BAND_DEG = (-60.0, 90.0)

#: Treepedia protocol (Li et al. 2015, Urban Forestry & Urban Greening 14:675-685; MIT Treepedia
#: public code): 6 headings 0..300 step 60, pitch 0, FOV 60 deg, 400 x 400 views, plain pixel share.
TREEPEDIA_HEADINGS_DEG = (0.0, 60.0, 120.0, 180.0, 240.0, 300.0)
TREEPEDIA_FOV_DEG = 60.0
TREEPEDIA_VIEW_PX = 400


@dataclass(frozen=True)
class View:
    """A pinhole perspective view cut from a panorama."""

    heading_deg: float = 0.0
    pitch_deg: float = 0.0
    fov_deg: float = 90.0
    height: int = 240
    width: int = 320

    @property
    def focal_px(self) -> float:
        return 0.5 * self.width / math.tan(math.radians(self.fov_deg) / 2.0)

    @property
    def vfov_deg(self) -> float:
        return math.degrees(2.0 * math.atan(0.5 * self.height / self.focal_px))

    def rotation(self) -> np.ndarray:
        """3x3 matrix taking camera coordinates (right, up, forward) to panorama coordinates."""
        return _rotation(self.heading_deg, self.pitch_deg)


def _rotation(heading_deg: float, pitch_deg: float) -> np.ndarray:
    h = math.radians(heading_deg)
    p = math.radians(pitch_deg)
    # pitch: rotate about the x (right) axis, forward towards up
    rp = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]], np.float64)
    # heading: rotate about the y (up) axis, forward towards right (clockwise seen from above)
    rh = np.array([[math.cos(h), 0, math.sin(h)], [0, 1, 0], [-math.sin(h), 0, math.cos(h)]], np.float64)
    return rh @ rp


def _ring(n: int, pitch: float, fov: float, h: int = 240, w: int = 320, offset: float = 0.0) -> tuple[View, ...]:
    return tuple(View(offset + k * 360.0 / n, float(pitch), float(fov), h, w) for k in range(n))


#: Default views for equirectangular panoramas: 18 views, focal length about 220 px, i.e. objects appear
#: at about the scale the shipped model was trained on (CamVid frames at 240 x 320 px with a field of view
#: of roughly 60 deg, rescaled 0.55-1.0x in training): 6 views of 240 x 320 px at the horizon (FOV 72 deg,
#: every 60 deg), 5 tilted up 45 deg (every 72 deg), one 320 x 320 px view of the zenith and 6 tilted down
#: 40 deg; together they see every direction of the default band (-60..+90 deg). 1.41 Mpx per panorama,
#: chosen for >= 2 panoramas/s at 2048 x 1024 on 2 CPU cores with the first models (the default model's
#: network input per view sets the speed: see its card). Wider 90-deg views (fewer pixels) shrink
#: street objects below the training scale and over-count vegetation (see benchmarks/RESULTS.md).
DEFAULT_VIEWS = (
    _ring(6, 0.0, 72.0)
    + _ring(5, 45.0, 72.0, offset=36.0)
    + (View(0.0, 90.0, 72.0, 320, 320),)
    + _ring(6, -40.0, 72.0, offset=30.0)
)

#: The Treepedia-compatible views.
TREEPEDIA_VIEWS = tuple(View(h, 0.0, TREEPEDIA_FOV_DEG, TREEPEDIA_VIEW_PX, TREEPEDIA_VIEW_PX) for h in TREEPEDIA_HEADINGS_DEG)


def make_views(headings_deg: Sequence[float], pitches_deg: Sequence[float] = (0.0,), *, fov_deg: float = 90.0,
               size: tuple[int, int] = (240, 320)) -> tuple[View, ...]:
    """Every heading x pitch combination, each ``size = (height, width)`` pixels."""
    return tuple(View(float(h), float(p), float(fov_deg), int(size[0]), int(size[1]))
                 for p in pitches_deg for h in headings_deg)


def is_equirectangular(shape: Sequence[int], tolerance: float = EQUIRECT_ASPECT_TOLERANCE) -> bool:
    """True when an image of ``shape`` (height, width, ...) has the 2:1 aspect of a full panorama."""
    h, w = int(shape[0]), int(shape[1])
    return h > 0 and abs(w / h - 2.0) <= 2.0 * tolerance


# --------------------------------------------------------------------------------------- directions
def equirect_latlon_deg(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Latitude (per row, shape (H,)) and longitude (per column, shape (W,)) of pixel centres, degrees."""
    lat = 90.0 - (np.arange(height) + 0.5) * (180.0 / height)
    lon = (np.arange(width) + 0.5) * (360.0 / width) - 180.0
    return lat, lon


def latlon_to_dir(lat_deg, lon_deg) -> np.ndarray:
    """Unit direction vectors (..., 3) for latitude / longitude in degrees."""
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    c = np.cos(lat)
    return np.stack(np.broadcast_arrays(c * np.sin(lon), np.sin(lat), c * np.cos(lon)), axis=-1)


def dir_to_latlon(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude in degrees of direction vectors (..., 3) (need not be unit length)."""
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    lat = np.degrees(np.arctan2(y, np.hypot(x, z)))
    lon = np.degrees(np.arctan2(x, z))
    return lat, lon


def view_pixel_dirs(view: View) -> np.ndarray:
    """Panorama-frame direction of every pixel centre of ``view``, shape (height, width, 3)."""
    f = view.focal_px
    u = (np.arange(view.width) + 0.5 - view.width / 2.0) / f
    v = (view.height / 2.0 - (np.arange(view.height) + 0.5)) / f
    uu, vv = np.meshgrid(u, v)
    cam = np.stack([uu, vv, np.ones_like(uu)], axis=-1)
    cam /= np.linalg.norm(cam, axis=-1, keepdims=True)
    return cam @ view.rotation().T


# --------------------------------------------------------------------------- panorama -> perspective
@functools.lru_cache(maxsize=16)
def _remap_tables(pano_h: int, pano_w: int, views: tuple[View, ...]) -> tuple[np.ndarray, np.ndarray]:
    maps_x, maps_y = [], []
    for view in views:
        lat, lon = dir_to_latlon(view_pixel_dirs(view))
        col = (lon + 180.0) / 360.0 * pano_w - 0.5
        row = (90.0 - lat) / 180.0 * pano_h - 0.5
        maps_x.append(np.mod(col, pano_w).astype(np.float32))  # wrap at the +-180 deg seam
        maps_y.append(np.clip(row, 0.0, pano_h - 1.0).astype(np.float32))
    return np.concatenate(maps_x, axis=0), np.concatenate(maps_y, axis=0)


def perspective_views(pano: np.ndarray, views: Sequence[View] = DEFAULT_VIEWS, *, interpolation: str = "linear"
                      ) -> list[np.ndarray]:
    """Cut perspective views from an equirectangular panorama with :func:`cv2.remap`.

    ``pano`` is ``(H, W)`` or ``(H, W, C)``; the seam at +-180 degrees wraps around. Returns one array per
    view of shape ``(view.height, view.width[, C])``. ``interpolation`` is ``"linear"`` (images) or
    ``"nearest"`` (label maps).
    """
    import cv2

    views = tuple(views)
    if not views:
        return []
    pano = np.ascontiguousarray(pano)
    h, w = pano.shape[:2]
    map_x, map_y = _remap_tables(h, w, views)
    # one extra column (a copy of the first) lets bilinear sampling cross the seam
    ext = np.concatenate([pano, pano[:, :1]], axis=1)
    flag = cv2.INTER_NEAREST if interpolation == "nearest" else cv2.INTER_LINEAR
    if ext.dtype == np.bool_:
        ext = ext.astype(np.uint8)
    out = cv2.remap(ext, map_x, map_y, flag, borderMode=cv2.BORDER_REPLICATE)
    if pano.dtype == np.bool_:
        out = out.astype(bool)
    result, top = [], 0
    for view in views:
        result.append(out[top:top + view.height])
        top += view.height
    return result


def shrink_for_views(pano: np.ndarray, views: Sequence[View], oversample: float = 1.5) -> np.ndarray:
    """Downscale a large panorama (area interpolation) so it has about ``oversample`` x the views' pixel density.

    Avoids aliasing when sampling 240 x 320 views from, say, a 5376 x 2688 camera panorama.
    """
    import cv2

    px_per_deg = max(v.focal_px * math.radians(1.0) for v in views)
    target_w = int(math.ceil(360.0 * px_per_deg * oversample / 2.0)) * 2
    h, w = pano.shape[:2]
    if w <= target_w:
        return pano
    return cv2.resize(pano, (target_w, target_w // 2), interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------- perspective -> panorama
#: Preference for level views in back-projection: a view's score for a pixel is the cosine of the pixel's
#: angle from the optical axis minus ``TILT_PENALTY * |sin(pitch)|``, so where a level view sees a pixel
#: it always wins. This project's choice: CamVid-trained models over-count vegetation in tilted views.
TILT_PENALTY = 2.0


@dataclass(frozen=True)
class BackProjection:
    """For every pixel of an equirectangular grid: which view sees it (``-1`` none) and where."""

    view_index: np.ndarray  # (H, W) int16
    row: np.ndarray  # (H, W) int32 row inside that view
    col: np.ndarray  # (H, W) int32 column inside that view

    @property
    def covered(self) -> np.ndarray:
        return self.view_index >= 0


@functools.lru_cache(maxsize=16)
def back_projection(height: int, width: int, views: tuple[View, ...]) -> BackProjection:
    """Assign each pixel of an ``height x width`` equirectangular grid to one of the views that see it.

    Where views overlap, the least tilted view wins (street-scene models are trained on level cameras, and
    tilted views show converging verticals they have not seen; see :data:`TILT_PENALTY`); among equally
    tilted views, the one whose optical axis is closest to the pixel's direction (least perspective
    stretch). Pixels seen by no view get ``view_index = -1``.
    """
    lat, lon = equirect_latlon_deg(height, width)
    d = latlon_to_dir(lat[:, None], lon[None, :]).astype(np.float64)
    best = np.full((height, width), -np.inf)
    vidx = np.full((height, width), -1, np.int16)
    rows = np.zeros((height, width), np.int32)
    cols = np.zeros((height, width), np.int32)
    for k, view in enumerate(views):
        cam = d @ view.rotation()  # panorama -> camera coordinates (rotation is orthonormal)
        fwd = cam[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = view.focal_px * cam[..., 0] / fwd + view.width / 2.0
            v = view.height / 2.0 - view.focal_px * cam[..., 1] / fwd
        inside = (fwd > 1e-9) & (u >= 0) & (u < view.width) & (v >= 0) & (v < view.height)
        score = fwd - TILT_PENALTY * abs(math.sin(math.radians(view.pitch_deg)))
        take = inside & (score > best)
        best[take] = score[take]
        vidx[take] = k
        rows[take] = np.floor(v[take]).astype(np.int32)
        cols[take] = np.floor(u[take]).astype(np.int32)
    return BackProjection(vidx, rows, cols)


def views_to_equirect(view_maps: Sequence[np.ndarray], views: Sequence[View], height: int, width: int,
                      fill: int = -1) -> np.ndarray:
    """Back-project per-view class maps onto an ``height x width`` equirectangular grid.

    Returns an int16 label map; pixels seen by no view get ``fill``.
    """
    views = tuple(views)
    if len(view_maps) != len(views):
        raise ValueError(f"{len(view_maps)} view maps for {len(views)} views")
    bp = back_projection(int(height), int(width), views)
    out = np.full((height, width), fill, np.int16)
    cov = bp.covered
    k = bp.view_index[cov]
    r = bp.row[cov]
    c = bp.col[cov]
    vals = np.empty(k.shape, np.int16)
    for i, m in enumerate(view_maps):
        sel = k == i
        if np.any(sel):
            vals[sel] = np.asarray(m)[r[sel], c[sel]]
    out[cov] = vals
    return out


def equirect_from_view(image: np.ndarray, view: View, height: int, width: int, *, fill=0,
                       interpolation: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """Paint a perspective image (the pinhole ``view``) into an ``height x width`` equirectangular canvas.

    Returns ``(canvas, covered)``: the canvas (``fill`` where the view does not reach) and a boolean
    mask of the pixels the view covers. Sub-pixel sampling with :func:`cv2.remap`
    (``"linear"`` for photos, ``"nearest"`` for label maps).
    """
    import cv2

    lat, lon = equirect_latlon_deg(height, width)
    cam = latlon_to_dir(lat[:, None], lon[None, :]) @ view.rotation()
    fwd = cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = view.focal_px * cam[..., 0] / fwd + view.width / 2.0
        v = view.height / 2.0 - view.focal_px * cam[..., 1] / fwd
    covered = (fwd > 1e-9) & (u >= 0) & (u < view.width) & (v >= 0) & (v < view.height)
    map_x = np.where(covered, u - 0.5, -10).astype(np.float32)
    map_y = np.where(covered, v - 0.5, -10).astype(np.float32)
    flag = cv2.INTER_NEAREST if interpolation == "nearest" else cv2.INTER_LINEAR
    img = np.ascontiguousarray(image)
    canvas = cv2.remap(img, map_x, map_y, flag, borderMode=cv2.BORDER_REPLICATE)
    canvas[~covered] = fill
    return canvas, covered


# ------------------------------------------------------------------------------------------ shares
def latitude_weights(height: int) -> np.ndarray:
    """Solid angle (steradians) of one pixel of each row of an equirectangular image of ``2*height`` columns.

    Exact per row: ``dlon * (sin(lat_top) - sin(lat_bottom))``; sums to 4*pi over the whole image.
    """
    edges = np.radians(90.0 - np.arange(height + 1) * (180.0 / height))
    dlon = 2.0 * math.pi / (2 * height)
    return dlon * (np.sin(edges[:-1]) - np.sin(edges[1:]))


def band_row_weights(height: int, band_deg: tuple[float, float] = DEFAULT_BAND_DEG) -> np.ndarray:
    """Row weights (solid angle per pixel) restricted to latitudes within ``band_deg``; 0 outside.

    Rows cut by a band limit are weighted by the part of the row inside the band.
    """
    lo, hi = sorted(float(b) for b in band_deg)
    if not (-90.0 <= lo < hi <= 90.0):
        raise ValueError(f"band_deg must lie within -90..90 with lower < upper, got {band_deg}")
    top = 90.0 - np.arange(height) * (180.0 / height)
    bottom = top - 180.0 / height
    t = np.radians(np.minimum(top, hi))
    b = np.radians(np.maximum(bottom, lo))
    dlon = 2.0 * math.pi / (2 * height)
    return np.where(t > b, dlon * (np.sin(t) - np.sin(b)), 0.0)


def weighted_share_pct(labels: np.ndarray, classes: Sequence[int], row_weights: np.ndarray,
                       valid: np.ndarray | None = None) -> float:
    """Percentage of the weighted (valid) area whose label is in ``classes`` (NaN if nothing is valid).

    ``labels`` is an equirectangular ``(H, W)`` label map, ``row_weights`` has shape ``(H,)``.
    """
    labels = np.asarray(labels)
    if valid is None:
        valid = labels >= 0
    w = np.asarray(row_weights, np.float64)
    total = (valid.sum(axis=1) * w).sum()
    if total <= 0 or not len(classes):
        return float("nan")
    hit = np.isin(labels, np.asarray(classes)) & valid
    return float(100.0 * (hit.sum(axis=1) * w).sum() / total)
