"""Check a built report as a person would see it: open its pages in headless Chromium.

For ``index.html`` and every section page of a report folder this script

1. dumps the DOM Chromium builds (``--dump-dom``) and checks that the page has
   its headline (index: the headline table with the month's revenue; executive
   summary: the revenue sentence) and as many rendered ``<img>`` figures as the
   executed notebook has PNG outputs, and no ``<script>`` injected from data;
2. takes a screenshot (``--screenshot``) and checks that it is not blank
   (enough non-white pixels with some variety).

Usage::

    python scripts/check_report_render.py [REPORT_DIR] \
        [--save-screenshot docs/report-screenshot.png]

Exit code 0 when every check passes, 1 otherwise, 2 when Chromium is missing
(install it with ``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary on PATH, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(chromium: str, page: Path, *, args: list[str], profile: Path) -> str:
    """Run headless Chromium on one page; return its stdout (the DOM with ``--dump-dom``)."""
    cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed on {page}: {done.stderr[-500:]}")
    return done.stdout


def png_outputs(notebook: Path) -> int:
    """Number of PNG figures among the outputs of an executed notebook."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    return sum("image/png" in out.get("data", {})
               for cell in nb["cells"] for out in cell.get("outputs", []))


def blank_check(png: Path) -> tuple[bool, str]:
    """Whether a screenshot shows something (ink and contrast), with the measured numbers."""
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    ink = float((pixels < 240).mean())
    spread = float(pixels.std())
    ok = ink > 0.01 and spread > 5
    return ok, f"{ink:.1%} non-white pixels, grey-level std {spread:.1f}"


def check_page(chromium: str, page: Path, *, expect_text: list[str], expect_images: int,
               screenshot: Path, profile: Path) -> list[str]:
    """Check one page's DOM and screenshot; return the problems found."""
    problems = []
    dom = run_chromium(chromium, page, args=["--dump-dom", "--virtual-time-budget=3000"],
                       profile=profile)
    for text in expect_text:
        if text not in dom:
            problems.append(f"{page.name}: text {text!r} not rendered")
    images = len(re.findall(r"<img\b[^>]*src=\"data:image/png;base64,", dom))
    if images < expect_images:
        problems.append(f"{page.name}: {images} figures rendered, expected {expect_images}")
    if re.search(r"<script>\s*alert", dom, flags=re.IGNORECASE):
        problems.append(f"{page.name}: a <script> from data text was rendered unescaped")
    run_chromium(chromium, page, args=[f"--screenshot={screenshot}", "--window-size=1280,2000",
                                       "--virtual-time-budget=3000"], profile=profile)
    ok, detail = blank_check(screenshot)
    if not ok:
        problems.append(f"{page.name}: screenshot looks blank ({detail})")
    print(f"  {page.name:<32} {images} figure(s); screenshot {detail}")
    return problems


def headline_texts(report: Path) -> dict[str, list[str]]:
    """Texts each page must show, taken from the index's headline table."""
    index = (report / "index.html").read_text(encoding="utf-8")
    revenue = re.search(r"<tr><td>Revenue</td><td>([^<]+)</td>", index)
    texts = {"index.html": ["Headline numbers"]}
    if revenue:
        texts["index.html"].append(revenue.group(1))
        texts["01-executive-summary.html"] = ["Executive summary", revenue.group(1)]
    return texts


def save_small(src: Path, dest: Path, *, max_bytes: int = 500_000) -> None:
    """Save a screenshot for the README: cropped to content, reduced until < max_bytes."""
    from PIL import Image

    image = Image.open(src).convert("RGB")
    grey = np.asarray(image.convert("L"))
    rows = np.nonzero((grey < 240).any(axis=1))[0]
    if len(rows):
        image = image.crop((0, 0, image.width, min(image.height, rows[-1] + 40)))
    dest.parent.mkdir(parents=True, exist_ok=True)
    scale = 1.0
    while True:
        size = (int(image.width * scale), int(image.height * scale))
        small = image.resize(size, Image.LANCZOS).quantize(colors=128)
        small.save(dest, optimize=True)
        if dest.stat().st_size < max_bytes or scale < 0.3:
            break
        scale *= 0.8


def main(argv=None) -> int:
    """Check every page of a report folder; exit code 0 ok, 1 problems, 2 no Chromium."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", nargs="?", default="reports/online_retail/2011-11")
    parser.add_argument("--save-screenshot", help="copy the executive-summary screenshot here")
    parser.add_argument("--keep", help="folder for all screenshots (default: temporary)")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("chromium not found: apt-get install -y chromium", file=sys.stderr)
        return 2
    report = Path(args.report)
    pages = [report / "index.html", *sorted(report.glob("[0-9][0-9]-*.html"))]
    texts = headline_texts(report)
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        shots = Path(args.keep) if args.keep else Path(tmp)
        shots.mkdir(parents=True, exist_ok=True)
        print(f"checking {report} with {chromium}")
        for page in pages:
            notebook = page.with_suffix(".ipynb")
            problems += check_page(
                chromium, page, expect_text=texts.get(page.name, []),
                expect_images=png_outputs(notebook) if notebook.exists() else 0,
                screenshot=shots / f"{page.stem}.png", profile=Path(tmp) / "profile")
        summary = shots / "01-executive-summary.png"
        if args.save_screenshot and summary.exists():
            save_small(summary, Path(args.save_screenshot))
            print(f"saved {args.save_screenshot} ({Path(args.save_screenshot).stat().st_size:,} "
                  "bytes)")
    for problem in problems:
        print("PROBLEM:", problem)
    print("render check:", "ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
