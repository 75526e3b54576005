"""The manifest of a report pack: inputs and outputs with sha256, parameters, package versions."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pandas as pd

from ..outputs import (
    file_sha256,
)
from .config import (
    CONFIG_DIR,
    SECTIONS,
    ReportConfig,
    _display_path,
)
from .kernels import _KERNEL_ENV, SectionResult, _template_path

_sha256 = file_sha256


def _input_files(cfg: ReportConfig, data) -> list[dict]:
    if isinstance(data, pd.DataFrame):
        digest = hashlib.sha256(pd.util.hash_pandas_object(data, index=True).to_numpy()
                                .tobytes()).hexdigest()
        return [{"path": "<DataFrame>", "sha256": digest, "rows": len(data)}]
    if data is not None and not isinstance(data, str | os.PathLike):
        return [{"path": f"<{type(data).__name__}>", "sha256": None}]
    root = Path(cfg.data["path"] if data is None else data)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    return [{"path": _display_path(p, cfg.data.get("base")), "sha256": _sha256(p),
             "bytes": p.stat().st_size}
            for p in files]


def _package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from .._version import __version__

    # clvkit's own version from the imported package: its distribution is `clvkit-crm`, and a
    # distribution named `clvkit` would be the unrelated project of that name
    out = {"python": sys.version.split()[0], "clvkit": __version__}
    for name in ("numpy", "pandas", "scipy", "matplotlib", "seaborn", "papermill",
                 "nbconvert", "nbformat", "nbclient", "ipykernel", "pyarrow", "PyYAML"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _write_manifest(work: Path, *, cfg: ReportConfig, month: str, parameters: dict,
                    inputs: list[dict], results: list[SectionResult],
                    template_dir: Path | None = None, engine=None) -> None:
    outputs = [{"path": p.name, "sha256": _sha256(p), "bytes": p.stat().st_size}
               for p in sorted(work.iterdir()) if p.is_file() and p.name != "manifest.json"]
    base = cfg.data.get("base")
    shipped = cfg.source is not None and Path(cfg.source).parent == CONFIG_DIR
    shown = (f"clvkit/configs/{Path(cfg.source).name}" if shipped
             else _display_path(cfg.source, base) if cfg.source else None)
    data_path = (_display_path(cfg.data["path"], base) if cfg.data.get("path") is not None
                 else None)
    resolved = {**cfg.__dict__, "options": dict(cfg.options), "source": None,
                "sections": list(cfg.sections),
                "data": {k: v for k, v in {**cfg.data, "path": data_path}.items()
                         if k != "base"}}
    config_entry = {"path": shown,
                    "sha256": _sha256(Path(cfg.source)) if cfg.source else None,
                    "resolved": resolved}
    manifest = {
        "report": cfg.name, "title": cfg.title, "month": month,
        "status": "ok" if all(r.status != "failed" for r in results) else "failed",
        "config": config_entry, "inputs": inputs,
        **({"engine": {"name": engine.name, "reason": engine.reason,
                       "memory_limit": engine.memory_limit}} if engine else {}),
        "parameters": {k: v for k, v in parameters.items() if k != "data_dir"},
        "sections": [{"name": r.name, "title": r.title, "template":
                      f"clvkit/templates/{SECTIONS[r.name].template}",
                      "template_sha256": _sha256(_template_path(SECTIONS[r.name], template_dir)),
                      "status": r.status, "error": r.error,
                      "notebook": r.notebook, "html": r.html,
                      "exports": sorted(p.name for p in work.glob(
                          f"{Path(SECTIONS[r.name].template).stem}-*")
                          if p.suffix in (".csv", ".parquet"))}
                     for r in results],
        "environment": dict(_KERNEL_ENV), "packages": _package_versions(), "outputs": outputs,
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True,
                                                   ensure_ascii=False) + "\n", encoding="utf-8")
