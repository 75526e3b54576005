"""The ``clvkit`` command: ``validate``, ``summary`` and ``report``.

Every user mistake ends in one clear line on stderr and a non-zero exit code,
never a traceback. Exit codes:

* 0 -- done;
* 1 -- ``report`` only: a section failed (the report is still written);
* 2 -- unusable input or output: a clvkit error, or an OS error the user's
  environment causes (permission denied, disk full, read-only file system, a
  folder where a file is expected, a FIFO or device, a symlink loop, a parent
  that is a file), printed as one line naming the path and the cause;
* 130 -- interrupted (Ctrl-C); 143 -- terminated (SIGTERM; temporary files and
  folders are removed first).

Other exceptions are bugs and keep their traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from ._version import __version__
from .errors import ClvError
from .outputs import USER_ERRNOS, Terminated, describe_os_error, sigterm_raises, write_table
from .units import TIME_UNITS

__all__ = ["main", "build_parser", "cli_hint", "add_loader_arguments", "loader_options"]


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="transactions file: CSV, CSV.gz, Parquet or Excel")
    parser.add_argument("--preset", choices=["cdnow", "online_retail"],
                        help="a known column layout")
    add_loader_arguments(parser)


#: Column options of the loader (``--customer-id`` -> ``customer_id``).
COLUMN_OPTIONS = ("customer_id", "date", "amount", "order_id", "quantity", "unit_price")
#: Other loader options that are command-line options, by their keyword.
LOADER_OPTIONS = ("returns", "duplicates", "zero", "summary_rows", "encoding", "sep", "sheet",
                  "decimal", "thousands", "date_format", "dayfirst", "date_unit", "timezone",
                  "refunds")


def add_loader_arguments(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """Add the loader's options (columns, reading, cleaning policies) to ``parser``.

    ``validate``, ``summary`` and ``report`` share them. With ``defaults=False``
    (``report``) every option defaults to None, so only what the user typed
    overrides the report's configuration.
    """
    def default(value):
        return value if defaults else None

    for name in COLUMN_OPTIONS:
        flag = name.replace("_", "-")
        parser.add_argument(f"--{flag}", metavar="COLUMN",
                            help=f"name of the {flag.replace('-', ' ')} column in the file")
    parser.add_argument("--refunds", metavar="COLUMN", help="column of money refunded on a "
                        "purchase (e.g. Shopify's 'Refunded Amount'); subtracted in net revenue")
    parser.add_argument("--returns", choices=["separate", "net", "drop"],
                        default=default("separate"),
                        help="what to do with returns/cancellations (default: separate)")
    parser.add_argument("--duplicates", choices=["drop", "keep"], help="rows repeated in every "
                        "column (default: dropped when the file has an order id or times of "
                        "day, else kept as separate purchases; logged)")
    parser.add_argument("--zero", choices=["drop", "keep"], help="rows whose amount is "
                        "exactly zero (default: drop; the cdnow preset keeps them)")
    parser.add_argument("--summary-rows", choices=["drop", "keep"], default=default("drop"),
                        help="rows labelled Total/Sum or a trailing total of the rows above "
                        "(default: drop, logged)")
    parser.add_argument("--encoding", help="text encoding of CSV files (default: a "
                        "byte-order mark decides, else UTF-8)")
    parser.add_argument("--sep", help="field separator of CSV files (default: detected "
                        "among ',', ';', TAB and '|'); 'whitespace' for columns aligned "
                        "with spaces (CDNOW_master.txt)")
    parser.add_argument("--sheet", help="Excel sheet name or 0-based position (default: the "
                        "first)")
    parser.add_argument("--decimal", choices=[".", ","], help="decimal mark of text amounts "
                        "(default: decided from the whole column)")
    parser.add_argument("--thousands", help="thousands separator of text amounts, e.g. . or ,")
    parser.add_argument("--date-format", metavar="FORMAT", help="strftime format of the "
                        "dates, e.g. %%d/%%m/%%Y (default: decided from the whole column)")
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True,
                       help="dates like 05/06/2024 are day first (5 June)")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                       help="dates like 05/06/2024 are month first (May 6)")
    parser.add_argument("--date-unit", choices=["s", "ms", "us", "ns", "D"],
                        help="unit of numeric dates: Unix seconds ... or D (Excel serial days)")
    parser.add_argument("--timezone", default=default("UTC"), help="dates with a UTC offset "
                        "are converted to this zone before the calendar date is taken "
                        "(default: UTC)")


def loader_options(args: argparse.Namespace) -> tuple[dict, dict]:
    """(columns, options) the user typed, as keyword arguments of the loader (None left out).

    Examples
    --------
    >>> args = build_parser().parse_args(["report", "--customer-id", "Email", "--sep", ";"])
    >>> loader_options(args)
    ({'customer_id': 'Email'}, {'sep': ';'})
    """
    columns = {k: v for k in COLUMN_OPTIONS if (v := getattr(args, k, None)) is not None}
    options = {k: v for k in LOADER_OPTIONS if (v := getattr(args, k, None)) is not None}
    return columns, options


def _iso_day(text: str) -> str:
    """A day written as ``YYYY-MM-DD``; ``05.06.2024`` would be read month first, silently.

    Examples
    --------
    >>> _iso_day("2024-06-05")
    '2024-06-05'
    >>> _iso_day("05.06.2024")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: '05.06.2024' is not a day written YYYY-MM-DD (e.g. 2024-06-05)
    """
    import datetime

    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            return datetime.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a day written YYYY-MM-DD (e.g. "
                                     "2024-06-05)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``clvkit`` command."""
    parser = argparse.ArgumentParser(
        prog="clvkit",
        description="Customer Lifetime Value for CRM: validate transactions, summarise them "
        "per customer, and build monthly reports.")
    parser.add_argument("--version", action="version", version=f"clvkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = sub.add_parser("validate", help="check a transactions file and print the "
                              "cleaning log")
    _add_source_arguments(validate)

    summary = sub.add_parser("summary", help="write the per-customer RFM summary")
    _add_source_arguments(summary)
    summary.add_argument("--observation-end", required=True, metavar="YYYY-MM-DD",
                         type=_iso_day, help="last day observed (inclusive)")
    summary.add_argument("--calibration-end", metavar="YYYY-MM-DD", type=_iso_day,
                         help="end of the calibration period; adds holdout columns")
    summary.add_argument("--time-unit", choices=list(TIME_UNITS), default="W",
                         help="unit of recency and T (default: W = weeks)")
    summary.add_argument("--out", required=True, metavar="FILE",
                         help="output file: .csv, or .parquet/.pq (other suffixes are refused)")
    summary.add_argument("--force", action="store_true",
                         help="replace an existing output file (never the input)")
    summary.add_argument("--engine", choices=["pandas", "duckdb", "spark"], default="pandas",
                         help="pandas (default: load, clean and summarise in memory), duckdb "
                         "(scan Parquet/CSV directly, larger than memory) or spark (Spark SQL, "
                         "local mode); duckdb and spark expect clean transactions")

    report = sub.add_parser("report", help="build the monthly report (executed notebooks + "
                            "HTML)")
    try:
        from .report import add_report_arguments
    except ImportError:  # pragma: no cover - only while the report module is missing
        add_report_arguments = None
    if add_report_arguments is not None:
        add_report_arguments(report)

    from .course import add_course_arguments

    add_course_arguments(sub.add_parser("course", help="release the student edition of the "
                                        "course or grade submissions (nbgrader format)"))
    return parser


def _load(args: argparse.Namespace):
    from .io import load_transactions

    columns, options = loader_options(args)
    return load_transactions(args.file, preset=args.preset, **columns, **options)


def _validate(args: argparse.Namespace) -> int:
    result = _load(args)
    print(result.to_text(hint=cli_hint))
    kept = int(result.log.loc[result.log["reason"] == "kept", "rows"].sum())
    print(f"\n{kept:,} of {result.rows_read:,} rows usable; "
          f"{len(result.returns):,} returns kept apart.")
    return 0 if kept else 2


def _summary(args: argparse.Namespace) -> int:
    import pandas as pd

    from .summary import rfm_summary

    if args.engine != "pandas":
        return _summary_engine(args)
    result = _load(args)
    table = rfm_summary(result, observation_end=args.observation_end,
                        calibration_end=args.calibration_end, time_unit=args.time_unit)
    out = write_table(table, args.out, force=args.force, protect=[args.file])
    dates = result.transactions["date"]
    later = int((dates >= pd.Timestamp(args.observation_end) + pd.Timedelta(days=1)).sum())
    unused = result.rows_read - len(result.transactions)
    print(f"wrote {len(table):,} customers ({args.time_unit}) to {out}"
          + (f"; {later:,} purchase rows after {args.observation_end} not used" if later else "")
          + (f"; {unused:,} of {result.rows_read:,} file rows are not purchases (returns, "
             "dropped rows: see clvkit validate)" if unused else ""))
    return 0


def _summary_engine(args: argparse.Namespace) -> int:
    """``summary --engine duckdb|spark``: the file is scanned by the engine, not loaded."""
    from .engines import write_rfm_summary
    from .io import PRESETS

    unsupported = [f"--{name.replace('_', '-')}" for name in
                   ("order_id", "quantity", "unit_price", "encoding", "sep", "sheet", "decimal",
                    "thousands", "date_format", "dayfirst", "date_unit", "duplicates", "zero",
                    "refunds")
                   if getattr(args, name) is not None]
    if args.returns != "separate" or args.timezone != "UTC" or args.summary_rows != "drop":
        unsupported.append("--returns/--timezone/--summary-rows")
    if unsupported:
        raise ClvError(f"{', '.join(unsupported)} need(s) --engine pandas; the {args.engine} "
                       "engine reads clean customer_id/date/amount columns as they are")
    columns = dict(PRESETS[args.preset].columns) if args.preset else {}
    columns.update({key: value for key in ("customer_id", "date", "amount")
                    if (value := getattr(args, key))})
    columns = {key: value for key, value in columns.items()
               if key in ("customer_id", "date", "amount")}
    out = Path(args.out)
    rows = write_rfm_summary(args.file, out, engine=args.engine, columns=columns,
                             observation_end=args.observation_end,
                             calibration_end=args.calibration_end, time_unit=args.time_unit,
                             force=args.force)
    print(f"wrote {rows:,} customers ({args.time_unit}) to {out} [{args.engine}]")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``clvkit`` command line; returns the exit code (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        with sigterm_raises():
            return _run(args)
    except ClvError as exc:
        message = str(exc) if args.command == "report" else cli_hint(str(exc))
        return _fail(args, message, 2)
    except ModuleNotFoundError as exc:      # an optional dependency: name the extra
        from ._extras import install_hint

        if (hint := install_hint(exc.name or "")) is None:
            raise
        return _fail(args, hint, 2)
    except BrokenPipeError:     # output piped into `head` and closed: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        if exc.errno not in USER_ERRNOS:
            raise               # not something the user caused: keep the traceback
        return _fail(args, describe_os_error(exc), 2)
    except KeyboardInterrupt:
        return _fail(args, "interrupted", 130, prefix="")
    except Terminated as exc:
        return _fail(args, "terminated", exc.exit_code, prefix="")


#: Loader keywords that are also command-line options (``date_format`` -> ``--date-format``).
_CLI_KEYS = ("customer_id", "date", "amount", "order_id", "quantity", "unit_price", "encoding",
             "sep", "sheet", "decimal", "thousands", "date_format", "date_unit", "timezone",
             "summary_rows", "duplicates", "zero", "refunds")
_CALL = re.compile(r"load_transactions\(path, (?P<args>[^)]*)\)")
_KEYWORD = re.compile(r"\b(?P<key>[a-z_]+)=(?P<value>'[^']*'|\"[^\"]*\"|[^\s,;)]+)?")


def cli_hint(message: str) -> str:
    """Write the loader's Python-style hints (``decimal=','``) as command-line options.

    Examples
    --------
    >>> cli_hint("ambiguous 'amount': pass decimal=',' or decimal='.'")
    "ambiguous 'amount': pass --decimal ',' or --decimal '.'"
    >>> cli_hint("pass dayfirst=True or date_format='%d/%m/%Y'")
    "pass --dayfirst or --date-format '%d/%m/%Y'"
    >>> cli_hint("use encoding=... (any codec)")
    'use --encoding ... (any codec)'
    >>> cli_hint("name them: load_transactions(path, customer_id='COLUMN', date='COLUMN')")
    "name them: --customer-id 'COLUMN' --date 'COLUMN'"
    >>> cli_hint("sheet 'A' of 2 (A, B) read; choose another with sheet=")
    "sheet 'A' of 2 (A, B) read; choose another with --sheet"
    """
    def option(match: re.Match) -> str:
        key, value = match["key"], match["value"]
        if key == "dayfirst":
            return {"True": "--dayfirst", "False": "--monthfirst"}.get(value, "--dayfirst")
        if key not in _CLI_KEYS:
            return match.group(0)
        return f"--{key.replace('_', '-')}" + (f" {value}" if value is not None else "")

    def call(match: re.Match) -> str:
        return " ".join(option(m) for m in _KEYWORD.finditer(match["args"]))

    return _KEYWORD.sub(option, _CALL.sub(call, message))


def _run(args: argparse.Namespace) -> int:
    if args.command == "validate":
        return _validate(args)
    if args.command == "summary":
        return _summary(args)
    if args.command == "course":
        from .course import run_course_cli

        return run_course_cli(args)
    from .reading import probe_file

    for path in (args.data, args.config):   # a FIFO or device would block the readers
        if path and os.path.exists(path) and not os.path.isdir(path):
            probe_file(path)
    from .report import run_report_cli

    return run_report_cli(args)


def _fail(args: argparse.Namespace, message: str, code: int, *, prefix: str = "error: ") -> int:
    print(f"clvkit {args.command}: {prefix}{message}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
