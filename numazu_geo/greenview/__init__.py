"""numazu_geo.greenview: green view index (緑視率) from street photos and 360-degree panoramas.

>>> from numazu_geo.greenview import green_view_index, green_view_survey
>>> green_view_index("pano.jpg").gvi                      # doctest: +SKIP
>>> green_view_survey("photos/")                           # doctest: +SKIP

Modules: :mod:`.panorama` (projection geometry), :mod:`.segmenters` (backends), :mod:`.model`
(the shipped network), :mod:`.gvi` (one image), :mod:`.survey` (folders, EXIF/XMP), :mod:`.train`,
:mod:`.evaluate`. PyTorch is imported only when a model is used.
"""

from __future__ import annotations

from numazu_geo.extras import require as _require

_require("greenview")  # the core install has no PyTorch / OpenCV: name the extra to install

from numazu_geo.greenview.gvi import MLIT_LOT_OF_GREEN_PCT, GreenViewResult, green_view_index, load_rgb
from numazu_geo.greenview.panorama import (
    DEFAULT_BAND_DEG,
    DEFAULT_VIEWS,
    TREEPEDIA_VIEWS,
    View,
    is_equirectangular,
    make_views,
    perspective_views,
    views_to_equirect,
)
from numazu_geo.greenview.segmenters import (
    SEGMENTER_BACKENDS,
    ExGSegmenter,
    HFSegmenter,
    Segmenter,
    TorchSegmenter,
    get_segmenter,
    load_default_segmenter,
    map_label_groups,
    register_segmenter,
    shipped_models,
)
from numazu_geo.greenview.survey import PhotoMetadata, green_view_survey, read_photo_metadata

__all__ = [
    "SEGMENTER_BACKENDS",
    "register_segmenter",
    "shipped_models",
    "DEFAULT_BAND_DEG",
    "DEFAULT_VIEWS",
    "ExGSegmenter",
    "GreenViewResult",
    "HFSegmenter",
    "MLIT_LOT_OF_GREEN_PCT",
    "PhotoMetadata",
    "Segmenter",
    "TREEPEDIA_VIEWS",
    "TorchSegmenter",
    "View",
    "get_segmenter",
    "green_view_index",
    "green_view_survey",
    "is_equirectangular",
    "load_default_segmenter",
    "load_rgb",
    "make_views",
    "map_label_groups",
    "perspective_views",
    "read_photo_metadata",
    "views_to_equirect",
]
