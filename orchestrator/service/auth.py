"""Who is calling: ``Authorization: Bearer KEY`` names a tenant, whose namespace holds its jobs.

With auth off (``--no-auth``, loopback only) every caller is the anonymous tenant, whose
jobs live in the service's base namespace.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from orchestrator.service.problems import ApiProblem
from orchestrator.service.state import ServiceState
from orchestrator.store import keys
from orchestrator.store.tenants import Tenant

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="breadth"'}


@dataclass(frozen=True)
class Caller:
    tenant: Tenant | None
    namespace: str


def service_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.breadth
    return state


async def caller(request: Request) -> Caller:
    """The tenant of the request's API key (a FastAPI dependency of every /v1 route)."""
    state = service_state(request)
    base = state.runtime.settings.namespace
    if not state.config.auth:
        return Caller(None, base)
    header = request.headers.get("authorization")
    if not header:
        raise ApiProblem(
            401,
            "no API key: send the header 'Authorization: Bearer KEY'; an operator creates "
            "keys with `breadth keys create --tenant NAME`",
            slug="missing-api-key",
            headers=_CHALLENGE,
        )
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ApiProblem(
            401,
            f"the Authorization header has scheme {scheme[:20]!r}; send 'Authorization: Bearer "
            f"KEY' with a key from `breadth keys create`",
            slug="bad-authorization",
            headers=_CHALLENGE,
        )
    tenant = await state.tenants.authenticate(key) if len(key) <= 256 else None
    if tenant is None:
        shown = key[:6] + "…" if len(key) > 6 else "…"
        raise ApiProblem(
            401,
            f"API key {shown!r} is not valid (unknown or revoked); use a key from `breadth "
            f"keys create --tenant NAME`",
            slug="invalid-api-key",
            headers=_CHALLENGE,
        )
    return Caller(tenant, keys.tenant_namespace(base, tenant.name))
