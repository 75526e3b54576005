"""The ``clvkit report`` command line: its options and its exit codes."""

from __future__ import annotations

import argparse
import sys

from ..errors import ClvError
from .config import (
    DEFAULT_CONFIG,
)


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``clvkit report`` options to ``parser``."""
    parser.add_argument("--month", help="month to report, YYYY-MM (default: the config's "
                        "month, else the last complete month of the data)")
    parser.add_argument("--config", help=f"report configuration YAML (default {DEFAULT_CONFIG})")
    parser.add_argument("--data", help="transactions file or synthetic CRM folder "
                        "(overrides the config's data)")
    parser.add_argument("--out", help="output folder (default reports/<set>/<YYYY-MM>)")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing clvkit report folder (only a folder whose "
                        "manifest.json shows clvkit wrote it; never any other path)")
    parser.add_argument("--jobs", type=int, help="sections executed in parallel")
    parser.add_argument("--currency", help="ISO 4217 code of the amounts (default: the "
                        "preset's, else the config's)")
    parser.add_argument("--preset", help="a known data layout (cdnow, online_retail): column "
                        "names, rules and currency")
    parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="the date the data were "
                        "extracted (default: the config's data.as_of, else the last date in "
                        "the data); a month is complete when it ends on or before it")
    parser.add_argument("--partial", action="store_true", help="report the month in progress "
                        "(labelled on every page, compared like for like with the same days "
                        "of last month and last year)")
    parser.add_argument("--no-mask", dest="mask_ids", action="store_const", const=False,
                        help="show customer ids as in the data (default: pseudonyms, with a "
                        "key file readable by you only beside the target lists)")
    parser.add_argument("--engine", choices=("auto", "pandas", "duckdb", "spark"),
                        default="auto", help="engine computing the report's tables (default "
                        "auto: pandas up to 256 MB of input, DuckDB above when installed)")
    parser.add_argument("--memory-limit", metavar="SIZE", help="DuckDB memory limit, e.g. "
                        "2GB (larger work spills to a temporary folder)")
    from ..cli import add_loader_arguments

    add_loader_arguments(parser.add_argument_group(
        "reading the data (as for clvkit validate; override the config's data options)"),
        defaults=False)


def run_report_cli(args: argparse.Namespace) -> int:
    """Run ``clvkit report`` from parsed arguments; return the exit code.

    0: every section ran; 1: a section failed (the report is still written);
    2: the report could not be built (configuration, data or output error).
    OS errors (permission denied, disk full, ...) propagate: :func:`clvkit.cli.main`
    turns them into one line and exit code 2.
    """
    from ..cli import cli_hint, loader_options
    from .data import yaml_hint
    from .run import build_report

    columns, loader = loader_options(args)
    try:
        result = build_report(month=args.month, config=args.config, data=args.data,
                              out=args.out, force=args.force, jobs=args.jobs,
                              currency=args.currency, preset=args.preset, columns=columns,
                              loader=loader, as_of=getattr(args, "as_of", None),
                              partial=getattr(args, "partial", False),
                              mask_ids=getattr(args, "mask_ids", None),
                              engine=getattr(args, "engine", "auto"),
                              memory_limit=getattr(args, "memory_limit", None),
                              # options typed on the command line are named as options;
                              # a --config user is shown the YAML keys of the config
                              hint=yaml_hint if args.config else cli_hint)
    except ClvError as err:
        print(f"clvkit report: error: {err}", file=sys.stderr)
        return 2
    return 0 if result.ok else 1
