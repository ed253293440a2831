"""SVG snapshots of the workbench at a fixed terminal size (deterministic content only).

Update after an intended change with ``pytest tests/tui --snapshot-update``.
"""

from __future__ import annotations

from lgp_engine import Settings
from lgp_tui.app import WorkbenchApp
from lgp_tui.widgets.graph.graph_view import GraphView

from .conftest import SIZE, wait_until


def test_initial_screen(snap_compare, settings: Settings) -> None:
    app = WorkbenchApp(settings)

    async def loaded(pilot) -> None:
        await wait_until(pilot, lambda: app.workflow is not None, what="basic_workflow")
        graph = app.query_one(GraphView)
        await wait_until(pilot, lambda: graph.shape is not None, what="the graph")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=loaded)
