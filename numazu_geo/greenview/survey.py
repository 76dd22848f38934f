"""Batch green view over a folder of street photos: one GeoDataFrame row per image.

Position comes from EXIF GPS, heading from Google Photo Sphere XMP (``GPano:PoseHeadingDegrees``,
written by RICOH THETA, Insta360 and similar cameras) or else EXIF ``GPSImgDirection``, capture time
from EXIF ``DateTimeOriginal`` (+ ``OffsetTimeOriginal``). Images without GPS keep an empty geometry;
unreadable images are recorded in the ``error`` column and skipped.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from numazu_geo.errors import ImageError, SourceNotFoundError
from numazu_geo.greenview import panorama as pano

logger = logging.getLogger(__name__)

#: File name endings read by :func:`green_view_survey` when given a folder.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp")

# EXIF tag numbers (CIPA DC-008-2019, Exif 2.32)
_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_TAG_DATETIME = 0x0132
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_OFFSET_TIME_ORIGINAL = 0x9011
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
_GPS_ALT_REF, _GPS_ALT = 5, 6
_GPS_IMG_DIR = 17

_GPANO_FIELDS = (
    "ProjectionType", "PoseHeadingDegrees", "PosePitchDegrees", "PoseRollDegrees", "FullPanoWidthPixels",
    "FullPanoHeightPixels", "CroppedAreaImageWidthPixels", "CroppedAreaImageHeightPixels",
    "CroppedAreaLeftPixels", "CroppedAreaTopPixels",
)


@dataclass
class PhotoMetadata:
    """Position, time and orientation read from a photo's EXIF and XMP."""

    lat_deg: float | None = None
    lon_deg: float | None = None
    altitude_m: float | None = None
    captured_at: datetime | None = None
    utc_offset: str | None = None
    heading_deg: float | None = None
    gpano: dict = field(default_factory=dict)
    gps_error: str | None = None  # GPS tags present but unusable (malformed, out of range, 0/0)

    @property
    def has_position(self) -> bool:
        return self.lat_deg is not None and self.lon_deg is not None


def _rational(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError, ZeroDivisionError):
        num, den = v
        return float(num) / float(den)


def _dms_to_deg(dms, ref) -> float | None:
    try:
        parts = [_rational(x) for x in dms]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    while len(parts) < 3:
        parts.append(0.0)
    deg = parts[0] + parts[1] / 60.0 + parts[2] / 3600.0
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if str(ref).strip().upper() in ("S", "W"):
        deg = -deg
    return deg if np.isfinite(deg) else None


def parse_xmp_gpano(xmp: str | bytes) -> dict:
    """GPano fields from an XMP packet (attribute or element form), numbers as float."""
    if isinstance(xmp, bytes):
        xmp = xmp.decode("utf-8", "ignore")
    out: dict = {}
    for name in _GPANO_FIELDS:
        m = re.search(rf'GPano:{name}\s*=\s*["\']([^"\']*)["\']', xmp) or \
            re.search(rf"<GPano:{name}>\s*([^<]*?)\s*</GPano:{name}>", xmp)
        if not m:
            continue
        raw = m.group(1).strip()
        try:
            out[name] = float(raw)
        except ValueError:
            out[name] = raw
    return out


def _find_xmp(data: bytes) -> bytes | None:
    start = data.find(b"<x:xmpmeta")
    if start < 0:
        return None
    end = data.find(b"</x:xmpmeta>", start)
    return data[start:end + 12] if end > 0 else data[start:start + 65536]


def read_photo_metadata(source: str | os.PathLike | bytes) -> PhotoMetadata:
    """Read EXIF GPS / time and GPano XMP from an image file (path or its bytes).

    Missing or malformed tags give ``None`` fields, never an exception; an unreadable file raises
    :class:`~numazu_geo.errors.ImageError`.
    """
    import io

    from PIL import Image, UnidentifiedImageError

    name = "<bytes>" if isinstance(source, (bytes, bytearray)) else os.fspath(source)
    data = bytes(source) if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
    meta = PhotoMetadata()
    xmp = _find_xmp(data)
    if xmp:
        meta.gpano = parse_xmp_gpano(xmp)
    try:
        with Image.open(io.BytesIO(data)) as im:
            exif = im.getexif()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageError(name, f"not a readable image ({exc})") from exc
    try:
        gps = exif.get_ifd(_GPS_IFD) or {}
    except (KeyError, ValueError, TypeError, OSError):
        gps = {}
    if _GPS_LAT in gps and _GPS_LON in gps:
        lat = _dms_to_deg(gps[_GPS_LAT], gps.get(_GPS_LAT_REF, "N"))
        lon = _dms_to_deg(gps[_GPS_LON], gps.get(_GPS_LON_REF, "E"))
        if lat is None or lon is None:
            meta.gps_error = (f"malformed EXIF GPS position (latitude {gps.get(_GPS_LAT)!r}, "
                              f"longitude {gps.get(_GPS_LON)!r}); the photo has no location")
        elif not (-90 <= lat <= 90 and -180 <= lon <= 180):
            meta.gps_error = f"EXIF GPS position out of range ({lat:.6g}, {lon:.6g}); the photo has no location"
        elif (lat, lon) == (0, 0):
            meta.gps_error = "EXIF GPS position is 0, 0 (no fix); the photo has no location"
        else:
            meta.lat_deg, meta.lon_deg = lat, lon
    elif _GPS_LAT in gps or _GPS_LON in gps:
        meta.gps_error = "EXIF GPS has only one of latitude and longitude; the photo has no location"
    if meta.gps_error:
        logger.debug("%s: %s", name, meta.gps_error)
    if _GPS_ALT in gps:
        try:
            alt = _rational(gps[_GPS_ALT])
            ref = gps.get(_GPS_ALT_REF, 0)
            ref = ref[0] if isinstance(ref, bytes) and ref else ref
            meta.altitude_m = -alt if ref in (1, b"\x01") else alt
        except (TypeError, ValueError, ZeroDivisionError):
            pass
    if _GPS_IMG_DIR in gps:
        try:
            meta.heading_deg = _rational(gps[_GPS_IMG_DIR]) % 360.0
        except (TypeError, ValueError, ZeroDivisionError):
            pass
    heading = meta.gpano.get("PoseHeadingDegrees")
    if isinstance(heading, float) and np.isfinite(heading):
        meta.heading_deg = heading % 360.0  # GPano: compass bearing of the panorama centre
    try:
        sub = exif.get_ifd(_EXIF_IFD) or {}
    except (KeyError, ValueError, TypeError, OSError):
        sub = {}
    stamp = sub.get(_TAG_DATETIME_ORIGINAL) or exif.get(_TAG_DATETIME)
    if stamp:
        try:
            meta.captured_at = datetime.strptime(str(stamp).strip("\x00 ").strip(), "%Y:%m:%d %H:%M:%S")
        except ValueError:
            logger.debug("%s: unparsable EXIF time %r", name, stamp)
    off = sub.get(_TAG_OFFSET_TIME_ORIGINAL)
    if off and re.fullmatch(r"[+-]\d\d:\d\d", str(off).strip("\x00 ")):
        meta.utc_offset = str(off).strip("\x00 ")
    return meta


def list_images(folder_or_paths, *, recursive: bool = False) -> list[Path]:
    """Image files of a folder (sorted), or the given paths as a list."""
    if isinstance(folder_or_paths, (str, os.PathLike)):
        root = Path(folder_or_paths)
        if root.is_file():
            return [root]
        if not root.is_dir():
            raise SourceNotFoundError(f"{root}: no such folder or image")
        it = root.rglob("*") if recursive else root.iterdir()
        files = sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                       and not p.name.startswith("."))
        if not files:
            raise SourceNotFoundError(f"{root}: no images ({', '.join(IMAGE_SUFFIXES)})")
        return files
    return [Path(p) for p in folder_or_paths]


#: ``sky_view`` repeats ``sky_share`` under its old name for one release (deprecated; to be removed in 0.3).
_COLUMNS = ("path", "gvi", "sky_share", "building_view", "sky_view", "captured_at", "utc_offset", "heading_deg",
            "altitude_m", "projection", "width", "height", "n_views", "coverage_pct", "segmenter", "mask_path", "error",
            "warning")


def green_view_survey(folder_or_paths: str | os.PathLike | Iterable[str | os.PathLike], *, segmenter=None,
                      method: str | None = None, projection: str = "auto",
                      views: Sequence[pano.View] | None = None, band_deg: tuple[float, float] = pano.DEFAULT_BAND_DEG,
                      mask_dir: str | os.PathLike | None = None, recursive: bool = False, progress: bool = True):
    """Green view index of every image of a survey, as a GeoDataFrame of points (EPSG:4326).

    Parameters
    ----------
    folder_or_paths : a folder (its images, sorted by name), one image, or a list of paths.
    segmenter, method, projection, views, band_deg : as for :func:`green_view_index`.
    mask_dir : when given, a vegetation mask PNG ``<stem>_vegetation.png`` is written there per image.
    recursive : also read images in sub-folders.
    progress : show a tqdm progress bar.

    Returns
    -------
    GeoDataFrame with columns ``path, gvi, sky_share, building_view`` (percent; ``sky_view``, the
    deprecated old name of ``sky_share``, is still written for one release), ``captured_at`` (camera
    local time from EXIF), ``utc_offset``, ``heading_deg`` (compass bearing of the panorama centre),
    ``altitude_m``, ``projection``, ``width``, ``height``, ``n_views``, ``coverage_pct``, ``segmenter``,
    ``mask_path``, ``error`` (empty string when the image was analysed), ``warning`` (empty, or e.g.
    malformed EXIF GPS, an image too small for a meaningful index) and point ``geometry`` (lon, lat;
    empty without EXIF GPS). ``attrs["errors"]`` lists ``{"file", "error"}`` for skipped images,
    ``attrs["warnings"]`` ``{"file", "warning"}`` for analysed images with a caveat.
    """
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point
    from tqdm.auto import tqdm

    from numazu_geo.greenview.gvi import green_view_index, load_rgb, write_mask_png
    from numazu_geo.greenview.segmenters import get_segmenter

    files = list_images(folder_or_paths, recursive=recursive)
    seg = get_segmenter(segmenter, method=method)
    if mask_dir is not None:
        Path(mask_dir).mkdir(parents=True, exist_ok=True)
    rows, geoms, errors, warnings = [], [], [], []
    for path in tqdm(files, desc="green view", unit="img", disable=not progress):
        row = dict.fromkeys(_COLUMNS)
        row.update(path=str(path), error="", warning="", segmenter=seg.name)
        notes = []
        geom = None
        try:
            data = path.read_bytes()
            meta = read_photo_metadata(data)
            row.update(captured_at=meta.captured_at, utc_offset=meta.utc_offset, heading_deg=meta.heading_deg,
                       altitude_m=meta.altitude_m)
            if meta.has_position:
                geom = Point(meta.lon_deg, meta.lat_deg)
            if meta.gps_error:
                notes.append(meta.gps_error)
                logger.warning("%s: %s", path, meta.gps_error)
            proj = projection
            if proj == "auto" and str(meta.gpano.get("ProjectionType", "")).lower() == "equirectangular":
                proj = "equirectangular"
            rgb = load_rgb(data, name=str(path))
            if proj == "equirectangular" and not pano.is_equirectangular(rgb.shape):
                logger.warning("%s: GPano says equirectangular but the image is %dx%d (cropped panorama?); "
                               "treating it as a perspective photo", path, rgb.shape[1], rgb.shape[0])
                proj = "perspective"
            res = green_view_index(rgb, projection=proj, segmenter=seg, views=views, band_deg=band_deg)
            row.update(gvi=res.gvi, sky_share=res.sky_share, sky_view=res.sky_share,
                       building_view=res.building_view,
                       projection=res.projection, width=rgb.shape[1], height=rgb.shape[0], n_views=res.n_views,
                       coverage_pct=res.coverage_pct)
            if res.warning:
                notes.append(res.warning)
            if mask_dir is not None:
                row["mask_path"] = str(write_mask_png(res, Path(mask_dir) / f"{path.stem}_vegetation.png"))
        except (ImageError, OSError) as exc:
            msg = exc.reason if isinstance(exc, ImageError) else f"cannot read ({exc})"
            row["error"] = msg
            errors.append({"file": str(path), "error": msg})
            logger.warning("%s: skipped: %s", path, msg)
        if notes:
            row["warning"] = "; ".join(notes)
            warnings.append({"file": str(path), "warning": row["warning"]})
        rows.append(row)
        geoms.append(geom)
    df = pd.DataFrame(rows, columns=list(_COLUMNS))
    for col in ("gvi", "sky_share", "sky_view", "building_view", "heading_deg", "altitude_m", "coverage_pct"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in ("width", "height", "n_views"):
        df[col] = pd.array(df[col], dtype="Int64")
    df["captured_at"] = pd.to_datetime(df["captured_at"], errors="coerce")
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")
    gdf.attrs["errors"] = errors
    gdf.attrs["warnings"] = warnings
    gdf.attrs["segmenter"] = seg.name
    gdf.attrs["band_deg"] = list(band_deg)
    if hasattr(seg, "licence"):
        gdf.attrs["model_licence"] = seg.licence
    # what captions print: the photos are the user's; the vegetation comes from this segmenter (and its licence)
    from numazu_geo.provenance import run_date, software

    licence = f" ({seg.licence})" if getattr(seg, "licence", "") else ""
    gdf.attrs["provenance"] = {"data_credit": [f"緑視率 / GVI: {seg.name}{licence}"], "run_date": run_date(),
                               "software": software()}
    return gdf
