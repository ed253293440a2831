"""The workflow explorer: registered workflows and the workflow files of the project."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from lgp_engine import LGPError, Settings, WorkflowRegistry


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
    files = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            rel = _relative(path, settings.project_dir)
            files.append(Entry(rel, path.name))
    return registered, files, problem


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


class WorkflowList(Vertical):
    """Lists workflows; choosing one posts :class:`WorkflowList.Selected`.

    A load problem is shown under the list (``show_error``) and the list stays usable.
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

    def compose(self) -> ComposeResult:
        yield OptionList(id="workflow-options")
        yield Static("", id="explorer-error", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Workflows"
        self.refresh_entries()

    @property
    def options(self) -> OptionList:
        return self.query_one("#workflow-options", OptionList)

    def refresh_entries(self) -> None:
        """Re-read the registry and the workflow folder."""
        registered, files, problem = discover(self.settings)
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
        self.show_error(problem)

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
        """Show a load/registry problem under the list, or clear it."""
        error = self.query_one("#explorer-error", Static)
        error.update(message or "")
        error.display = bool(message)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        entry = self.entries[event.option_index]
        if entry is not None:
            self.post_message(self.Selected(entry.target))
