"""The template gallery: pick a template, preview its source, name the new workflow, create it.

Creating runs in a thread worker (it writes files); the result comes back as a
message and the screen dismisses with the :class:`~lgp_engine.CreatedWorkflow`
(``None`` when closed with Escape or Cancel).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from lgp_engine import (
    CreatedWorkflow,
    LGPError,
    Settings,
    Template,
    WorkflowRegistry,
    create_workflow,
    list_templates,
    templates_dir,
    validate_workflow_name,
)

_COMPLEXITY_STYLE = {"beginner": "green", "intermediate": "yellow", "advanced": "red"}


def _create(name: str, template: str, settings: Settings, post: Callable[[Message], Any]) -> None:
    """Worker body: create the workflow and post the outcome (never touches widgets)."""
    try:
        created = create_workflow(name, template, settings)
    except LGPError as exc:
        post(TemplateGallery.CreateFailed(exc))
        return
    except Exception as exc:  # noqa: BLE001 - shown inline, the app keeps going
        post(TemplateGallery.CreateFailed(exc))
        return
    post(TemplateGallery.Created(created))


class TemplateGallery(ModalScreen[CreatedWorkflow | None]):
    """Lists the templates with a source preview and creates a workflow from one.

    Args:
        settings: The project's settings (template folder, workflows folder, registry).
        name: An optional initial value for the name field.
        template: The template to select first (default: the first listed).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "close",
            "Close",
            id="gallery.close",
            tooltip="Close the gallery without creating anything",
        ),
    ]

    class Created(Message):
        """The worker created the workflow."""

        def __init__(self, created: CreatedWorkflow) -> None:
            super().__init__()
            self.created = created

    class CreateFailed(Message):
        """The worker could not create the workflow; nothing usable was written."""

        def __init__(self, error: Exception) -> None:
            super().__init__()
            self.error = error

    def __init__(self, settings: Settings, *, name: str = "", template: str | None = None) -> None:
        super().__init__(id="template-gallery")
        self.settings = settings
        self.initial_name = name
        self.initial_template = template
        self.templates: list[Template] = []
        self.selected: Template | None = None
        self.preview_text = ""
        self.name_error: str | None = "enter a name for the new workflow"
        self.creating = False

    # -- layout ----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical(id="gallery-dialog"):
            with Horizontal(id="gallery-body"):
                yield OptionList(id="gallery-templates")
                with VerticalScroll(id="gallery-preview"):
                    yield Static(Text("No template selected.", style="dim"), id="gallery-source")
            with Horizontal(id="gallery-form"):
                yield Label("Name", classes="gallery-label")
                yield Input(self.initial_name, placeholder="my_flow", id="gallery-name")
                yield Button("Create", id="gallery-create", variant="primary", disabled=True)
                yield Button("Cancel", id="gallery-cancel")
            yield Static("", id="gallery-message", markup=False)

    def on_mount(self) -> None:
        self.query_one("#gallery-dialog").border_title = "New workflow from a template"
        self.query_one("#gallery-templates").border_title = "Templates"
        options = self.query_one("#gallery-templates", OptionList)
        try:
            self.templates = list_templates(templates_dir(self.settings))
        except LGPError as exc:
            self._show_message(f"{exc.title}: {exc}", error=True)
            self._validate()
            return
        options.add_options([Option(_prompt(t), id=t.name) for t in self.templates])
        if self.templates:
            names = [t.name for t in self.templates]
            at = names.index(self.initial_template) if self.initial_template in names else 0
            options.highlighted = at
            self._select(self.templates[at])
        self._validate()
        self.query_one("#gallery-name", Input).focus()

    # -- template choice -------------------------------------------------------
    def select_template(self, name: str) -> None:
        """Highlight and preview the template called ``name``."""
        for index, template in enumerate(self.templates):
            if template.name == name:
                self.query_one("#gallery-templates", OptionList).highlighted = index
                self._select(template)
                return
        raise KeyError(name)

    @on(OptionList.OptionHighlighted, "#gallery-templates")
    def _on_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._select(self.templates[event.option_index])

    @on(OptionList.OptionSelected, "#gallery-templates")
    def _on_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._select(self.templates[event.option_index])
        self.query_one("#gallery-name", Input).focus()

    def _select(self, template: Template) -> None:
        if template is self.selected:
            return
        self.selected = template
        preview = self.query_one("#gallery-preview", VerticalScroll)
        preview.border_title = f"Source: {template.name}/workflow.py"
        source = self.query_one("#gallery-source", Static)
        try:
            self.preview_text = template.source()
        except (OSError, UnicodeDecodeError) as exc:
            self.preview_text = ""
            source.update(Text(f"cannot read {template.workflow_file}: {exc}", style="red"))
        else:
            source.update(
                Syntax(
                    self.preview_text,
                    "python",
                    line_numbers=True,
                    theme="ansi_dark",
                    word_wrap=False,
                )
            )
        preview.scroll_home(animate=False)
        self._validate()

    # -- name validation ---------------------------------------------------------
    @on(Input.Changed, "#gallery-name")
    def _on_name_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate()

    @on(Input.Submitted, "#gallery-name")
    def _on_name_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_create()

    def _validate(self) -> None:
        """Check the name as typed; Create is enabled only for a new, valid name."""
        name = self.query_one("#gallery-name", Input).value.strip()
        self.name_error = self._name_problem(name)
        if name and self.name_error:
            self._show_message(self.name_error, error=True)
        elif self.selected is not None and name:
            target = _display(self.settings, self._workflow_file(name))
            self._show_message(f"will create {target} from {self.selected.name}")
        else:
            self._show_message(self.name_error or "")
        self.query_one("#gallery-name", Input).set_class(bool(name and self.name_error), "-invalid")
        self.query_one("#gallery-create", Button).disabled = (
            self.creating or self.name_error is not None or self.selected is None
        )

    def _name_problem(self, name: str) -> str | None:
        if not name:
            return "enter a name for the new workflow"
        try:
            validate_workflow_name(name)
        except LGPError as exc:
            return str(exc)
        path = self._workflow_file(name)
        if path.exists():
            return f"workflow {name!r} already exists: {_display(self.settings, path)}"
        try:
            registry = WorkflowRegistry(self.settings.resolve(self.settings.workflows.registry))
            registered = registry.get(name) is not None
        except LGPError as exc:
            return f"{exc.title}: {exc}"
        if registered:
            return f"workflow {name!r} already exists in {registry.display_path}"
        return None

    def _workflow_file(self, name: str) -> Path:
        return self.settings.resolve(self.settings.workflows.directory) / f"{name}.py"

    def _show_message(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#gallery-message", Static)
        message.update(text)
        message.set_class(error, "-error")

    # -- actions -----------------------------------------------------------------
    def action_create(self) -> None:
        """Create the workflow in a thread worker (if the name and template are valid)."""
        self._validate()
        if self.creating or self.name_error is not None or self.selected is None:
            self.app.bell()
            return
        name = self.query_one("#gallery-name", Input).value.strip()
        self.creating = True
        self._validate()
        self._show_message(f"creating {name}…")
        self.run_worker(
            partial(_create, name, self.selected.name, self.settings, self.post_message),
            name=f"create {name}",
            group="create",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def action_close(self) -> None:
        if not self.creating:
            self.dismiss(None)

    @on(Button.Pressed, "#gallery-create")
    def _on_create_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_create()

    @on(Button.Pressed, "#gallery-cancel")
    def _on_cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_close()

    def on_template_gallery_created(self, message: Created) -> None:
        self.creating = False
        self.dismiss(message.created)

    def on_template_gallery_create_failed(self, message: CreateFailed) -> None:
        self.creating = False
        self._validate()
        error = message.error
        title = error.title if isinstance(error, LGPError) else type(error).__name__
        self._show_message(f"{title}: {error}", error=True)


def _prompt(template: Template) -> Text:
    text = Text()
    text.append(template.name, style="bold")
    text.append(f"  {template.complexity}", style=_COMPLEXITY_STYLE.get(template.complexity, ""))
    if template.description:
        text.append(f"\n{template.description}", style="dim")
    return text


def _display(settings: Settings, path: Path) -> str:
    try:
        return path.relative_to(settings.project_dir).as_posix()
    except ValueError:
        return str(path)
