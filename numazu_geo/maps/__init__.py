"""3D maps, offline HTML pages and report figures (pydeck / deck.gl and matplotlib).

>>> from numazu_geo import maps
>>> layer = maps.buildings_layer(buildings, color_by="kwh_m2_year", lang="ja")   # doctest: +SKIP
>>> maps.save_html(maps.view(layer, title="沼津駅周辺"), "map.html")              # doctest: +SKIP

``save_html`` writes one self-contained file (deck.gl inlined, no network requests) that opens
from a USB stick; ``figures`` has matplotlib helpers with Japanese-capable fonts.
"""

from numazu_geo.maps.colormaps import Legend, categorical_colors, colors_for, continuous_colors
from numazu_geo.maps.credits import SAMPLE_ATTRIBUTION, caption, data_credits, place_name, provenance
from numazu_geo.maps.deck import (
    BASEMAPS,
    MapDeck,
    default_title,
    fit_zoom,
    plateau_attribution,
    save_html,
    save_png,
    to_html,
    view,
)
from numazu_geo.maps.district import district_map
from numazu_geo.maps.shelters import shelter_map
from numazu_geo.maps.layers import (
    AnalysisLayer,
    building_heights_m,
    buildings_layer,
    context_layer,
    green_view_layer,
    hazard_layer,
    hazard_layers,
    labels_layer,
    place_layers,
    roofs_layer,
    trips_layer,
)

__all__ = [
    "AnalysisLayer", "BASEMAPS", "SAMPLE_ATTRIBUTION", "Legend", "MapDeck", "building_heights_m", "buildings_layer",
    "caption", "categorical_colors", "colors_for", "context_layer", "continuous_colors", "data_credits",
    "default_title", "district_map", "fit_zoom", "green_view_layer", "hazard_layer", "hazard_layers", "labels_layer",
    "place_layers", "place_name", "plateau_attribution", "provenance", "roofs_layer", "save_html", "save_png", "shelter_map",
    "to_html", "trips_layer", "view",
]
