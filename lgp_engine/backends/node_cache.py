"""The node cache: results of nodes that declare a ``cache_policy`` (LangGraph's
``CachePolicy``), kept across runs and processes.

LangGraph keys an entry by the node and a hash of its input; it knows nothing of the
node's code. Here every entry also carries the *fingerprint* of the workflow's code
(its file and the local modules it imports, and with ``invalidate_on: git`` the
repository's commit), so after an edit, a hot reload or a new commit a node runs
again instead of serving what the old code computed. Entries of an older
fingerprint are deleted as new ones are written.

The entries live in the project's SQLite file (table ``node_cache``), in memory
when the checkpointer is, and in the checkpointer's PostgreSQL database (the same
table, created through :func:`lgp_engine.backends.postgres.migrate`) when it is there.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langgraph.cache.base import BaseCache, FullKey, Namespace

from .sqlite import connect

if TYPE_CHECKING:
    from ..config import Settings
    from ..loader import LoadedWorkflow

#: The table on PostgreSQL, one migration a step (see ``backends.postgres.migrate``).
_PG_STEPS = [
    """
CREATE TABLE IF NOT EXISTS node_cache (
    workflow TEXT NOT NULL,
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    node TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    expiry DOUBLE PRECISION,
    encoding TEXT NOT NULL,
    val BYTEA NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (workflow, ns, key)
)
"""
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS node_cache (
    workflow TEXT NOT NULL,
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    node TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    expiry REAL,
    encoding TEXT NOT NULL,
    val BLOB NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (workflow, ns, key)
)
"""


@dataclass(frozen=True)
class CacheEntries:
    """What the cache holds for one node of one workflow."""

    workflow: str
    node: str
    entries: int
    bytes: int
    current: bool  # computed by the workflow's code as it is now (else stale)


class NodeCacheDb:
    """The cache table of one database, shared by every workflow of a process.

    On PostgreSQL (the checkpointer's database, ``settings.checkpointer``) it keeps a
    pool of connections; with ``create=False`` it creates no table (a listing or a
    clearing of a database that has none finds nothing).
    """

    def __init__(self, settings: Settings, db_path: Path | None, *, create: bool = True) -> None:
        backend = settings.node_cache.backend or settings.checkpointer.backend
        self.enabled = backend != "none"
        self.invalidate_on = settings.node_cache.invalidate_on
        self.project_dir = settings.project_dir
        self._lock = threading.RLock()
        #: Whether a lookup is a network round trip (run off the event loop).
        self.remote = backend == "postgres"
        self._pool: Any = None
        if self.remote:
            from .postgres import connect as pg_connect
            from .postgres import migrate, open_pool

            dsn = settings.checkpointer.postgres_dsn
            if create:
                conn = pg_connect(dsn)
                try:
                    migrate(conn, "node_cache", _PG_STEPS)
                finally:
                    conn.close()
            self._pool = open_pool(
                dsn, min(settings.checkpointer.pool_size, 4), name="lgp-node-cache"
            )
            return
        self._conn = connect(
            None if backend == "memory" else db_path,
            busy_timeout_ms=settings.checkpointer.busy_timeout_ms,
            autocommit=False,  # a set deletes stale entries and inserts in one transaction
        )
        self._conn.execute(_SCHEMA)
        self._conn.commit()

    def for_workflow(self, workflow: LoadedWorkflow) -> WorkflowCache | None:
        """The cache view of ``workflow``'s code as loaded (None when disabled)."""
        if not self.enabled:
            return None
        commit = git_commit(self.project_dir) if self.invalidate_on == "git" else None
        return WorkflowCache(self, workflow.name, code_fingerprint(workflow, commit))

    # -- rows --------------------------------------------------------------------
    def _pg(self, work: Any, empty: Any) -> Any:
        """``work(cursor)`` in one transaction on a pooled PostgreSQL connection
        (``empty`` when the table does not exist yet)."""
        import psycopg
        from psycopg.rows import tuple_row

        try:
            with (
                self._pool.connection() as conn,
                conn.transaction(),
                conn.cursor(row_factory=tuple_row) as cur,
            ):
                return work(cur)
        except psycopg.errors.UndefinedTable:
            return empty

    def get(self, workflow: str, fingerprint: str, keys: Sequence[FullKey]) -> dict[str, Any]:
        now = time.time()
        if self.remote:
            return self._pg_get(workflow, fingerprint, keys, now)
        found: dict[str, Any] = {}
        with self._lock, self._conn:
            for ns, key in keys:
                row = self._conn.execute(
                    "SELECT fingerprint, expiry, encoding, val FROM node_cache "
                    "WHERE workflow = ? AND ns = ? AND key = ?",
                    (workflow, _ns(ns), key),
                ).fetchone()
                if row is None or row[0] != fingerprint:
                    continue
                if row[1] is not None and now > row[1]:
                    self._conn.execute(
                        "DELETE FROM node_cache WHERE workflow = ? AND ns = ? AND key = ?",
                        (workflow, _ns(ns), key),
                    )
                    continue
                found[f"{_ns(ns)}\0{key}"] = (row[2], row[3])
        return found

    def _pg_get(
        self, workflow: str, fingerprint: str, keys: Sequence[FullKey], now: float
    ) -> dict[str, Any]:
        wanted = {(_ns(ns), key) for ns, key in keys}
        if not wanted:
            return {}
        nss, ks = (list(col) for col in zip(*sorted(wanted), strict=True))

        def work(cur: Any) -> dict[str, Any]:
            found: dict[str, Any] = {}
            expired: list[tuple[str, str]] = []
            for ns, key, fp, expiry, encoding, val in cur.execute(
                "SELECT ns, key, fingerprint, expiry, encoding, val FROM node_cache "
                "WHERE workflow = %s AND (ns, key) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                (workflow, nss, ks),
            ).fetchall():
                if fp != fingerprint:
                    continue
                if expiry is not None and now > expiry:
                    expired.append((ns, key))
                    continue
                found[f"{ns}\0{key}"] = (encoding, bytes(val))
            if expired:
                cur.execute(
                    "DELETE FROM node_cache WHERE workflow = %s AND (ns, key) IN "
                    "(SELECT * FROM unnest(%s::text[], %s::text[])) AND expiry < %s",
                    (workflow, [e[0] for e in expired], [e[1] for e in expired], now),
                )
            return found

        result: dict[str, Any] = self._pg(work, {})
        return result

    def set(self, workflow: str, fingerprint: str, rows: list[tuple[Any, ...]]) -> None:
        if self.remote:

            def work(cur: Any) -> None:
                for node in sorted({row[2] for row in rows}):
                    cur.execute(
                        "DELETE FROM node_cache WHERE workflow = %s AND node = %s "
                        "AND fingerprint != %s",
                        (workflow, node, fingerprint),
                    )
                cur.executemany(
                    "INSERT INTO node_cache (workflow, ns, key, node, fingerprint, expiry, "
                    "encoding, val, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (workflow, ns, key) DO UPDATE SET node = EXCLUDED.node, "
                    "fingerprint = EXCLUDED.fingerprint, expiry = EXCLUDED.expiry, "
                    "encoding = EXCLUDED.encoding, val = EXCLUDED.val, "
                    "created_at = EXCLUDED.created_at",
                    [
                        (workflow, ns, key, node, fingerprint, expiry, encoding, raw, time.time())
                        for ns, key, node, expiry, encoding, raw in rows
                    ],
                )

            self._pg(work, None)
            return
        with self._lock, self._conn:
            for ns, key, node, expiry, encoding, raw in rows:
                self._conn.execute(
                    "DELETE FROM node_cache WHERE workflow = ? AND node = ? AND fingerprint != ?",
                    (workflow, node, fingerprint),
                )
                self._conn.execute(
                    "INSERT OR REPLACE INTO node_cache (workflow, ns, key, node, fingerprint, "
                    "expiry, encoding, val, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (workflow, ns, key, node, fingerprint, expiry, encoding, raw, time.time()),
                )

    def clear(self, workflow: str | None = None, namespaces: list[str] | None = None) -> int:
        """Delete entries (of one workflow, of some namespaces); how many went."""
        sql, params = "DELETE FROM node_cache WHERE 1=1", []
        if workflow is not None:
            sql += " AND workflow = ?"
            params.append(workflow)
        if namespaces is not None:
            sql += f" AND ns IN ({','.join('?' for _ in namespaces)})"
            params.extend(namespaces)
        if self.remote:
            gone: int = self._pg(
                lambda cur: cur.execute(sql.replace("?", "%s"), params).rowcount, 0
            )
            return gone
        with self._lock, self._conn:
            return self._conn.execute(sql, params).rowcount

    def entries(self, workflow: str | None = None) -> list[tuple[str, str, str, int, int]]:
        """``(workflow, node, fingerprint, count, bytes)`` of live entries."""
        sql = (
            "SELECT workflow, node, fingerprint, COUNT(*), COALESCE(SUM(LENGTH(val)), 0) "
            "FROM node_cache WHERE (expiry IS NULL OR expiry > ?)"
        )
        params: list[Any] = [time.time()]
        if workflow is not None:
            sql += " AND workflow = ?"
            params.append(workflow)
        sql += " GROUP BY workflow, node, fingerprint ORDER BY workflow, node"
        if self.remote:
            rows: list[tuple[str, str, str, int, int]] = self._pg(
                lambda cur: [
                    (w, n, f, int(c), int(b))
                    for w, n, f, c, b in cur.execute(sql.replace("?", "%s"), params)
                ],
                [],
            )
            return rows
        with self._lock:
            return [tuple(r) for r in self._conn.execute(sql, params)]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            return
        with self._lock:
            self._conn.close()


class WorkflowCache(BaseCache[Any]):
    """LangGraph's ``BaseCache`` over :class:`NodeCacheDb` for one workflow's code."""

    def __init__(self, db: NodeCacheDb, workflow: str, fingerprint: str) -> None:
        super().__init__()
        self.db = db
        self.workflow = workflow
        self.fingerprint = fingerprint

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        raw = self.db.get(self.workflow, self.fingerprint, keys)
        out: dict[FullKey, Any] = {}
        for ns, key in keys:
            hit = raw.get(f"{_ns(ns)}\0{key}")
            if hit is not None:
                out[(ns, key)] = self.serde.loads_typed(hit)
        return out

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        if self.db.remote:  # a round trip to PostgreSQL: off the event loop
            return await asyncio.to_thread(self.get, keys)
        return self.get(keys)  # a local SQLite lookup: inline, like the checkpointer

    def set(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        now = time.time()
        rows = []
        for (ns, key), (value, ttl) in pairs.items():
            encoding, raw = self.serde.dumps_typed(value)
            node = ns[-1] if ns else "?"
            expiry = now + ttl if ttl is not None else None
            rows.append((_ns(ns), key, node, expiry, encoding, raw))
        self.db.set(self.workflow, self.fingerprint, rows)

    async def aset(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        await asyncio.to_thread(self.set, pairs)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self.db.clear(self.workflow, None if namespaces is None else [_ns(n) for n in namespaces])

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        if self.db.remote:
            await asyncio.to_thread(self.clear, namespaces)
            return
        self.clear(namespaces)


def _ns(ns: Sequence[str]) -> str:
    return ",".join(ns)


#: At most this many files of the workflow's folder are stat-ed for its fingerprint.
MAX_FOLDER_FILES = 2000
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", ".venv", "venv"})


def code_sources(workflow: LoadedWorkflow) -> list[tuple[Path, bytes | None]]:
    """The code of the workflow as loaded: its module and the local modules it imports
    (what a hot reload watches), each ``(file, source)``, sorted by file; the source
    is the snapshot it was loaded from when it is not the file on disk (a rollback),
    None when the file cannot be read."""
    from ..reload import local_module_files

    out: list[tuple[Path, bytes | None]] = []
    for path in local_module_files(workflow):
        try:
            out.append((path, workflow.source_bytes(path)))
        except OSError:
            out.append((path, None))
    return out


def code_fingerprint(workflow: LoadedWorkflow, commit: str | None = None) -> str:
    """A hash of the workflow's code: which graph it is (file and attribute: two
    graphs of one file never share entries), the contents of its module and of the
    local modules it imports (:func:`code_sources`), the size and time of every
    other ``.py`` file under its folder (a module a node imports only when it runs is
    not loaded yet when the cache is opened), plus ``commit`` when given."""
    from ..reload import workflow_folder

    digest = hashlib.sha256(f"{workflow.source.spec}|{workflow.attr}".encode())
    sources = code_sources(workflow)
    for path, source in sources:
        digest.update(str(path).encode())
        digest.update(b"<unreadable>" if source is None else source)
    folder = workflow_folder(workflow)
    if folder is not None:
        known = {path for path, _ in sources}
        for path in _python_files(folder):
            if path not in known:
                try:
                    stat = path.stat()
                except OSError:
                    continue
                digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    if commit:
        digest.update(commit.encode())
    return digest.hexdigest()[:16]


def _python_files(folder: Path) -> list[Path]:
    """The ``.py`` files under ``folder`` (not in hidden, cache or environment
    folders), sorted; at most :data:`MAX_FOLDER_FILES`."""
    found: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
        found.extend(Path(root, n) for n in sorted(names) if n.endswith(".py"))
        if len(found) >= MAX_FOLDER_FILES:
            break
    return found[:MAX_FOLDER_FILES]


def git_commit(folder: Path) -> str | None:
    """The commit checked out in ``folder``'s repository (None outside one)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
