"""Recorded replays of a thread: which recorded calls answer a replay from a
checkpoint, and how its branch differs from the original one.

Every run records its agent nodes' model calls and MCP tool calls in the run store
(see :mod:`lgp_engine.providers.replay`). A recorded replay from checkpoint C re-runs
the nodes after C with the current code, answering those calls from what the
*original branch* recorded: the branch that continued from C (the thread's newest
checkpoint when it descends from C, else the newest branch under C that no recorded
replay made), made by one run or several (an interrupt and its resume). Of each of
those runs only the calls made after C count.

::

    source = find_recording(runner.store, runner.runs, thread_id, checkpoint_id)
    events = list(runner.replay(workflow, thread_id, checkpoint_id, recorded=source))
    diff = compare_replay(runner.store, runner.runs, source, events[-1].run_id)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .checkpointing import CheckpointInfo, CheckpointStore
from .errors import NotFoundError
from .jsonable import to_jsonable
from .providers.replay import Replay
from .runs import RunStore
from .state_changes import DiffLine, describe_diff
from .timetravel import Change, diff_values, state_at

#: Every checkpoint of a thread is read to find its branches (ids and parents only).
_ALL = 10**9


@dataclass(frozen=True)
class RecordingSource:
    """The recorded calls a recorded replay from ``checkpoint_id`` answers from.

    Attributes:
        thread_id: The thread replayed.
        checkpoint_id: Where the replay starts.
        run_ids: The runs whose calls answer it, oldest first.
        original_checkpoint: The last checkpoint of the original branch (what the
            replay's branch is compared with).
        model_calls: The model calls recorded after ``checkpoint_id``.
        tool_calls: The MCP tool calls recorded after it.
        recordings: Those calls, in order (with each server's tool list).
    """

    thread_id: str
    checkpoint_id: str
    run_ids: tuple[str, ...]
    original_checkpoint: str
    model_calls: int
    tool_calls: int
    recordings: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    listings: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    def replay(self, *, live_fallback: bool = False) -> Replay:
        """A fresh :class:`~lgp_engine.providers.replay.Replay` of these calls."""
        return Replay(self.recordings, self.listings, live_fallback=live_fallback)

    def describe(self) -> str:
        """``4 model calls and 2 tool calls of run 1a2b3c4d``."""
        if not self.run_ids:
            return "no recorded calls"
        runs = ", ".join(r[:8] for r in self.run_ids)
        model = f"{self.model_calls} model call{'s' if self.model_calls != 1 else ''}"
        tool = f"{self.tool_calls} tool call{'s' if self.tool_calls != 1 else ''}"
        return f"{model} and {tool} of run{'s' if len(self.run_ids) != 1 else ''} {runs}"


@dataclass(frozen=True)
class ReplayComparison:
    """How a recorded replay's branch ends compared with the original branch.

    Attributes:
        original_checkpoint: The original branch's last checkpoint.
        replay_checkpoint: The replay branch's last checkpoint.
        before: The original branch's final state values.
        after: The replay branch's final state values.
        changes: From ``before`` to ``after``, chat message ids left out (every run
            gives its new messages new ids).
    """

    thread_id: str
    original_checkpoint: str
    replay_checkpoint: str
    before: dict[str, Any]
    after: dict[str, Any]
    changes: list[Change]

    def lines(self, limit: int = 300) -> list[DiffLine]:
        """The changes one line each, chat messages by role (as ``lgp diff`` shows them)."""
        return describe_diff(
            without_message_ids(self.before), without_message_ids(self.after), limit
        )


def find_recording(
    store: CheckpointStore,
    runs: RunStore,
    thread_id: str,
    checkpoint_id: str,
    recorded: str | bool = True,
) -> RecordingSource:
    """What a recorded replay of ``thread_id`` from ``checkpoint_id`` answers from.

    ``recorded``: True (or ``thread_id``) for the runs that made the original branch
    after the checkpoint; a run id (or a unique prefix) for that run's calls.

    Raises:
        NotFoundError: unknown thread, checkpoint or run, nothing after the
            checkpoint (``nothing_after``: the end of a branch), or nothing recorded
            (``no_recording``: the thread's runs, or the run, recorded no call).
    """
    store.thread(thread_id)
    if store.checkpoint(thread_id, checkpoint_id) is None:
        raise NotFoundError(
            f"thread {thread_id} has no checkpoint {checkpoint_id}",
            field="checkpoint",
            code="unknown_checkpoint",
            thread_id=thread_id,
        )
    infos = store.history(thread_id, limit=_ALL)
    chosen_run: str | None = None
    if isinstance(recorded, str) and recorded != thread_id:
        chosen_run = runs.find(recorded).run_id
    if chosen_run is not None:
        if not runs.recording_counts([chosen_run]):
            raise NotFoundError(
                f"run {chosen_run} recorded no model or tool call to replay",
                field="run",
                code="no_recording",
                run_id=chosen_run,
            )
    else:
        every = [r.run_id for r in runs.list_runs(thread_id=thread_id, limit=10_000)]
        if not runs.recording_counts(every):
            raise NotFoundError(
                f"thread {thread_id} has no recorded model or tool calls to replay (its "
                "agent nodes made none, or it ran before calls were recorded)",
                field="thread",
                code="no_recording",
                thread_id=thread_id,
                hint="replay it without the recording",
            )
    end, branch_runs = _original_branch(store, runs, thread_id, checkpoint_id, infos, chosen_run)
    if end is None:
        raise NotFoundError(
            f"nothing ran after checkpoint {checkpoint_id} of thread {thread_id}, so there is "
            "no recording to replay it with",
            field="checkpoint",
            code="nothing_after",
            thread_id=thread_id,
            hint="pick a checkpoint the thread went on from",
        )
    run_ids = [chosen_run] if chosen_run is not None else branch_runs
    counts = runs.recording_counts(run_ids)
    recordings: list[dict[str, Any]] = []
    listings: dict[str, list[dict[str, Any]]] = {}
    for run_id in run_ids:
        if run_id not in counts:
            continue
        every_call = runs.recordings(run_id)
        for rec in every_call:  # a server's tools, whenever they were listed
            if rec.get("kind") == "tools":
                listings.setdefault(str(rec.get("server")), list(rec.get("tools") or []))
        at = runs.checkpoint_seq(run_id, checkpoint_id)  # the run went on past it
        recordings += [
            r
            for r in every_call
            if r.get("kind") != "tools" and (at is None or r["after_seq"] >= at)
        ]
    return RecordingSource(
        thread_id=thread_id,
        checkpoint_id=checkpoint_id,
        run_ids=tuple(r for r in run_ids if r in counts),
        original_checkpoint=end,
        model_calls=sum(1 for r in recordings if r.get("kind") == "model"),
        tool_calls=sum(1 for r in recordings if r.get("kind") == "tool"),
        recordings=tuple(recordings),
        listings=listings,
    )


def recording_start(runs: RunStore, thread_id: str, run_id: str | None = None) -> str:
    """Where a recorded replay of ``thread_id`` starts by default: where the run that
    recorded (``run_id``, else the thread's newest run that recorded calls and is not
    itself a recorded replay) started, so every node it ran runs again.

    Raises:
        NotFoundError: ``no_recording`` when no such run recorded anything.
    """
    if run_id is not None:
        chosen = [runs.find(run_id)]
    else:
        chosen = runs.list_runs(thread_id=thread_id, limit=10_000)  # newest first
    counts = runs.recording_counts([r.run_id for r in chosen])
    recorded = [r for r in chosen if r.run_id in counts]
    first = [r for r in recorded if not (r.meta or {}).get("recorded")] or recorded
    if not first:
        who = f"run {run_id}" if run_id is not None else f"thread {thread_id}"
        raise NotFoundError(
            f"{who} has no recorded model or tool calls to replay (its agent nodes made "
            "none, or it ran before calls were recorded)",
            field="run" if run_id is not None else "thread",
            code="no_recording",
            thread_id=thread_id,
            hint="replay it without the recording",
        )
    run = first[0]
    if run.checkpoint_id:  # a replay or fork: from where it started
        return run.checkpoint_id
    for event in runs.events(run.run_id):
        if event.type == "checkpoint" and not event.data.get("path"):
            parent = event.data.get("parent_id")
            return str(parent or event.data["checkpoint_id"])
    raise NotFoundError(
        f"run {run.run_id} saved no checkpoint to replay from",
        field="checkpoint",
        code="no_checkpoint",
        run_id=run.run_id,
    )


def compare_replay(
    store: CheckpointStore, runs: RunStore, source: RecordingSource, run_id: str
) -> ReplayComparison:
    """The final state of the replay run ``run_id``'s branch against the original
    branch's (see :class:`ReplayComparison`)."""
    replayed = _last_saved(runs, run_id) or source.checkpoint_id
    original = source.original_checkpoint
    before = dict(state_at(store, source.thread_id, original).values)
    after = dict(state_at(store, source.thread_id, replayed).values)
    changes = diff_values(without_message_ids(before), without_message_ids(after))
    return ReplayComparison(
        thread_id=source.thread_id,
        original_checkpoint=source.original_checkpoint,
        replay_checkpoint=replayed,
        before=before,
        after=after,
        changes=changes,
    )


def without_message_ids(value: Any) -> Any:
    """``value`` as JSON with the ``id`` of each chat message left out."""
    value = to_jsonable(value)
    if isinstance(value, dict):
        message = "additional_kwargs" in value and "response_metadata" in value
        return {k: without_message_ids(v) for k, v in value.items() if not (message and k == "id")}
    if isinstance(value, list):
        return [without_message_ids(v) for v in value]
    return value


# -- branches -----------------------------------------------------------------------


def _last_saved(runs: RunStore, run_id: str) -> str | None:
    """The last root checkpoint ``run_id`` saved (from its events)."""
    for event in reversed(runs.events(run_id)):
        if event.type == "checkpoint" and not event.data.get("path"):
            found = event.data.get("checkpoint_id")
            return str(found) if found else None
    return None


def _original_branch(
    store: CheckpointStore,
    runs: RunStore,
    thread_id: str,
    start: str,
    infos: Sequence[CheckpointInfo],
    run_id: str | None,
) -> tuple[str | None, list[str]]:
    """The last checkpoint of the original branch after ``start`` and the runs that
    made that branch from ``start`` on, oldest first (see the module docstring):
    with ``run_id``, the newest branch that run helped make."""
    parents = {c.checkpoint_id: c.parent_id for c in infos}
    children: dict[str, list[str]] = {}
    for c in infos:
        if c.parent_id is not None:
            children.setdefault(c.parent_id, []).append(c.checkpoint_id)
    below: list[str] = []  # the checkpoints under start
    todo = list(children.get(start, ()))
    while todo:
        found = todo.pop()
        below.append(found)
        todo += children.get(found, ())
    if not below:
        return None, []
    leaves = sorted((c for c in below if c not in children), reverse=True)  # newest first
    head = max(parents)  # the thread's newest checkpoint
    ordered = ([head] if head in leaves else []) + [c for c in leaves if c != head]
    options: list[tuple[str, list[str]]] = []
    for leaf in ordered:
        chain: list[str] = []  # start .. the leaf's parent
        at: str | None = leaf
        while at is not None and at != start:
            at = parents.get(at)
            if at is not None:
                chain.append(at)
        steps = store.lineage_steps(thread_id, leaf)
        options.append((leaf, sorted({run for parent, run in steps if parent in chain})))
    records = runs.runs_by_id(sorted({r for _, made in options for r in made}))

    def by_age(ids: list[str]) -> list[str]:
        known = [r for r in ids if r in records]
        return sorted(known, key=lambda r: records[r].created_at)

    if run_id is not None:
        for leaf, made in options:
            if run_id in made:
                return leaf, by_age(made)
        return ordered[0], by_age(options[0][1])

    def recorded_replay(r: str) -> bool:
        record = records.get(r)
        return record is not None and bool((record.meta or {}).get("recorded"))

    for leaf, made in options:
        if not any(recorded_replay(r) for r in made):
            return leaf, by_age(made)
    leaf, made = options[0]
    return leaf, by_age(made)
