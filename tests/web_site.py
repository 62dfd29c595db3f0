"""A small web site for the fetch tests: pages, redirects, odd types, a big body; it records
the Host header of every request (to show that fetch pins the connection)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

GUIDE = """<html><head><title>The Loopback Guide</title></head><body>
<nav>Home | About | Contact</nav>
<article><h1>The Loopback Guide</h1>
<p>The loopback interface lets a host talk to itself without any network card.</p>
<p>Its IPv4 range is 127.0.0.0/8 and its IPv6 address is ::1; packets sent there never
leave the machine, which is why services bind to it for local-only access.</p>
</article><footer>Copyright 2026 Example Docs</footer></body></html>"""

PORTS = """<html><head><title>Well-known ports</title></head><body><article>
<h1>Well-known ports</h1><p>Redis listens on port 6379 by default; HTTP uses port 80 and
HTTPS port 443. Ports below 1024 are called well-known ports.</p></article></body></html>"""


def site(hosts: list[str], redirect_to: str = "http://127.0.0.1:6379/") -> Starlette:
    """The site; every request's Host header is appended to ``hosts``."""

    async def page(body: str, request: Request) -> Response:
        hosts.append(request.headers.get("host", ""))
        return HTMLResponse(body)

    async def guide(request: Request) -> Response:
        return await page(GUIDE, request)

    async def ports(request: Request) -> Response:
        return await page(PORTS, request)

    async def hop(request: Request) -> Response:
        hosts.append(request.headers.get("host", ""))
        return RedirectResponse("/guide", status_code=302)

    async def escape(request: Request) -> Response:
        hosts.append(request.headers.get("host", ""))
        return RedirectResponse(redirect_to, status_code=302)

    async def loop(request: Request) -> Response:
        return RedirectResponse("/loop", status_code=302)

    async def binary(request: Request) -> Response:
        return Response(b"\x00\x01PK", media_type="application/octet-stream")

    async def text(request: Request) -> Response:
        return PlainTextResponse("plain facts: 2 + 2 = 4\n")

    async def huge(request: Request) -> Response:
        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(100):
                yield b"<p>" + b"x" * 65536 + b"</p>"

        return StreamingResponse(chunks(), media_type="text/html")

    async def missing(request: Request) -> Response:
        return PlainTextResponse("nope", status_code=404)

    return Starlette(
        routes=[
            Route("/guide", guide),
            Route("/ports", ports),
            Route("/hop", hop),
            Route("/escape", escape),
            Route("/loop", loop),
            Route("/binary", binary),
            Route("/text", text),
            Route("/huge", huge),
            Route("/missing", missing),
        ]
    )
