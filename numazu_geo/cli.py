"""The ``numazu-geo`` command line.

Each subcommand lives next to the code it drives: a module listed in ``_SUBCOMMAND_MODULES``
exposes ``register(subparsers)``, which adds its parser and sets ``func`` (taking the parsed
arguments, returning an exit status). Imports are lazy so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from numazu_geo import __version__
from numazu_geo.errors import MissingExtraError, NumazuGeoError

_SUBCOMMAND_MODULES = (
    "numazu_geo.citygml.cli",  # ingest
    "numazu_geo.solar.cli",  # solar
    "numazu_geo.greenview.cli",  # greenview
    "numazu_geo.maps.cli",  # map
    "numazu_geo.pipeline",  # run (whole cities on Dask)
    "numazu_geo.demo",  # demo
)


def _register_missing(sub, module_name: str, exc: MissingExtraError) -> None:
    """A subcommand whose extra is not installed: listed in --help, and says what to install."""
    command = module_name.split(".")[-2]  # numazu_geo.<command>.cli

    def fail(args, _exc=exc):
        raise _exc

    p = sub.add_parser(command, help=f"(needs pip install 'numazu-geo[{exc.extra}]')", add_help=True)
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=fail)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numazu-geo",
        description="3D environmental analytics for PLATEAU cities (CityGML, rooftop solar, CO2, green view, 3D maps).",
    )
    parser.add_argument("--version", action="version", version=f"numazu-geo {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except MissingExtraError as exc:  # e.g. greenview without numazu-geo[greenview]
            _register_missing(sub, name, exc)
            continue
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency: report it
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NumazuGeoError as exc:
        print(f"numazu-geo {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
