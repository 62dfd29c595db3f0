"""Every Redis key breadth writes, built by functions: the store's whole layout in one place.

All keys live under the store's namespace; everything of one job under ``{ns}:job:{id}:``::

    {ns}:jobs                      sorted set  job id -> created_at, for list_jobs
    {ns}:job:{id}:record           string      the JobRecord as JSON
    {ns}:job:{id}:results          hash        task content key -> TaskResult JSON
    {ns}:job:{id}:artifacts        hash        artifact name -> text
    {ns}:job:{id}:events           stream      one entry per Event, its JSON in field "event"
    {ns}:job:{id}:calls            hash        call key -> recorded model/tool call JSON (replay)
    {ns}:cache:{call key}          string      a cached model/tool call's result JSON (--cache)
    {ns}:job:{id}:cancel           string      set when a user asked to cancel the job

The service and its workers add, under the service's base namespace ``{base}``
(a tenant's jobs live in its own namespace ``{base}.t.{tenant}``, see
``tenant_namespace``)::

    {base}:queue                   stream      one entry per job to run (consumer group "workers")
    {base}:workers                 sorted set  worker name -> time of its last heartbeat
    {base}:cancels                 pub/sub     "{ns}/{job id}" of every cancel request
    {base}:stats                   hash        counters: tasks, tokens, jobs finished by state
    {base}:apikeys                 hash        sha256 of an API key -> its record (tenant, id)
    {base}:tenants                 hash        tenant name -> its record (quotas)
    {ns}:active                    set         ids of the namespace's queued and running jobs
    {ns}:idempotency:{key}         string      "{request hash} {job id}" of an Idempotency-Key
    {base}:ui:secret               string      the key that signs the live page's session cookies
"""

from __future__ import annotations

import re

from orchestrator.errors import ConfigError

NAMESPACE_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
EVENT_FIELD = "event"

_NAMESPACE_RE = re.compile(NAMESPACE_PATTERN)
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")


def check_namespace(namespace: str) -> str:
    """Return ``namespace`` if it is a valid key prefix, else raise ``ConfigError``.

    ``:`` and glob characters are refused so one namespace's keys can never match
    another's (``a`` and ``a:job`` would overlap) nor a key pattern.
    """
    if not _NAMESPACE_RE.match(namespace):
        raise ConfigError(
            f"namespace {namespace!r} is not a valid key prefix: it must be 1-64 letters, "
            f"digits, '_', '.' or '-'; pass e.g. --namespace breadth-dev"
        )
    return namespace


def jobs_index(ns: str) -> str:
    return f"{ns}:jobs"


def _job_prefix(ns: str, job_id: str) -> str:
    return f"{ns}:job:{job_id}:"


def job(ns: str, job_id: str) -> str:
    return _job_prefix(ns, job_id) + "record"


def results(ns: str, job_id: str) -> str:
    return _job_prefix(ns, job_id) + "results"


def artifacts(ns: str, job_id: str) -> str:
    return _job_prefix(ns, job_id) + "artifacts"


def events(ns: str, job_id: str) -> str:
    return _job_prefix(ns, job_id) + "events"


def calls(ns: str, job_id: str) -> str:
    return _job_prefix(ns, job_id) + "calls"


def cache_entry(ns: str, key: str) -> str:
    return f"{ns}:cache:{key}"


def cancel(ns: str, job_id: str) -> str:
    return _job_prefix(ns, job_id) + "cancel"


def job_keys(ns: str, job_id: str) -> tuple[str, ...]:
    """Every key that holds data of one job (the index entry and the cancel flag aside)."""
    return (
        job(ns, job_id),
        results(ns, job_id),
        artifacts(ns, job_id),
        events(ns, job_id),
        calls(ns, job_id),
    )


def job_keys_pattern(ns: str, job_id: str) -> str:
    """A SCAN pattern that matches every key of one job (to prove a deletion complete)."""
    return _GLOB_SPECIAL.sub(r"\\\1", _job_prefix(ns, job_id)) + "*"


# -- the service: queue, workers, tenants --------------------------------------------

QUEUE_GROUP = "workers"
TENANT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
IDEMPOTENCY_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"

_TENANT_RE = re.compile(TENANT_PATTERN)


def check_tenant(tenant: str) -> str:
    """Return ``tenant`` if it is a valid tenant name, else raise ``ConfigError``."""
    if not _TENANT_RE.match(tenant):
        raise ConfigError(
            f"tenant name {tenant!r} is not valid: it must be 1-32 lowercase letters, digits, "
            f"'_' or '-', starting with a letter or digit; e.g. --tenant acme"
        )
    return tenant


def tenant_namespace(base: str, tenant: str | None) -> str:
    """Where a tenant's jobs, results and events live; ``None`` (no auth): the base itself."""
    if tenant is None:
        return check_namespace(base)
    return check_namespace(f"{base}.t.{check_tenant(tenant)}")


def queue(base: str) -> str:
    return f"{base}:queue"


def workers(base: str) -> str:
    return f"{base}:workers"


def cancels_channel(base: str) -> str:
    return f"{base}:cancels"


def stats(base: str) -> str:
    return f"{base}:stats"


def api_keys(base: str) -> str:
    return f"{base}:apikeys"


def tenants(base: str) -> str:
    return f"{base}:tenants"


def active_jobs(ns: str) -> str:
    return f"{ns}:active"


def idempotency(ns: str, key: str) -> str:
    return f"{ns}:idempotency:{key}"


def ui_secret(base: str) -> str:
    return f"{base}:ui:secret"
