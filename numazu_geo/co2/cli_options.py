"""The grid-factor options shared by every subcommand that turns kWh into CO2 (``solar``, ``energy``)."""

from __future__ import annotations


def add_grid_factor_arguments(parser, what: str = "the CO2") -> None:
    """Add ``--emission-factor KG_PER_KWH`` and ``--utility NAME`` to ``parser``."""
    parser.add_argument(
        "--emission-factor", type=float, default=None, metavar="KG_PER_KWH",
        help=f"grid CO2 factor for {what} (kg-CO2/kWh), e.g. your area's utility's; default: the "
        "TEPCO Energy Partner factor of data/emission_factors.csv (Numazu's utility; not right outside its area)",
    )  # fmt: skip
    parser.add_argument("--utility", default=None,
                        help="take the adjusted factor of this utility from data/emission_factors.csv instead")


def grid_factor_arguments(args) -> dict:
    """Keyword arguments for :func:`numazu_geo.co2.grid_factor` from the parsed options, checked now so a
    bad factor or utility fails before the work: ``{"factor_kg_per_kwh": ..., ["utility": ...]}``."""
    from numazu_geo.co2 import grid_factor

    kwargs = {"utility": args.utility} if args.utility else {}
    try:
        grid_factor(args.emission_factor, **kwargs)
    except (KeyError, ValueError) as exc:
        msg = exc.args[0] if exc.args else str(exc)
        raise ValueError(f"{msg} (give the factor itself with --emission-factor KG_PER_KWH)") from exc
    return {"factor_kg_per_kwh": args.emission_factor, **kwargs}
