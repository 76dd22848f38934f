"""Optional dependency sets ("extras") and the check that names the one to install.

The core install (``pip install numazu-geo``) reads CityGML and computes solar, CO2 and maps;
``[greenview]`` adds PyTorch, torchvision and OpenCV for the green view model, ``[notebooks]``
JupyterLab, ``[dask]`` the distributed pipeline, ``[dev]`` all of them plus test tools.
"""

from __future__ import annotations

import importlib.util

from numazu_geo.errors import MissingExtraError

#: import names each extra provides (what :func:`require` looks for)
EXTRAS = {
    "greenview": ("torch", "torchvision", "cv2", "safetensors", "PIL"),
    "notebooks": ("jupyterlab", "ipykernel"),
    "dask": ("dask", "distributed", "dask_geopandas"),
}


def missing_modules(modules) -> list[str]:
    """The modules of ``modules`` that cannot be imported (checked without importing them)."""
    out = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(name)
    return out


def require(extra: str, feature: str | None = None) -> None:
    """Raise :class:`~numazu_geo.errors.MissingExtraError` naming ``numazu-geo[extra]`` when any
    module of that extra is missing."""
    missing = missing_modules(EXTRAS[extra])
    if missing:
        raise MissingExtraError(feature or f"numazu_geo.{extra}", extra, missing)
