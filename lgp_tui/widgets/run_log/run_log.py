"""The run log: the live events of runs, one line each, bounded."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.widgets import RichLog

from lgp_engine import RunEvent
from lgp_engine.jsonable import dumps

MAX_LINES = 2000
_VALUE_CHARS = 160


def compact(value: object, limit: int = _VALUE_CHARS) -> str:
    """``value`` as one line of JSON, cut at ``limit`` characters."""
    text = dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(event: RunEvent) -> Text | None:
    """One styled line for ``event``, or None for events not shown."""
    data = event.data
    node = event.node or data.get("node") or "?"
    match event.type:
        case "run.started":
            return Text.assemble(
                ("▶ run ", "bold"), (str(data.get("workflow", "")), "bold cyan"),
                f" on thread {event.thread_id}  input ", (compact(data.get("input")), "dim"),
            )
        case "node.started":
            return Text.assemble("  ● ", (node, "cyan"), " started")
        case "node.finished":
            ms = data.get("duration_ms")
            timing = f" ({ms:.1f} ms)" if isinstance(ms, int | float) else ""
            if "error" in data:
                err = data["error"]
                return Text.assemble(
                    "  ✖ ", (node, "red"), timing, " ",
                    (f"{err.get('type')}: {err.get('message')}", "red"),
                )
            return Text.assemble(
                "  ✓ ", (node, "green"), timing, "  ", (compact(data.get("update")), "dim")
            )
        case "custom":
            return Text.assemble("  ✎ ", (node, "magenta"), " ", compact(data.get("value")))
        case "message.delta":
            return Text.assemble("  … ", (node, "blue"), " ", compact(data.get("content")))
        case "checkpoint":
            return None
        case "interrupt":
            values = [i.get("value") for i in data.get("interrupts") or [] if isinstance(i, dict)]
            return Text.assemble(
                ("⏸ interrupted", "bold yellow"), f" at {node}: ", compact(values)
            )
        case "run.completed":
            ms = data.get("duration_ms")
            timing = f" in {ms:.1f} ms" if isinstance(ms, int | float) else ""
            return Text.assemble(
                ("✔ completed", "bold green"), timing, "  result: ",
                (compact(data.get("output"), 400), "green"),
            )
        case "run.failed":
            where = f" at {data['node']}" if data.get("node") else ""
            return Text.assemble(
                ("✖ failed", "bold red"), where, ": ",
                (f"{data.get('error_type')}: {data.get('message')}", "red"),
            )
        case "run.cancelled":
            return Text.assemble(("■ cancelled", "bold yellow"), f": {data.get('reason', '')}")
    return None


class RunLog(RichLog):
    """Appends one line per shown event; keeps the last :data:`MAX_LINES` lines."""

    def __init__(self, max_lines: int = MAX_LINES, **kwargs: object) -> None:
        super().__init__(
            max_lines=max_lines, wrap=False, markup=False, highlight=False, auto_scroll=True,
            **kwargs,  # type: ignore[arg-type]
        )
        self.kept = max_lines
        self.plain: deque[str] = deque(maxlen=max_lines)

    def on_mount(self) -> None:
        self.border_title = "Run log"
        self.border_subtitle = f"last {self.kept} lines kept"

    def add_event(self, event: RunEvent) -> None:
        """Show ``event`` (if it is a kind that is shown)."""
        line = describe(event)
        if line is not None:
            self.add_line(line)

    def add_line(self, line: Text | str) -> None:
        """Append a line (styled or plain)."""
        text = line if isinstance(line, Text) else Text(line)
        self.plain.append(text.plain)
        self.write(text)
