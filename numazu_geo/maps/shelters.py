"""Shelters coloured by hours of blackout autonomy over the district in grey (numazu_geo.energy)."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from numazu_geo.maps.deck import save_html, view
from numazu_geo.maps.layers import buildings_layer

_TITLE = {"ja": "避難所の停電時の自立時間（3D）", "en": "Shelter autonomy in a blackout (3D)"}
#: Grey of the context buildings around the shelters (display choice).
CONTEXT_RGB = (175, 180, 190)


def shelter_map(
    buildings: gpd.GeoDataFrame,
    shelters: pd.DataFrame,
    path: str | os.PathLike,
    *,
    color_by: str = "pv_battery_median_h",
    lang: str = "ja",
    title: str | None = None,
    subtitle: str | None = None,
    offline: bool = True,
    city: str | None = None,
    year: int | str | None = None,
    attribution: str | None = None,
    provenance=None,
) -> Path:
    """Write an offline 3D map: every building in grey, the shelters coloured by ``color_by``.

    ``shelters`` is :func:`numazu_geo.energy.shelter_table` output (``building_key`` and autonomy
    columns) or a GeoDataFrame of shelters with those columns; its rows are joined to
    ``buildings`` by ``building_key`` (``building_id``, else ``gml_id``). Credits come from the
    buildings' data (``attribution`` or ``city``/``year`` override); ``provenance`` (e.g. the
    SolarResult the hourly PV came from) is printed on the page.
    """
    from numazu_geo.solar.potential import _building_key

    keyed = buildings.assign(building_key=_building_key(buildings).to_numpy())
    table = pd.DataFrame(shelters.drop(columns=getattr(shelters, "geometry", pd.Series()).name or [], errors="ignore"))
    if color_by not in table.columns:
        raise KeyError(f"shelter_map: the shelter table has no {color_by!r} column (columns: {list(table.columns)})")
    table = table.drop(columns=[c for c in table.columns if c in keyed.columns and c != "building_key"])
    shown = gpd.GeoDataFrame(keyed.merge(table, on="building_key", how="inner"), geometry=buildings.geometry.name,
                             crs=buildings.crs)  # fmt: skip
    if shown.empty:
        raise ValueError("shelter_map: no shelter's building_key matches the buildings")
    context = buildings_layer(keyed[~keyed["building_key"].isin(shown["building_key"])], color=CONTEXT_RGB,
                              lang=lang, opacity=0.6)  # fmt: skip
    layer = buildings_layer(shown, color_by=color_by, lang=lang)
    if subtitle is None:
        subtitle = f"避難所 {len(shown)} 棟" if lang == "ja" else f"{len(shown)} shelters"
    deck = view(context, layer, title=title or _TITLE[lang], subtitle=subtitle, lang=lang, attribution=attribution,
                city=city, year=year, provenance=provenance)  # fmt: skip
    return save_html(deck, path, offline=offline)
