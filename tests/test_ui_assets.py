"""The live page's files: vendored from npm as recorded, licensed, packaged, served safely."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from orchestrator.service.ui import assets

ROOT = Path(__file__).resolve().parent.parent
UI = ROOT / "orchestrator" / "service" / "ui"
VENDOR = UI / "static" / "vendor"


def recorded_hashes() -> dict[str, str]:
    """file -> sha256, from the vendor README's table."""
    rows = re.findall(
        r"^\| `([^`]+\.js)` \|.*\| `([0-9a-f]{64})` \|$", (VENDOR / "README.md").read_text(), re.M
    )
    return dict(rows)


def test_vendored_files_are_the_recorded_npm_builds_with_their_licences() -> None:
    hashes = recorded_hashes()
    assert set(hashes) == {"cytoscape.min.js", "cytoscape-dagre.min.js"}
    for name, digest in hashes.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    readme = (VENDOR / "README.md").read_text()
    for package, licence in [
        ("cytoscape", "LICENSE.cytoscape"),
        ("cytoscape-dagre", "LICENSE.cytoscape-dagre"),
        ("@dagrejs/dagre", "LICENSE.dagre"),
        ("@dagrejs/graphlib", "LICENSE.graphlib"),
    ]:
        text = (VENDOR / licence).read_text()
        assert "Permission is hereby granted, free of charge" in text, licence  # MIT
        assert f"`{package}`" in readme and f"`{licence}`" in readme
    # The dagre bundled in cytoscape-dagre is the version the README names.
    assert 'version:"3.0.0"' in (VENDOR / "cytoscape-dagre.min.js").read_text()
    assert "npm pack cytoscape@3.34.4 cytoscape-dagre@4.0.1" in readme


def test_pages_load_only_files_the_package_serves_and_no_cdn() -> None:
    for template in (UI / "templates").glob("*.html"):
        page = template.read_text()
        # No inline script or event handler: the CSP forbids them.
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), template.name
        assert not re.search(r"\son[a-z]+\s*=", page), template.name
        for url in re.findall(r'(?:src|href)="([^"]+)"', page):
            assert not url.startswith(("http:", "https:", "//")), (template.name, url)
            if url.startswith("/ui/static/"):
                assert assets.static_file(url.removeprefix("/ui/static/")) is not None, url


@pytest.mark.parametrize(
    "path", ["../routes.py", "vendor/../../routes.py", "/etc/passwd", "vendor/README.md.bak", ""]
)
def test_static_files_come_from_a_fixed_list(path: str) -> None:
    assert assets.static_file(path) is None


def test_static_files_have_their_media_types() -> None:
    body, media = assets.static_file("vendor/cytoscape.min.js") or (b"", "")
    assert media.startswith("text/javascript") and body.startswith(b"/**")
    assert (assets.static_file("dag.js") or (b"", ""))[1].startswith("text/javascript")
    assert (assets.static_file("page.css") or (b"", ""))[1].startswith("text/css")
    assert (assets.static_file("vendor/LICENSE.dagre") or (b"", ""))[1].startswith("text/plain")


def test_template_values_are_escaped() -> None:
    page = assets.job_page('"><script>alert(1)</script>')
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_package_data_names_every_file_of_the_page() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["orchestrator.service.ui"]
    packaged = {p.relative_to(UI) for pattern in patterns for p in UI.glob(pattern) if p.is_file()}
    wanted = {
        p.relative_to(UI)
        for p in [*(UI / "static").rglob("*"), *(UI / "templates").rglob("*")]
        if p.is_file()
    }
    assert wanted and wanted <= packaged


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_built_package_carries_the_page(tmp_path: Path) -> None:
    """What setuptools puts in the wheel (``build_py``: packages and their package data)."""
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools; setuptools.setup()",
            "-q",
            "build_py",
            "-d",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    page = tmp_path / "orchestrator" / "service" / "ui"
    for name in (
        "static/vendor/cytoscape.min.js",
        "static/vendor/cytoscape-dagre.min.js",
        "static/vendor/LICENSE.cytoscape",
        "static/vendor/LICENSE.dagre",
        "static/dag.js",
        "static/page.css",
        "templates/job.html",
    ):
        assert (page / name).is_file(), name
