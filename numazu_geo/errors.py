"""Exception types of numazu-geo.

Every message names the file (or input) and what is wrong with it, so that a planner running a
batch over a whole city can tell which file to look at.
"""

from __future__ import annotations

import os


class NumazuGeoError(Exception):
    """Base class of every error raised on purpose by numazu-geo."""


class InputFileError(NumazuGeoError, ValueError):
    """A file could not be used. Carries ``path`` and, where known, ``line``."""

    def __init__(self, path: str | os.PathLike | None, message: str, *, line: int | None = None):
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.reason = message
        where = self.path or "<input>"
        if line is not None:
            where = f"{where}, line {line}"
        super().__init__(f"{where}: {message}")


class CityGMLError(InputFileError):
    """A CityGML file is malformed or breaks the PLATEAU conventions the reader relies on."""


class UnsupportedCityGMLError(CityGMLError):
    """The file is CityGML, but of a version the reader does not support (e.g. CityGML 3.0)."""


class SourceNotFoundError(NumazuGeoError, FileNotFoundError):
    """A source path (file, folder, zip) does not exist or holds no usable files."""


class WeatherFileError(InputFileError):
    """A weather file (EPW, METPV CSV) could not be read."""


class ImageError(InputFileError):
    """An image could not be read or is not usable for green-view analysis."""


class ModelError(NumazuGeoError):
    """Model weights or their metadata are missing or inconsistent."""


class TrackFileError(InputFileError):
    """A GPS track file (GPX, GeoJSON, CSV) could not be read or holds no usable fixes."""
