"""The long-term store read and edited from outside a run: its namespaces and items.

The store is the one runs get (``runtime.store``, a node's ``store`` parameter) and the
API serves (``client.store.*``): :meth:`LongTermStore.of` takes it from an open
:class:`~lgp_engine.Runner` for a workflow (its ``langgraph.json`` ``store`` section
decides which), :meth:`LongTermStore.open` opens the project's alone. Items come back
as :class:`StoreItem` values with times in UTC; the store's database errors are
:class:`~lgp_engine.errors.StoreError`, bad namespaces, keys and values
:class:`~lgp_engine.errors.UsageError`, an unreachable embeddings endpoint the
provider's :class:`~lgp_engine.ProviderError`.

Example::

    with LongTermStore.open(settings) as memory:
        for namespace in memory.namespaces():
            for item in memory.search(namespace, exact=True, text="tea"):
                print(".".join(item.namespace), item.key, item.value)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import LGPError, StoreError, UsageError

if TYPE_CHECKING:
    from .config import Settings
    from .loader import LoadedWorkflow
    from .runner import Runner

#: Namespaces listed at most (a store with more says so: ``len(...) == limit``).
NAMESPACE_LIMIT = 1000
#: Items a search returns at most.
ITEM_LIMIT = 500
#: Items read from the store at a time while filtering.
PAGE = 200
#: The longest namespace label and key the store's API takes (the same limits here).
MAX_LABEL = 200
MAX_KEY = 1000
MAX_DEPTH = 32

Namespace = tuple[str, ...]
_SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|database is locked)\b", re.IGNORECASE)
T = TypeVar("T")


@dataclass(frozen=True)
class StoreItem:
    """One item of the long-term store.

    Attributes:
        namespace: Its labels, outermost first (``("memories", "ada")``).
        key: Its key within the namespace.
        value: The JSON object stored.
        created_at, updated_at: When it was first written and last written (UTC).
        score: Its relevance to a search ``query`` (semantic search only).
    """

    namespace: Namespace
    key: str
    value: dict[str, Any]
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    score: float | None = None

    @classmethod
    def from_item(cls, item: Any) -> StoreItem:
        """A LangGraph ``Item`` (or ``SearchItem``) as a :class:`StoreItem`."""
        return cls(
            tuple(item.namespace),
            item.key,
            item.value,
            _utc(item.created_at),
            _utc(item.updated_at),
            getattr(item, "score", None),
        )

    def to_json(self) -> dict[str, Any]:
        """The item as the store API answers it (ISO 8601 times with their zone;
        ``score`` only for a semantic search's items)."""
        out: dict[str, Any] = {
            "namespace": list(self.namespace),
            "key": self.key,
            "value": self.value,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }
        if self.score is not None:
            out["score"] = self.score
        return out


def item_json(item: Any) -> dict[str, Any]:
    """A LangGraph ``Item`` as the store API answers it (``score`` when it has one)."""
    out = StoreItem.from_item(item).to_json()
    if hasattr(item, "score"):  # a search item: its score, even None (no index)
        out["score"] = item.score
    return out


def _utc(when: dt.datetime | None) -> dt.datetime | None:
    """``when`` with its zone (SQLite keeps UTC times without one)."""
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def parse_namespace(text: str) -> Namespace:
    """``memories.ada`` as ``("memories", "ada")`` (labels cannot hold a ``.``).

    Raises:
        UsageError: an empty namespace or label, or one the store refuses.
    """
    labels = tuple(label.strip() for label in text.strip().split("."))
    return check_namespace(labels)


def check_namespace(namespace: Sequence[str]) -> Namespace:
    """``namespace`` as a tuple, checked as the store checks it before a write.

    Raises:
        UsageError: it is empty, too deep, has an empty or too long label, a label
            with a ``.`` or a NUL, or starts with ``langgraph`` (reserved).
    """
    labels = tuple(namespace)
    if not labels or labels == ("",):
        raise UsageError("a namespace needs at least one label", field="namespace")
    if len(labels) > MAX_DEPTH:
        raise UsageError(f"a namespace has at most {MAX_DEPTH} labels", field="namespace")
    for label in labels:
        if not isinstance(label, str) or not label:
            raise UsageError(
                "a namespace's labels cannot be empty (labels are joined by '.')",
                field="namespace",
            )
        if "." in label or "\x00" in label:
            raise UsageError(
                f"the namespace label {label!r} holds a '.' or a NUL", field="namespace"
            )
        if len(label) > MAX_LABEL:
            raise UsageError(
                f"a namespace label is at most {MAX_LABEL} characters", field="namespace"
            )
    if labels[0] == "langgraph":
        raise UsageError("namespaces under 'langgraph' are LangGraph's own", field="namespace")
    return labels


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise UsageError("an item needs a key", field="key")
    if len(key) > MAX_KEY:
        raise UsageError(f"a key is at most {MAX_KEY} characters", field="key")
    return key


@functools.cache
def _database_errors() -> tuple[type[Exception], ...]:
    """SQLite's errors, and PostgreSQL's (psycopg's, a pool timeout included) when
    psycopg is installed."""
    try:
        import psycopg  # its pool's timeout is one of its errors
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


class LongTermStore:
    """Namespaces and items of a LangGraph ``BaseStore``, for browsing and editing.

    Args:
        store: The store (``Runner.long_term_store(workflow)``).
        location: Where it is, for messages (``.lgp/checkpoints.db``).
    """

    def __init__(self, store: Any, location: str = "") -> None:
        self.store = store
        self.location = location

    @classmethod
    def of(cls, runner: Runner, workflow: LoadedWorkflow | None = None) -> LongTermStore | None:
        """The store ``workflow``'s runs get from ``runner`` (the project's default store
        without a workflow); None when the project has none (``store.backend: none``).

        Raises:
            ConfigError: the store's ``index`` or ``ttl`` is invalid.
        """
        found = _guarded(lambda: runner.long_term_store(workflow))
        if found is None:
            return None
        return cls(found, runner.store.location)

    @classmethod
    @contextlib.contextmanager
    def open(
        cls, settings: Settings, workflow: LoadedWorkflow | None = None
    ) -> Iterator[LongTermStore | None]:
        """The project's store on its own (no runner), closed on exit; None when the
        project has none. In memory (``checkpointer.backend: memory``) it is empty
        each time."""
        from .backends.memory_store import MemoryStores, project_store_section

        checkpointer = settings.checkpointer
        db_path = settings.resolve(checkpointer.path) if checkpointer.backend == "sqlite" else None
        stores = MemoryStores(settings, db_path)
        try:
            if workflow is None:
                found = _guarded(stores.default)
            else:
                project = workflow.source.project_file
                section = project_store_section(project)
                found = _guarded(lambda: stores.get(section, str(project or "")))
            if checkpointer.backend == "postgres":
                from .backends.postgres import display_dsn

                location = display_dsn(checkpointer.postgres_dsn)
            else:
                location = str(db_path) if db_path is not None else "memory"
            yield cls(found, location) if found is not None else None
        finally:
            stores.close()

    @property
    def indexed(self) -> bool:
        """Whether the store has a semantic index (``query`` ranks items by meaning)."""
        return bool(getattr(self.store, "index_config", None))

    # -- reading ---------------------------------------------------------------------
    def namespaces(
        self, prefix: Sequence[str] = (), *, limit: int = NAMESPACE_LIMIT
    ) -> list[Namespace]:
        """The namespaces holding items (under ``prefix``), sorted."""
        found = _guarded(
            lambda: self.store.list_namespaces(prefix=tuple(prefix) or None, limit=limit)
        )
        return sorted(tuple(ns) for ns in found)

    def search(
        self,
        prefix: Sequence[str] = (),
        *,
        exact: bool = False,
        text: str | None = None,
        query: str | None = None,
        limit: int = ITEM_LIMIT,
    ) -> list[StoreItem]:
        """Items under ``prefix`` (only those of ``prefix`` itself with ``exact``),
        newest first, or closest to ``query`` first.

        Args:
            prefix: A namespace prefix; ``()`` is the whole store.
            exact: Only items whose namespace is ``prefix``, not deeper ones.
            text: Keep items whose key, namespace or value holds it (any case).
            query: Rank by meaning (the store's semantic index; :attr:`indexed`).
            limit: At most this many items.

        Raises:
            UsageError: a ``query`` on a store without a semantic index.
        """
        if query and not self.indexed:
            raise UsageError(
                "this store has no semantic index: a query cannot rank its items",
                field="query",
                hint="filter by text instead, or give the store an index "
                "(store.index in langgraph.json or the config)",
            )
        labels = tuple(prefix)
        needle = (text or "").strip().casefold()
        kept: list[StoreItem] = []
        offset = 0
        while len(kept) < limit:
            page = _guarded(
                lambda: self.store.search(
                    labels,
                    query=query or None,
                    limit=PAGE,
                    offset=offset,  # noqa: B023
                )
            )
            for item in page:
                found = StoreItem.from_item(item)
                if exact and found.namespace != labels:
                    continue
                if needle and needle not in _haystack(found):
                    continue
                kept.append(found)
                if len(kept) >= limit:
                    break
            if len(page) < PAGE:
                break
            offset += PAGE
        return kept

    def get(self, namespace: Sequence[str], key: str) -> StoreItem | None:
        """The item at ``namespace``/``key``, or None."""
        labels = tuple(namespace)
        found = _guarded(lambda: self.store.get(labels, key))
        return StoreItem.from_item(found) if found is not None else None

    # -- writing ---------------------------------------------------------------------
    def put(
        self, namespace: Sequence[str], key: str, value: Any, *, replace: bool = True
    ) -> StoreItem:
        """Store ``value`` (a JSON object) at ``namespace``/``key``: the item as stored.
        The store's index and ``ttl`` apply as to a run's writes.

        Args:
            replace: False refuses a key that is already there (a new item).

        Raises:
            UsageError: a bad namespace or key, a value that is not a JSON object, or
                (``replace=False``) an existing item (``code="item_exists"``).
        """
        labels = check_namespace(namespace)
        _check_key(key)
        if not isinstance(value, dict):
            raise UsageError("an item's value must be a JSON object", field="value")
        try:
            value = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"the value is not JSON: {exc}", field="value") from None
        if not replace and self.get(labels, key) is not None:
            raise UsageError(
                f"{'.'.join(labels)} already has an item {key!r}",
                field="key",
                code="item_exists",
                hint="edit it instead, or pick another key",
            )
        _guarded(lambda: self.store.put(labels, key, value))
        stored = self.get(labels, key)
        if stored is None:  # deleted by someone else at once; say what was written
            return StoreItem(labels, key, value, None, None)
        return stored

    def delete(self, namespace: Sequence[str], key: str) -> bool:
        """Delete the item at ``namespace``/``key``; whether there was one."""
        labels = tuple(namespace)
        existed = self.get(labels, key) is not None
        if existed:
            _guarded(lambda: self.store.delete(labels, key))
        return existed


def _haystack(item: StoreItem) -> str:
    """What a text filter looks in: the namespace, the key and the value as JSON."""
    value = json.dumps(item.value, ensure_ascii=False, default=str)
    return f"{'.'.join(item.namespace)}\n{item.key}\n{value}".casefold()


def _guarded(call: Callable[[], T]) -> T:
    """``call()``, its database errors as a :class:`StoreError` and the store's
    refusals (a bad namespace, filter) as a :class:`UsageError`."""
    try:
        return call()
    except LGPError:
        raise
    except _database_errors() as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(
            f"the long-term store's database failed: {first[:300]}",
            code="store_unavailable",
            hint="try again; another process may hold the database",
        ) from None
    except (ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if _SQL.search(first):  # LangGraph wraps database errors with their statement
            raise StoreError(
                "the long-term store's database is busy or unavailable",
                code="store_unavailable",
                hint="try again",
            ) from None
        raise UsageError(first[:500]) from None
