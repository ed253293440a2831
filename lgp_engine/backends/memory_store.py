"""Long-term memory: the LangGraph ``BaseStore`` every run gets.

Graphs reach it as ``runtime.store``, ``get_store()`` or a node's ``store``
parameter, and the API serves it (``client.store.*``). It lives in the project's
SQLite file next to the checkpoints by default (LangGraph's ``SqliteStore``), in
memory when the checkpointer is in memory, and in the checkpointer's PostgreSQL
database when it is there (LangGraph's ``PostgresStore``; an ``index`` needs the
server's pgvector extension). A ``langgraph.json`` ``store`` section
(``index`` for semantic search, ``ttl``) applies to its project's graphs, as the
LangGraph CLI applies it; embeddings come from a configured provider
(``index.embed: "openai:text-embedding-3-small"`` uses ``llm_providers.openai``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import inspect
import json
import math
import sqlite3
import struct
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from ..errors import ConfigError
from ..providers.base import ProviderError
from .sqlite import connect

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

    from ..config import Settings

#: Minutes between two deletions of expired items when ``ttl`` names no interval.
DEFAULT_SWEEP_MINUTES = 5
#: Seconds an embeddings call may take before the store operation fails.
EMBED_TIMEOUT_S = 30.0


def store_backend(settings: Settings) -> str:
    """``sqlite``, ``memory``, ``postgres`` or ``none``: the configured one, else the
    checkpointer's."""
    return settings.store.backend or settings.checkpointer.backend


def project_store_section(project_file: Path | None) -> dict[str, Any] | None:
    """The ``store`` section of a ``langgraph.json`` (None when it has none)."""
    if project_file is None or project_file.suffix != ".json":
        return None
    try:
        data = json.loads(project_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # the loader reports an unreadable file
    section = data.get("store") if isinstance(data, dict) else None
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{project_file}: 'store' must be an object with 'index' and/or 'ttl'")
    return section


class MemoryStores:
    """The long-term stores of one process: one per distinct ``store`` section (most
    projects have one), all in the same database, closed together."""

    def __init__(self, settings: Settings, db_path: Path | None) -> None:
        self.settings = settings
        self.backend = store_backend(settings)
        self.db_path = db_path
        self._stores: dict[str, BaseStore] = {}
        self._conns: list[sqlite3.Connection] = []
        self._pool: Any = None  # PostgreSQL: one pool for every store of the process
        self._lock = threading.Lock()

    def default(self) -> BaseStore | None:
        """The store of graphs without a ``store`` section of their own."""
        return self.get(None)

    def get(self, section: dict[str, Any] | None, where: str = "") -> BaseStore | None:
        """The store for a ``langgraph.json`` ``store`` section (None: the config's)."""
        if self.backend == "none":
            return None
        index, ttl = self._options(section, where)
        key = json.dumps([index, ttl], sort_keys=True, default=str)
        with self._lock:
            found = self._stores.get(key)
            if found is None:
                found = self._open(index, ttl, where)
                self._stores[key] = found
            return found

    def _options(
        self, section: dict[str, Any] | None, where: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        from pydantic import ValidationError

        from ..config import StoreIndexSettings, StoreTtlSettings

        own = self.settings.store
        index = own.index.model_dump(exclude_none=True) if own.index else None
        ttl = own.ttl.model_dump(exclude_none=True) if own.ttl else None
        if section:
            try:
                if section.get("index") is not None:
                    index = StoreIndexSettings(**section["index"]).model_dump(exclude_none=True)
                if section.get("ttl") is not None:
                    ttl = StoreTtlSettings(**section["ttl"]).model_dump(exclude_none=True)
            except (TypeError, ValidationError) as exc:
                first = exc.errors()[0] if isinstance(exc, ValidationError) else None
                reason = (
                    f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
                    if first
                    else str(exc)
                )
                raise ConfigError(f"{where or 'langgraph.json'}: store: {reason}") from None
        return index, ttl

    def _open(
        self, index: dict[str, Any] | None, ttl: dict[str, Any] | None, where: str
    ) -> BaseStore:
        index_config: Any = None
        if index is not None:
            embed = embeddings_for(index["embed"], self.settings, where)
            index_config = {"dims": index["dims"], "embed": embed}
            if index.get("fields"):
                index_config["fields"] = index["fields"]
        if self.backend == "postgres":
            return self._open_postgres(index_config, ttl)
        if self.backend == "memory" or self.db_path is None:
            from langgraph.store.memory import InMemoryStore

            return InMemoryStore(index=index_config)
        conn = connect(  # autocommit: the store opens its own transactions
            self.db_path,
            busy_timeout_ms=self.settings.checkpointer.busy_timeout_ms,
            factory=_connection_class(),
        )
        self._conns.append(conn)
        store = _sqlite_store_class()(conn, index=index_config, ttl=ttl)
        with _setup_lock(self.db_path):
            store.setup()
        if ttl:  # expired items are deleted by the sweeper (reads do not skip them)
            store.start_ttl_sweeper(ttl.get("sweep_interval_minutes") or DEFAULT_SWEEP_MINUTES)
        return store

    def _open_postgres(self, index_config: Any, ttl: dict[str, Any] | None) -> BaseStore:
        """LangGraph's ``PostgresStore`` over the process's pool, its tables set up (or
        brought up to date) by one process at a time."""
        from .postgres import open_pool, setup_once

        checkpointer = self.settings.checkpointer
        dsn = checkpointer.postgres_dsn
        cls = _postgres_store_class()

        def setup(conn: Any) -> None:
            if index_config is not None:
                _require_pgvector(conn, dsn)
            cls(conn, index=index_config, ttl=ttl).setup()

        if self._pool is None:
            self._pool = open_pool(dsn, checkpointer.pool_size, name="lgp-store")
        store = cls(self._pool, index=index_config, ttl=ttl)
        setup_once(dsn, "the long-term store", store.is_current, setup)
        if ttl:  # expired items are deleted by the sweeper (reads do not skip them)
            store.start_ttl_sweeper(ttl.get("sweep_interval_minutes") or DEFAULT_SWEEP_MINUTES)
        return store

    def close(self) -> None:
        with self._lock:
            for store in self._stores.values():
                stop = getattr(store, "stop_ttl_sweeper", None)
                if stop is not None and getattr(store, "_ttl_sweeper_thread", None) is not None:
                    stop(timeout=1.0)
            self._stores.clear()
            for conn in self._conns:
                conn.close()
            self._conns.clear()
            if self._pool is not None:
                self._pool.close()
                self._pool = None


def _require_pgvector(conn: Any, dsn: str) -> None:
    """A :class:`ConfigError` when the server cannot give the store an index."""
    from .postgres import display_dsn

    if conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone():
        return
    raise ConfigError(
        f"store.index on PostgreSQL needs the pgvector extension, which the server at "
        f"{display_dsn(dsn)} does not have",
        hint="install pgvector on the server (e.g. the postgresql-NN-pgvector package), "
        "or remove the store's index",
    )


_POSTGRES_STORE: type | None = None


def _postgres_store_class() -> type:
    """LangGraph's ``PostgresStore`` over a connection pool without its one lock
    around every batch (each batch has a connection of its own, and a batch that
    embeds text held the lock through the HTTP call). Its async API already runs
    each batch on a worker thread."""
    global _POSTGRES_STORE
    if _POSTGRES_STORE is not None:
        return _POSTGRES_STORE
    from langgraph.store.postgres import PostgresStore
    from langgraph.store.postgres.base import MIGRATIONS, VECTOR_MIGRATIONS

    from .postgres import migration_version, pooled_cursor

    class PostgresMemoryStore(PostgresStore):
        def _cursor(self, *, pipeline: bool = False) -> Any:
            return pooled_cursor(self, pipeline, super()._cursor)

        def is_current(self, conn: Any) -> bool:
            """Whether ``conn``'s database has every migration this store needs."""
            if migration_version(conn, "store_migrations") < len(MIGRATIONS) - 1:
                return False
            if not self.index_config:
                return True
            needed = [
                v
                for v, step in enumerate(VECTOR_MIGRATIONS)
                if step.condition is None or step.condition(self)
            ]
            return migration_version(conn, "vector_migrations") >= max(needed)

    _POSTGRES_STORE = PostgresMemoryStore
    return PostgresMemoryStore


@contextlib.contextmanager
def _setup_lock(db_path: Path) -> Iterator[None]:
    """Held while a process creates or migrates the store's tables: LangGraph's
    ``SqliteStore.setup()`` is not one transaction (its ``ALTER TABLE`` migrations are
    not idempotent), so two processes opening a new database at once (a CLI and a
    server, two workers) would both migrate it and one would fail."""
    lock_path = db_path.with_name(db_path.name + ".store-setup.lock")
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_SQLITE_STORE: type | None = None


def _sqlite_store_class() -> type:
    """LangGraph's ``SqliteStore`` serving the async API too (runs are async): a
    statement takes microseconds, so it runs inline; operations that embed text
    (an HTTP call) run on a worker thread so the event loop never waits on them."""
    global _SQLITE_STORE
    if _SQLITE_STORE is not None:
        return _SQLITE_STORE
    from langgraph.store.sqlite import SqliteStore

    class SqliteMemoryStore(SqliteStore):
        async def abatch(self, ops: Iterable[Any]) -> list[Any]:
            if self.embeddings is not None:
                # an embedding call (an HTTP request) holds the store's lock: every
                # operation of such a store runs off the loop, or one waiting for the
                # lock would stop the server
                return await asyncio.to_thread(self.batch, list(ops))
            return self.batch(ops)

    _SQLITE_STORE = SqliteMemoryStore
    return SqliteMemoryStore


def _connection_class() -> type[sqlite3.Connection]:
    """``sqlite3.Connection``, or, in a Python whose ``sqlite3`` was built without
    extension loading, one that gives ``SqliteStore`` sqlite-vec's distances in Python."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3.Connection
    return _PythonVecConnection


class _PythonVecConnection(sqlite3.Connection):
    """A connection for a Python whose ``sqlite3`` cannot load extensions.

    ``SqliteStore`` keeps vectors in a plain table (float32 blobs) and loads
    sqlite-vec only for its scalar distance functions; here "loading" sqlite-vec
    registers those functions written in Python (a linear scan either way).
    """

    def enable_load_extension(self, enabled: bool, /) -> None:
        """Nothing to enable: no extension is loaded."""

    def load_extension(self, path: str, /, *, entrypoint: str | None = None) -> None:
        if not Path(path).name.startswith("vec0"):
            raise sqlite3.OperationalError(
                f"this Python's sqlite3 cannot load extensions ({path}); "
                "only sqlite-vec's distance functions are provided"
            )
        for name, fn in _VEC_DISTANCES.items():
            self.create_function(name, 2, fn, deterministic=True)


def _vector(value: bytes | str) -> tuple[float, ...]:
    if isinstance(value, str):  # sqlite-vec also takes JSON text
        return tuple(float(v) for v in json.loads(value))
    return struct.unpack(f"{len(value) // 4}f", value)


def _cosine_distance(a: bytes | str, b: bytes | str) -> float | None:
    x, y = _vector(a), _vector(b)
    norm = math.hypot(*x) * math.hypot(*y)
    return 1.0 - math.fsum(p * q for p, q in zip(x, y, strict=True)) / norm if norm else None


def _l2_distance(a: bytes | str, b: bytes | str) -> float:
    return math.dist(_vector(a), _vector(b))


def _l1_distance(a: bytes | str, b: bytes | str) -> float:
    return math.fsum(abs(p - q) for p, q in zip(_vector(a), _vector(b), strict=True))


_VEC_DISTANCES = {
    "vec_distance_cosine": _cosine_distance,
    "vec_distance_L2": _l2_distance,
    "vec_distance_L1": _l1_distance,
}


def _embeds(op: Any) -> bool:
    from langgraph.store.base import PutOp, SearchOp

    return (isinstance(op, PutOp) and op.value is not None and op.index is not False) or (
        isinstance(op, SearchOp) and bool(op.query)
    )


# --------------------------------------------------------------------------- embeddings


def embeddings_for(spec: str, settings: Settings, where: str = "") -> Any:
    """The embeddings ``index.embed`` names: ``PROVIDER:MODEL`` through a configured
    OpenAI-compatible provider, or ``path/to/file.py:function``."""
    label = f"{where or 'config'}: store.index.embed"
    if ":" not in spec:
        raise ConfigError(f"{label}: expected PROVIDER:MODEL or path/to/file.py:function")
    head, tail = spec.rsplit(":", 1)
    if head.endswith(".py"):
        return _embeddings_from_file(head, tail, settings, label, where)
    from ..providers.settings import DEFAULT_BASE_URLS, LlmProviderSettings

    provider = settings.llm_providers.get(head)
    if provider is None and head in DEFAULT_BASE_URLS:
        provider = LlmProviderSettings()
    if provider is None:
        known = ", ".join(settings.llm_providers) or "none configured"
        raise ConfigError(
            f"{label}: no provider {head!r} under llm_providers ({known})",
            hint="add it to config/<env>.yaml, e.g. llm_providers: {openai: {api_key: ...}}",
        )
    url = provider.url_for(head)
    key = provider.api_key.get_secret_value() if provider.api_key else None
    return EndpointEmbeddings(head, tail, url, key, timeout_s=min(provider.timeout_s, 60.0))


def _embeddings_from_file(
    path: str, attr: str, settings: Settings, label: str, where: str = ""
) -> Any:
    """An ``Embeddings`` object, or a (sync or async) function from texts to vectors,
    defined in the project: relative to the ``langgraph.json`` that names it (``where``),
    else to the project folder."""
    from ..loader import import_file

    base = Path(where).parent if where.endswith(".json") else settings.project_dir
    file = (base / path).resolve() if not Path(path).is_absolute() else Path(path)
    if not file.is_file():
        raise ConfigError(f"{label}: file not found: {path} (looked in {base})")
    module = import_file(file, base)
    found = getattr(module, attr, None)
    if found is None:
        raise ConfigError(f"{label}: {path} has no {attr!r}")
    if isinstance(found, Embeddings):
        return found
    if not callable(found):
        raise ConfigError(f"{label}: {path}:{attr} is not a function or an Embeddings")
    if inspect.iscoroutinefunction(found):
        return _AsyncFunctionEmbeddings(found)
    return found


class _AsyncFunctionEmbeddings(Embeddings):
    """An async embedding function of the project, for a store that embeds on a worker
    thread (sync) as well as in the loop (LangGraph's own wrapper of an async function
    refuses sync calls)."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(v) for v in asyncio.run(self.fn(texts))]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(v) for v in await self.fn(texts)]

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]


class EndpointEmbeddings(Embeddings):
    """OpenAI's ``/embeddings`` on a configured endpoint (OpenAI, Ollama, vLLM...),
    with an unreachable or refusing endpoint reported as a :class:`ProviderError`
    naming it, instead of a client library's traceback."""

    def __init__(
        self, provider: str, model: str, url: str | None, api_key: str | None, *, timeout_s: float
    ) -> None:
        self.provider = provider
        self.model = model
        self.url = url
        self._api_key = api_key
        self.timeout_s = timeout_s
        self._client: Any = None

    def __repr__(self) -> str:  # never the key
        return f"EndpointEmbeddings({self.provider}:{self.model} at {self.url})"

    def _embed(self, texts: list[str]) -> list[list[float]]:
        import openai

        if self._client is None:
            self._client = openai.OpenAI(
                base_url=self.url,
                api_key=self._api_key or "not-needed",
                timeout=self.timeout_s,
                max_retries=1,
            )
        try:
            answer = self._client.embeddings.create(model=self.model, input=texts)
        except openai.APIConnectionError:
            raise ProviderError(
                "unavailable",
                f"the embeddings endpoint {self.url} is unreachable "
                f"(store index embed {self.provider}:{self.model})",
                provider=self.provider,
                model=self.model,
                hint="start it, or fix llm_providers."
                f"{self.provider}.base_url (or the store's index in langgraph.json)",
            ) from None
        except openai.AuthenticationError:
            raise ProviderError(
                "auth",
                f"the embeddings endpoint {self.url} refused the API key "
                f"(store index embed {self.provider}:{self.model})",
                provider=self.provider,
                model=self.model,
            ) from None
        except openai.APIStatusError as exc:
            raise ProviderError(
                "unavailable",
                f"the embeddings endpoint {self.url} answered {exc.status_code} "
                f"(store index embed {self.provider}:{self.model})",
                provider=self.provider,
                model=self.model,
            ) from None
        return [list(item.embedding) for item in answer.data]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._embed, texts)

    async def aembed_query(self, text: str) -> list[float]:
        return (await asyncio.to_thread(self._embed, [text]))[0]
