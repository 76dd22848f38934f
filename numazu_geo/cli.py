"""The ``numazu-geo`` command line.

Each subcommand lives next to the code it drives: a module listed in ``_SUBCOMMAND_MODULES``
exposes ``register(subparsers)``, which adds its parser and sets ``func`` (taking the parsed
arguments, returning an exit status). Imports are lazy so ``--help`` stays fast.

Conventions every subcommand follows:

- every output path is checked with :func:`numazu_geo.io.check_output` *before* any work
  (``-o out/`` or an existing folder writes the default file name inside it; an unknown
  extension fails at once);
- outputs are written with :mod:`numazu_geo.io` (atomic; several files of one job committed
  together with :func:`numazu_geo.io.write_tables`); a run with no successful input is an error
  and replaces no existing output;
- errors are reported as one line ``numazu-geo COMMAND: error: FILE: problem`` with exit status
  1 (2 for usage errors); ``--debug`` (or ``NUMAZU_GEO_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from numazu_geo import __version__
from numazu_geo.errors import MissingExtraError, NumazuGeoError

_SUBCOMMAND_MODULES = (
    "numazu_geo.citygml.cli",  # ingest
    "numazu_geo.solar.cli",  # solar
    "numazu_geo.energy.cli",  # energy, resilience
    "numazu_geo.greenview.cli",  # greenview
    "numazu_geo.maps.cli",  # map
    "numazu_geo.mobility.cli",  # trips
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
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error (also NUMAZU_GEO_DEBUG=1)"
    )
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


def _one_line(exc: BaseException) -> str:
    """An exception as one line: the message (which names the file), else the type and message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, NumazuGeoError) or (type(exc) is ValueError and text):
        return text
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return f"{type(exc).__name__}: {text}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    debug = args.debug or os.environ.get("NUMAZU_GEO_DEBUG", "").lower() in {"1", "true", "yes"}
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"numazu-geo {args.command}: interrupted; existing outputs were left as they were", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes one readable line
        if debug:
            raise
        expected = isinstance(exc, (NumazuGeoError, OSError, ValueError))
        hint = "" if expected else " (an unexpected error: rerun with --debug and report the traceback)"
        print(f"numazu-geo {args.command}: error: {_one_line(exc)}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
