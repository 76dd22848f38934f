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


class MissingExtraError(NumazuGeoError, ImportError):
    """A part of numazu-geo needs an optional dependency set (an "extra") that is not installed.
    Carries ``extra`` (e.g. ``"greenview"``) and ``missing`` (module names)."""

    def __init__(self, feature: str, extra: str, missing):
        self.extra = extra
        self.missing = list(missing)
        super().__init__(
            f"{feature} needs {', '.join(self.missing)}, which the core install leaves out: "
            f"pip install 'numazu-geo[{extra}]'"
        )


class OutputPathError(InputFileError):
    """An output path cannot be written (unknown extension, a file where a folder should be, no
    permission). Raised before any computing starts."""


class DataExtentError(InputFileError):
    """Coordinates lie outside the area the data can come from (PLATEAU: Japan), e.g. swapped
    latitude and longitude, or a file from another country."""


class ClimateCoverageError(WeatherFileError):
    """A weather file does not cover the period it is used for (e.g. a truncated year)."""


class ClimateSiteError(WeatherFileError):
    """A weather file's location is too far from the buildings it is used for."""


class EnergyInputError(NumazuGeoError, ValueError):
    """An hourly energy series (PV, load) or a storage description (battery, EV) is not usable as
    given: lengths, time zones or steps differ, values are negative or missing, a battery has no
    power, a shelter id does not exist. Nothing is resampled or filled silently."""


class TrackFileError(InputFileError):
    """A GPS track file (GPX, GeoJSON, CSV) could not be read or holds no usable fixes."""


class CRSError(NumazuGeoError, ValueError):
    """A coordinate reference system cannot be used for what was asked (e.g. a geocentric target)."""
