"""Readable text and a title from an HTML page (pure: no I/O).

trafilatura does the work: it is a maintained main-content extractor (boilerplate such
as menus and footers is dropped, tables kept) built on lxml, it installs from PyPI as
wheels, and it is what research crawlers commonly use. A page it finds no main content
in (a near-empty page, a bare fragment) falls back to lxml's plain text of the body, so
a short page still reads as something.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from orchestrator.errors import MissingExtra

EXTRA = "tools"


@dataclass(frozen=True)
class PageText:
    title: str
    text: str


def html_to_text(html: str, url: str | None = None) -> PageText:
    """The main text of ``html`` (paragraphs on their own lines) and its title."""
    try:
        import lxml.html
        import trafilatura
    except ImportError:
        raise MissingExtra("the fetch tool's HTML extraction", EXTRA) from None

    with warnings.catch_warnings():
        # lxml and its helpers warn about odd markup; a hostile page must not turn that into
        # an error under warnings-as-errors, and the text is still extracted.
        warnings.simplefilter("ignore")
        document = trafilatura.bare_extraction(
            html, url=url, favor_recall=True, with_metadata=True, include_tables=True
        )
        title = (getattr(document, "title", None) or "").strip()
        text = (getattr(document, "text", None) or "").strip()
        if not text or not title:
            try:
                tree = lxml.html.document_fromstring(html)
            except (ValueError, lxml.etree.ParserError):
                tree = None
            if tree is not None:
                title = title or " ".join((tree.findtext(".//title") or "").split())
                if not text:
                    body = tree.body if tree.find("body") is not None else tree
                    text = "\n".join(
                        line for line in (" ".join(s.split()) for s in body.itertext()) if line
                    )
    return PageText(title=title, text=text)
