"""Where the project's own files live: reference tables in ``data/`` and weights in ``models/``.

Both folders sit at the repository root (one obvious place, reviewed with the code). An editable
install (``pip install -e .``, what ``make setup`` does) reads them from there; a wheel carries
copies under ``numazu_geo/_data`` and ``numazu_geo/_models``. ``NUMAZU_GEO_DATA`` and
``NUMAZU_GEO_MODELS`` override both.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(env: str, repo_name: str, packaged_name: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override)
    for candidate in (_PACKAGE.parent / repo_name, _PACKAGE / packaged_name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"numazu-geo: cannot find the {repo_name}/ folder (looked in {_PACKAGE.parent / repo_name} and "
        f"{_PACKAGE / packaged_name}); set {env} to its location"
    )


def data_dir() -> Path:
    """The folder of reference tables (CSV with source and year columns, code-list fallbacks)."""
    return _find("NUMAZU_GEO_DATA", "data", "_data")


def data_path(*parts: str) -> Path:
    """Path of a file inside :func:`data_dir`, e.g. ``data_path("emission_factors.csv")``."""
    path = data_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"numazu-geo: reference table {path} is missing from the installation")
    return path


def models_dir() -> Path:
    """The folder of shipped model weights (``*.safetensors``) and their model cards."""
    return _find("NUMAZU_GEO_MODELS", "models", "_models")
