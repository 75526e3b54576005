"""Publishing a report pack: protected paths, output checks, the atomic move into place."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ReportError
from ..outputs import (
    OutputError,
    check_report_output,
    publish_folder,
)
from .config import (
    ReportConfig,
)


def _protected_paths(cfg: ReportConfig, data) -> list[Path]:
    """Files and folders a report must never write into or replace: the config and the data."""
    paths = [Path(cfg.source)] if cfg.source else []
    if data is None:
        paths.append(Path(cfg.data["path"]))
    elif isinstance(data, str | os.PathLike):
        paths.append(Path(data))
    return paths


def _check_output(out: Path, *, force: bool, protect=()) -> None:
    """Refuse ``out`` unless it is new, or (with ``force``) a report clvkit wrote."""
    try:
        check_report_output(out, force=force, protect=protect)
    except OutputError as err:
        raise ReportError(str(err)) from None


def _publish(staged: Path, out: Path, *, work: Path, force: bool, protect=()) -> None:
    """Move the finished report into place (replacing ``out`` only with ``force``)."""
    try:
        publish_folder(staged, out, work=work, force=force, protect=protect)
    except OutputError as err:
        raise ReportError(str(err)) from None
