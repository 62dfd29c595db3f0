"""Joining a Ray cluster: the one place breadth imports ``ray`` and calls ``ray.init``.

Everything Ray-backed (the Ray executor, Ray-hosted model replicas) connects through
``connect_ray``, so a missing extra, an address that does not answer and Ray's own
connection errors become one kind of error each, with the fix in the message.
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

from orchestrator.errors import ConfigError, MissingExtra

# The namespace of the named actors breadth creates (model replicas).
RAY_NAMESPACE = "breadth"
# How long a probe of the cluster's address may take before it counts as not answering.
PROBE_TIMEOUT_S = 5.0
_ADDRESS_HELP = (
    "give the address of a running Ray cluster's head (host:port of its GCS, e.g. "
    "10.0.0.5:6380 after `ray start --head --port=6380`; ray://host:10001 for Ray Client; "
    "'auto' for the cluster this machine is part of), or leave out --ray-address to start "
    "a local Ray on this machine"
)


def import_ray(what: str = "the Ray executor") -> Any:
    """The ``ray`` module, or ``MissingExtra`` naming the pip extra to install."""
    try:
        import ray
    except ImportError:
        raise MissingExtra(what, "ray") from None
    return ray


def connect_ray(address: str | None, *, what: str = "the Ray executor") -> bool:
    """Join the Ray cluster at ``address`` (None: start a local one) unless already joined.

    Returns whether this call connected (the caller then owns the connection and shuts it
    down). Ray started by this call never listens on Redis's port 6379: a local Ray picks
    free ports. An address that does not answer raises ``ConfigError`` naming it.
    """
    ray = import_ray(what)
    if ray.is_initialized():
        return False
    if address and address != "auto":
        probe_address(address)
    try:
        ray.init(
            address=address or None,
            include_dashboard=False,
            logging_level="WARNING",
            log_to_driver=False,
        )
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = repr(address) if address else "a local Ray"
        raise ConfigError(
            f"cannot join the Ray cluster at {where}: {_first_line(exc)}; {_ADDRESS_HELP}"
        ) from None
    return True


def probe_address(address: str) -> None:
    """Raise ``ConfigError`` unless something listens at ``address`` (host:port, ray://...)."""
    parts = urlsplit(address if "://" in address else f"//{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise ConfigError(f"Ray address {address!r} is not host:port; {_ADDRESS_HELP}")
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"the Ray cluster at {address!r} does not answer ({reason}); {_ADDRESS_HELP}"
        ) from None


def cluster_resource(name: str) -> float:
    """The total of one resource (``CPU``, ``GPU``) in the joined cluster."""
    ray = import_ray()
    return float(ray.cluster_resources().get(name, 0.0))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
