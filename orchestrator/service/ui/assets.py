"""The page's files: HTML templates and static files, read once from the package (the wheel).

Static files are served from a fixed list (what ``static/`` holds, vendored cytoscape
included), so no request path ever reaches the file system. Values put into a template
are HTML-escaped; the pages' scripts are files, never inline (the CSP forbids inline).
"""

from __future__ import annotations

import functools
import html
from importlib import resources
from string import Template

PACKAGE = "orchestrator.service.ui"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".svg": "image/svg+xml",
}


@functools.cache
def _static_files() -> dict[str, tuple[bytes, str]]:
    files: dict[str, tuple[bytes, str]] = {}
    root = resources.files(PACKAGE) / "static"

    def walk(folder: resources.abc.Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            name = f"{prefix}{entry.name}"
            if entry.is_dir():
                walk(entry, f"{name}/")
                continue
            suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
            if entry.name.startswith("LICENSE"):
                files[name] = (entry.read_bytes(), "text/plain; charset=utf-8")
            elif suffix in MEDIA_TYPES:
                files[name] = (entry.read_bytes(), MEDIA_TYPES[suffix])

    walk(root, "")
    return files


def static_file(path: str) -> tuple[bytes, str] | None:
    """A static file's bytes and media type, by its path under ``static/`` (None: unknown)."""
    return _static_files().get(path)


@functools.cache
def _template(name: str) -> Template:
    return Template((resources.files(PACKAGE) / "templates" / name).read_text(encoding="utf-8"))


def _render(name: str, **values: str) -> str:
    return _template(name).substitute({k: html.escape(v, quote=True) for k, v in values.items()})


def login_page(next_path: str, error: str | None) -> str:
    return _render("login.html", next=next_path, error=error or "")


def jobs_page(tenant: str | None) -> str:
    return _render("jobs.html", tenant=tenant or "")


def job_page(job_id: str) -> str:
    return _render("job.html", job_id=job_id)


def message_page(title: str, message: str) -> str:
    return _render("message.html", title=title, message=message)
