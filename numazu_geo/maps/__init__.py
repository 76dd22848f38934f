"""3D maps, offline HTML pages and report figures (pydeck / deck.gl and matplotlib).

>>> from numazu_geo import maps
>>> layer = maps.buildings_layer(buildings, color_by="kwh_m2_year", lang="ja")   # doctest: +SKIP
>>> maps.save_html(maps.view(layer, title="沼津駅周辺"), "map.html")              # doctest: +SKIP

``save_html`` writes one self-contained file (deck.gl inlined, no network requests) that opens
from a USB stick; ``figures`` has matplotlib helpers with Japanese-capable fonts.
"""

from numazu_geo.maps.colormaps import Legend, categorical_colors, colors_for, continuous_colors
from numazu_geo.maps.deck import (
    BASEMAPS,
    SAMPLE_ATTRIBUTION,
    MapDeck,
    fit_zoom,
    plateau_attribution,
    save_html,
    to_html,
    view,
)
from numazu_geo.maps.district import district_map
from numazu_geo.maps.shelters import shelter_map
from numazu_geo.maps.layers import (
    AnalysisLayer,
    building_heights_m,
    buildings_layer,
    green_view_layer,
    roofs_layer,
    trips_layer,
)

__all__ = [
    "AnalysisLayer", "BASEMAPS", "SAMPLE_ATTRIBUTION", "Legend", "MapDeck", "building_heights_m", "buildings_layer",
    "categorical_colors", "colors_for", "continuous_colors", "district_map", "fit_zoom", "green_view_layer",
    "plateau_attribution", "roofs_layer", "save_html", "shelter_map", "to_html", "trips_layer", "view",
]
