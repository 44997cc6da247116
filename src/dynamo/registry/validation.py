"""Turning what a caller asked for into a validated draft, checked against the inventory.

Every function raises :class:`RegistryInputError` naming the offending value, and reads the
inventory only (run it where reading the live image is allowed: the server's event loop).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from dynamo.model import Inventory
from dynamo.registry.errors import RegistryInputError
from dynamo.registry.locks import DEFAULT_SERVICE, LockDraft
from dynamo.registry.patterns import compile_glob, has_glob, split_item, validate_glob
from dynamo.registry.requests import RequestDraft, RequestKind

__all__ = [
    "MAX_ITEMS",
    "copy_draft",
    "deletion_draft",
    "lock_draft",
    "resolve_items",
    "resolve_sites",
]

MAX_ITEMS: Final = 10_000
"""Items (and site patterns) one request may name."""
_SHOWN: Final = 5


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def resolve_items(items: Iterable[str], inventory: Inventory) -> tuple[str, ...]:
    """The items, sorted and unique, each an existing dataset or ``dataset#block``."""
    unique = sorted(set(items))
    if not unique:
        raise RegistryInputError("at least one item is required")
    if len(unique) > MAX_ITEMS:
        raise RegistryInputError(f"{len(unique)} items: at most {MAX_ITEMS} per request")
    unknown = []
    for item in unique:
        dataset_name, block_name = split_item(item, allow_glob=False)
        dataset = inventory.datasets.get(dataset_name)
        if dataset is None or (block_name is not None and dataset.find_block(block_name) is None):
            unknown.append(item)
    if unknown:
        raise RegistryInputError(f"unknown item {_listing(unknown)}: not in the inventory")
    return tuple(unique)


def resolve_sites(patterns: Iterable[str], inventory: Inventory) -> tuple[str, ...]:
    """The site names the patterns (names or globs) designate, sorted; each must match one."""
    wanted = sorted(set(patterns))
    if not wanted:
        raise RegistryInputError("at least one site is required")
    if len(wanted) > MAX_ITEMS:
        raise RegistryInputError(f"{len(wanted)} sites: at most {MAX_ITEMS} per request")
    found: set[str] = set()
    unmatched = []
    for pattern in wanted:
        matched = _matching_sites(validate_glob(pattern, "site"), inventory)
        if not matched:
            unmatched.append(pattern)
        found.update(matched)
    if unmatched:
        raise RegistryInputError(f"site {_listing(unmatched)} matches no known site")
    return tuple(sorted(found))


def _matching_sites(pattern: str, inventory: Inventory) -> list[str]:
    if not has_glob(pattern):
        return [pattern] if pattern in inventory.sites else []
    regex = compile_glob(pattern)
    return [name for name in inventory.sites if regex.match(name)]


def _check_group(group: str | None, inventory: Inventory) -> str | None:
    if group is not None and group not in inventory.groups:
        raise RegistryInputError(f"unknown group {group!r}")
    return group


def copy_draft(
    inventory: Inventory,
    *,
    user: str,
    dn: str,
    items: Iterable[str],
    sites: Iterable[str],
    group: str | None = None,
    n: int = 1,
) -> RequestDraft:
    """A copy request: ``n`` copies (0: one at every site) of each item, owned by ``group``."""
    if n < 0:
        raise RegistryInputError(f"n = {n}: the number of copies cannot be negative")
    return RequestDraft(
        kind=RequestKind.COPY,
        user=user,
        dn=dn,
        items=resolve_items(items, inventory),
        sites=resolve_sites(sites, inventory),
        group=_check_group(group, inventory),
        n=n,
    )


def deletion_draft(
    inventory: Inventory, *, user: str, dn: str, items: Iterable[str], sites: Iterable[str]
) -> RequestDraft:
    """A deletion request: remove each item's replicas at each site."""
    return RequestDraft(
        kind=RequestKind.DELETION,
        user=user,
        dn=dn,
        items=resolve_items(items, inventory),
        sites=resolve_sites(sites, inventory),
        n=0,
    )


def lock_draft(
    inventory: Inventory,
    *,
    user: str,
    dn: str,
    item: str,
    expires: int,
    sites: str | None = None,
    groups: str | None = None,
    comment: str = "",
    service: str = DEFAULT_SERVICE,
) -> LockDraft:
    """A lock on ``item`` (dataset, dataset glob or ``dataset#block``); an exact item must
    exist, and every glob (item, sites, groups) must match at least one known object now."""
    _check_lock_item(item, inventory)
    if sites is not None and not _matching_sites(validate_glob(sites, "site"), inventory):
        raise RegistryInputError(f"site {sites!r} matches no known site")
    if groups is not None:
        regex = compile_glob(validate_glob(groups, "group"))
        if not any(name is not None and regex.match(name) for name in inventory.groups):
            raise RegistryInputError(f"group {groups!r} matches no known group")
    if not service or has_glob(service) or len(service) > 64:
        raise RegistryInputError(f"bad service name {service!r}")
    return LockDraft(
        item=item,
        sites=sites,
        groups=groups,
        expires=expires,
        comment=comment,
        user=user,
        dn=dn,
        service=service,
    )


def _check_lock_item(item: str, inventory: Inventory) -> None:
    dataset_name, block_name = split_item(item, allow_glob=True)
    if has_glob(dataset_name):
        regex = compile_glob(dataset_name)
        if not any(regex.match(name) for name in inventory.datasets):
            raise RegistryInputError(f"item {item!r} matches no dataset in the inventory")
        return
    dataset = inventory.datasets.get(dataset_name)
    if dataset is None or (block_name is not None and dataset.find_block(block_name) is None):
        raise RegistryInputError(f"unknown item {item!r}: not in the inventory")
