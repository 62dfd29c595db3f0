"""The ``fetch`` tool: an HTTP(S) GET of a URL, returned as readable text, SSRF-safe.

Each hop (the URL, then every redirect) is checked by ``tools.netguard``: the host is
resolved once, every address it resolves to must be public (or allowed by the
operator), and the connection is pinned to the checked address (the request goes to
the IP; the ``Host`` header and the TLS server name carry the host name), so a second
DNS answer cannot move it elsewhere. The body is read up to a size limit, within a time
limit, only for the content types a researcher can read; HTML becomes text with
``tools.html_text``. The fetched page lands on the job's ``PageShelf`` under a stable
id, citable and readable (``read``) like a corpus document.
"""

from __future__ import annotations

import asyncio
import codecs
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from pydantic import Field

from orchestrator.errors import ToolError
from tools.html_text import html_to_text
from tools.netguard import Allowlist, IPAddress, Target, check_address, ip_literal, parse_target
from tools.pages import PageShelf, document_window
from tools.registry import Tool, make_tool

# Resolves a host name to its addresses (as text); injectable so tests can stub DNS.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = (
    "text/plain",
    "text/markdown",
    "text/csv",
    "text/xml",
    "application/xml",
    "application/json",
)
REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = "breadth-fetch/0.1 (+research agent)"
MAX_WINDOW = 20_000


@dataclass(frozen=True)
class FetchLimits:
    """How much one fetch may take: bytes of body, seconds in all, redirects followed."""

    max_bytes: int = 2_000_000
    timeout_s: float = 20.0
    connect_timeout_s: float = 5.0
    max_redirects: int = 5
    content_types: tuple[str, ...] = HTML_TYPES + TEXT_TYPES


@dataclass(frozen=True)
class FetchedPage:
    url: str
    final_url: str
    content_type: str
    title: str
    text: str
    truncated: bool


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host`` (TCP), in its order."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Fetcher:
    """Fetches URLs under the SSRF rules, the ``allow`` list and the ``limits``."""

    def __init__(
        self,
        *,
        allow: Allowlist | None = None,
        limits: FetchLimits | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.allow = allow or Allowlist()
        self.limits = limits or FetchLimits()
        self.resolver = resolver or system_resolver

    async def get(self, url: str) -> FetchedPage:
        """The page at ``url`` after at most ``max_redirects`` checked redirects."""
        try:
            async with asyncio.timeout(self.limits.timeout_s):
                return await self._follow(url)
        except TimeoutError:
            raise ToolError(
                f"fetching {url!r} took longer than {self.limits.timeout_s:g} s (rule: time "
                f"limit); try another page"
            ) from None

    async def _follow(self, url: str) -> FetchedPage:
        current = url
        for _hop in range(self.limits.max_redirects + 1):
            target = parse_target(current)
            address = await self._address(target)
            page = await self._request(target, address, url)
            if isinstance(page, FetchedPage):
                return page
            current = page
        raise ToolError(
            f"fetching {url!r} was redirected more than {self.limits.max_redirects} times "
            f"(rule: redirect limit); fetch the final page's URL directly"
        )

    async def _address(self, target: Target) -> IPAddress:
        """The one address to connect to, after checking every address the host has."""
        if target.literal is not None:
            check_address(target, target.literal, self.allow)
            return target.literal
        try:
            answers = await self.resolver(target.host, target.port)
        except OSError as exc:
            raise ToolError(
                f"host {target.host!r} of {target.url!r} does not resolve ({exc}); check the URL"
            ) from None
        addresses = [a for a in (ip_literal(answer) for answer in answers) if a is not None]
        if not addresses:
            raise ToolError(f"host {target.host!r} of {target.url!r} has no address")
        for address in addresses:
            check_address(target, address, self.allow)
        return addresses[0]

    async def _request(self, target: Target, address: IPAddress, asked: str) -> FetchedPage | str:
        """GET ``target`` from ``address``; the page, or the next URL of a redirect."""
        parts = urlsplit(target.url)
        ip_host = f"[{address}]" if address.version == 6 else str(address)
        pinned = urlunsplit(
            (target.scheme, f"{ip_host}:{target.port}", parts.path or "/", parts.query, "")
        )
        default_port = (target.scheme, target.port) in (("http", 80), ("https", 443))
        host_header = target.host if default_port else f"{target.host}:{target.port}"
        if ":" in target.host:  # an IPv6 literal
            host_header = f"[{target.host}]" + ("" if default_port else f":{target.port}")
        headers = {
            "Host": host_header,
            "User-Agent": USER_AGENT,
            "Accept": ", ".join(self.limits.content_types),
            # No compression: the size limit then bounds what is held, not just what is sent.
            "Accept-Encoding": "identity",
        }
        extensions = {"sni_hostname": target.host} if target.literal is None else {}
        timeout = httpx.Timeout(self.limits.timeout_s, connect=self.limits.connect_timeout_s)
        # A client per hop: no connection opened for another host (or SNI) is ever reused.
        client = httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=timeout)
        try:
            async with (
                client,
                client.stream("GET", pinned, headers=headers, extensions=extensions) as response,
            ):
                if response.status_code in REDIRECTS and "location" in response.headers:
                    return urljoin(target.url, response.headers["location"])
                if response.status_code >= 400:
                    raise ToolError(
                        f"{target.url!r} answered HTTP {response.status_code} "
                        f"{response.reason_phrase}; try another URL"
                    )
                content_type = self._content_type(target, response)
                body, truncated = await self._body(response)
        except httpx.HTTPError as exc:
            raise ToolError(
                f"fetching {target.url!r} failed: {type(exc).__name__}: {exc or 'no detail'}"
            ) from None
        text = _decode(body, response.headers.get("content-type", ""))
        final = target.url
        if content_type in HTML_TYPES:
            extracted = html_to_text(text, final)
            title, text = extracted.title, extracted.text
        else:
            title = ""
        return FetchedPage(asked, final, content_type, title, text, truncated)

    def _content_type(self, target: Target, response: httpx.Response) -> str:
        raw = str(response.headers.get("content-type", ""))
        media = raw.split(";", 1)[0].strip().lower()
        if media not in self.limits.content_types:
            raise ToolError(
                f"{target.url!r} is {media or 'of no declared type'!r}; fetch reads only "
                f"{', '.join(self.limits.content_types)} (rule: content-type allowlist)"
            )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.max_bytes * 4:
            raise ToolError(
                f"{target.url!r} is {int(declared)} bytes, far over the limit of "
                f"{self.limits.max_bytes} (rule: size limit); fetch a smaller page"
            )
        return media

    async def _body(self, response: httpx.Response) -> tuple[bytes, bool]:
        """The body, cut at ``max_bytes`` (the rest is never read)."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            room = self.limits.max_bytes - size
            chunks.append(chunk[:room])
            size += min(len(chunk), room)
            if len(chunk) > room:
                return b"".join(chunks), True
        return b"".join(chunks), False


def _decode(body: bytes, content_type: str) -> str:
    charset = "utf-8"
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    return body.decode(charset, errors="replace")


def fetch_tool(fetcher: Fetcher, pages: PageShelf) -> Tool:
    """The ``fetch`` tool over ``fetcher``, keeping the pages it fetches on ``pages``."""

    async def fetch(
        url: str,
        offset: Annotated[int, Field(ge=0)] = 0,
        length: Annotated[int, Field(ge=1, le=MAX_WINDOW)] = 4000,
    ) -> str:
        """Fetch a web page (http or https) and return its readable text, title and final URL.

        The reply starts with "[page-id] Title": cite the page by that id. It ends with
        how many characters remain; pass that offset to read the rest.

        Args:
            url: the full URL, e.g. "https://docs.python.org/3/reference/datamodel.html".
            offset: the character of the page's text to start at (0 for the beginning).
            length: how many characters to return (1-20000).
        """
        doc = pages.by_url(url)
        if doc is None:
            page = await fetcher.get(url)
            text = page.text + ("\n\n[page cut at the size limit]" if page.truncated else "")
            doc = pages.add(url, page.final_url, page.title, text)
        page_id = doc.id

        def more(end: int) -> str:
            return f"fetch(url={url!r}, offset={end}) or read(doc_id={page_id!r}, offset={end})"

        return document_window(doc, offset, length, more=more)

    return make_tool(fetch, concurrency=8, timeout_s=fetcher.limits.timeout_s + 5)
