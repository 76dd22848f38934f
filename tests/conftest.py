"""Shared test fixtures.

Real data lives in ``../shared`` beside the repository (PLATEAU samples, CamVid frames). On a
user's machine without it, tests that need it skip; in CI (``CI=true``) its absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def find_shared() -> Path | None:
    """Return the ``shared`` folder beside the repository root, or None."""
    env = os.environ.get("NUMAZU_GEO_SHARED")
    candidates = [Path(env)] if env else []
    candidates += [REPO_ROOT.parent / "shared", REPO_ROOT / "shared"]
    for path in candidates:
        if (path / "data").is_dir():
            return path
    return None


def require_shared(*parts: str) -> Path:
    """Path inside ``../shared``; skip the test when absent, fail when running in CI."""
    shared = find_shared()
    path = shared.joinpath(*parts) if shared else None
    if path is None or not path.exists():
        msg = f"../shared/{'/'.join(parts)} not found"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{msg}: CI must have the shared data")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def plateau_dir() -> Path:
    return require_shared("data", "plateau")


@pytest.fixture(scope="session")
def camvid_dir() -> Path:
    return require_shared("data", "camvid")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Folder for test artefacts (screenshots, figures) kept after the run."""
    path = REPO_ROOT / "artifacts"
    path.mkdir(exist_ok=True)
    return path
