"""Where CityGML comes from: a ``.gml`` file, a dataset folder, a PLATEAU zip, or a list of these.

PLATEAU names building files ``[mesh]_bldg_[EPSG]_[option]_op.gml`` where ``mesh`` is the
Japanese standard grid square code (JIS X 0410): 6 digits (2nd order, about 10 km), 8 digits
(3rd order, 30" x 45", about 1 km), 9/10 digits (half / quarter of a 3rd-order square). Real
names vary (``_op2``, ``_2_op``, ``_psc_op``, no ``_op`` at all, a city prefix), so the code is
taken as the first run of 6, 8, 9 or 10 digits followed by ``_`` and a feature name
(:mod:`numazu_geo.citygml.mesh` holds the grid square code functions).
"""

from __future__ import annotations

import functools
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Iterable, Sequence

from numazu_geo.citygml.mesh import mesh3_code, mesh_bounds, mesh_code_from_name  # noqa: F401 (re-exported)
from numazu_geo.errors import SourceNotFoundError

#: Prefix of a zip member's address: ``zip://<member>::<absolute zip path>`` (fsspec's URL
#: chaining syntax, so ``fsspec.open(address)`` opens it too).
ZIP_URL_PREFIX = "zip://"


@dataclass(frozen=True)
class GMLSource:
    """One CityGML file: on disk (``zip_path`` None) or a member of a zip archive.

    ``label`` is the file's address, stored in the ``source_file`` column; every reader accepts it
    back as a source: an absolute path, or for a zip member ``zip://<member>::<absolute zip>``.
    """

    path: str  # file path, or the member name inside ``zip_path``
    size: int
    zip_path: str | None = None

    @property
    def name(self) -> str:
        return PurePosixPath(self.path.replace(os.sep, "/")).name

    @property
    def label(self) -> str:
        """How the file is named in errors and in the ``source_file`` column (reopenable)."""
        return zip_member_url(self.zip_path, self.path) if self.zip_path else self.path

    @property
    def mesh_code(self) -> str | None:
        return mesh_code_from_name(self.name)

    def open(self) -> IO[bytes]:
        if self.zip_path is None:
            return open(self.path, "rb")
        zf = zipfile.ZipFile(self.zip_path)
        try:
            member = zf.open(self.path)
        except Exception:
            zf.close()
            raise
        return _ZipMember(member, zf)

    def read_header(self, n: int) -> bytes:
        with self.open() as fh:
            return fh.read(n)


class _ZipMember:
    """A zip member stream that closes its archive when closed."""

    def __init__(self, member, archive):
        self._member, self._archive = member, archive

    def read(self, n: int = -1) -> bytes:
        try:
            return self._member.read(n)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a damaged archive (bad CRC, cut download)
            raise OSError(f"damaged zip member {self._member.name} of {self._archive.filename} ({exc})") from exc

    def close(self) -> None:
        self._member.close()
        self._archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def zip_member_url(zip_path, member: str) -> str:
    """The address of a zip member: ``zip://<member>::<absolute zip path>``."""
    return f"{ZIP_URL_PREFIX}{member}::{os.path.abspath(os.fspath(zip_path))}"


def parse_source_address(text: str) -> GMLSource | None:
    """The zip member named by ``zip://<member>::<zip path>`` (or the older ``<zip>!<member>``),
    or None when ``text`` is not such an address. Raises SourceNotFoundError when the archive or
    the member is missing."""
    if text.startswith(ZIP_URL_PREFIX) and "::" in text:
        member, zip_path = text[len(ZIP_URL_PREFIX) :].split("::", 1)
        if zip_path.startswith("file://"):
            zip_path = zip_path[len("file://") :]
    else:
        head, sep, member = text.partition("!")
        if not sep or not head.lower().endswith(".zip") or os.path.exists(text):
            return None
        zip_path = head
    if not os.path.isfile(zip_path):
        raise SourceNotFoundError(f"{text}: no such zip archive {zip_path}")
    try:
        with zipfile.ZipFile(zip_path) as zf:
            info = zf.getinfo(member)
    except KeyError:
        raise SourceNotFoundError(f"{text}: the zip holds no member {member!r}") from None
    except zipfile.BadZipFile as exc:
        raise SourceNotFoundError(f"{zip_path}: not a readable zip archive ({exc})") from exc
    return GMLSource(member, info.file_size, os.path.abspath(zip_path))


def source_name(label: str) -> str:
    """The file name in a ``source_file`` value (a path or a zip member address)."""
    text = str(label)
    if text.startswith(ZIP_URL_PREFIX) and "::" in text:
        text = text[len(ZIP_URL_PREFIX) :].split("::", 1)[0]
    elif ".zip!" in text.lower():
        text = text.split("!", 1)[1]
    return PurePosixPath(text.replace("\\", "/")).name


def source_exists(text: str) -> bool:
    """True when ``text`` (a path or a zip member address) can be opened."""
    try:
        return parse_source_address(str(text)) is not None or os.path.exists(str(text))
    except SourceNotFoundError:
        return False


def _normalise_mesh(mesh) -> list[str] | None:
    if mesh is None:
        return None
    items = [mesh] if isinstance(mesh, (str, int)) else list(mesh)
    out = []
    for item in items:
        text = str(item).strip()
        mesh_bounds(text)  # validates
        out.append(text)
    return out


def mesh_matches(file_code: str | None, wanted: Sequence[str]) -> bool:
    """True when a file's square overlaps any wanted square (one contains the other)."""
    if file_code is None:
        return True  # unknown: cannot pre-filter; rows are filtered after parsing
    return any(file_code.startswith(w) or w.startswith(file_code) for w in wanted)


def bbox_matches(file_code: str | None, bbox) -> bool:
    if file_code is None or bbox is None:
        return True
    w, s, e, n = mesh_bounds(file_code)
    bw, bs, be, bn = bbox
    return not (e < bw or w > be or n < bs or s > bn)


def _is_zip(path: Path) -> bool:
    return path.suffix.lower() == ".zip" or (path.is_file() and zipfile.is_zipfile(path))


def _zip_sources(path: Path) -> list[GMLSource]:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir() and i.filename.lower().endswith(".gml")]
    except zipfile.BadZipFile as exc:
        raise SourceNotFoundError(f"{path}: not a readable zip archive ({exc})") from exc
    bldg = [i for i in infos if "udx/bldg/" in i.filename.replace("\\", "/")]
    chosen = bldg or infos
    zip_path = os.path.abspath(path)
    return [GMLSource(i.filename, i.file_size, zip_path) for i in sorted(chosen, key=lambda i: i.filename)]


def _folder_sources(path: Path) -> list[GMLSource]:
    for pattern in ("udx/bldg/*.gml", "**/udx/bldg/*.gml", "*.gml", "**/*.gml"):
        files = sorted(p for p in path.glob(pattern) if p.is_file())
        if files:
            return [GMLSource(os.path.abspath(p), p.stat().st_size) for p in files]
    zips = sorted(path.glob("*.zip"))
    return [s for z in zips for s in _zip_sources(z)]


def resolve_sources(source) -> list[GMLSource]:
    """Expand ``source`` (path, folder, zip, or an iterable of these) into CityGML files."""
    if isinstance(source, GMLSource):
        return [source]
    if isinstance(source, (str, os.PathLike)):
        items: Iterable = [source]
    else:
        items = list(source)
        if not items:
            raise SourceNotFoundError("empty list of sources")
    out: list[GMLSource] = []
    for item in items:
        if isinstance(item, GMLSource):
            out.append(item)
            continue
        member = parse_source_address(os.fspath(item)) if isinstance(item, (str, os.PathLike)) else None
        if member is not None:
            out.append(member)
            continue
        path = Path(item)
        if not path.exists():
            raise SourceNotFoundError(f"{path}: no such file or folder")
        if path.is_dir():
            found = _folder_sources(path)
            if not found:
                raise SourceNotFoundError(f"{path}: no .gml files (looked for udx/bldg/*.gml and *.gml)")
            out.extend(found)
        elif _is_zip(path):
            found = _zip_sources(path)
            if not found:
                raise SourceNotFoundError(f"{path}: the zip holds no .gml files")
            out.extend(found)
        else:
            out.append(GMLSource(os.path.abspath(path), path.stat().st_size))
    return out


def filter_sources(sources: list[GMLSource], *, mesh=None, bbox=None) -> list[GMLSource]:
    """Keep the files whose grid square overlaps ``mesh`` / ``bbox`` (unknown squares are kept)."""
    wanted = _normalise_mesh(mesh)
    if bbox is not None:
        bbox = check_bbox(bbox)
    return [
        s
        for s in sources
        if (wanted is None or mesh_matches(s.mesh_code, wanted)) and bbox_matches(s.mesh_code, bbox)
    ]


def check_bbox(bbox) -> tuple[float, float, float, float]:
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bbox must be (west_lon, south_lat, east_lon, north_lat) in degrees, got {bbox!r}") from exc
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise ValueError(
            f"bbox must be (west_lon, south_lat, east_lon, north_lat) in degrees with west<=east, "
            f"south<=north; got {bbox!r}"
        )
    return (w, s, e, n)


def find_codelist_dirs(src: GMLSource) -> list[str]:
    """Candidate ``codelists`` folders of the dataset holding ``src`` (nearest first).

    For a zip, entries are returned as ``zip:<zip path>!<member prefix>``.
    """
    if src.zip_path is not None:
        parts = PurePosixPath(src.path.replace("\\", "/")).parts[:-1]
        with zipfile.ZipFile(src.zip_path) as zf:
            names = zf.namelist()
        out = []
        for i in range(len(parts), -1, -1):
            prefix = "/".join(parts[:i] + ("codelists",)) + "/"
            if any(n.startswith(prefix) for n in names):
                out.append(f"zip:{src.zip_path}!{prefix}")
        return out
    return list(_codelist_dirs_above(str(Path(src.path).parent)))


@functools.lru_cache(maxsize=1024)
def _codelist_dirs_above(folder: str) -> tuple[str, ...]:
    out = []
    for parent in (Path(folder).resolve(), *Path(folder).resolve().parents):
        cand = parent / "codelists"
        if cand.is_dir():
            out.append(str(cand))
        if len(out) >= 2:
            break
    return tuple(out)
