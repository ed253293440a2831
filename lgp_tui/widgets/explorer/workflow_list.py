"""The workflow explorer: registered workflows and the workflow files of the project.

The list follows the project: a workflow file created, removed or renamed in the
workflow folder, or a workflow registered, shows without a restart. The folder and
the registry are checked every :data:`CHECK_EVERY_S` (one listing of the folder and
one ``stat``, no file watcher: an inotify watch on the folder would be taken for the
hot-reload watcher by the tests that wait for it, and polling also works on the
mounts where inotify does not). A burst of changes within a check is one refresh.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from lgp_engine import LGPError, Settings, WorkflowRegistry, workflow_files

CHECK_EVERY_S = 1.0
#: What the list was made from: the workflow files' names and the registry's identity.
Signature = tuple[tuple[str, ...], tuple[int, int, int] | None]


@dataclass(frozen=True)
class Entry:
    """One selectable workflow: ``target`` is what :func:`resolve_target` gets."""

    target: str
    label: str
    description: str = ""


def discover(settings: Settings) -> tuple[list[Entry], list[Entry], str | None]:
    """(registered, files, problem): what the explorer lists, and a registry error if any."""
    registered: list[Entry] = []
    problem = None
    try:
        registry = WorkflowRegistry(settings.resolve(settings.workflows.registry))
        for name, entry in sorted(registry.entries().items()):
            registered.append(Entry(name, name, entry.description))
    except LGPError as exc:
        problem = str(exc)
    folder = settings.resolve(settings.workflows.directory)
    files = [
        Entry(_relative(path, settings.project_dir), path.name) for path in workflow_files(folder)
    ]
    return registered, files, problem


def signature(settings: Settings) -> Signature:
    """What :func:`discover` depends on, cheaply: it changes when a workflow file is
    created, removed or renamed, or the registry file is written."""
    files = tuple(p.name for p in workflow_files(settings.resolve(settings.workflows.directory)))
    try:
        stat = os.stat(settings.resolve(settings.workflows.registry))
    except OSError:
        return files, None
    return files, (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


class WorkflowList(Vertical):
    """Lists workflows; choosing one posts :class:`WorkflowList.Selected`.

    A load problem is shown under the list (``show_error``) and the list stays usable.
    The list refreshes itself when the project's workflows change (see the module).
    """

    class Selected(Message):
        """The user chose a workflow to load."""

        def __init__(self, target: str) -> None:
            super().__init__()
            self.target = target

    def __init__(self, settings: Settings, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.settings = settings
        self.entries: list[Entry | None] = []
        self._signature: Signature | None = None
        self._load_error: str | None = None
        self._registry_problem: str | None = None
        #: Checks the folder and the registry (pause it to keep the list as it is).
        self.check_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield OptionList(id="workflow-options")
        yield Static("", id="explorer-error", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Workflows"
        self.refresh_entries()
        self.check_timer = self.set_interval(
            CHECK_EVERY_S, self.check_for_changes, name="workflow files"
        )

    @property
    def options(self) -> OptionList:
        return self.query_one("#workflow-options", OptionList)

    def check_for_changes(self) -> bool:
        """Refresh the list if the workflow folder or the registry changed since it
        was made; True if it did."""
        if signature(self.settings) == self._signature:
            return False
        self.refresh_entries()
        return True

    @property
    def highlighted(self) -> Entry | None:
        """The workflow under the cursor (the loaded one unless the user moved)."""
        index = self.options.highlighted
        return self.entries[index] if index is not None and index < len(self.entries) else None

    def refresh_entries(self) -> None:
        """Re-read the registry and the workflow folder; the cursor stays on the same
        workflow (on its neighbour if it is gone)."""
        self._signature = signature(self.settings)
        registered, files, problem = discover(self.settings)
        kept = self.highlighted
        at = self.options.highlighted
        options: list[Option | None] = []
        self.entries = []
        if registered:
            options.append(Option("registered", disabled=True))
            self.entries.append(None)
            for entry in registered:
                options.append(Option(f"  {entry.label}", id=f"name:{entry.target}"))
                self.entries.append(entry)
        if files:
            options.append(Option("files", disabled=True))
            self.entries.append(None)
            for entry in files:
                options.append(Option(f"  {entry.label}", id=f"file:{entry.target}"))
                self.entries.append(entry)
        self.options.clear_options()
        self.options.add_options(options)
        self._registry_problem = problem
        self._show_problems()
        index = self.index_of(kept.target) if kept is not None else None
        if index is None and at is not None and self.entries:  # gone: its neighbour
            at = min(at, len(self.entries) - 1)
            near = [i for i, e in enumerate(self.entries) if e is not None]
            index = min(near, key=lambda i: (abs(i - at), i), default=None)
        if index is not None:
            self.options.highlighted = index

    def index_of(self, target: str) -> int | None:
        """The option index of ``target``, or None if it is not listed."""
        for i, entry in enumerate(self.entries):
            if entry is not None and entry.target == target:
                return i
        return None

    def mark(self, target: str) -> None:
        """Highlight ``target`` if it is listed (without loading it again)."""
        index = self.index_of(target)
        if index is not None:
            self.options.highlighted = index

    def show_error(self, message: str | None) -> None:
        """Show a load problem under the list, or clear it (a registry problem stays
        shown until the registry is fixed)."""
        self._load_error = message
        self._show_problems()

    def _show_problems(self) -> None:
        text = "\n".join(p for p in (self._registry_problem, self._load_error) if p)
        error = self.query_one("#explorer-error", Static)
        error.update(text)
        error.display = bool(text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        entry = self.entries[event.option_index]
        if entry is not None:
            self.post_message(self.Selected(entry.target))
