"""environment.yml and the Makefile agree with pyproject.toml (issue 10 part 1)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# conda-forge spells a few packages differently from PyPI
CONDA_NAMES = {"build": "python-build", "dask[distributed]": "distributed"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~; ]", req, maxsplit=1)[0].strip().lower()


def test_environment_yml_lists_every_requirement():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    text = (REPO / "environment.yml").read_text()
    listed = {_name(m.group(1)) for m in re.finditer(r"^\s*-\s+([A-Za-z0-9_.\-\[\]]+)", text, re.M)}
    wanted = list(meta["dependencies"])
    for extra in ("greenview", "notebooks", "dask", "dev"):
        wanted += [r for r in meta["optional-dependencies"][extra] if not r.startswith("numazu-geo")]
    missing = [r for r in wanted if CONDA_NAMES.get(_name(r), _name(r)) not in listed]
    assert missing == []
    assert "torch==2.14.1" in text and "torchvision==0.29.1" in text
    assert "-e .[dev]" in text


def test_make_setup_installs_dev_and_lab_opens_notebooks():
    make = (REPO / "Makefile").read_text()
    assert "pip install -q -e '.[dev]'" in make
    assert re.search(r"^lab: setup\n\t\$\(BIN\)/jupyter lab --notebook-dir=notebooks$", make, re.M)
    dev = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert "numazu-geo[greenview,notebooks,dask]" in dev
