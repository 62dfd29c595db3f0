"""Which URLs and addresses ``fetch`` may reach: the SSRF rules, as pure functions.

A URL must be http(s); its host is read as an IP literal in every spelling a C
resolver accepts (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``[::ffff:127.0.0.1]``),
else resolved by the caller. Each address is refused when it lies in a range that
reaches the host or its network (loopback, private, link-local, CGNAT, multicast,
unspecified, reserved, cloud metadata), IPv6 forms that embed an IPv4 address
(mapped, NAT64, 6to4) are judged by that address, unless the operator's allowlist
names it. Every refusal names the rule that refused it. No I/O.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from orchestrator.errors import ConfigError, ToolError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}

# (range, rule) — the first range that holds an address names the rule that refuses it.
# Metadata addresses come first: they also lie in wider ranges, and their rule is clearer.
_BLOCKED: list[tuple[IPNetwork, str]] = [
    (ipaddress.ip_network(net), rule)
    for net, rule in [
        ("169.254.169.254/32", "cloud metadata service"),
        ("169.254.170.2/32", "cloud metadata service (ECS task credentials)"),
        ("100.100.100.200/32", "cloud metadata service (Alibaba)"),
        ("fd00:ec2::254/128", "cloud metadata service (AWS IPv6)"),
        ("0.0.0.0/8", "unspecified / 'this network'"),
        ("10.0.0.0/8", "private network"),
        ("100.64.0.0/10", "carrier-grade NAT (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private network"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation (TEST-NET-1)"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private network"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation (TEST-NET-2)"),
        ("203.0.113.0/24", "documentation (TEST-NET-3)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("255.255.255.255/32", "broadcast"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignments"),
        ("2001:db8::/32", "documentation"),
        ("fc00::/7", "unique local (private network)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    ]
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SIXTOFOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")

# One part of an IPv4 address as inet_aton reads it: decimal, 0-octal or 0x-hex.
_INET_PART = re.compile(r"^(0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*)$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?)+$")


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """``host`` read the way a C resolver's ``inet_aton`` reads it (1 to 4 parts), or None.

    ``2130706433``, ``0x7f.1``, ``0177.0.0.01`` and ``127.1`` all mean 127.0.0.1; a
    resolver would connect there, so the checks must see through them.
    """
    parts = host.rstrip(".").split(".") if host else []
    if not 1 <= len(parts) <= 4 or not all(_INET_PART.match(part) for part in parts):
        return None
    values = []
    for part in parts:
        if part[:2].lower() == "0x":
            values.append(int(part[2:] or "0", 16))
        elif part.startswith("0") and len(part) > 1:
            values.append(int(part, 8))
        else:
            values.append(int(part))
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for index, value in enumerate(head):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def ip_literal(host: str) -> IPAddress | None:
    """The address a host names directly (any IPv4 spelling, bracketed IPv6), or None."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]  # an IPv6 zone id names an interface, not an address
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return _inet_aton(text)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIXTOFOUR:
        return address.sixtofour
    if address in _TEREDO and address.teredo is not None:
        return address.teredo[1]
    return None


def blocked_rule(address: IPAddress) -> str | None:
    """Why ``address`` must not be fetched (the rule and its range), or None if it is public."""
    inner = embedded_ipv4(address)
    if inner is not None:
        rule = blocked_rule(inner)
        return None if rule is None else f"{rule}, embedded in the IPv6 address {address}"
    for network, rule in _BLOCKED:
        if address.version == network.version and address in network:
            return f"{rule} ({network})"
    if not address.is_global:
        return "not a globally routable address"
    return None


@dataclass(frozen=True)
class Allowlist:
    """What the operator lets ``fetch`` reach although the rules refuse it.

    Entries are IP addresses or networks (``127.0.0.1``, ``10.0.0.0/8``) or host names
    (``intranet.example``), each optionally with a port (``127.0.0.1:8080``,
    ``[::1]:8080``, ``wiki.internal:443``): then only that port is allowed.
    """

    networks: tuple[tuple[IPNetwork, int | None], ...] = ()
    hosts: tuple[tuple[str, int | None], ...] = ()
    entries: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, entries: Iterable[str]) -> Allowlist:
        """An allowlist from the operator's entries; a bad one is a ``ConfigError``."""
        networks: list[tuple[IPNetwork, int | None]] = []
        hosts: list[tuple[str, int | None]] = []
        kept = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            kept.append(entry)
            host, port = _split_port(entry)
            try:
                networks.append((ipaddress.ip_network(host.strip("[]"), strict=False), port))
                continue
            except ValueError:
                pass
            literal = _inet_aton(host)
            if literal is not None:
                networks.append((ipaddress.ip_network(literal), port))
            elif _HOSTNAME.match(host):
                hosts.append((host.lower().rstrip("."), port))
            else:
                raise ConfigError(
                    f"fetch allowlist entry {entry!r} is neither an IP address, a network "
                    f"(10.0.0.0/8) nor a host name, optionally with a port "
                    f"(127.0.0.1:8080, [::1]:8080, wiki.internal:443); fix or remove it"
                )
        return cls(tuple(networks), tuple(hosts), tuple(kept))

    def allows(self, host: str, address: IPAddress, port: int) -> bool:
        """Whether the operator allowed ``address`` (reached as ``host``) on ``port``."""
        name = host.lower().rstrip(".")
        for allowed, allowed_port in self.hosts:
            if allowed == name and allowed_port in (None, port):
                return True
        candidates = [address]
        inner = embedded_ipv4(address)
        if inner is not None:
            candidates.append(inner)
        return any(
            candidate.version == network.version
            and candidate in network
            and allowed_port in (None, port)
            for network, allowed_port in self.networks
            for candidate in candidates
        )

    def __bool__(self) -> bool:
        return bool(self.networks or self.hosts)


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":")
        return host, _port(entry, port) if port else None
    if entry.count(":") == 1 and "/" not in entry:
        host, port = entry.split(":")
        return host, _port(entry, port)
    return entry, None


def _port(entry: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(
            f"fetch allowlist entry {entry!r} has a bad port {text!r}; use 1-65535, "
            f"e.g. 127.0.0.1:8080"
        )
    return int(text)


@dataclass(frozen=True)
class Target:
    """A URL that passed the scheme and host checks: where to connect, before DNS."""

    url: str
    scheme: str
    host: str
    port: int
    # The host's address when the URL names one directly (no DNS lookup then).
    literal: IPAddress | None


def parse_target(url: str) -> Target:
    """Check ``url``'s form: an http(s) URL with a host; a ``ToolError`` names the rule."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ToolError(f"URL {url!r} cannot be parsed ({exc}); pass a full http(s) URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"scheme {scheme!r}" if scheme else "no scheme"
        raise ToolError(
            f"URL {url!r} has {shown}: only http and https may be fetched (rule: scheme); "
            f"pass a URL like https://example.org/page"
        )
    host = parts.hostname or ""
    if not host:
        raise ToolError(f"URL {url!r} names no host; pass a URL like https://example.org/page")
    if parts.username is not None or parts.password is not None:
        raise ToolError(
            f"URL {url!r} carries credentials (user:password@); fetch refuses them "
            f"(rule: no credentials in URLs)"
        )
    literal = ip_literal(host)
    if literal is None and not _HOSTNAME.match(host):
        raise ToolError(f"URL {url!r} has an invalid host name {host!r}")
    return Target(text, scheme, host, port or DEFAULT_PORTS[scheme], literal)


def check_address(target: Target, address: IPAddress, allow: Allowlist) -> None:
    """Refuse ``address`` (what ``target``'s host resolved to) unless it is public or allowed."""
    rule = blocked_rule(address)
    if rule is None or allow.allows(target.host, address, target.port):
        return
    via = "" if target.literal is not None else f" (host {target.host!r} resolves to it)"
    raise ToolError(
        f"refused to fetch {target.url!r}: address {address}{via} is {rule}; fetch reaches "
        f"public addresses only (rule: no private or internal addresses). An operator may "
        f"allow it with the fetch allowlist (--fetch-allow {address})"
    )
