"""Build hook: the wheel carries the repository's ``data/`` and ``models/`` folders.

They live at the repository root (reviewed with the code; an editable install reads them there,
see ``numazu_geo/paths.py``). A wheel copies them into the package as ``numazu_geo/_data`` and
``numazu_geo/_models``. All other metadata is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: (repository folder, folder inside the package, file patterns shipped)
SHIPPED = (
    ("data", "_data", ("**/*.csv", "**/*.csv.gz", "**/*.md")),
    ("models", "_models", ("*.safetensors", "*.json", "*.md")),  # not models/candidate/ (training output)
)


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads data/ and models/ in place
        for src_name, dst_name, patterns in SHIPPED:
            src = ROOT / src_name
            if not src.is_dir():
                raise FileNotFoundError(f"setup.py: {src} is missing; the wheel needs it")
            dst = Path(self.build_lib) / "numazu_geo" / dst_name
            for pattern in patterns:
                for path in sorted(src.glob(pattern)):
                    if path.is_file():
                        target = dst / path.relative_to(src)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(path, target)


setup(cmdclass={"build_py": BuildPyWithData})
