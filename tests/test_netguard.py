"""The fetch tool's SSRF rules (pure): every spelling of an internal address is refused."""

from __future__ import annotations

import ipaddress

import pytest

from orchestrator.errors import ConfigError, ToolError
from tools.netguard import Allowlist, blocked_rule, check_address, ip_literal, parse_target


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("[::1]", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("169.254.169.254", "169.254.169.254"),
    ],
)
def test_ip_spellings_are_read_as_a_resolver_reads_them(host: str, address: str) -> None:
    assert ip_literal(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.org", "1.2.3.4.5", "0x1g.1", "256.1.1.1.1", ""])
def test_names_are_not_ip_literals(host: str) -> None:
    assert ip_literal(host) is None


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.20.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("fc00::1", "unique local"),
        ("::ffff:127.0.0.1", "loopback (127.0.0.0/8), embedded"),
        ("::ffff:10.0.0.1", "private network (10.0.0.0/8), embedded"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),
        ("2002:7f00:1::", "loopback (127.0.0.0/8), embedded"),
    ],
)
def test_internal_addresses_are_refused_by_a_named_rule(address: str, rule: str) -> None:
    found = blocked_rule(ipaddress.ip_address(address))
    assert found is not None and rule in found


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert blocked_rule(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://example.org/", "scheme 'gopher'"),
        ("ftp://example.org/", "scheme 'ftp'"),
        ("example.org/page", "no scheme"),
        ("http:///path", "names no host"),
        ("http://user:pw@example.org/", "credentials"),
        ("http://exa mple.org/", "invalid host"),
    ],
)
def test_bad_urls_are_refused_with_the_rule(url: str, words: str) -> None:
    with pytest.raises(ToolError, match=words):
        parse_target(url)


def test_an_allowlist_entry_with_a_port_allows_only_that_port() -> None:
    allow = Allowlist.parse(["127.0.0.1:8080", "10.0.0.0/8", "wiki.internal"])
    loopback = ipaddress.ip_address("127.0.0.1")
    check_address(parse_target("http://127.0.0.1:8080/"), loopback, allow)
    with pytest.raises(ToolError, match="loopback"):
        check_address(parse_target("http://127.0.0.1:6379/"), loopback, allow)
    check_address(parse_target("http://10.2.3.4/"), ipaddress.ip_address("10.2.3.4"), allow)
    check_address(parse_target("http://wiki.internal/"), ipaddress.ip_address("192.168.0.9"), allow)


def test_a_refusal_names_the_host_the_address_and_the_fix() -> None:
    target = parse_target("http://intranet.example/")
    with pytest.raises(ToolError) as caught:
        check_address(target, ipaddress.ip_address("10.0.0.5"), Allowlist())
    message = str(caught.value)
    assert "10.0.0.5" in message and "'intranet.example'" in message
    assert "private network" in message and "--fetch-allow" in message


def test_a_bad_allowlist_entry_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'not a host!'"):
        Allowlist.parse(["not a host!"])
    with pytest.raises(ConfigError, match="bad port"):
        Allowlist.parse(["127.0.0.1:99999"])
