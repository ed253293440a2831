"""How a thread reads in a list (the thread picker, the checkpoint browser): its
status as a symbol and colour, its name, workflow, last update and lineage."""

from __future__ import annotations

from rich.text import Text

from lgp_engine import ThreadSummary

#: ``status: (symbol, style)``; the symbols differ, so colour is never all there is.
STATUS_LOOK: dict[str, tuple[str, str]] = {
    "completed": ("✔", "green"),
    "interrupted": ("⏸", "yellow"),
    "failed": ("✖", "red"),
    "cancelled": ("⊘", "magenta"),
    "running": ("▶", "cyan"),
    "queued": ("…", "cyan"),
    "abandoned": ("✖", "dark_orange"),
    "idle": ("○", "dim"),
}
_UNKNOWN = ("·", "dim")


def short_id(checkpoint_id: str) -> str:
    """The part of a checkpoint id that differs between checkpoints of a thread."""
    return checkpoint_id.replace("-", "")[-8:]


def status_mark(status: str | None) -> Text:
    symbol, style = STATUS_LOOK.get(status or "", _UNKNOWN)
    return Text(symbol, style=f"bold {style}")


def lineage_text(thread: ThreadSummary, names: dict[str, str] | None = None) -> Text | None:
    """``⑂ fork of 3a4b5c6d`` / ``↻ replay from …`` / ``⧉ copy of <thread>``, or None.
    ``names`` maps thread ids to names, to name a copy's source by its name."""
    lineage = thread.lineage
    if lineage is None:
        return None
    at = f" {short_id(lineage.checkpoint_id)}" if lineage.checkpoint_id else ""
    if lineage.kind == "fork":
        return Text(f"⑂ fork of{at}", style="green")
    if lineage.kind == "replay":
        return Text(f"↻ replay from{at}", style="green")
    source = (names or {}).get(lineage.thread_id) or lineage.thread_id
    return Text(f"⧉ copy of {source}", style="green")


def updated_text(thread: ThreadSummary) -> str:
    return thread.updated_at.strftime("%Y-%m-%d %H:%M") if thread.updated_at else "-"


def thread_row(thread: ThreadSummary, names: dict[str, str] | None = None) -> Text:
    """Three lines (four with a lineage), each cut to the width with an ellipsis
    (by the list's ``text-overflow``): status and name; workflow, status and id;
    last update and size; where it came from."""
    row = status_mark(thread.status)
    row.append(" ")
    row.append(thread.name, style="bold" if thread.named else "bold italic")
    row.append(f"\n{thread.workflow or '?'} · {thread.status or '-'} · {thread.thread_id}")
    count = f"{thread.checkpoints} checkpoint{'s' if thread.checkpoints != 1 else ''}"
    row.append(f"\n{updated_text(thread)} · {count}", style="dim")
    lineage = lineage_text(thread, names)
    if lineage is not None:
        row.append("\n")
        row.append_text(lineage)
    row.no_wrap = True
    row.overflow = "ellipsis"
    return row
