"""Checkpointers (thread state) and cheap listings of threads and checkpoints.

:func:`open_checkpoints` / :func:`open_async_checkpoints` are context managers
giving a :class:`CheckpointStore`: the LangGraph saver the executor writes to, plus
listings of threads and of a thread's checkpoints that read the tables directly
(paged, without deserializing states). LangGraph has no list-threads API.

Backends: ``sqlite`` (a file, WAL mode), ``memory`` and ``postgres`` (LangGraph's
``PostgresSaver`` over a connection pool; tables ``checkpoints``, ``checkpoint_blobs``
and ``checkpoint_writes``, metadata in JSONB). Listings run the same SQL on SQLite and
PostgreSQL where the two schemas agree (written with ``?`` placeholders, which become
``%s`` on PostgreSQL) and their own statements where they differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import AmbiguousError, CheckpointError, NotFoundError

_UUID_EPOCH_100NS = 0x01B21DD213814000  # 1582-10-15 -> 1970-01-01 in 100 ns units


@dataclass(frozen=True)
class ThreadInfo:
    """A thread: its id, how many checkpoints it has and when it was written."""

    thread_id: str
    checkpoints: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


@dataclass(frozen=True)
class CheckpointInfo:
    """One checkpoint of a thread, summarized without loading its state."""

    checkpoint_id: str
    parent_id: str | None
    step: int | None
    source: str | None
    writes: tuple[str, ...]
    next: tuple[str, ...]
    created_at: dt.datetime | None
    checkpoint_ns: str = ""


@dataclass(frozen=True)
class Head:
    """A thread's newest root checkpoint, as a listing reads it (see
    :meth:`CheckpointStore.heads`): the checkpoint itself (LangGraph's dict), its
    metadata, its pending writes ``(task_id, channel, value)`` and the nodes to run
    next."""

    thread_id: str
    checkpoint_id: str
    parent_id: str | None
    checkpoint: dict[str, Any]
    metadata: dict[str, Any]
    pending_writes: list[tuple[str, str, Any]]
    next: tuple[str, ...]


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint as stored (see :meth:`CheckpointStore.stored_checkpoint`): its
    serializer's ``type`` and encoded ``blob``, and its pending interrupt writes
    ``(task_id, channel, value)``, decoded."""

    checkpoint_id: str
    parent_id: str | None
    type: str
    blob: bytes
    pending_writes: list[tuple[str, str, Any]]


def checkpoint_time(checkpoint_id: str) -> dt.datetime | None:
    """The creation time embedded in a LangGraph checkpoint id (a UUIDv6)."""
    digits = checkpoint_id.replace("-", "")
    try:
        if len(checkpoint_id) == 36 and len(digits) == 32:  # the usual form: no UUID object
            n = int(digits, 16)
        else:
            n = uuid.UUID(checkpoint_id).int
    except ValueError:
        return None
    if (n >> 62) & 0b11 != 0b10 or (n >> 76) & 0xF != 6:  # RFC 4122 variant, version 6
        return None
    h = n >> 64
    ts = ((h >> 32) << 28) | (((h >> 16) & 0xFFFF) << 12) | (h & 0x0FFF)
    seconds = (ts - _UUID_EPOCH_100NS) / 10_000_000
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


class CheckpointStore:
    """A LangGraph saver plus listings of what it holds.

    ``backend`` is ``sqlite`` (``db_path`` the file), ``memory`` or ``postgres``
    (``dsn`` its URL, which may hold a password: show :attr:`location` instead).
    """

    def __init__(
        self,
        saver: Any,
        backend: str,
        db_path: Path | None,
        *,
        dsn: str | None = None,
        pool: Any = None,
    ) -> None:
        self.saver = saver
        self.backend = backend
        self.db_path = db_path
        #: The PostgreSQL URL (backend ``postgres``); never log it.
        self.dsn = dsn
        self._pool = pool  # PostgreSQL connections (owned by open_checkpoints)
        self._read_lock = threading.Lock()
        self._read_conn: sqlite3.Connection | None = None
        self._reader: Any = None

    @property
    def location(self) -> str:
        """Where checkpoints live, for status lines (never a password)."""
        if self.backend == "postgres":
            from .backends.postgres import display_dsn

            return display_dsn(self.dsn or "")
        return str(self.db_path) if self.db_path else "memory"

    # -- listings ---------------------------------------------------------------
    def threads(self, *, limit: int = 100, offset: int = 0) -> list[ThreadInfo]:
        """Threads, most recently updated first."""
        if self.backend == "memory":
            return self._memory_threads()[offset : offset + limit]
        rows = self._query(
            "SELECT thread_id, COUNT(*), MIN(checkpoint_id), MAX(checkpoint_id) "
            "FROM checkpoints WHERE checkpoint_ns = '' GROUP BY thread_id "
            "ORDER BY MAX(checkpoint_id) DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [
            ThreadInfo(tid, n, checkpoint_time(first), checkpoint_time(last))
            for tid, n, first, last in rows
        ]

    def count_threads(self) -> int:
        if self.backend == "memory":
            return len(self._memory_threads())
        rows = self._query(
            "SELECT COUNT(DISTINCT thread_id) FROM checkpoints WHERE checkpoint_ns = ''", ()
        )
        return int(rows[0][0]) if rows else 0

    def thread(self, thread_id: str) -> ThreadInfo:
        """One thread's summary; :class:`NotFoundError` if it has no checkpoint."""
        if self.backend == "memory":
            for info in self._memory_threads():
                if info.thread_id == thread_id:
                    return info
            raise NotFoundError(
                f"unknown thread {thread_id!r}",
                field="thread_id",
                code="unknown_thread",
                thread_id=thread_id,
            )
        rows = self._query(
            "SELECT COUNT(*), MIN(checkpoint_id), MAX(checkpoint_id) FROM checkpoints "
            "WHERE thread_id = ? AND checkpoint_ns = ''",
            (thread_id,),
        )
        if not rows or not rows[0][0]:
            raise NotFoundError(
                f"unknown thread {thread_id!r}",
                field="thread_id",
                code="unknown_thread",
                thread_id=thread_id,
            )
        n, first, last = rows[0]
        return ThreadInfo(thread_id, n, checkpoint_time(first), checkpoint_time(last))

    def history(
        self, thread_id: str, *, limit: int = 100, offset: int = 0, checkpoint_ns: str = ""
    ) -> list[CheckpointInfo]:
        """A page of a thread's checkpoints, newest first."""
        if self.backend == "memory":
            return self._memory_history(thread_id, checkpoint_ns)[offset : offset + limit]
        rows = self._query(
            "SELECT checkpoint_id, parent_checkpoint_id, metadata, checkpoint_ns FROM checkpoints "
            "WHERE thread_id = ? AND checkpoint_ns = ? "
            "ORDER BY checkpoint_id DESC LIMIT ? OFFSET ?",
            (thread_id, checkpoint_ns, limit, offset),
        )
        if not rows:
            return []
        return self._infos(thread_id, checkpoint_ns, rows)

    def lineage_steps(self, thread_id: str, checkpoint_id: str) -> set[tuple[str, str]]:
        """The steps that made the state at ``checkpoint_id``: ``(checkpoint a step ran
        from, run that ran it)`` for that checkpoint and each of its ancestors (the run
        is the ``lgp_run_id`` of the checkpoint the step wrote)."""
        if self.backend == "memory":
            config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
            rows: list[tuple[Any, ...]] = [
                (
                    t.config["configurable"]["checkpoint_id"],
                    t.parent_config["configurable"]["checkpoint_id"] if t.parent_config else None,
                    t.metadata,
                )
                for t in self.saver.list(config)
            ]
        elif self.backend == "postgres":  # only the run id of each (not all its metadata)
            rows = [
                (cid, parent, {"lgp_run_id": run})
                for cid, parent, run in self._query(
                    "SELECT checkpoint_id, parent_checkpoint_id, metadata ->> 'lgp_run_id' "
                    "FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''",
                    (thread_id,),
                )
            ]
        else:
            rows = self._query(
                "SELECT checkpoint_id, parent_checkpoint_id, metadata FROM checkpoints "
                "WHERE thread_id = ? AND checkpoint_ns = ''",
                (thread_id,),
            )
        parents = {cid: (parent, meta) for cid, parent, meta in rows}
        steps: set[tuple[str, str]] = set()
        at: str | None = checkpoint_id
        while at is not None and at in parents:
            parent, meta = parents.pop(at)  # popped: a damaged store's cycle ends here
            run = (meta if isinstance(meta, dict) else _json_meta(meta)).get("lgp_run_id")
            if parent is not None and isinstance(run, str):
                steps.add((parent, run))
            at = parent
        return steps

    def checkpoint(
        self, thread_id: str, checkpoint_id: str, *, checkpoint_ns: str = ""
    ) -> CheckpointInfo | None:
        """One checkpoint's summary, or None if the thread has no such checkpoint."""
        if self.backend == "memory":
            found = [
                c
                for c in self._memory_history(thread_id, checkpoint_ns)
                if c.checkpoint_id == checkpoint_id
            ]
            return found[0] if found else None
        rows = self._query(
            "SELECT checkpoint_id, parent_checkpoint_id, metadata, checkpoint_ns FROM checkpoints "
            "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
            (thread_id, checkpoint_ns, checkpoint_id),
        )
        infos = self._infos(thread_id, checkpoint_ns, rows)
        return infos[0] if infos else None

    def find_checkpoint(self, thread_id: str, token: str) -> str:
        """The full id of the thread's checkpoint named by ``token``: an id or a unique
        part of one (at least 6 characters)."""
        self.thread(thread_id)
        if self.checkpoint(thread_id, token) is not None:
            return token
        if len(token) >= 6:
            if self.backend == "memory":
                ids = [c.checkpoint_id for c in self._memory_history(thread_id, "")]
            else:
                contains = "strpos" if self.backend == "postgres" else "instr"
                ids = [
                    r[0]
                    for r in self._query(
                        "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND "
                        f"checkpoint_ns = '' AND {contains}(checkpoint_id, ?) > 0",
                        (thread_id, token),
                    )
                ]
            matches = [i for i in ids if token in i]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise AmbiguousError(
                    f"checkpoint {token!r} is ambiguous in thread {thread_id!r} "
                    f"({len(matches)} match); give more of the id",
                    field="checkpoint_id",
                    code="ambiguous_checkpoint",
                    thread_id=thread_id,
                )
        raise NotFoundError(
            f"unknown checkpoint {token!r} in thread {thread_id!r}",
            field="checkpoint_id",
            code="unknown_checkpoint",
            thread_id=thread_id,
        )

    def namespaces(self, thread_id: str) -> list[str]:
        """Checkpoint namespaces of a thread: "" and one per subgraph invocation."""
        if self.backend == "memory":
            return sorted(self.saver.storage.get(thread_id, {}))
        rows = self._query(
            "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = ? "
            "ORDER BY checkpoint_ns",
            (thread_id,),
        )
        return [r[0] for r in rows]

    def reader(self) -> Any:
        """A saver to read checkpoints with (read-only when the store is)."""
        if self.saver is not None:
            return self.saver
        if self._reader is None and self.backend == "postgres":
            self._reader = _postgres_checkpointer_class()(self._pool)  # no setup: reads only
        if self._reader is None:
            from langgraph.checkpoint.sqlite import SqliteSaver

            assert self.db_path is not None
            if not self.db_path.exists():
                raise NotFoundError(f"no checkpoints yet ({self.db_path} does not exist)")
            conn = sqlite3.connect(
                f"file:{self.db_path}?mode=ro", uri=True, check_same_thread=False
            )
            self._reader = SqliteSaver(conn)
        return self._reader

    def stored_checkpoint(
        self, thread_id: str, checkpoint_id: str | None = None
    ) -> StoredCheckpoint | None:
        """A root checkpoint of the thread (its newest without ``checkpoint_id``) as the
        SQLite saver stores it, its state left encoded, with its pending interrupts: for
        readers that decode only a part of a big state (:func:`lgp_engine.messages_at`).
        None when there is no such checkpoint, or the backend is not SQLite (there the
        channels are stored apart: read :func:`lgp_engine.state_at`)."""
        if self.backend != "sqlite":
            return None
        head = "SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint FROM checkpoints "
        if checkpoint_id:
            rows = self._query(
                head + "WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id = ?",
                (thread_id, checkpoint_id),
            )
        else:
            rows = self._query(
                head + "WHERE thread_id = ? AND checkpoint_ns = '' "
                "ORDER BY checkpoint_id DESC LIMIT 1",
                (thread_id,),
            )
        if not rows:
            return None
        cid, parent, kind, blob = rows[0]
        writes = self._query(
            "SELECT task_id, channel, type, value FROM writes WHERE thread_id = ? AND "
            "checkpoint_ns = '' AND checkpoint_id = ? AND channel = '__interrupt__' "
            "ORDER BY task_id, idx",
            (thread_id, cid),
        )
        serde = self.reader().serde
        pending = [(task, channel, serde.loads_typed((t, v))) for task, channel, t, v in writes]
        return StoredCheckpoint(cid, parent, kind, bytes(blob), pending)

    def _infos(
        self, thread_id: str, checkpoint_ns: str, rows: list[tuple[Any, ...]]
    ) -> list[CheckpointInfo]:
        if not rows:
            return []
        ids = {r[0] for r in rows} | {r[1] for r in rows if r[1]}
        blobs: dict[str, _Blob | None] = {}
        ran = self._tasks_by_checkpoint(thread_id, checkpoint_ns, ids, blobs)
        # checkpoints no task ran from (a run's last one, an interrupt): what is pending
        # comes from the checkpoint itself, read for all of them in a few queries
        self._load_blobs(thread_id, checkpoint_ns, [r[0] for r in rows if not ran.get(r[0])], blobs)
        out = []
        for cid, parent, meta_raw, ns in rows:
            meta = _json_meta(meta_raw)
            nxt = ran.get(cid) or _pending_nodes(blobs.get(cid))
            writes = _written_by(meta, ran.get(parent, ()) if parent else ())
            out.append(
                CheckpointInfo(
                    checkpoint_id=cid,
                    parent_id=parent,
                    step=meta.get("step"),
                    source=meta.get("source"),
                    writes=tuple(writes),
                    next=tuple(nxt),
                    created_at=checkpoint_time(cid),
                    checkpoint_ns=ns,
                )
            )
        return out

    def heads(self, thread_ids: list[str]) -> dict[str, Head]:
        """The newest root checkpoint of each of these threads (those that have one),
        with its pending writes, in a few queries whatever their number (a listing's
        need: no graph, no query per thread)."""
        if not thread_ids:
            return {}
        if self.backend == "memory":
            return _memory_heads(self.saver, thread_ids)
        if self.backend == "postgres":
            return self._postgres_heads(list(dict.fromkeys(thread_ids)))
        serde = self.reader().serde
        heads: dict[str, Head] = {}
        writes: dict[str, list[tuple[Any, ...]]] = {}
        for chunk in _chunks(list(dict.fromkeys(thread_ids))):
            newest = (
                "SELECT thread_id, MAX(checkpoint_id) AS cid FROM checkpoints WHERE "
                f"checkpoint_ns = '' AND thread_id IN ({','.join('?' * len(chunk))}) "
                "GROUP BY thread_id"
            )
            rows = self._query(
                "SELECT c.thread_id, c.checkpoint_id, c.parent_checkpoint_id, c.type, "
                f"c.checkpoint, c.metadata FROM checkpoints c JOIN ({newest}) h ON "
                "c.thread_id = h.thread_id AND c.checkpoint_ns = '' AND c.checkpoint_id = h.cid",
                tuple(chunk),
            )
            for row in self._query(
                "SELECT w.thread_id, w.task_id, w.task_path, w.channel, w.type, w.value "
                f"FROM writes w JOIN ({newest}) h ON w.thread_id = h.thread_id AND "
                "w.checkpoint_ns = '' AND w.checkpoint_id = h.cid ORDER BY w.task_id, w.idx",
                tuple(chunk),
            ):
                writes.setdefault(row[0], []).append(row[1:])
            for tid, cid, parent, kind, blob, meta in rows:
                pending = [
                    (task_id, channel, serde.loads_typed((vtype, value)))
                    for task_id, _path, channel, vtype, value in writes.get(tid, ())
                ]
                packed = _Blob.read(blob) if kind == "msgpack" else None
                ran: list[str] = []
                for _task, path, *_ in writes.get(tid, ()):
                    name = _task_name(path)
                    if path and path.startswith("~__pregel_push") and packed is not None:
                        with contextlib.suppress(IndexError, ValueError):
                            name = packed.sends[int(path.split(",")[1])]
                    if name and name not in ran:
                        ran.append(name)
                heads[tid] = Head(
                    thread_id=tid,
                    checkpoint_id=cid,
                    parent_id=parent,
                    checkpoint=serde.loads_typed((kind, blob)),
                    metadata=_json_meta(meta),
                    pending_writes=pending,
                    next=tuple(ran) or _pending_nodes(packed),
                )
        return heads

    def origin_runs(self, thread_ids: list[str]) -> dict[str, str]:
        """The run (``lgp_run_id``) that wrote the first root checkpoint of each of these
        threads, where known, in a few queries whatever their number. A run of
        another thread means the thread is a copy of that one."""
        ids = list(dict.fromkeys(thread_ids))
        if not ids:
            return {}
        if self.backend == "memory":
            out: dict[str, str] = {}
            for tid in ids:
                saved = self.saver.storage.get(tid, {}).get("", {})
                if saved:
                    meta = self.saver.serde.loads_typed(saved[min(saved)][1])
                    run = meta.get("lgp_run_id") if isinstance(meta, dict) else None
                    if isinstance(run, str):
                        out[tid] = run
            return out
        run = (
            "c.metadata ->> 'lgp_run_id'"
            if self.backend == "postgres"
            else "json_extract(CAST(c.metadata AS TEXT), '$.lgp_run_id')"
        )
        found: dict[str, str] = {}
        for chunk in _chunks(ids):
            first = (
                "SELECT thread_id, MIN(checkpoint_id) AS cid FROM checkpoints WHERE "
                f"checkpoint_ns = '' AND thread_id IN ({','.join('?' * len(chunk))}) "
                "GROUP BY thread_id"
            )
            for tid, run_id in self._query(
                f"SELECT c.thread_id, {run} FROM checkpoints c JOIN ({first}) h ON "
                "c.thread_id = h.thread_id AND c.checkpoint_ns = '' AND c.checkpoint_id = h.cid",
                tuple(chunk),
            ):
                if isinstance(run_id, str):
                    found[tid] = run_id
        return found

    def _postgres_heads(self, thread_ids: list[str]) -> dict[str, Head]:
        """:meth:`heads` on PostgreSQL: the newest root checkpoint of every thread with
        its blobs and pending writes, in one query (LangGraph's own ``SELECT``)."""
        saver = self.reader()
        newest = (  # one index probe a thread, however long its history
            "SELECT t.id, '', h.cid FROM unnest(%s::text[]) AS t(id) CROSS JOIN LATERAL "
            "(SELECT checkpoint_id AS cid FROM checkpoints WHERE thread_id = t.id "
            "AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1) AS h"
        )
        sql = f"{saver.SELECT_SQL} WHERE (thread_id, checkpoint_ns, checkpoint_id) IN ({newest})"
        rows = self._pg_rows(lambda cur: cur.execute(sql, (thread_ids,)).fetchall(), saver)
        heads: dict[str, Head] = {}
        for row in rows:
            raw = sorted(row["pending_writes"] or (), key=lambda w: (w[0], int(w[5])))
            paths = [w[4].decode() if w[4] else "" for w in raw]
            tup = saver._load_checkpoint_tuple(row)
            checkpoint = tup.checkpoint
            sends = [
                getattr(s, "node", "?")
                for s in (checkpoint.get("channel_values") or {}).get("__pregel_tasks") or ()
            ]
            ran: list[str] = []
            for path in paths:
                name = _task_name(path)
                if path.startswith("~__pregel_push"):
                    with contextlib.suppress(IndexError, ValueError):
                        name = sends[int(path.split(",")[1])]
                if name and name != "?" and name not in ran:
                    ran.append(name)
            packed = _Blob(list(checkpoint.get("updated_channels") or []), sends)
            heads[row["thread_id"]] = Head(
                thread_id=row["thread_id"],
                checkpoint_id=row["checkpoint_id"],
                parent_id=row["parent_checkpoint_id"],
                checkpoint=checkpoint,
                metadata=dict(tup.metadata or {}),
                pending_writes=list(tup.pending_writes or ()),
                next=tuple(ran) or _pending_nodes(packed),
            )
        return heads

    # -- copies and deletions ---------------------------------------------------
    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and pending write of a thread (all namespaces) under
        another id: the copy has the same history and continues on its own."""
        if self.backend == "memory":
            _memory_copy_thread(self.saver, source_thread_id, target_thread_id)
        else:
            self.saver.copy_thread(source_thread_id, target_thread_id)

    def delete_runs(self, run_ids: list[str], *, thread_id: str | None = None) -> None:
        """Delete the checkpoints written by these runs (and their pending writes), so
        the thread's state is what it was before them. A run is known by the
        ``lgp_run_id`` the executor puts in its checkpoints' metadata; ``thread_id``
        (the runs' thread, when the caller knows it) keeps the search to that thread."""
        if not run_ids:
            return
        if self.backend == "memory":
            _memory_delete_runs(self.saver, set(run_ids))
        else:
            self.saver.delete_for_runs(run_ids, thread_id=thread_id)

    # -- sql helpers ------------------------------------------------------------
    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        self._scan(sql, params, rows.extend, fetch_all=True)
        return rows

    def _pg_rows(self, fetch: Callable[[Any], Any], saver: Any = None) -> Any:
        """``fetch(cursor)`` on a pooled PostgreSQL connection (a cursor of tuples, or
        of dicts through ``saver``'s own); a missing table reads as no rows, any other
        database error is a :class:`CheckpointError` naming the server."""
        import psycopg
        from psycopg.rows import tuple_row

        from .backends.postgres import first_line

        try:
            if saver is not None:
                with saver._cursor() as cur:
                    return fetch(cur)
            with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
                return fetch(cur)
        except psycopg.errors.UndefinedTable:
            return []
        except psycopg.Error as exc:
            raise CheckpointError(f"{self.location}: {first_line(exc)}") from None

    def _scan(
        self,
        sql: str,
        params: tuple[Any, ...],
        each: Callable[[Any], Any],
        *,
        fetch_all: bool = False,
    ) -> None:
        """Run ``sql`` on the read-only connection and hand ``each`` every row (or, with
        ``fetch_all``, the list of all rows at once). Rows one at a time keep big
        checkpoint blobs from being held all together."""
        if self.backend == "postgres":

            def fetch(cur: Any) -> None:
                cur.execute(sql.replace("?", "%s"), params)
                if fetch_all:
                    each(cur.fetchall())
                else:
                    for row in cur:
                        each(row)

            self._pg_rows(fetch)
            return
        assert self.db_path is not None
        with self._read_lock:
            if self._read_conn is None:
                if not self.db_path.exists():
                    return
                self._read_conn = sqlite3.connect(
                    f"file:{self.db_path}?mode=ro", uri=True, check_same_thread=False
                )
            try:
                cursor = self._read_conn.execute(sql, params)
                if fetch_all:
                    each(cursor.fetchall())
                else:
                    for row in cursor:
                        each(row)
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return
                raise CheckpointError(f"{self.db_path}: {exc}") from None
            except sqlite3.DatabaseError as exc:
                raise CheckpointError(
                    f"{self.db_path} is not a usable checkpoint database: {exc}"
                ) from None

    def _tasks_by_checkpoint(
        self, thread_id: str, ns: str, ids: set[str], blobs: dict[str, _Blob | None]
    ) -> dict[str, tuple[str, ...]]:
        if not ids:
            return {}
        rows: list[tuple[Any, ...]] = []
        if self.backend == "postgres":
            wanted = sorted(ids)
            rows = self._query(
                "SELECT DISTINCT checkpoint_id, task_path, task_id FROM checkpoint_writes "
                f"WHERE thread_id = ? AND checkpoint_ns = ? AND {_PG_IDS}",
                (thread_id, ns, wanted, wanted, wanted),
            )
        for chunk in _chunks(sorted(ids)) if self.backend != "postgres" else ():
            marks = ",".join("?" * len(chunk))
            rows += self._query(
                f"SELECT DISTINCT checkpoint_id, task_path, task_id FROM writes "
                f"WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id IN ({marks})",
                (thread_id, ns, *chunk),
            )
        rows.sort(key=lambda r: (r[0], r[2], r[1] or ""))  # SQLite's key order, on both
        # a Send packet's path holds its index in the checkpoint's task list: the
        # checkpoints with packets are read together
        sent = [r[0] for r in rows if r[1] and r[1].startswith("~__pregel_push")]
        self._load_blobs(thread_id, ns, sent, blobs)
        found: dict[str, list[str]] = {}
        for cid, task_path, _task_id in rows:
            name = _task_name(task_path)
            if task_path and task_path.startswith("~__pregel_push"):
                blob = blobs.get(cid)
                try:
                    name = (blob.sends if blob else [])[int(task_path.split(",")[1])]
                except (IndexError, ValueError):
                    name = None
            if name and name not in found.setdefault(cid, []):
                found[cid].append(name)
        return {k: tuple(v) for k, v in found.items()}

    def _load_blobs(
        self, thread_id: str, ns: str, ids: list[str], blobs: dict[str, _Blob | None]
    ) -> None:
        """Read what :class:`_Blob` keeps of the checkpoints ``ids`` into ``blobs``."""
        missing = [i for i in dict.fromkeys(ids) if i not in blobs]
        for cid in missing:
            blobs[cid] = None  # no row, or not msgpack: nothing pending is known
        if self.backend == "postgres":
            if missing:
                self._pg_load_blobs(thread_id, ns, missing, blobs)
            return

        def keep(row: tuple[Any, ...]) -> None:
            cid, kind, blob = row
            blobs[cid] = _Blob.read(blob) if kind == "msgpack" else None

        for chunk in _chunks(missing, _BLOB_CHUNK):
            marks = ",".join("?" * len(chunk))
            self._scan(
                f"SELECT checkpoint_id, type, checkpoint FROM checkpoints "
                f"WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id IN ({marks})",
                (thread_id, ns, *chunk),
                keep,
            )

    def _pg_load_blobs(
        self, thread_id: str, ns: str, ids: list[str], blobs: dict[str, _Blob | None]
    ) -> None:
        """:meth:`_load_blobs` on PostgreSQL: a checkpoint's updated channels are in its
        JSONB; its Send packets (when it has new ones) in the ``__pregel_tasks`` blob."""

        def keep(row: tuple[Any, ...]) -> None:
            cid, updated, kind, tasks = row
            packets: list[Any] = []
            if tasks is not None and kind == "msgpack":
                try:
                    packets = list(_unpack(tasks) or ())
                except Exception:  # noqa: BLE001 - a listing never fails on one odd blob
                    packets = []
            blobs[cid] = _Blob.of(updated, packets)

        self._scan(
            "SELECT c.checkpoint_id, c.checkpoint -> 'updated_channels', b.type, b.blob "
            "FROM checkpoints c LEFT JOIN checkpoint_blobs b "
            "ON c.checkpoint -> 'updated_channels' @> '[\"__pregel_tasks\"]' "
            "AND b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns "
            "AND b.channel = '__pregel_tasks' "
            "AND b.version = c.checkpoint -> 'channel_versions' ->> '__pregel_tasks' "
            "WHERE c.thread_id = %s AND c.checkpoint_ns = %s AND "
            + _PG_IDS.replace("checkpoint_id", "c.checkpoint_id"),
            (thread_id, ns, ids, ids, ids),
            keep,
        )

    # -- memory helpers ---------------------------------------------------------
    def _memory_threads(self) -> list[ThreadInfo]:
        out = []
        for tid, namespaces in list(self.saver.storage.items()):
            ids = sorted(namespaces.get("", {}))
            if ids:
                out.append(
                    ThreadInfo(tid, len(ids), checkpoint_time(ids[0]), checkpoint_time(ids[-1]))
                )
        out.sort(key=lambda t: t.updated_at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
        return out

    def _memory_history(self, thread_id: str, ns: str) -> list[CheckpointInfo]:
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}

        def ran(checkpoint_id: str | None) -> tuple[str, ...]:
            writes = self.saver.writes.get((thread_id, ns, checkpoint_id), {})
            names = (_task_name(w[3]) for w in writes.values() if len(w) > 3)
            return tuple(dict.fromkeys(n for n in names if n))

        out = []
        for t in self.saver.list(config):
            cid = t.config["configurable"]["checkpoint_id"]
            parent = t.parent_config["configurable"]["checkpoint_id"] if t.parent_config else None
            updated = t.checkpoint.get("updated_channels") or []
            nxt = ran(cid) or tuple(
                ["__start__"] * ("__start__" in updated)
                + [c.removeprefix("branch:to:") for c in updated if c.startswith("branch:to:")]
            )
            writes = _written_by(t.metadata, ran(parent) if parent else ())
            out.append(
                CheckpointInfo(
                    cid,
                    parent,
                    t.metadata.get("step"),
                    t.metadata.get("source"),
                    writes,
                    nxt,
                    checkpoint_time(cid),
                    ns,
                )
            )
        return out

    def close(self) -> None:
        if self.backend == "postgres":
            self._reader = None  # over the pool, which open_checkpoints closes
            return
        with self._read_lock:
            if self._read_conn is not None:
                self._read_conn.close()
                self._read_conn = None
            if self._reader is not None:
                self._reader.conn.close()
                self._reader = None


def _memory_heads(saver: Any, thread_ids: list[str]) -> dict[str, Head]:
    """:meth:`CheckpointStore.heads` for LangGraph's ``InMemorySaver``."""
    heads = {}
    for tid in thread_ids:
        tup = saver.get_tuple({"configurable": {"thread_id": tid, "checkpoint_ns": ""}})
        if tup is None:
            continue
        updated = tup.checkpoint.get("updated_channels") or []
        ran = [
            w[3] and _task_name(w[3])
            for w in saver.writes.get(
                (tid, "", tup.config["configurable"]["checkpoint_id"]), {}
            ).values()
            if len(w) > 3
        ]
        nxt = tuple(dict.fromkeys(n for n in ran if n)) or tuple(
            ["__start__"] * ("__start__" in updated)
            + [c.removeprefix("branch:to:") for c in updated if c.startswith("branch:to:")]
        )
        heads[tid] = Head(
            thread_id=tid,
            checkpoint_id=tup.config["configurable"]["checkpoint_id"],
            parent_id=(tup.parent_config or {}).get("configurable", {}).get("checkpoint_id"),
            checkpoint=tup.checkpoint,
            metadata=dict(tup.metadata or {}),
            pending_writes=list(tup.pending_writes or ()),
            next=nxt,
        )
    return heads


def _memory_copy_thread(saver: Any, source: str, target: str) -> None:
    """:meth:`CheckpointStore.copy_thread` for LangGraph's ``InMemorySaver``."""
    for ns, checkpoints in list(saver.storage.get(source, {}).items()):
        saver.storage[target][ns].update(checkpoints)
    for (tid, ns, cid), writes in list(saver.writes.items()):
        if tid == source:
            saver.writes[(target, ns, cid)] = dict(writes)
    for (tid, ns, channel, version), blob in list(saver.blobs.items()):
        if tid == source:
            saver.blobs[(target, ns, channel, version)] = blob


def _memory_delete_runs(saver: Any, run_ids: set[str]) -> None:
    """:meth:`CheckpointStore.delete_runs` for LangGraph's ``InMemorySaver``."""
    for tid, namespaces in list(saver.storage.items()):
        for ns, checkpoints in list(namespaces.items()):
            for cid, saved in list(checkpoints.items()):
                meta = saver.serde.loads_typed(saved[1])
                if isinstance(meta, dict) and meta.get("lgp_run_id") in run_ids:
                    del checkpoints[cid]
                    saver.writes.pop((tid, ns, cid), None)


def _unpack(blob: bytes) -> Any:
    """Decode msgpack without rebuilding user objects (they stay packed as tuples)."""
    import ormsgpack

    def keep(code: int, data: bytes) -> tuple[str, int, bytes]:
        return ("ext", code, data)

    return ormsgpack.unpackb(blob, ext_hook=keep)


_IN_CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit
# Checkpoints of a thread by id on PostgreSQL (the ids given three times): the range
# makes the primary key scan only the page's stretch of the thread (the planner reads
# ``= ANY(...)`` alone as a filter over every row of the thread, ~10x slower on a
# 5,000-checkpoint thread); its ends are taken in the database's own collation.
_PG_IDS = (
    "checkpoint_id BETWEEN (SELECT MIN(i) FROM unnest(?::text[]) AS i) "
    "AND (SELECT MAX(i) FROM unnest(?::text[]) AS i) AND checkpoint_id = ANY(?)"
)
_BLOB_CHUNK = 50  # checkpoint blobs per query (each can be large)


def _chunks(items: list[str], size: int = _IN_CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class _Blob:
    """What a listing needs from a checkpoint blob: its updated channels and the
    target node of each pending Send packet ("?" where it cannot be read)."""

    updated: list[Any]
    sends: list[str]

    @classmethod
    def read(cls, blob: bytes) -> _Blob | None:
        try:
            raw = _unpack(blob)
        except Exception:  # noqa: BLE001 - a listing never fails on one odd blob
            return None
        if not isinstance(raw, dict):
            return None
        return cls.of(
            raw.get("updated_channels"), (raw.get("channel_values") or {}).get("__pregel_tasks")
        )

    @classmethod
    def of(cls, updated: Any, packets: Any) -> _Blob:
        """From a checkpoint's updated channels and its packed Send packets."""
        sends = []
        for item in packets if isinstance(packets, list | tuple) else ():
            try:
                _module, name, args = _unpack(item[2])
            except Exception:  # noqa: BLE001
                sends.append("?")
                continue
            sends.append(args[0] if name == "Send" and args else "?")
        return cls(list(updated) if isinstance(updated, list) else [], sends)


def _pending_nodes(blob: _Blob | None) -> tuple[str, ...]:
    """The nodes a checkpoint no task ran from is waiting on."""
    if blob is None:
        return ()
    updated = blob.updated
    nodes = [c.removeprefix("branch:to:") for c in updated if c.startswith("branch:to:")]
    if "__start__" in updated:
        nodes.insert(0, "__start__")
    if "__pregel_tasks" in updated:  # Send fan-out: the target node of each packet
        for node in blob.sends:
            if node not in nodes and node != "?":
                nodes.append(node)
    return tuple(nodes)


def _task_name(task_path: str | None) -> str | None:
    # "~__pregel_pull, node" for pulled tasks; Send ("~__pregel_push, index, ...") tasks
    # are named from the checkpoint's packets (see _tasks_by_checkpoint)
    if not task_path:
        return None
    parts = [p.strip() for p in task_path.split(",")]
    if parts[0] == "~__pregel_pull" and len(parts) > 1:
        return parts[1]
    return None


def _written_by(meta: Any, tasks: tuple[str, ...]) -> tuple[str, ...]:
    """Who wrote a checkpoint: the tasks that ran from its parent (a step of a run),
    the input, or, for a state update or a copy (LangGraph's ``update``/``fork``), not
    the nodes of its parent's other branch: the updating node when LangGraph names it,
    else ``__update__`` / ``__copy__``."""
    source = meta.get("source") if isinstance(meta, dict) else None
    if source == "input":
        return ("__input__",)
    if source == "update":
        return tuple(_update_writers(meta)) or ("__update__",)
    if source == "fork":
        return ("__copy__",)
    return tuple(tasks)


def _update_writers(meta: dict[str, Any]) -> list[str]:
    writes = meta.get("writes")
    return list(writes) if isinstance(writes, dict) else []


def _json_meta(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):  # PostgreSQL's JSONB, decoded by psycopg
        return raw
    if raw is None:
        return {}
    try:
        if isinstance(raw, bytes) and raw[:2] == b'{"':  # UTF-8 for json.loads too
            raw = raw.decode("utf-8", "surrogatepass")
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


_SQLITE_CLASS: type | None = None


def _masked(metadata: Any) -> Any:
    """Checkpoint metadata with the values of secret-named keys masked."""
    from .providers.redact import REDACTED, is_secret_key

    if not isinstance(metadata, dict) or not any(
        isinstance(k, str) and is_secret_key(k) for k in metadata
    ):
        return metadata
    return {
        k: (REDACTED if isinstance(k, str) and is_secret_key(k) and v else v)
        for k, v in metadata.items()
    }


def _sqlite_checkpointer_class() -> type:
    """``SqliteSaver`` that also serves LangGraph's async API, on the caller's thread.

    LangGraph's own async SQLite saver sends every query through aiosqlite's
    thread; a WAL-mode SQLite statement takes microseconds, so running it inline is
    faster and lets one saver serve sync and async runs alike. Writers are already
    serialized by the saver's lock (and SQLite's), and a busy writer in another
    process is waited for up to ``busy_timeout_ms``.
    """
    global _SQLITE_CLASS
    if _SQLITE_CLASS is not None:
        return _SQLITE_CLASS
    from langgraph.checkpoint.sqlite import SqliteSaver

    class SqliteCheckpointer(SqliteSaver):
        def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
            # LangGraph copies a run's plain ``configurable`` values into every
            # checkpoint's metadata: one named like a secret (``api_key``...) is masked
            configurable = _masked(config.get("configurable"))
            if configurable is not config.get("configurable"):
                config = {**config, "configurable": configurable}
            return super().put(config, checkpoint, _masked(metadata), new_versions)

        async def aget_tuple(self, config: Any) -> Any:
            return self.get_tuple(config)

        async def alist(
            self,
            config: Any,
            *,
            filter: Any = None,  # noqa: A002 - LangGraph's parameter name
            before: Any = None,
            limit: Any = None,
        ) -> AsyncIterator[Any]:
            for item in self.list(config, filter=filter, before=before, limit=limit):
                yield item

        async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
            return self.put(config, checkpoint, metadata, new_versions)

        async def aput_writes(
            self, config: Any, writes: Any, task_id: str, task_path: str = ""
        ) -> None:
            self.put_writes(config, writes, task_id, task_path)

        async def adelete_thread(self, thread_id: str) -> None:
            self.delete_thread(thread_id)

        # LangGraph's BaseCheckpointSaver declares these two; its SQLite saver lacks them
        def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
            """Copy every checkpoint and write of a thread under another id."""
            with self.cursor() as cur:
                cur.execute(
                    "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
                    "parent_checkpoint_id, type, checkpoint, metadata) SELECT ?, checkpoint_ns, "
                    "checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata "
                    "FROM checkpoints WHERE thread_id = ?",
                    (str(target_thread_id), str(source_thread_id)),
                )
                cur.execute(
                    "INSERT OR REPLACE INTO writes (thread_id, checkpoint_ns, checkpoint_id, "
                    "task_id, task_path, idx, channel, type, value) SELECT ?, checkpoint_ns, "
                    "checkpoint_id, task_id, task_path, idx, channel, type, value "
                    "FROM writes WHERE thread_id = ?",
                    (str(target_thread_id), str(source_thread_id)),
                )

        def delete_for_runs(self, run_ids: Any, thread_id: str | None = None) -> None:
            """Delete the checkpoints the runs wrote (``lgp_run_id`` in their metadata)
            and the writes pending on them (on ``thread_id`` only, when given)."""
            ids = [str(r) for r in run_ids]
            if not ids:
                return
            marks = ",".join("?" * len(ids))
            params = [*([str(thread_id)] if thread_id is not None else []), *ids]
            doomed = (
                "SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints WHERE "
                + ("thread_id = ? AND " if thread_id is not None else "")
                + f"json_extract(CAST(metadata AS TEXT), '$.lgp_run_id') IN ({marks})"
            )
            with self.cursor() as cur:
                cur.execute(
                    f"DELETE FROM writes WHERE (thread_id, checkpoint_ns, checkpoint_id) "
                    f"IN ({doomed})",
                    params,
                )
                cur.execute(
                    f"DELETE FROM checkpoints WHERE (thread_id, checkpoint_ns, checkpoint_id) "
                    f"IN ({doomed})",
                    params,
                )

    _SQLITE_CLASS = SqliteCheckpointer
    return SqliteCheckpointer


_POSTGRES_CLASS: type | None = None


def _postgres_checkpointer_class() -> type:
    """LangGraph's ``PostgresSaver`` over a connection pool, serving the async API too.

    Its async methods run the sync ones on a thread pool of the saver's own (as many
    threads as connections): a query is a network round trip, and one that waits on
    a lock or a busy server must not stop the event loop that serves every other run
    and request. LangGraph's one lock around every query is dropped when the saver
    has a pool (each query has a connection of its own).
    """
    global _POSTGRES_CLASS
    if _POSTGRES_CLASS is not None:
        return _POSTGRES_CLASS
    from langgraph.checkpoint.postgres import PostgresSaver

    from .backends.postgres import pooled_cursor

    class PostgresCheckpointer(PostgresSaver):
        #: Run async calls inline on the event loop (True) or on the saver's threads.
        inline_async = False

        def __init__(self, conn: Any, *, workers: int = 1) -> None:
            super().__init__(conn)
            # made here (its threads start when needed), so the copies LangGraph makes
            # of a saver (``with_allowlist``, at each compile) share it
            self._executor = ThreadPoolExecutor(workers, thread_name_prefix="lgp-checkpoints")

        # -- the sync API --------------------------------------------------------
        def _cursor(self, *, pipeline: bool = False) -> Any:
            return pooled_cursor(self, pipeline, super()._cursor)

        def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
            # as SqliteCheckpointer.put: secret-named configurable values are masked
            configurable = _masked(config.get("configurable"))
            if configurable is not config.get("configurable"):
                config = {**config, "configurable": configurable}
            return super().put(config, checkpoint, _masked(metadata), new_versions)

        def put_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
            """LangGraph's rows and conflict handling in one multi-row statement (it
            sends one statement per write, in a pipeline): a step's writes are a
            round trip and a statement, not one per write."""
            from langgraph.checkpoint.postgres.base import WRITES_IDX_MAP

            conf = config["configurable"]
            upsert = all(w[0] in WRITES_IDX_MAP for w in writes)
            rows = self._dump_writes(
                conf["thread_id"],
                conf["checkpoint_ns"],
                conf["checkpoint_id"],
                task_id,
                task_path,
                writes,
            )
            # an upsert may not touch a row twice in one statement: two writes to one
            # special channel (the same idx) go LangGraph's way, the last one winning
            if len(rows) < 2 or (upsert and len({r[5] for r in rows}) < len(rows)):
                super().put_writes(config, writes, task_id, task_path)
                return
            query = (
                self.UPSERT_CHECKPOINT_WRITES_SQL if upsert else self.INSERT_CHECKPOINT_WRITES_SQL
            )
            head, found, tail = query.partition("VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)")
            if not found:  # another LangGraph's statement: its own way
                super().put_writes(config, writes, task_id, task_path)
                return
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
            with self._cursor() as cur:
                cur.execute(f"{head}VALUES {values}{tail}", [v for row in rows for v in row])

        def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
            """Copy every checkpoint, blob and write of a thread under another id."""
            target, source = str(target_thread_id), str(source_thread_id)
            with self._cursor() as cur, cur.connection.transaction():
                cur.execute(
                    "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
                    "parent_checkpoint_id, type, checkpoint, metadata) SELECT %s, "
                    "checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, "
                    "metadata FROM checkpoints WHERE thread_id = %s "
                    "ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET "
                    "parent_checkpoint_id = EXCLUDED.parent_checkpoint_id, "
                    "type = EXCLUDED.type, checkpoint = EXCLUDED.checkpoint, "
                    "metadata = EXCLUDED.metadata",
                    (target, source),
                )
                cur.execute(
                    "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, "
                    "type, blob) SELECT %s, checkpoint_ns, channel, version, type, blob "
                    "FROM checkpoint_blobs WHERE thread_id = %s "
                    "ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO UPDATE SET "
                    "type = EXCLUDED.type, blob = EXCLUDED.blob",
                    (target, source),
                )
                cur.execute(
                    "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, "
                    "task_id, task_path, idx, channel, type, blob) SELECT %s, checkpoint_ns, "
                    "checkpoint_id, task_id, task_path, idx, channel, type, blob "
                    "FROM checkpoint_writes WHERE thread_id = %s "
                    "ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) "
                    "DO UPDATE SET task_path = EXCLUDED.task_path, channel = EXCLUDED.channel, "
                    "type = EXCLUDED.type, blob = EXCLUDED.blob",
                    (target, source),
                )

        def delete_for_runs(self, run_ids: Any, thread_id: str | None = None) -> None:
            """Delete the checkpoints the runs wrote (``lgp_run_id`` in their metadata),
            the writes pending on them and the blobs only they used (on ``thread_id``
            only, when given: the primary key finds its rows)."""
            ids = [str(r) for r in run_ids]
            if not ids:
                return
            where = "metadata ->> 'lgp_run_id' = ANY(%s)"
            params: list[Any] = [ids]
            if thread_id is not None:
                where, params = f"thread_id = %s AND {where}", [str(thread_id), ids]
            with self._cursor() as cur, cur.connection.transaction():
                gone = cur.execute(
                    f"DELETE FROM checkpoints WHERE {where} RETURNING thread_id, "
                    "checkpoint_ns, checkpoint_id, checkpoint -> 'channel_versions' AS versions",
                    params,
                ).fetchall()
                if not gone:
                    return
                cur.execute(
                    "DELETE FROM checkpoint_writes w USING unnest(%s::text[], %s::text[], "
                    "%s::text[]) AS d(t, n, c) WHERE w.thread_id = d.t "
                    "AND w.checkpoint_ns = d.n AND w.checkpoint_id = d.c",
                    [
                        [r[key] for r in gone]
                        for key in ("thread_id", "checkpoint_ns", "checkpoint_id")
                    ],
                )
                freed = {
                    (r["thread_id"], r["checkpoint_ns"], channel, str(version))
                    for r in gone
                    for channel, version in (r["versions"] or {}).items()
                }
                threads = sorted({r["thread_id"] for r in gone})
                kept = {
                    (r["thread_id"], r["checkpoint_ns"], r["key"], r["value"])
                    for r in cur.execute(
                        "SELECT DISTINCT c.thread_id, c.checkpoint_ns, v.key, v.value "
                        "FROM checkpoints c CROSS JOIN LATERAL "
                        "jsonb_each_text(c.checkpoint -> 'channel_versions') AS v "
                        "WHERE c.thread_id = ANY(%s)",
                        (threads,),
                    ).fetchall()
                }
                garbage = sorted(freed - kept)
                if garbage:
                    cur.execute(
                        "DELETE FROM checkpoint_blobs b USING unnest(%s::text[], %s::text[], "
                        "%s::text[], %s::text[]) AS g(t, n, ch, v) WHERE b.thread_id = g.t "
                        "AND b.checkpoint_ns = g.n AND b.channel = g.ch AND b.version = g.v",
                        [list(col) for col in zip(*garbage, strict=True)],
                    )

        # -- the async API -------------------------------------------------------
        async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            if self.inline_async:
                return fn(*args, **kwargs)
            call = functools.partial(fn, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)

        def shutdown(self) -> None:
            """Stop the saver's threads (the pool is closed by its owner)."""
            self._executor.shutdown(wait=True)

        async def aget_tuple(self, config: Any) -> Any:
            return await self._call(self.get_tuple, config)

        async def alist(
            self,
            config: Any,
            *,
            filter: Any = None,  # noqa: A002 - LangGraph's parameter name
            before: Any = None,
            limit: Any = None,
        ) -> AsyncIterator[Any]:
            def fetch() -> list[Any]:
                return list(self.list(config, filter=filter, before=before, limit=limit))

            for item in await self._call(fetch):
                yield item

        async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
            return await self._call(self.put, config, checkpoint, metadata, new_versions)

        async def aput_writes(
            self, config: Any, writes: Any, task_id: str, task_path: str = ""
        ) -> None:
            await self._call(self.put_writes, config, writes, task_id, task_path)

        async def adelete_thread(self, thread_id: str) -> None:
            await self._call(self.delete_thread, thread_id)

        async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
            await self._call(self.delete_for_runs, run_ids)

        async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
            await self._call(self.copy_thread, source_thread_id, target_thread_id)

        async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
            await self._call(self.prune, thread_ids, strategy=strategy)

        async def aget_delta_channel_history(self, *, config: Any, channels: Sequence[str]) -> Any:
            return await self._call(
                self.get_delta_channel_history, config=config, channels=channels
            )

    _POSTGRES_CLASS = PostgresCheckpointer
    return PostgresCheckpointer


@contextlib.contextmanager
def _open_postgres(settings: Settings, *, readonly: bool) -> Iterator[CheckpointStore]:
    """:func:`open_checkpoints` for ``backend: postgres``: a pool of
    ``pool_size`` connections; LangGraph's tables set up (unless ``readonly``) by one
    process at a time."""
    from .backends.postgres import migration_version, open_pool, setup_once

    dsn = settings.checkpointer.postgres_dsn
    cls: Any = _postgres_checkpointer_class()
    if not readonly:
        newest = len(cls.MIGRATIONS) - 1
        setup_once(
            dsn,
            "the checkpoint tables",
            lambda conn: migration_version(conn, "checkpoint_migrations") >= newest,
            lambda conn: cls(conn).setup(),
        )
    size = settings.checkpointer.pool_size
    pool = open_pool(dsn, size, name="lgp-checkpoints")
    saver = None if readonly else cls(pool, workers=size)
    store = CheckpointStore(saver, "postgres", None, dsn=dsn, pool=pool)
    try:
        yield store
    finally:
        store.close()
        if saver is not None:
            saver.shutdown()
        pool.close()


def _sqlite_path(settings: Settings) -> Path:
    path = settings.resolve(settings.checkpointer.path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(f"cannot create {path.parent}: {exc.strerror}") from None
    return path


def _connect(path: Path, settings: Settings) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(
            str(path),
            check_same_thread=False,
            timeout=settings.checkpointer.busy_timeout_ms / 1000,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={int(settings.checkpointer.busy_timeout_ms)}")
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as exc:
        raise CheckpointError(f"cannot open checkpoint database {path}: {exc}") from None
    return conn


@contextlib.contextmanager
def open_checkpoints(settings: Settings, *, readonly: bool = False) -> Iterator[CheckpointStore]:
    """A :class:`CheckpointStore` whose saver serves sync and async runs.

    With ``readonly`` the store only lists threads and checkpoints: nothing is
    created or written, not even an empty database file (on PostgreSQL it connects,
    and creates no table).
    """
    backend = settings.checkpointer.backend
    if backend == "postgres":
        with _open_postgres(settings, readonly=readonly) as store:
            yield store
        return
    if readonly and backend == "sqlite":
        store = CheckpointStore(None, "sqlite", settings.resolve(settings.checkpointer.path))
        try:
            yield store
        finally:
            store.close()
        return
    if backend == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        yield CheckpointStore(InMemorySaver(), "memory", None)
        return
    path = _sqlite_path(settings)
    conn = _connect(path, settings)
    saver = _sqlite_checkpointer_class()(conn)
    try:
        saver.setup()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise CheckpointError(f"{path} is not a usable checkpoint database: {exc}") from None
    store = CheckpointStore(saver, "sqlite", path)
    try:
        yield store
    finally:
        store.close()
        conn.close()


@contextlib.asynccontextmanager
async def open_async_checkpoints(settings: Settings) -> AsyncIterator[CheckpointStore]:
    """A :class:`CheckpointStore` for async code.

    The SQLite and PostgreSQL savers serve both APIs (see
    :func:`_sqlite_checkpointer_class`, :func:`_postgres_checkpointer_class`), so this
    is the same store as :func:`open_checkpoints`, entered from async code.
    """
    with open_checkpoints(settings) as store:
        yield store


# Public names the issue asks for.
create_checkpointer = open_checkpoints
create_async_checkpointer = open_async_checkpoints
