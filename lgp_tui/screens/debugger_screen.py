"""The debugger: a run paused at ``breakpoint()`` in a node (see
:mod:`lgp_tui.debugger`). It shows the source around the line (the line marked),
the locals, the return value when the function returns, and the stack from the
node; ``n`` next line, ``s`` step into, ``r`` run to the return, ``c`` continue
(escape too: the run goes on, it is never left hanging), ``x`` cancel the run,
``v`` the locals in the value viewer."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from ..debugger import Command, Paused, Stopped, short_path
from ..widgets.footer.fitted_footer import FittedFooter


class DebuggerScreen(ModalScreen[None]):
    """Shows one paused run; :meth:`show` moves it to the debugger's next stop."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "go('next')", "Next", id="debug.next", tooltip="Run the current line"),
        Binding("s", "go('step')", "Step", id="debug.step", tooltip="Step into the call"),
        Binding(
            "r", "go('return')", "Return", id="debug.return", tooltip="Run to the function's return"
        ),
        Binding(
            "c,escape",
            "go('continue')",
            "Continue",
            id="debug.continue",
            tooltip="Let the run go on (to its end or the next breakpoint())",
        ),
        Binding("v", "view", "View locals", id="debug.view", tooltip="Read the locals whole"),
        Binding("x", "cancel_run", "Cancel run", id="debug.cancel", tooltip="Cancel the run"),
    ]

    def __init__(self, debugger: Stopped, paused: Paused) -> None:
        super().__init__()
        self.debugger = debugger
        self.paused = paused
        self.waiting = False  # a command was sent: until the next stop, keys do nothing

    def compose(self) -> ComposeResult:
        with Vertical(id="debug-box"):
            yield Label("", id="debug-where")
            with Horizontal(id="debug-panes"):
                with VerticalScroll(id="debug-source-pane"):
                    yield Static("", id="debug-source")
                with VerticalScroll(id="debug-locals-pane"):
                    yield Static("", id="debug-locals")
            yield Static("", id="debug-stack", markup=False)
        yield FittedFooter()

    def on_mount(self) -> None:
        self.query_one("#debug-box").border_title = "breakpoint()"
        self.query_one("#debug-source-pane").border_title = "Source"
        self.query_one("#debug-locals-pane").border_title = "Locals"
        self.show(self.debugger, self.paused)

    def show(self, debugger: Stopped, paused: Paused) -> None:
        """Show a stop (of this debugger, or of another run's)."""
        self.debugger, self.paused, self.waiting = debugger, paused, False
        if paused.event == "tool":  # a held tool call: its arguments as the locals
            where = Text.assemble(
                ("⏸ ", "bold yellow"),
                ("before the tool call ", "dim"),
                (paused.function, "bold"),
                (f"  {' · '.join(paused.stack)}", "cyan"),
                ("  (not made yet: c makes it, x cancels the run)", "dim"),
            )
        else:
            where = Text.assemble(
                ("⏸ ", "bold yellow"),
                ("returning from " if paused.event == "return" else "paused in ", "dim"),
                (f"{paused.function}()", "bold"),
                (f"  {short_path(paused.file)}:{paused.line}", "cyan"),
                (f"  [{paused.thread}]", "dim"),
            )
        if paused.returned is not None:
            where.append(f"  → {paused.returned}", style="green")
        self.query_one("#debug-where", Label).update(where)
        tool = paused.event == "tool"
        self.query_one("#debug-box").border_title = "break on tool" if tool else "breakpoint()"
        self.query_one("#debug-locals-pane").border_title = "Arguments" if tool else "Locals"
        self.query_one("#debug-source-pane").display = not tool
        self.query_one("#debug-source", Static).update(_source(paused))
        self.query_one("#debug-locals", Static).update(_locals(paused))
        self.query_one("#debug-stack", Static).update("stack: " + " → ".join(paused.stack))
        self.query_one("#debug-box").border_subtitle = "n next · s step · r return · c continue"

    def action_go(self, command: Command) -> None:
        if self.waiting:
            return
        self.waiting = True
        self.query_one("#debug-box").border_subtitle = f"{command}…"
        self.debugger.command(command)
        if command == "continue":
            self.dismiss(None)

    async def action_cancel_run(self) -> None:
        """Cancel the run (the paused node goes on first: a thread cannot be stopped
        from outside; the run ends cancelled)."""
        self.dismiss(None)
        await self.app.run_action("cancel")

    def action_view(self) -> None:
        from .value_viewer import ValueViewer

        self.app.push_screen(
            ValueViewer(
                dict(self.paused.values),
                f"locals of {self.paused.function}()",
                f"{short_path(self.paused.file)}:{self.paused.line}",
            )
        )


def _source(paused: Paused) -> Text:
    text = Text()
    for number, line in paused.source:
        here = number == paused.line
        text.append("▶ " if here else "  ", style="bold yellow")
        text.append(f"{number:>4} ", style="bold" if here else "dim")
        text.append(line + "\n", style="reverse" if here else "")
    return text


def _locals(paused: Paused) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for name, shown in paused.locals:
        table.add_row(name, shown)
    if not paused.locals:
        table.add_row("", Text("(no locals)", style="dim"))
    return table
