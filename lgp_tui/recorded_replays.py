"""The checkpoint browser's recorded replay (issue 16): before the replay, find what
the original branch after the checkpoint recorded; once the app has run the replay
(answered from that recording: ``Runner.areplay(recorded=...)``), compare the final
states of the two branches.

The two worker bodies run on worker threads and only post the messages below to the
browser, which phrases them (a notification, the diff in the value viewer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message import Message

from lgp_engine import (
    CheckpointStore,
    RecordingSource,
    ReplayComparison,
    RunRecord,
    RunStatus,
    RunStore,
    compare_replay,
    find_recording,
    format_usd,
)

Post = Callable[[Message], Any]


class RecordingFound(Message):
    """What the branch after ``checkpoint_id`` recorded (``source``), or why nothing
    can answer a recorded replay from it (``error``)."""

    def __init__(
        self,
        thread_id: str,
        checkpoint_id: str,
        source: RecordingSource | None,
        error: Exception | None = None,
    ) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.checkpoint_id = checkpoint_id
        self.source = source
        self.error = error


class ReplayCompared(Message):
    """A recorded replay ended: its branch against the original (``comparison``), or
    why there is nothing to compare (``error``: it failed, was cancelled...)."""

    def __init__(
        self,
        source: RecordingSource,
        comparison: ReplayComparison | None,
        run: RunRecord | None,
        recorded_usage: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.comparison = comparison
        self.run = run
        self.recorded_usage = recorded_usage
        self.error = error


def find(
    store: CheckpointStore, runs: RunStore, thread_id: str, checkpoint_id: str, post: Post
) -> None:
    """Worker body: the recording a replay of ``thread_id`` from ``checkpoint_id`` uses."""
    try:
        source = find_recording(store, runs, thread_id, checkpoint_id)
    except Exception as exc:  # noqa: BLE001 - said in the browser, the app keeps going
        post(RecordingFound(thread_id, checkpoint_id, None, exc))
        return
    post(RecordingFound(thread_id, checkpoint_id, source))


def compare(
    store: CheckpointStore, runs: RunStore, source: RecordingSource, since: float, post: Post
) -> None:
    """Worker body: the thread's newest run (the recorded replay the app ran, made at
    ``since`` or later) against the original branch."""
    try:
        run = runs.latest_for_thread(source.thread_id)
        if run is None or run.kind != "replay" or run.created_at < since:
            post(ReplayCompared(source, None, run, error="the replay did not start"))
            return
        tail = runs.events(run.run_id, max(run.last_seq - 1, 0))
        last = tail[-1].data if tail else {}
        recorded = last.get("recorded_usage")
        if run.status not in (RunStatus.COMPLETED, RunStatus.INTERRUPTED):
            why = (run.error or {}).get("message") or f"the replay is {run.status}"
            post(ReplayCompared(source, None, run, recorded, error=str(why)))
            return
        comparison = compare_replay(store, runs, source, run.run_id)
    except Exception as exc:  # noqa: BLE001
        post(ReplayCompared(source, None, None, error=f"{type(exc).__name__}: {exc}"))
        return
    post(ReplayCompared(source, comparison, run, recorded))


def spent_text(usage: dict[str, Any] | None) -> str:
    """``1,234 tokens, $0.01`` of a usage total ('' without calls)."""
    if not usage or not usage.get("calls"):
        return ""
    tokens = int(usage.get("total_tokens") or 0)
    return f"{tokens:,} tokens, {format_usd(float(usage.get('cost_usd') or 0.0))}"


def summary(message: ReplayCompared) -> str:
    """The notification of a compared replay."""
    assert message.comparison is not None
    changes = len(message.comparison.changes)
    said = "no differences" if not changes else f"{changes} difference{'s' * (changes != 1)}"
    spent = spent_text(message.recorded_usage)
    saved = f" ({spent} not spent again)" if spent else ""
    return f"Recorded replay of {message.source.describe()}{saved}: {said} from the original branch"


def diff_value(message: ReplayCompared) -> dict[str, Any]:
    """What the value viewer shows of a compared replay: each difference by its path,
    with the original branch's value and the replay's."""
    comparison = message.comparison
    assert comparison is not None
    differences: dict[str, Any] = {}
    for change in comparison.changes:
        entry: dict[str, Any] = {}
        if change.kind != "added":
            entry["original"] = change.before
        if change.kind != "removed":
            entry["replay"] = change.after
        differences[change.path] = entry
    return {
        "original branch": comparison.original_checkpoint,
        "replay branch": comparison.replay_checkpoint,
        "answered from the recording": message.source.describe(),
        "not spent again": spent_text(message.recorded_usage) or "nothing",
        "differences": differences or "none",
    }
