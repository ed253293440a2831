"""The source pane: the workflow file, highlighted, with line numbers."""

from __future__ import annotations

from pathlib import Path

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import ScrollableContainer
from textual.widgets import Static


class SourceView(ScrollableContainer):
    """Shows one Python file read-only; ``show_file`` swaps it."""

    def __init__(self, project_dir: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.project_dir = project_dir
        self.path: Path | None = None
        self.text = ""

    def compose(self) -> ComposeResult:
        yield Static(Text("No workflow selected.", style="dim"), id="source-code")

    def on_mount(self) -> None:
        self.border_title = "Source"

    def show_file(
        self, path: Path | None, *, highlight_line: int | None = None, keep_scroll: bool = False
    ) -> None:
        """Show ``path`` (or a placeholder when it is None or unreadable); a reload of
        the same file keeps the scroll position (``keep_scroll``)."""
        code = self.query_one("#source-code", Static)
        self.path = path
        if path is None:
            self.text = ""
            self.border_title = "Source"
            code.update(Text("No source file for this workflow.", style="dim"))
            return
        try:
            self.text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.text = ""
            code.update(Text(f"cannot read {path}: {exc}", style="red"))
            return
        self.border_title = f"Source: {_relative(path, self.project_dir)}"
        code.update(
            Syntax(
                self.text,
                "python",
                line_numbers=True,
                theme="ansi_dark",
                word_wrap=False,
                highlight_lines={highlight_line} if highlight_line else None,
            )
        )
        if highlight_line:
            self.scroll_to(y=max(0, highlight_line - 5), animate=False)
        elif not keep_scroll:
            self.scroll_home(animate=False)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
