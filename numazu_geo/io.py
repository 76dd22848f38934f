"""File output shared by every module: atomic writes, multi-file commits and the GeoParquet cache.

Outputs are written to a temporary file in the target folder and renamed into place, so an
interrupted job never leaves a half-written file where a good one is expected. Temporary files are
named ``.<target name>.ngtmp-<host>-<pid>-<random><suffix>``; those of a process of this machine
that no longer runs (a job killed with SIGKILL) are removed by the next write into the same folder
(files of other machines, e.g. on a shared disk, are left alone).

Several outputs of one job (e.g. ``solar -o buildings.parquet --faces faces.parquet``) are committed
together by :func:`atomic_paths`: every file is written first; then a small journal
(``.numazu-commit-<host>-<pid>-<random>.json``, listing each temporary file and its target) is written
atomically beside every target; then the files are renamed; then the journal is removed. A job killed
between two renames leaves its journal, and the next write into (or :func:`read_parquet` from) that
folder completes the remaining renames from it (roll forward: every listed file was already complete),
so a new file never stays beside an old one. A failure before the journal exists changes no target.

:func:`check_output` validates an output path before any work starts (the CLI calls it for every
``-o``): a folder (``out/`` or an existing directory) gets the default file name, and an extension
the writer does not know is rejected at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import socket
from pathlib import Path
from typing import Iterable, Iterator

import geopandas as gpd
import pandas as pd

from numazu_geo.errors import OutputPathError

log = logging.getLogger(__name__)

_ATTRS_KEY = b"numazu_geo_attrs"

#: marker inside temporary file names (``.<name>.ngtmp-<host>-<pid>-<hex><suffix>``)
_TMP_MARK = ".ngtmp-"
# (the host part is optional: names written before it was added carry only the pid)
_TMP_RE = re.compile(r"^\.(?P<name>.+)\.ngtmp-(?:(?P<host>[A-Za-z0-9_]+)-)?(?P<pid>\d+)-[0-9a-f]+(?:\.[^.]*)?$")
_JOURNAL_RE = re.compile(r"^\.numazu-commit-(?:(?P<host>[A-Za-z0-9_]+)-)?(?P<pid>\d+)-[0-9a-f]+\.json$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname() or "host")[:40] or "host"


def _owner() -> str:
    return f"{_host()}-{os.getpid()}"


def _dead(match) -> bool:
    """The job that made this temporary file or journal ran on this machine and has ended."""
    return match.group("host") in (None, _host()) and not _pid_alive(int(match.group("pid")))

#: the table formats :func:`write_table` writes, by extension
TABLE_FORMATS = (".parquet", ".csv", ".gpkg", ".geojson")


# --------------------------------------------------------------------------------------------
# temporary files, stale-file cleanup, journals


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _new_temp(target: Path, suffix: str | None) -> Path:
    name = f".{target.name}{_TMP_MARK}{_owner()}-{secrets.token_hex(4)}{suffix or target.suffix or '.tmp'}"
    tmp = target.parent / name
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # plain-open() permissions (umask)
    os.close(fd)
    return tmp


def cleanup_stale(folder: str | os.PathLike) -> list[Path]:
    """Finish interrupted multi-file commits in ``folder`` and remove temporary files of dead jobs.

    Returns the paths removed. Files of jobs still running (their process id is alive on this
    machine) or of other machines are left alone. Called by every write and by :func:`read_parquet`;
    a folder where nothing can be changed (read-only) is left as it is, with a warning.
    """
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:  # journals first: their temporary files are complete outputs
        m = _JOURNAL_RE.match(entry.name)
        if m and _dead(m):
            try:
                _roll_forward(Path(entry.path))
            except OSError as exc:
                log.warning("%s: cannot complete an interrupted commit here (%s)", entry.path, exc)
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if m and _dead(m):
            path = Path(entry.path)
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("%s: cannot remove this temporary file of an interrupted job (%s)", path, exc)
                continue
            removed.append(path)
            log.info("removed %s (temporary file of an interrupted job)", path)
    return removed


def _roll_forward(journal: Path) -> None:
    """Complete the renames an interrupted :func:`atomic_paths` commit listed in ``journal``."""
    try:
        pairs = json.loads(journal.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        with contextlib.suppress(OSError):
            journal.unlink()
        return
    for tmp, target in pairs:
        if os.path.exists(tmp):
            os.replace(tmp, target)
            log.warning("%s: completed an interrupted multi-file commit (%s)", target, journal.name)
    # the same journal sits beside every target: remove all copies
    for _, target in pairs:
        with contextlib.suppress(OSError):
            (Path(target).parent / journal.name).unlink()
    with contextlib.suppress(OSError):
        journal.unlink()


def recover(path: str | os.PathLike) -> None:
    """Finish an interrupted commit that involves ``path`` (a file or folder); see the module doc."""
    path = Path(path)
    cleanup_stale(path if path.is_dir() else path.parent)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success."""
    with atomic_paths([path], suffixes=[suffix]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(paths: Iterable[str | os.PathLike], *, suffixes=None) -> Iterator[list[Path]]:
    """Yield temporary paths for ``paths``; on success rename them all into place together.

    If the body raises, no target changes and the temporary files are removed. Once every file is
    written, a journal is written beside each target before the renames, so an interruption between
    renames is completed by the next write into those folders (see the module documentation).
    """
    targets = [Path(p).absolute() for p in paths]
    if len({str(t) for t in targets}) != len(targets):
        raise OutputPathError(None, f"the same output file is given twice: {[str(t) for t in targets]}")
    suffixes = list(suffixes) if suffixes is not None else [None] * len(targets)
    tmps: list[Path] = []
    journals: list[Path] = []
    try:
        for target, suffix in zip(targets, suffixes):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                cleanup_stale(target.parent)
                tmps.append(_new_temp(target, suffix))
            except OSError as exc:  # name the output, not the temporary file
                raise OutputPathError(target, f"cannot write into {target.parent} ({exc.strerror or exc})") from exc
        yield list(tmps)
        if len(targets) > 1:
            body = json.dumps({"files": [[str(t), str(p)] for t, p in zip(tmps, targets)]}, ensure_ascii=False)
            name = f".numazu-commit-{_owner()}-{secrets.token_hex(4)}.json"
            for folder in dict.fromkeys(t.parent for t in targets):
                jtmp = _new_temp(folder / name, ".json")
                jtmp.write_text(body, encoding="utf-8")
                os.replace(jtmp, folder / name)
                journals.append(folder / name)
        for tmp, target in zip(tmps, targets):
            if target.is_dir():
                raise OutputPathError(target, "is a folder; cannot replace it with a file")
            os.replace(tmp, target)
        for journal in journals:
            journal.unlink()
        journals = []
    finally:
        if journals:  # a rename failed midway: finish the others so no half set stays behind
            try:
                _roll_forward(journals[0])
            except OSError as exc:  # pragma: no cover - disk gone
                log.error("could not complete the commit of %s: %s", [str(t) for t in targets], exc)
        for tmp in tmps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def write_text_atomic(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


# --------------------------------------------------------------------------------------------
# output path validation (before any work)


def _check_nearest_folder(p: Path, start: Path) -> None:
    """The nearest existing folder at or above ``start`` (where the job will create what is missing)
    must be a folder the job can write into; errors name the output ``p``."""
    ancestor = start
    while not ancestor.exists() and ancestor.parent != ancestor:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise OutputPathError(p, f"{ancestor} is a file, not a folder")
    if ancestor.exists() and not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(p, f"folder {ancestor} is not writable")


def check_output(
    path: str | os.PathLike,
    *,
    default_name: str,
    formats: Iterable[str] = TABLE_FORMATS,
    what: str = "output",
) -> Path:
    """Validate an output path before any computing starts and return the file to write.

    ``path`` ending in ``/`` (or an existing folder) means "this folder, default file name":
    ``default_name`` is appended (the folder is created when the job writes). The extension must be
    one of ``formats``; the folder must be creatable and writable; a path inside a file is refused.
    Raises :class:`~numazu_geo.errors.OutputPathError` naming the path and the problem.
    """
    formats = tuple(f.lower() for f in formats)
    text = os.fspath(path)
    if not text.strip():
        raise OutputPathError(text, f"empty {what} path")
    p = Path(text).expanduser()
    if text.endswith(("/", os.sep)) or p.is_dir():
        p = p / default_name
    ext = p.suffix.lower()
    if ext not in formats:
        shown = f"{ext!r}" if ext else "no extension"
        raise OutputPathError(
            p, f"unsupported {what} format ({shown}); use {', '.join(formats)}, or end the path with '/' "
            f"to write {default_name} into that folder",
        )  # fmt: skip
    if p.is_dir():
        raise OutputPathError(p, f"is a folder; give a file name ending in {', '.join(formats)}")
    _check_nearest_folder(p, p.parent)
    if p.exists() and not os.access(p, os.W_OK) and not os.access(p.parent, os.W_OK):
        raise OutputPathError(p, "exists and cannot be replaced (no write permission)")
    if p.parent.is_dir():  # os.access does not see everything (root, special file systems): try it
        try:
            _new_temp(p, ".probe").unlink()
        except OSError as exc:
            raise OutputPathError(p, f"cannot write into {p.parent} ({exc.strerror or exc})") from exc
    return p


def check_output_dir(path: str | os.PathLike, *, what: str = "output folder") -> Path:
    """Validate an output *folder* before any work: not a file, inside a writable folder.

    Returns the path (created later by the job). Raises :class:`~numazu_geo.errors.OutputPathError`.
    """
    text = os.fspath(path)
    if not text.strip():
        raise OutputPathError(text, f"empty {what} path")
    p = Path(text).expanduser()
    if p.exists() and not p.is_dir():
        raise OutputPathError(p, f"is a file; the {what} must be a folder")
    _check_nearest_folder(p, p)
    return p


def check_outputs_distinct(*paths: str | os.PathLike | None) -> None:
    """Refuse two outputs of one job that are the same file."""
    seen: dict[str, Path] = {}
    for p in paths:
        if p is None:
            continue
        key = os.path.abspath(os.fspath(p))
        if key in seen:
            raise OutputPathError(p, "is given for two outputs of the same job")
        seen[key] = Path(p)


# --------------------------------------------------------------------------------------------
# tables


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


def _write_geoparquet(gdf: gpd.GeoDataFrame, tmp: Path, **kwargs) -> None:
    import pyarrow.parquet as pq

    table = _geoarrow_table(gdf)
    meta = dict(table.schema.metadata or {})
    meta[_ATTRS_KEY] = json.dumps(_jsonable_attrs(gdf.attrs), default=str, ensure_ascii=False).encode()
    table = table.replace_schema_metadata(meta)
    pq.write_table(table, tmp, **kwargs)


def to_parquet(gdf: gpd.GeoDataFrame, path: str | os.PathLike, **kwargs) -> Path:
    """Write a GeoDataFrame as GeoParquet, atomically, keeping ``gdf.attrs`` (e.g. read errors).

    The CRS is stored in the GeoParquet metadata; ``read_parquet`` restores it and the attrs.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"to_parquet expects a GeoDataFrame, got {type(gdf).__name__}")
    with atomic_path(path, suffix=".parquet") as tmp:
        _write_geoparquet(gdf, tmp, **kwargs)
    return Path(path)


def read_parquet(path: str | os.PathLike, **kwargs) -> gpd.GeoDataFrame:
    """Read a GeoParquet file written by :func:`to_parquet` (or any GeoParquet file)."""
    import pyarrow.parquet as pq

    path = Path(path)
    recover(path)  # an interrupted multi-file commit is completed before reading
    if not path.exists():
        from numazu_geo.errors import SourceNotFoundError

        raise SourceNotFoundError(f"{path}: no such file")
    try:
        gdf = gpd.read_parquet(path, **kwargs)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        from numazu_geo.errors import InputFileError

        if isinstance(exc, FileNotFoundError):
            raise
        if "geo metadata" in str(exc):
            raise InputFileError(path, "a Parquet table without geometry (no GeoParquet 'geo' metadata); "
                                 "give a GeoParquet file, e.g. from `numazu-geo ingest`") from exc
        raise InputFileError(path, f"not a readable GeoParquet file ({exc})") from exc
    meta = pq.read_schema(path).metadata or {}
    if _ATTRS_KEY in meta:
        gdf.attrs.update(json.loads(meta[_ATTRS_KEY]))
    return gdf


def _check_table_format(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in TABLE_FORMATS:
        raise OutputPathError(path, f"unsupported output format {ext!r} (use {', '.join(TABLE_FORMATS)})")
    return ext


def _write_table_to(df: pd.DataFrame, tmp: Path, final: Path) -> None:
    ext = _check_table_format(final)
    if ext == ".parquet":
        if isinstance(df, gpd.GeoDataFrame):
            _write_geoparquet(df, tmp)
        else:
            df.to_parquet(tmp, index=False)
    elif ext == ".csv":
        out = df.drop(columns="geometry") if "geometry" in df.columns else df
        if isinstance(df, gpd.GeoDataFrame) and df.crs is not None and len(df):
            from numazu_geo.maps.tables import lonlat_columns  # a place to find each row (issue 12)

            out = out.assign(**lonlat_columns(df))
        out.to_csv(tmp, index=False, encoding="utf-8-sig")  # BOM so Excel in Japan reads UTF-8
    else:
        driver = "GPKG" if ext == ".gpkg" else "GeoJSON"
        tmp.unlink()  # GDAL drivers refuse to open an existing empty file
        df.to_file(tmp, driver=driver, layer=final.stem)  # layer named after the final file


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a (Geo)DataFrame by the file's extension: .parquet (GeoParquet), .csv (plus ``lon``/``lat``
    of each geometry; Excel tables for people with units and credit: :mod:`numazu_geo.maps.tables`),
    .gpkg, .geojson."""
    path = Path(path)
    _check_table_format(path)
    with atomic_path(path) as tmp:
        _write_table_to(df, tmp, path)
    return path


def write_tables(tables: dict) -> list[Path]:
    """Write several outputs ``{path: DataFrame or writer}`` as one commit: all new files, or none.

    A value is a (Geo)DataFrame (written by the path's extension, as :func:`write_table`) or a
    callable ``writer(tmp_path)`` that writes the file itself (e.g. a raster). Every file is written
    to a temporary path first; only when all succeeded are they renamed into place (journalled, see
    the module documentation). Returns the paths.
    """
    paths = [Path(p) for p in tables]
    for p, value in zip(paths, tables.values()):
        if not callable(value):
            _check_table_format(p)
    with atomic_paths(paths) as tmps:
        for p, value, tmp in zip(paths, tables.values(), tmps):
            if callable(value):
                value(tmp)
            else:
                _write_table_to(value, tmp, p)
    return paths
