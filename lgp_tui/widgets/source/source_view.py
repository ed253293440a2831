"""The source pane: the workflow file in a code editor (Python highlighting when
tree-sitter is installed), saved in place or as a new registered workflow.

Its border says what state the buffer is in: ``modified``, ``saving…``, ``saved``
(then ``reloaded`` or ``reload failed``, from the file watcher), ``save failed: …``,
``changed on disk``. Saving writes the file atomically; the app's file watcher then
reloads the workflow and reruns it, as for a save from any other editor. A change
made outside while the buffer has unsaved edits is never overwritten: it is offered
(reload theirs, keep mine and overwrite, or cancel).
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

from lgp_engine import SavedWorkflow, Settings

from ...source_file import SaveOutcome, read_source, save_source

Then = Callable[[], object]


def _language() -> str | None:
    """``python`` when tree-sitter and its Python grammar are installed (the
    ``textual[syntax]`` extra), else None: plain text, still editable."""
    found = importlib.util.find_spec
    return "python" if found("tree_sitter") and found("tree_sitter_python") else None


class SourceView(TextArea):
    """Edits one Python file; ``show_file`` swaps it (or follows it when it changed
    on disk), ``release`` asks before unsaved edits are left behind.

    Args:
        settings: The project's settings (its folder, workflows folder and registry).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "f2",
            "save",
            "Save",
            id="source.save",
            tooltip="Save the file: the workflow reloads and reruns on the same thread",
        ),
        Binding(
            "f3,shift+f2",
            "save_as",
            "Save as",
            id="source.save_as",
            tooltip="Save as a new workflow (registered in workflows/config.yaml) and open it",
        ),
    ]

    class Saved(Message):
        """The file was saved (the watcher reloads the loaded workflow)."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    class SavedAs(Message):
        """The buffer was saved as a new registered workflow: the app opens it."""

        def __init__(self, saved: SavedWorkflow) -> None:
            super().__init__()
            self.saved = saved

    class SaveDone(Message):
        """The save worker finished (handled by the pane itself)."""

        def __init__(self, outcome: SaveOutcome, then: Then | None) -> None:
            super().__init__()
            self.outcome = outcome
            self.then = then

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            "",
            language=None,  # set with the first file: the first frame does not wait for it
            theme="css",
            soft_wrap=False,
            tab_behavior="indent",
            show_line_numbers=True,
            read_only=True,
            placeholder="No workflow selected.",
            **kwargs,
        )
        self.settings = settings
        self._syntax = _language()
        self.project_dir = settings.project_dir
        self.path: Path | None = None
        #: The file's text as last read or saved (None: no file, or unreadable).
        self.disk_text: str | None = None
        self.saving = False
        self.save_error: str | None = None
        #: The file changed outside while the buffer had unsaved edits, unresolved.
        self.changed_outside = False
        self._saved = False
        self._reload_note: str | None = None
        self._problem: str | None = None  # the file cannot be read
        self._asking = False  # a dialog of this pane is open
        self._declined: str | None = None  # the outside version last answered "cancel"

    def on_mount(self) -> None:
        self._show_state()

    # -- state -----------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        """The buffer has edits that are not in the file."""
        return self.disk_text is not None and self.text != self.disk_text

    @property
    def state(self) -> str:
        """What the border shows after the file name ("" when clean)."""
        if self._problem is not None:
            return self._problem
        if self.saving:
            return "saving…"
        if self.dirty:
            parts = ["modified"]
            if self.save_error is not None:
                parts.append(f"save failed: {self.save_error}")
            if self.changed_outside:
                parts.append("changed on disk")
            return " · ".join(parts)
        if self._saved:
            return " · ".join(p for p in ("saved", self._reload_note) if p)
        return ""

    def _show_state(self) -> None:
        title = "Source" if self.path is None else f"Source: {self.relative(self.path)}"
        state = self.state
        text = f"{title} · {state}" if state else title
        room = self.size.width - 6  # the corners and a space either side
        if state and self.path is not None and 0 < room < len(text):
            text = f"{self.path.name} · {state}"  # narrow (80 columns): the state first
        self.border_title = text
        dirty = self.dirty
        self.set_class(self.saving, "-saving")
        self.set_class(dirty and not self.saving, "-dirty")
        failed = self._problem is not None or (
            dirty and (self.save_error is not None or self.changed_outside)
        )
        self.set_class(failed, "-failed")
        self.set_class(self._saved and not dirty and not self.saving, "-saved")

    def on_resize(self) -> None:
        self._show_state()

    def on_text_area_changed(self, _: TextArea.Changed) -> None:
        if self.dirty:
            self._saved = False
            self._reload_note = None
        self._show_state()

    def relative(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.project_dir.resolve()).as_posix()
        except ValueError:
            return str(path)

    # -- showing a file ----------------------------------------------------------
    def show_file(
        self,
        path: Path | None,
        *,
        highlight_line: int | None = None,
        keep_scroll: bool = False,
        reloaded: bool | None = None,
    ) -> None:
        """Show ``path`` (a placeholder when it is None or unreadable).

        The same file again (a reload after it changed on disk) is followed: a
        clean buffer takes the new text and keeps its place; a buffer with unsaved
        edits keeps them and the change is offered instead. ``reloaded`` is the
        outcome of the reload that follows a save (shown after "saved");
        ``highlight_line`` puts the cursor on an error's line unless the pane has
        focus (someone is typing there).
        """
        same = path is not None and self.path is not None and path.resolve() == self.path.resolve()
        if reloaded is not None:
            if not same:
                return  # a late reload of the file this pane showed before (Save As)
            where = f" at line {highlight_line}" if highlight_line else ""
            # short: the banner above says the previous version keeps running
            self._reload_note = "reloaded" if reloaded else f"reload failed{where}"
        if path is None:
            self._open(None, None, "No source file for this workflow.")
            return
        try:
            disk = read_source(path)
        except (OSError, UnicodeDecodeError) as exc:
            if same and self.dirty:
                return  # the edits stay; saving says what is wrong
            self._open(path, None, f"cannot read {self.relative(path)}: {exc}")
            return
        if not same or self.disk_text is None:
            self._open(path, disk, "")
        elif disk == self.disk_text:
            pass  # nothing new on disk (our own save, or a change to another file)
        elif disk == self.text:
            self.disk_text = disk  # our save, seen before its worker reported back
        elif not self.dirty:
            self._replace(disk)
        else:
            self.changed_outside = True
            if disk != self._declined:  # asked once per version; saving asks again
                self._offer_theirs()
        if highlight_line and not self.has_focus:
            row = max(0, min(highlight_line - 1, self.document.line_count - 1))
            self.move_cursor((row, 0))
            self.call_after_refresh(self.scroll_cursor_visible, center=True)  # once laid out
        elif not same and not keep_scroll:
            self.scroll_home(animate=False)
        self._show_state()

    def _open(self, path: Path | None, text: str | None, placeholder: str) -> None:
        """Start over on ``path`` with ``text`` (None: nothing to edit)."""
        self.path = path
        self.disk_text = text
        self.saving = False
        self.save_error = None
        self.changed_outside = False
        self._saved = False
        self._reload_note = None
        self._problem = placeholder if path is not None and text is None else None
        self.placeholder = placeholder
        self.read_only = text is None
        if text and self.language != self._syntax:  # (no watcher: load_text builds it)
            self.set_reactive(SourceView.language, self._syntax)
        self.load_text(text or "")
        self._show_state()

    def _replace(self, text: str) -> None:
        """Take ``text`` (the file's, changed outside) keeping the cursor and scroll."""
        row, column = self.cursor_location
        x, y = self.scroll_offset
        self.disk_text = text
        self.changed_outside = False
        self.save_error = None
        self._saved = False
        self.load_text(text)
        row = min(row, self.document.line_count - 1)
        self.move_cursor((row, min(column, len(self.document[row]))))
        self.scroll_to(x, y, animate=False)
        self._show_state()

    # -- saving --------------------------------------------------------------------
    def action_save(self) -> None:
        """Save the buffer to its file (f2)."""
        self.save()

    def save(self, *, force: bool = False, then: Then | None = None) -> None:
        """Write the buffer in a worker; ``then`` runs once it is saved. A change
        made outside since the file was read is offered, never overwritten (unless
        ``force``: the user chose to keep theirs)."""
        path = self.path
        if path is None or self.disk_text is None:
            self.notify("No workflow file to save.", severity="warning")
            return
        if self.saving:
            self.app.bell()
            return
        if not force and not self.dirty:
            if then is not None:
                then()
            else:
                self.notify("No changes to save.", title=self.relative(path))
            return
        self.saving = True
        self.save_error = None
        self._reload_note = None
        self._show_state()
        self.run_worker(
            partial(_save, path, self.text, self.disk_text, force, then, self.post_message),
            name=f"save {path.name}",
            group="save",
            thread=True,
            exit_on_error=False,
        )

    def on_source_view_save_done(self, message: SaveDone) -> None:
        message.stop()
        self.saving = False
        outcome = message.outcome
        if self.path is None or outcome.path != self.path:
            self._show_state()
            return  # another file is shown since
        if outcome.theirs is not None:
            self.changed_outside = True
            self._offer_theirs()
        elif outcome.error is not None:
            self.save_error = outcome.error
            self.notify(
                f"{self.relative(outcome.path)}: {outcome.error}. Your edits are kept.",
                title="Save failed",
                severity="error",
                markup=False,
            )
        else:
            self.disk_text = outcome.text
            self.changed_outside = False
            self._saved = True
            self.post_message(self.Saved(outcome.path))
            if message.then is not None:
                message.then()
        self._show_state()

    # -- a change made outside --------------------------------------------------------
    def _offer_theirs(self) -> None:
        """Ask what to keep when the file changed outside under unsaved edits."""
        self._show_state()
        if self._asking or self.path is None:
            return
        from ...screens.choice_dialog import ChoiceDialog

        self._asking = True
        self.app.push_screen(
            ChoiceDialog(
                f"{self.relative(self.path)} changed on disk",
                "The file was changed outside the workbench while you have unsaved edits "
                "here. Which version do you keep?",
                [
                    ("theirs", "Reload theirs", "warning"),
                    ("mine", "Keep mine and overwrite", "error"),
                    ("cancel", "Cancel", "default"),
                ],
            ),
            self._theirs_answered,
        )

    def _theirs_answered(self, choice: str | None) -> None:
        self._asking = False
        self._declined = None
        if choice == "theirs" and self.path is not None:
            try:
                self._replace(read_source(self.path))
            except (OSError, UnicodeDecodeError) as exc:
                self.notify(f"cannot read {self.path}: {exc}", severity="error", markup=False)
        elif choice == "mine":
            self.save(force=True)
        elif self.path is not None:  # cancel: both stay as they are; the next save asks again
            with contextlib.suppress(OSError, UnicodeDecodeError):
                self._declined = read_source(self.path)
        self._show_state()

    # -- leaving -------------------------------------------------------------------
    def release(self, then: Then) -> bool:
        """True when nothing unsaved would be lost: go ahead. Else ask first (save,
        discard or cancel), run ``then`` after a save or discard, and return False."""
        if not self.dirty:
            return True
        if self._asking or self.path is None:
            self.app.bell()
            return False
        from ...screens.choice_dialog import ChoiceDialog

        self._asking = True
        self.app.push_screen(
            ChoiceDialog(
                "Unsaved changes",
                f"{self.relative(self.path)} has changes that are not saved.",
                [
                    ("save", "Save", "primary"),
                    ("discard", "Discard", "error"),
                    ("cancel", "Cancel", "default"),
                ],
            ),
            partial(self._release_answered, then),
        )
        return False

    def _release_answered(self, then: Then, choice: str | None) -> None:
        self._asking = False
        if choice == "save":
            self.save(then=then)
        elif choice == "discard":
            if self.disk_text is not None:
                self._replace(self.disk_text)
            then()

    # -- save as -----------------------------------------------------------------------
    def action_save_as(self) -> None:
        """Save the buffer as a new registered workflow and open it (f3, shift+f2)."""
        if self.path is None or self.disk_text is None or self.saving or self._asking:
            self.app.bell()
            return
        from ...screens.save_as_dialog import SaveAsDialog

        self._asking = True
        self.app.push_screen(
            SaveAsDialog(self.settings, self.text, self.relative(self.path)), self._saved_as
        )

    def _saved_as(self, saved: SavedWorkflow | None) -> None:
        self._asking = False
        if saved is None:
            return
        text = self.text
        self.path = saved.path
        self.disk_text = text
        self.save_error = None
        self.changed_outside = False
        self._saved = True
        self._reload_note = None
        self._show_state()
        self.post_message(self.SavedAs(saved))


def _save(
    path: Path,
    text: str,
    expected: str | None,
    force: bool,
    then: Then | None,
    post: Callable[[Message], Any],
) -> None:
    """Worker body: save, and post the outcome (never touches widgets)."""
    try:
        outcome = save_source(path, text, expected, force=force)
    except Exception as exc:  # noqa: BLE001 - reported on the pane, the app keeps going
        outcome = SaveOutcome(path, text, error=f"{type(exc).__name__}: {exc}")
    post(SourceView.SaveDone(outcome, then))
