"""The dashboard's assets ship inside the package (DESIGN §15): uPlot at a pinned version with its
licence and a notice of where it came from, nothing fetched from a CDN, templates that a strict
Content-Security-Policy allows (no inline script, style or event handler), all in the wheel."""

from __future__ import annotations

import re

from support import REPO

PACKAGE = REPO / "runner" / "sigsync"
STATIC = PACKAGE / "static"
TEMPLATES = PACKAGE / "templates"
UPLOT = "1.6.32"


def test_uplot_is_shipped_pinned_with_its_licence_and_notice():
    script = (STATIC / "vendor" / "uplot" / "uPlot.iife.min.js").read_text()
    assert script.startswith(f"/*! https://github.com/leeoniya/uPlot (v{UPLOT}) */")
    assert (STATIC / "vendor" / "uplot" / "uPlot.min.css").stat().st_size > 1000
    licence = (STATIC / "vendor" / "uplot" / "LICENSE").read_text()
    assert "MIT License" in licence and "Leon Sorokin" in licence
    notice = (STATIC / "vendor" / "README.md").read_text()
    assert f"| uPlot | {UPLOT} |" in notice and f"uplot-{UPLOT}.tgz" in notice and "MIT" in notice


def test_nothing_is_loaded_from_another_origin():
    ours = [*TEMPLATES.glob("*.html"), STATIC / "app.js", STATIC / "charts.js", STATIC / "app.css"]
    for path in ours:
        text = path.read_text()
        assert not re.search(r"(?:src|href)=\"(?:https?:)?//", text), path
        assert "cdn" not in text.lower() and "@import" not in text, path
        assert not re.search(r"fetch\(\s*[\"']https?:", text), path


def test_templates_need_no_unsafe_inline():
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text()
        assert not re.search(r"\sstyle=", text), path
        assert not re.search(r"\son[a-z]+=", text), path
        for tag in re.findall(r"<script[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert "|safe" not in text and "autoescape false" not in text, path  # everything is escaped


def test_the_wheel_carries_the_templates_and_static_files():
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'packages = ["runner/sigsync"]' in pyproject
    assert '"runner/sigsync/static/**/*"' in pyproject and '"runner/sigsync/templates/*.html"' in pyproject
    assert "jinja2" in pyproject.lower() and "selenium" in pyproject.lower()
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"DEB_PACKAGES :=.* chromium chromium-driver", makefile)
