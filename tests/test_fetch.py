"""The fetch tool against a real loopback site, reached only through a test-only allowlist.

Every attack of the issue's list is refused with the rule named; the pages the site
serves come back as readable text with a citable id, the connection pinned to the
checked address (the site sees the host name in the Host header, the resolver is asked
once per hop).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from orchestrator.errors import ToolError
from tests.loopback import serve_loopback
from tests.web_site import site
from tools.builtin import corpus_tools
from tools.corpus import Corpus, Document
from tools.fetch import Fetcher, FetchLimits, fetch_tool
from tools.netguard import Allowlist
from tools.pages import PageShelf

pytestmark = pytest.mark.timeout(30)


class Site:
    def __init__(self, port: int, hosts: list[str]) -> None:
        self.port = port
        self.hosts = hosts
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture
async def web() -> AsyncIterator[Site]:
    hosts: list[str] = []
    async with serve_loopback(site(hosts)) as port:
        yield Site(port, hosts)


def allowing(web: Site, **kwargs: object) -> Fetcher:
    """A fetcher that may reach the test site's port on loopback, and nothing else internal."""
    return Fetcher(allow=Allowlist.parse([f"127.0.0.1:{web.port}"]), **kwargs)  # type: ignore[arg-type]


async def test_a_page_comes_back_as_readable_text_with_title_and_citable_id(web: Site) -> None:
    pages = PageShelf()
    fetch = fetch_tool(allowing(web), pages)
    text = await fetch.call({"url": f"{web.url}/guide"})
    first, url_line = text.splitlines()[:2]
    assert first.startswith(f"[web/127.0.0.1-{web.port}/guide] The Loopback Guide (characters 0-")
    assert url_line == f"URL: {web.url}/guide"
    assert "lets a host talk to itself" in text and "<p>" not in text
    assert text.rstrip().endswith("[end of document]")
    # The page is a document of the job: read finds it by its id.
    read = corpus_tools(Corpus([Document("x", "X", "x")]), pages).get("read")
    again = await read.call({"doc_id": f"web/127.0.0.1-{web.port}/guide", "offset": 10})
    assert again.startswith(f"[web/127.0.0.1-{web.port}/guide] The Loopback Guide (characters 10-")


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://127.0.0.1:6379/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata service"),
        ("http://2130706433/", "loopback"),
        ("http://0x7f.1/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback (127.0.0.0/8), embedded in the IPv6"),
        ("http://10.0.0.1/", "private network"),
        ("http://[fe80::1]/", "link-local"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0:6379/", "unspecified"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://127.0.0.1:6379/_INFO", "only http and https"),
    ],
)
async def test_internal_addresses_and_other_schemes_are_refused(url: str, rule: str) -> None:
    fetch = fetch_tool(Fetcher(), PageShelf())
    with pytest.raises(ToolError, match="rule") as caught:
        await fetch.call({"url": url})
    assert rule in str(caught.value)


async def test_the_allowlist_names_a_port_not_the_whole_host(web: Site) -> None:
    with pytest.raises(ToolError, match="loopback"):
        await allowing(web).get("http://127.0.0.1:6379/")


async def test_a_redirect_to_loopback_is_checked_again_and_refused(web: Site) -> None:
    with pytest.raises(ToolError, match=r"'http://127.0.0.1:6379/'.*loopback"):
        await allowing(web).get(f"{web.url}/escape")
    assert web.hosts == [f"127.0.0.1:{web.port}"]  # the first hop was served, the second refused


async def test_a_redirect_to_another_scheme_is_refused() -> None:
    hosts: list[str] = []
    async with serve_loopback(site(hosts, redirect_to="file:///etc/passwd")) as port:
        fetcher = Fetcher(allow=Allowlist.parse([f"127.0.0.1:{port}"]))
        with pytest.raises(ToolError, match="scheme 'file'"):
            await fetcher.get(f"http://127.0.0.1:{port}/escape")


async def test_redirects_within_the_site_are_followed_to_the_final_url(web: Site) -> None:
    page = await allowing(web).get(f"{web.url}/hop")
    assert page.final_url == f"{web.url}/guide" and page.title == "The Loopback Guide"


async def test_a_redirect_loop_stops_at_the_limit(web: Site) -> None:
    fetcher = allowing(web, limits=FetchLimits(max_redirects=3))
    with pytest.raises(ToolError, match=r"more than 3 times.*redirect limit"):
        await fetcher.get(f"{web.url}/loop")


def stub_resolver(answers: dict[str, Sequence[str]], asked: list[str]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        return answers[host]

    return resolve


async def test_a_host_whose_dns_answers_a_private_address_is_refused() -> None:
    asked: list[str] = []
    resolver = stub_resolver(
        {"intranet.example": ["10.0.0.5"], "mixed.example": ["93.184.216.34", "127.0.0.1"]},
        asked,
    )
    fetcher = Fetcher(resolver=resolver)
    with pytest.raises(ToolError, match=r"10\.0\.0\.5 \(host 'intranet.example' resolves to it\)"):
        await fetcher.get("http://intranet.example/")
    # One bad answer among good ones is enough: the host is refused, not half-trusted.
    with pytest.raises(ToolError, match=r"127\.0\.0\.1.*loopback"):
        await fetcher.get("https://mixed.example/")
    assert asked == ["intranet.example", "mixed.example"]


async def test_the_connection_is_pinned_to_the_checked_address(web: Site) -> None:
    # docs.test resolves (once) to the site's address; the request goes to that address
    # and carries the name in its Host header.
    asked: list[str] = []
    resolver = stub_resolver({"docs.test": ["127.0.0.1"]}, asked)
    fetcher = Fetcher(allow=Allowlist.parse([f"127.0.0.1:{web.port}"]), resolver=resolver)
    page = await fetcher.get(f"http://docs.test:{web.port}/hop")
    assert page.title == "The Loopback Guide"
    assert web.hosts == [f"docs.test:{web.port}", f"docs.test:{web.port}"]
    assert asked == ["docs.test", "docs.test"]  # once per hop


async def test_types_outside_the_allowlist_are_refused_and_text_passes(web: Site) -> None:
    fetcher = allowing(web)
    with pytest.raises(ToolError, match=r"application/octet-stream.*content-type allowlist"):
        await fetcher.get(f"{web.url}/binary")
    page = await fetcher.get(f"{web.url}/text")
    assert page.text == "plain facts: 2 + 2 = 4\n" and page.content_type == "text/plain"


async def test_a_big_body_is_cut_at_the_size_limit(web: Site) -> None:
    page = await allowing(web, limits=FetchLimits(max_bytes=100_000)).get(f"{web.url}/huge")
    assert page.truncated
    assert len(page.text) <= 100_000


async def test_an_http_error_is_a_tool_error(web: Site) -> None:
    with pytest.raises(ToolError, match="HTTP 404"):
        await allowing(web).get(f"{web.url}/missing")


async def test_a_slow_page_stops_at_the_time_limit() -> None:
    import asyncio

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    release = asyncio.Event()

    async def slow(request: object) -> PlainTextResponse:
        await release.wait()
        return PlainTextResponse("late")

    async with serve_loopback(Starlette(routes=[Route("/", slow)])) as port:
        fetcher = Fetcher(
            allow=Allowlist.parse([f"127.0.0.1:{port}"]), limits=FetchLimits(timeout_s=0.5)
        )
        with pytest.raises(ToolError, match=r"longer than 0.5 s.*time limit"):
            await fetcher.get(f"http://127.0.0.1:{port}/")
        release.set()
