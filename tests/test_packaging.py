"""Packaging: the distribution's name, declared dependencies, extras, the installed wheel.

The tests marked ``notebooks`` build the wheel and install it into a fresh virtual
environment with its declared dependencies only (about a minute with a warm pip cache).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import yaml

import clvkit
from clvkit._extras import DISTRIBUTION, MODULE_EXTRAS, install_hint, require
from clvkit.cli import main
from clvkit.engines import EngineError
from clvkit.errors import ClvError

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


# ----------------------------------------------------------------- declared dependencies


def _env_extras() -> tuple[str, set[str]]:
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    (line,) = pip
    match = re.fullmatch(r"-e \.\[(?P<extras>[a-z,]+)\]", line)
    assert match, f"environment.yml should install the package with its extras, not {line!r}"
    return env["name"], set(match["extras"].split(","))


def test_environment_yml_and_make_setup_install_every_extra_of_pyproject():
    name, env_extras = _env_extras()
    make = re.search(r"^EXTRAS\s*:=\s*(\S+)$", (REPO / "Makefile").read_text(encoding="utf-8"),
                     re.M)
    declared = set(PYPROJECT["project"]["optional-dependencies"])
    assert env_extras == set(make[1].split(",")) == declared
    assert name == PYPROJECT["project"]["name"] == DISTRIBUTION == "clvkit-crm"


def test_environment_yml_python_satisfies_requires_python():
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    (python,) = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python=")]
    minimum = re.fullmatch(r">=(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"])
    version = tuple(int(x) for x in python.split("=")[1].split("."))
    assert version >= (int(minimum[1]), int(minimum[2]))


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower().replace("_", "-")
            for r in requirements}


def test_the_report_stack_is_in_the_base_install_and_every_optional_module_has_an_extra():
    base = _requirement_names(PYPROJECT["project"]["dependencies"])
    extras = {name: _requirement_names(reqs)
              for name, reqs in PYPROJECT["project"]["optional-dependencies"].items()}
    for module, (_feature, extra) in MODULE_EXTRAS.items():
        dist = {"myst_nb": "myst-nb", "jupyter_client": "jupyter-client"}.get(module, module)
        where = base if extra is None else extras[extra]
        assert dist in where, (module, extra)


# ----------------------------------------------------------------- missing extras: one line


def test_require_names_the_extra_and_hides_the_traceback(monkeypatch):
    monkeypatch.setitem(sys.modules, "duckdb", None)       # import duckdb -> ImportError
    with pytest.raises(EngineError) as info:
        require("duckdb", error=EngineError)
    assert str(info.value) == "the DuckDB engine needs duckdb: pip install 'clvkit-crm[scale]'"
    assert info.value.__suppress_context__
    with pytest.raises(ValueError, match="not an optional dependency"):
        require("numpy")
    assert install_hint("sphinx") == "the documentation site needs sphinx: pip install " \
                                     "'clvkit-crm[docs]'"


@pytest.fixture
def plain_csv(tmp_path) -> Path:
    path = tmp_path / "sales.csv"
    path.write_text("customer_id,date,amount\n1,2024-01-03,10\n2,2024-01-05,20\n"
                    "1,2024-02-07,15\n3,2024-02-20,5\n", encoding="utf-8")
    return path


def _one_line_error(capsys, code: int, extra_text: str) -> None:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert extra_text in lines[0] and "Traceback" not in err


def test_cli_without_duckdb_ends_in_one_line_naming_the_scale_extra(monkeypatch, capsys,
                                                                     plain_csv, tmp_path):
    monkeypatch.setitem(sys.modules, "duckdb", None)
    code = main(["summary", str(plain_csv), "--engine", "duckdb", "--observation-end",
                 "2024-02-29", "--out", str(tmp_path / "s.csv")])
    _one_line_error(capsys, code, "pip install 'clvkit-crm[scale]'")


def test_cli_without_nbgrader_ends_in_one_line_naming_the_course_extra(monkeypatch, capsys,
                                                                       tmp_path):
    monkeypatch.setitem(sys.modules, "nbgrader", None)
    code = main(["course", "release", "--source", str(REPO / "notebooks"),
                 str(tmp_path / "student")])
    _one_line_error(capsys, code, "pip install 'clvkit-crm[course]'")


def test_cli_report_without_papermill_ends_in_one_line(monkeypatch, capsys, plain_csv,
                                                       tmp_path):
    """A broken install (the report stack is in the base install) gives one line too."""
    monkeypatch.setitem(sys.modules, "papermill", None)
    code = main(["report", "--data", str(plain_csv), "--out", str(tmp_path / "out")])
    _one_line_error(capsys, code, "needs papermill (base install)")


def test_a_missing_module_that_is_not_optional_keeps_its_traceback(monkeypatch):
    import clvkit.cli as cli

    def broken(args):
        raise ModuleNotFoundError("No module named 'numpy'", name="numpy")

    monkeypatch.setattr(cli, "_run", broken)
    with pytest.raises(ModuleNotFoundError):
        main(["validate", "x.csv"])


# ----------------------------------------------------------------- reports/ layout


def test_generated_packs_are_ignored_and_the_reports_readme_is_not():
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout (the .gitignore rules need git)")
    ignored = subprocess.run(["git", "check-ignore", "--no-index",
                              "reports/online_retail/2011-11/index.html",
                              "reports/README.md", "docs/_build/html/index.html"],
                             cwd=REPO, capture_output=True, text=True, check=False)
    paths = set(ignored.stdout.splitlines())
    assert paths == {"reports/online_retail/2011-11/index.html",
                     "docs/_build/html/index.html"}
    readme = (REPO / "reports" / "README.md").read_text(encoding="utf-8")
    for name in ("index.html", "manifest.json", "01-executive-summary.html"):
        assert name in readme


# ----------------------------------------------------------------- the built wheel


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from this checkout (pip wheel, isolated build with hatchling)."""
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(dist), str(REPO)], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr[-2000:]
    (path,) = dist.glob("*.whl")
    return path


def _metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(z.read(name).decode("utf-8"))


@pytest.mark.notebooks
def test_wheel_is_named_clvkit_crm_with_the_report_stack_and_its_package_data(wheel):
    from clvkit.report.config import SECTIONS, shipped_configs

    meta = _metadata(wheel)
    assert meta["Name"] == "clvkit-crm" and meta["Version"] == clvkit.__version__
    assert wheel.name.startswith("clvkit_crm-")
    base = {r for r in meta.get_all("Requires-Dist") if "extra ==" not in r}
    assert {"papermill", "nbconvert", "nbformat", "ipykernel"} <= _requirement_names(base)
    assert set(meta.get_all("Provides-Extra")) == set(PYPROJECT["project"]["optional-dependencies"])
    names = set(zipfile.ZipFile(wheel).namelist())
    for section in SECTIONS.values():
        assert f"clvkit/templates/{section.template}" in names
    assert {f"clvkit/configs/{n}.yml" for n in shipped_configs()} <= names
    assert "clvkit/templates/html/clvkit_page.html.j2" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "clvkit = clvkit.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "CLVKIT_DATA", "JUPYTER_PATH", "VIRTUAL_ENV",
                        "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(sys.prefix))
    return {**env, **extra}


@pytest.fixture(scope="session")
def fresh_venv(wheel, tmp_path_factory) -> Path:
    """A new virtual environment holding the wheel and its declared dependencies only."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    # this environment's pip installs into the new one (no pip bootstrap there), without
    # compiling .pyc files at install time (the run compiles only what it imports)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                              "install", "-q", "--no-compile", str(wheel)],
                             capture_output=True, text=True, check=False,
                             env=_clean_env(), timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    return venv


@pytest.mark.notebooks
def test_fresh_venv_with_declared_dependencies_runs_clvkit_report_outside_the_repo(
        fresh_venv, tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    python = str(fresh_venv / "bin" / "python")
    # no dev extra: pytest and jupyterlab are not there
    absent = subprocess.run([python, "-c", "import importlib.util as u; "
                             "print([m for m in ('pytest', 'jupyterlab', 'nbgrader', 'duckdb') "
                             "if u.find_spec(m)])"], capture_output=True, text=True, check=True,
                            cwd=work, env=_clean_env())
    assert absent.stdout.strip() == "[]"
    rows = ["customer_id,date,amount"]
    for i in range(60):
        rows.append(f"{i % 25 + 1},2024-{i % 4 + 1:02d}-{i % 27 + 1:02d},{5 + (i * 7) % 40}")
    rows.append("3,2024-05-02,12")
    (work / "plain.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    run = subprocess.run([str(fresh_venv / "bin" / "clvkit"), "report", "--data", "plain.csv"],
                         cwd=work, env=_clean_env(), capture_output=True, text=True,
                         check=False, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = work / "reports" / "plain" / "2024-04"     # <data file name>/<last complete month>
    pages = sorted(p.name for p in out.glob("*.html"))
    assert "index.html" in pages and "01-executive-summary.html" in pages
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["path"] == "clvkit/configs/default.yml"
    assert manifest["inputs"][0]["path"] == "plain.csv"
    assert manifest["packages"]["clvkit"] == clvkit.__version__
    # the one full end-to-end run of the suite: every section the data support, no traceback
    status = {s["name"]: s["status"] for s in manifest["sections"]}
    assert status == {"executive_summary": "ok", "segments": "ok", "least_profitable": "ok",
                      "cohorts": "ok", "clv_by_channel": "skipped", "campaigns": "skipped",
                      "predictions": "ok", "data_quality": "ok"}
    assert manifest["status"] == "ok"
    for page in out.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "Traceback" not in text and "could not be built" not in text, page
        assert 'data-mime-type="application/vnd.jupyter.stderr"' not in text, page


@pytest.mark.notebooks
def test_target_install_finds_nbconvert_templates_without_jupyter_path(fresh_venv, wheel,
                                                                       tmp_path):
    """``pip install --target DIR`` puts nbconvert's templates in DIR/share/jupyter.

    nbconvert and clvkit go into the target; the interpreter is a bare venv (its prefix
    holds no Jupyter data), the other dependencies come from the fresh venv.
    """
    target, bare, work = tmp_path / "target", tmp_path / "bare", tmp_path / "elsewhere"
    work.mkdir()
    pip = [sys.executable, "-m", "pip", "--python", str(fresh_venv / "bin" / "python")]
    version = subprocess.run([*pip, "show", "nbconvert"], capture_output=True, text=True,
                             check=True, env=_clean_env()).stdout
    nbconvert = "nbconvert==" + re.search(r"^Version: (\S+)$", version, re.M)[1]
    install = subprocess.run([*pip, "install", "-q", "--no-deps", "--target", str(target),
                              str(wheel), nbconvert], capture_output=True, text=True,
                             check=False, env=_clean_env(), timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    assert (target / "share" / "jupyter" / "nbconvert" / "templates" / "lab").is_dir()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    site = subprocess.run([str(fresh_venv / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    env = _clean_env(PYTHONPATH=os.pathsep.join([str(target), site]),
                     JUPYTER_DATA_DIR=str(tmp_path / "nodata"))
    probe = subprocess.run([str(bare / "bin" / "python"), "-c",
                            "import clvkit, nbconvert; from jupyter_core.paths import "
                            "jupyter_path; print(clvkit.__file__); print(nbconvert.__file__); "
                            "print(jupyter_path('nbconvert', 'templates'))"],
                           cwd=work, env=env, capture_output=True, text=True, check=True)
    clvkit_file, nbconvert_file, searched = probe.stdout.splitlines()
    assert Path(clvkit_file).is_relative_to(target)
    assert Path(nbconvert_file).is_relative_to(target)
    assert str(target) not in searched        # Jupyter itself would not find the templates
    (work / "sales.csv").write_text(
        "customer_id,date,amount\n" + "".join(
            f"{c},2024-{m:02d}-{d:02d},{a}\n" for c, m, d, a in
            [(1, 1, 3, 10), (2, 1, 9, 22), (1, 2, 7, 15), (3, 2, 20, 5), (2, 3, 4, 30),
             (4, 3, 11, 8), (1, 3, 28, 12), (5, 3, 30, 40), (2, 4, 1, 9)]),
        encoding="utf-8")
    # one section is enough to export HTML with nbconvert's templates
    (work / "one.yml").write_text("sections: [data_quality]\ncurrency: GBP\n", encoding="utf-8")
    run = subprocess.run([str(bare / "bin" / "python"), "-m", "clvkit", "report", "--data",
                          "sales.csv", "--config", "one.yml", "--month", "2024-03", "--out",
                          "out"],
                         cwd=work, env=env, capture_output=True, text=True, check=False,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (work / "out" / "08-data-quality.html").exists()


def test_missing_nbconvert_templates_end_in_one_line_saying_what_to_set(monkeypatch, tmp_path):
    import nbconvert

    from clvkit import _nbnormalize

    fake = tmp_path / "site" / "nbconvert" / "__init__.py"
    fake.parent.mkdir(parents=True)
    fake.touch()
    monkeypatch.setattr(nbconvert, "__file__", str(fake))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "none"))
    import jupyter_core.paths as paths

    monkeypatch.setattr(paths, "jupyter_path", lambda *parts: [str(tmp_path / "none")])
    with pytest.raises(ClvError, match=r"^nbconvert's HTML templates .* set JUPYTER_PATH"):
        _nbnormalize.nbconvert_template_dirs()



# ----------------------------------------------------------------- the site's link check


def test_docs_link_check_finds_broken_links_anchors_and_network_assets(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_links", REPO / "docs" / "check_links.py")
    check_links = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_links)
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="sub/page.html#here">ok</a> <a href="https://example.org/">external</a>'
        '<img src="data:image/png;base64,AAAA"> <a href="#top" id="top">self</a>',
        encoding="utf-8")
    (tmp_path / "sub" / "page.html").write_text('<h1 id="here">x</h1>', encoding="utf-8")
    assert check_links.main([str(tmp_path)]) == 0
    (tmp_path / "sub" / "bad.html").write_text(
        '<a href="../index.html#nowhere">a</a> <a href="gone.html">b</a>'
        '<script src="https://cdn.example.org/mathjax.js"></script>', encoding="utf-8")
    assert check_links.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "sub/bad.html: no anchor #nowhere in index.html" in out
    assert "sub/bad.html: missing gone.html" in out
    assert "<script> from the network: https://cdn.example.org/mathjax.js" in out
