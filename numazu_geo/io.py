"""File output shared by every module: atomic writes and the GeoParquet cache.

Outputs are written to a temporary file in the target folder and renamed into place, so an
interrupted job never leaves a half-written file where a good one is expected.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

import geopandas as gpd
import pandas as pd

_ATTRS_KEY = b"numazu_geo_attrs"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=suffix or target.suffix or ".tmp", dir=target.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates the file 0600; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def _jsonable_attrs(attrs: dict) -> dict:
    out = {}
    for key, value in attrs.items():
        try:
            json.dumps(value, default=str)
        except (TypeError, ValueError):
            continue
        out[key] = value
    return out


def _geoarrow_table(gdf: gpd.GeoDataFrame):
    """Arrow table with GeoParquet ``geo`` metadata, as ``GeoDataFrame.to_parquet`` writes it."""
    try:
        from geopandas.io.arrow import _geopandas_to_arrow  # the table GeoPandas itself writes
    except ImportError:  # pragma: no cover - a future GeoPandas moved it: go through a file
        import io as _io

        import pyarrow.parquet as pq

        buffer = _io.BytesIO()
        gdf.to_parquet(buffer, index=False)
        buffer.seek(0)
        return pq.read_table(buffer)
    return _geopandas_to_arrow(gdf, index=False)


def to_parquet(gdf: gpd.GeoDataFrame, path: str | os.PathLike, **kwargs) -> Path:
    """Write a GeoDataFrame as GeoParquet, atomically, keeping ``gdf.attrs`` (e.g. read errors).

    The CRS is stored in the GeoParquet metadata; ``read_parquet`` restores it and the attrs.
    """
    import pyarrow.parquet as pq

    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"to_parquet expects a GeoDataFrame, got {type(gdf).__name__}")
    table = _geoarrow_table(gdf)
    meta = dict(table.schema.metadata or {})
    meta[_ATTRS_KEY] = json.dumps(_jsonable_attrs(gdf.attrs), default=str, ensure_ascii=False).encode()
    table = table.replace_schema_metadata(meta)
    with atomic_path(path, suffix=".parquet") as tmp:
        pq.write_table(table, tmp, **kwargs)
    return Path(path)


def read_parquet(path: str | os.PathLike, **kwargs) -> gpd.GeoDataFrame:
    """Read a GeoParquet file written by :func:`to_parquet` (or any GeoParquet file)."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        from numazu_geo.errors import SourceNotFoundError

        raise SourceNotFoundError(f"{path}: no such file")
    gdf = gpd.read_parquet(path, **kwargs)
    meta = pq.read_schema(path).metadata or {}
    if _ATTRS_KEY in meta:
        gdf.attrs.update(json.loads(meta[_ATTRS_KEY]))
    return gdf


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a (Geo)DataFrame by the file's extension: .parquet (GeoParquet), .csv, .gpkg, .geojson."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".parquet":
        if isinstance(df, gpd.GeoDataFrame):
            return to_parquet(df, path)
        with atomic_path(path) as tmp:
            df.to_parquet(tmp, index=False)
        return path
    if ext == ".csv":
        out = df.drop(columns="geometry") if "geometry" in df.columns else df
        with atomic_path(path) as tmp:
            out.to_csv(tmp, index=False, encoding="utf-8-sig")  # BOM so Excel in Japan reads UTF-8
        return path
    if ext in {".gpkg", ".geojson"}:
        driver = "GPKG" if ext == ".gpkg" else "GeoJSON"
        with atomic_path(path) as tmp:
            # the layer is named after the final file, not the temporary one
            df.to_file(tmp, driver=driver, layer=path.stem)
        return path
    raise ValueError(f"{path}: unsupported output format {ext!r} (use .parquet, .csv, .gpkg or .geojson)")
