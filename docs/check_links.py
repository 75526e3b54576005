"""Check every internal link of the built site offline (``make docs``).

Every ``href``/``src`` that is not an external URL must name a file of the site, and
every ``#fragment`` an ``id`` (or ``name``) in that file. External links (http/https,
mailto) are listed by count only: CI is offline. Any ``<script src>`` or stylesheet
from another host fails the check: the site must work without a network.

Usage: ``python docs/check_links.py docs/_build/html``; exit code 1 on a broken link.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []     # (tag, attribute, value)

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)
            if key in ("href", "src") and value is not None:
                self.links.append((tag, key, value))


def check(root: Path) -> list[str]:
    """Broken links of the site in ``root``, one line each."""
    pages = {p.resolve(): _Page() for p in sorted(root.rglob("*.html"))}
    for path, page in pages.items():
        page.feed(path.read_text(encoding="utf-8"))
    problems, external = [], 0
    for path, page in pages.items():
        for tag, _key, value in page.links:
            url = urlsplit(value)
            if url.scheme in ("http", "https", "mailto") or value.startswith("//"):
                if tag in ("script", "link", "img", "iframe") and url.scheme != "mailto":
                    problems.append(f"{path.relative_to(root)}: <{tag}> from the network: "
                                    f"{value}")
                external += 1
                continue
            if url.scheme in ("data", "javascript") or value == "":
                continue
            target = (path.parent / unquote(url.path)).resolve() if url.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{path.relative_to(root)}: missing {value}")
                continue
            if url.fragment and target in pages and unquote(url.fragment) not in pages[
                    target].ids:
                problems.append(f"{path.relative_to(root)}: no anchor #{url.fragment} in "
                                f"{target.name}")
    print(f"{len(pages)} pages, {sum(len(p.links) for p in pages.values())} links checked "
          f"offline ({external} external, not followed): {len(problems)} broken")
    return problems


def main(argv: list[str]) -> int:
    """Command-line entry point."""
    root = Path(argv[0] if argv else "docs/_build/html").resolve()
    problems = check(root)
    for line in problems:
        print(line)
    return 1 if problems or not (root / "index.html").exists() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
