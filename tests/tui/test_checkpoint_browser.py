"""Pilot tests of the checkpoint browser against a real project and a real SQLite file."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList, Static, Tree

from lgp_engine import Runner, Settings, load_workflow, open_checkpoints, resolve_target
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.checkpoint_browser import CheckpointBrowser

from .conftest import SIZE, wait_until

THREAD = "browse-t1"


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    """basic_workflow run twice on one thread, before the app opens."""
    source = resolve_target(
        "basic_workflow", project_dir=settings.project_dir,
        registry_file=settings.resolve(settings.workflows.registry),
    )
    workflow = load_workflow(source)
    with Runner.open(settings) as runner:
        for _ in range(2):
            events = list(runner.start(workflow, {"input": "is it on?"}, thread_id=THREAD))
            assert events[-1].type == "run.completed"
    return settings


def labels(tree: Tree) -> list[str]:
    out: list[str] = []

    def walk(node) -> None:  # noqa: ANN001
        for child in node.children:
            out.append(str(child.label))
            walk(child)

    walk(tree.root)
    return out


@pytest.mark.asyncio
async def test_browser_lists_thread_history_state_and_diff(seeded: Settings) -> None:
    with open_checkpoints(seeded, readonly=True) as store:
        total = store.thread(THREAD).checkpoints
        newest = store.history(THREAD, limit=1)[0]
    assert total > 2

    app = WorkbenchApp(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.workflow is not None)
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: isinstance(app.screen, CheckpointBrowser))
        browser = app.screen
        assert isinstance(browser, CheckpointBrowser)
        threads = browser.query_one("#cp-threads", OptionList)
        await wait_until(pilot, lambda: threads.option_count == 1, what="the thread listed")
        prompt = str(threads.get_option_at_index(0).prompt)
        assert THREAD in prompt
        assert f"{total} checkpoints" in prompt

        # the first thread is highlighted: its history follows
        history = browser.query_one("#cp-history", OptionList)
        await wait_until(pilot, lambda: history.option_count == total, what="the history rows")
        at = history.highlighted  # the newest checkpoint starts highlighted
        assert at is not None
        assert history.get_option_at_index(at).id == newest.checkpoint_id
        assert "respond" in str(history.get_option_at_index(at).prompt)
        assert history.get_option_at_index(0).id == browser.rows[0][1].checkpoint_id  # root

        # the newest checkpoint's state and its diff vs its parent
        history.focus()
        await pilot.press("enter")
        tree = browser.query_one("#cp-state", Tree)
        await wait_until(pilot, lambda: any(s.startswith("response:") for s in labels(tree)),
                         what="the state values")
        assert "run_count: 2" in labels(tree)
        # the second respond gives the same response: only its message is new
        assert [line[:14] for line in browser.diff_lines] == ["+ messages[5]:"]

        # the first run's respond checkpoint: the response key appears
        first = min(i for i, (_, info, _) in enumerate(browser.rows) if info.writes == ("respond",))
        history.highlighted = first
        await wait_until(pilot, lambda: any(line.startswith("+ response: ")
                                            for line in browser.diff_lines),
                         what="the added response in the diff")
        diff = str(browser.query_one("#cp-diff", Static).render())
        assert "+ response: " in diff

        # the second run's greet checkpoint: run_count went 1 → 2
        # (the tree reads oldest first: the last greet row is the second run's)
        greet = max(i for i, (_, info, _) in enumerate(browser.rows) if info.writes == ("greet",))
        history.highlighted = greet
        await wait_until(pilot, lambda: "~ run_count: 1 → 2" in browser.diff_lines,
                         what="the run_count change")

        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CheckpointBrowser))


@pytest.mark.asyncio
async def test_browser_with_no_threads_says_so(settings: Settings) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.workflow is not None)
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: isinstance(app.screen, CheckpointBrowser))
        diff = app.screen.query_one("#cp-diff", Static)
        await wait_until(pilot, lambda: "No threads yet" in str(diff.render()))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CheckpointBrowser))
