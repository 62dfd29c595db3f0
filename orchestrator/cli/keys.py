"""``breadth keys create/list/revoke``: the service's API keys, in the store it uses.

A new key is printed once, as the last line; the store keeps only its hash.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from orchestrator.cli.options import Subparsers, add_store_flags, settings_from
from orchestrator.errors import ConfigError

if TYPE_CHECKING:
    from orchestrator.store.tenants import TenantStore


def register(sub: Subparsers) -> None:
    keys = sub.add_parser("keys", help="create, list and revoke the service's API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a key for a tenant (printed once)")
    create.add_argument("--tenant", required=True, help="tenant name (lowercase, digits, _ -)")
    create.add_argument("--max-concurrent-jobs", type=int, help="quota: jobs queued or running")
    create.add_argument("--max-tokens-per-job", type=int, help="quota: a job's max_tokens")
    add_store_flags(create)
    create.set_defaults(run=lambda args, console: asyncio.run(create_key(args, console)))
    listing = actions.add_parser("list", help="list keys (ids and tenants, never the keys)")
    add_store_flags(listing)
    listing.set_defaults(run=lambda args, console: asyncio.run(list_keys(args, console)))
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    add_store_flags(revoke)
    revoke.set_defaults(run=lambda args, console: asyncio.run(revoke_key(args, console)))


@asynccontextmanager
async def _tenants(args: argparse.Namespace) -> AsyncIterator[TenantStore]:
    from orchestrator.store.factory import open_settings_store
    from orchestrator.store.redis_store import RedisStore
    from orchestrator.store.tenants import TenantStore

    settings = settings_from(args)
    store = await open_settings_store(settings)
    try:
        assert isinstance(store, RedisStore)
        yield TenantStore(store.client, settings.namespace, url=store.url)
    finally:
        await store.aclose()


async def create_key(args: argparse.Namespace, console: Console) -> int:
    for flag, value in (
        ("--max-concurrent-jobs", args.max_concurrent_jobs),
        ("--max-tokens-per-job", args.max_tokens_per_job),
    ):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} {value!r} must be at least 1 (leave it out: no limit)")
    async with _tenants(args) as tenants:
        key, stored, tenant = await tenants.create_key(
            args.tenant,
            max_concurrent_jobs=args.max_concurrent_jobs,
            max_tokens_per_job=args.max_tokens_per_job,
        )
    console.print(
        f"key {stored.key_id} for tenant {tenant.name!r} (max_concurrent_jobs="
        f"{tenant.max_concurrent_jobs}, max_tokens_per_job={tenant.max_tokens_per_job}); "
        f"it is shown only now:",
        highlight=False,
    )
    print(key)
    return 0


async def list_keys(args: argparse.Namespace, console: Console) -> int:
    import datetime

    async with _tenants(args) as tenants:
        stored = await tenants.list_keys()
    table = Table("key id", "tenant", "created")
    for key in stored:
        created = datetime.datetime.fromtimestamp(key.created_at).isoformat(timespec="seconds")
        table.add_row(key.key_id, key.tenant, created)
    console.print(table)
    return 0


async def revoke_key(args: argparse.Namespace, console: Console) -> int:
    async with _tenants(args) as tenants:
        found = await tenants.revoke(args.key_id)
    if not found:
        raise ConfigError(f"no key with id {args.key_id!r}; `breadth keys list` shows the ids")
    console.print(f"key {args.key_id} revoked", highlight=False)
    return 0
