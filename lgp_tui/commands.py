"""The command palette finds workflows (load one), threads (run on one, or browse
it) and templates (create a workflow from one) by name.

What it lists is read once when the palette opens, off the event loop (the
threads from the stores, the workflows from the project, the templates from
their folder); the palette's own commands stay as they are.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from lgp_engine import list_templates, summarize_threads, templates_dir

from .thread_rows import status_mark
from .widgets.explorer.workflow_list import discover

if TYPE_CHECKING:
    from collections.abc import Callable

    from .app import WorkbenchApp

#: The newest threads the palette finds.
THREAD_LIMIT = 200
#: How many of the newest threads it offers before anything is typed.
DISCOVER_THREADS = 5


@dataclass(frozen=True)
class Found:
    """One thing the palette can find: ``text`` is what is matched."""

    text: str
    help: str
    run: Callable[[], Any]
    mark: Text | None = None


class FindCommands(Provider):
    """Workflows, threads and templates, by name (``workflow: …``, ``thread: …``,
    ``browse thread: …``, ``template: …``)."""

    found: list[Found]

    async def startup(self) -> None:
        app: WorkbenchApp = self.app  # type: ignore[assignment]
        self.found = await asyncio.to_thread(_gather, app)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for item in self.found:
            score = matcher.match(item.text)
            if score > 0:
                display = matcher.highlight(item.text)
                if item.mark is not None:
                    display = Content.assemble(Content.from_rich_text(item.mark), " ", display)
                yield Hit(score, display, item.run, text=item.text, help=item.help)

    async def discover(self) -> Hits:
        threads = 0
        for item in self.found:
            if item.text.startswith("thread: "):
                threads += 1
                if threads > DISCOVER_THREADS:
                    continue
            elif item.text.startswith("browse thread: "):
                continue
            display = (
                Text(item.text) if item.mark is None else Text.assemble(item.mark, " ", item.text)
            )
            yield DiscoveryHit(display, item.run, text=item.text, help=item.help)


def _gather(app: WorkbenchApp) -> list[Found]:
    """Worker body (a thread): everything the palette can find. A part that cannot
    be read is left out (the palette still opens)."""
    found: list[Found] = []
    try:
        registered, files, _problem = discover(app.settings)
    except Exception:  # noqa: BLE001 - no workflows to offer, the rest still is
        registered, files = [], []
    names = {e.target for e in registered}
    for entry in [*registered, *files]:
        if entry in files and entry.label.removesuffix(".py") in names:
            continue  # registered under that name: listed once
        found.append(
            Found(
                f"workflow: {entry.label}",
                entry.description or f"Load {entry.target}",
                partial(app.load, entry.target),
            )
        )
    runner = app.runner
    if runner is not None:
        try:
            threads = summarize_threads(runner.store, runner.runs, limit=THREAD_LIMIT)
        except Exception:  # noqa: BLE001
            threads = []
        for t in threads:
            about = f"{t.workflow or '?'} · {t.status or '-'} · {t.thread_id}"
            found.append(
                Found(
                    f"thread: {t.name}",
                    f"Run on this thread: {about}",
                    partial(app.use_thread, t.thread_id),
                    status_mark(t.status),
                )
            )
            found.append(
                Found(
                    f"browse thread: {t.name}",
                    f"Open it in the checkpoint browser: {about}",
                    partial(app.action_checkpoints, t.thread_id),
                    status_mark(t.status),
                )
            )
    try:
        templates = list_templates(templates_dir(app.settings))
    except Exception:  # noqa: BLE001
        templates = []
    for template in templates:
        found.append(
            Found(
                f"template: {template.name}",
                f"New workflow from it: {template.description}",
                partial(app.action_new_workflow, template.name),
            )
        )
    return found
