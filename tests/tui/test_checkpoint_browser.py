"""Pilot tests of the checkpoint browser against a real project and a real SQLite file."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList, Static, Tree

from lgp_engine import (
    Runner,
    RunStore,
    Settings,
    load_workflow,
    open_checkpoints,
    resolve_in_project,
)
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.checkpoint_browser import CheckpointBrowser
from lgp_tui.thread_rows import short_id
from lgp_tui.widgets.history.history_list import HistoryList

from .conftest import SIZE, browse, interrupt_dialog_ready, log_text, wait_until

THREAD = "browse-t1"


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    """basic_workflow run twice on one thread, before the app opens."""
    workflow = load_workflow(resolve_in_project("basic_workflow", settings))
    with Runner.open(settings) as runner:
        for _ in range(2):
            events = list(runner.start(workflow, {"input": "is it on?"}, thread_id=THREAD))
            assert events[-1].type == "run.completed"
    return settings


def labels(tree: Tree) -> list[str]:
    out: list[str] = []

    def walk(node) -> None:
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
        await wait_until(pilot, lambda: app.ready)
        browser = await browse(pilot, app)
        threads = browser.query_one("#cp-threads", OptionList)
        await wait_until(pilot, lambda: threads.option_count == 1, what="the thread listed")
        prompt = str(threads.get_option_at_index(0).prompt)
        assert THREAD in prompt
        assert f"{total} checkpoints" in prompt

        # the first thread is highlighted: its history follows
        history = browser.query_one("#cp-history", HistoryList)
        await wait_until(pilot, lambda: history.row_count == total, what="the history rows")
        at = history.highlighted  # the newest checkpoint starts highlighted
        assert at is not None
        assert history.rows[at].id == newest.checkpoint_id
        assert "respond" in history.rows[at].prompt.plain
        assert history.rows[0].id == browser.rows[0][1].checkpoint_id  # root

        # the newest checkpoint's state and its diff vs its parent
        history.focus()
        await pilot.press("enter")
        tree = browser.query_one("#cp-state", Tree)
        await wait_until(
            pilot,
            lambda: any(s.startswith("response:") for s in labels(tree)),
            what="the state values",
        )
        assert "run_count: 2" in labels(tree)
        # the second respond gives the same response: only its message is new
        assert [line[:14] for line in browser.diff_lines] == ["+ messages[5]:"]

        # the first run's respond checkpoint: the response key appears
        first = min(i for i, (_, info, _) in enumerate(browser.rows) if info.writes == ("respond",))
        history.highlighted = first
        await wait_until(
            pilot,
            lambda: any(line.startswith("+ response: ") for line in browser.diff_lines),
            what="the added response in the diff",
        )
        diff = str(browser.query_one("#cp-diff", Static).render())
        assert "+ response: " in diff

        # the second run's greet checkpoint: run_count went 1 → 2
        # (the tree reads oldest first: the last greet row is the second run's)
        greet = max(i for i, (_, info, _) in enumerate(browser.rows) if info.writes == ("greet",))
        history.highlighted = greet
        await wait_until(
            pilot, lambda: "~ run_count: 1 → 2" in browser.diff_lines, what="the run_count change"
        )

        # any two checkpoints: mark the first run's respond, then go to the newest
        history.highlighted = first
        await wait_until(
            pilot, lambda: browser.checkpoint_id == browser.rows[first][1].checkpoint_id
        )
        await pilot.press("m")
        marked = browser.rows[first][1].checkpoint_id
        assert browser.marked == marked
        assert history.rows[first].prompt.plain.lstrip().startswith("◆")
        history.highlighted = at
        diff_pane = browser.query_one("#cp-diff-scroll")
        await wait_until(
            pilot,
            lambda: (
                diff_pane.border_title == f"Diff vs marked ◆ {short_id(marked)}"
                and "~ run_count: 1 → 2" in browser.diff_lines
            ),
            what="the diff against the marked checkpoint",
        )
        # the second run's three nodes each added a message since then
        added = [line[:14] for line in browser.diff_lines if line.startswith("+ messages")]
        assert added == ["+ messages[3]:", "+ messages[4]:", "+ messages[5]:"]
        # m on the marked checkpoint unmarks: back to the parent
        history.highlighted = first
        await wait_until(pilot, lambda: browser.checkpoint_id == marked)
        await pilot.press("m")
        assert browser.marked is None
        await wait_until(pilot, lambda: diff_pane.border_title == "Diff vs parent")

        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CheckpointBrowser))


@pytest.mark.asyncio
async def test_browser_with_no_threads_says_so(settings: Settings) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: isinstance(app.screen, CheckpointBrowser))
        diff = app.screen.query_one("#cp-diff", Static)
        await wait_until(pilot, lambda: "No threads yet" in str(diff.render()))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CheckpointBrowser))


# -- actions: replay, fork, resume, delete --------------------------------------------
async def open_browser(app: WorkbenchApp, pilot) -> CheckpointBrowser:
    await wait_until(pilot, lambda: app.ready)
    await wait_until(pilot, lambda: app.query_one("#graph").shape is not None, what="graph")
    browser = await browse(pilot, app)
    await wait_until(pilot, lambda: browser.rows, what="the history")
    return browser


async def select_checkpoint(pilot, browser: CheckpointBrowser, index: int) -> None:
    history = browser.query_one("#cp-history", HistoryList)
    history.focus()
    history.highlighted = index
    target = browser.rows[index][1].checkpoint_id
    await wait_until(
        pilot,
        lambda: browser.state is not None and browser.state.checkpoint_id == target,
        what="the state read",
    )


def status_line(browser: CheckpointBrowser) -> str:
    return str(browser.query_one("#cp-status", Static).render())


@pytest.mark.asyncio
async def test_replay_from_the_browser_adds_a_branch(seeded: Settings) -> None:
    with open_checkpoints(seeded, readonly=True) as store:
        before = store.thread(THREAD).checkpoints
    app = WorkbenchApp(seeded)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_browser(app, pilot)
        # replay from the first run's analyze checkpoint: respond runs again
        analyzed = min(
            i for i, (_, info, _) in enumerate(browser.rows) if info.writes == ("analyze",)
        )
        await select_checkpoint(pilot, browser, analyzed)
        await pilot.press("p")
        await wait_until(
            pilot, lambda: "replay completed" in status_line(browser), what="the replay to finish"
        )
        await wait_until(pilot, lambda: len(browser.rows) > before, what="the new branch")
        prefixes = "".join(prefix for prefix, _, _ in browser.rows)
        assert "├─" in prefixes and "└─" in prefixes  # the history forks into two branches
        assert max(depth for _, _, depth in browser.rows) == 1
        assert "▶ replay basic_workflow" in log_text(app)
    with open_checkpoints(seeded, readonly=True) as store:
        assert store.thread(THREAD).checkpoints > before


@pytest.mark.asyncio
async def test_fork_from_the_browser_with_an_edited_state_and_as_node(
    seeded: Settings,
) -> None:
    from textual.widgets import Select, TextArea

    from lgp_tui.screens.fork_dialog import ForkDialog

    app = WorkbenchApp(seeded)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_browser(app, pilot)
        greeted = min(i for i, (_, info, _) in enumerate(browser.rows) if info.writes == ("greet",))
        await select_checkpoint(pilot, browser, greeted)
        before = len(browser.rows)
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, ForkDialog))
        dialog = app.screen
        editor = dialog.query_one("#fork-state", TextArea)
        assert '"input": "is it on?"' in editor.text

        editor.text = "[1, 2"  # not an object: refused in place
        await wait_until(pilot, lambda: dialog.problem is not None)
        assert dialog.query_one("#fork-button").disabled
        editor.text = editor.text.replace("[1, 2", '{"input": "forked input"}')
        await wait_until(pilot, lambda: dialog.problem is None)
        assert "removing keys does not delete them" in str(
            dialog.query_one("#fork-error", Static).render()
        )
        dialog.query_one("#fork-as-node", Select).value = "greet"
        await pilot.click("#fork-button")

        await wait_until(
            pilot, lambda: "fork completed" in status_line(browser), what="the fork to finish"
        )
        await wait_until(pilot, lambda: len(browser.rows) > before, what="the fork's branch")
        newest = max(browser.rows, key=lambda row: row[1].checkpoint_id)
        assert newest[2] >= 1  # on a branch, not on the original line
        log = log_text(app)
        assert "▶ fork basic_workflow" in log
        assert "FORKED INPUT" in log  # analyze ran on the edited input
        # written by the update, not by the node that runs next from it (issue 16)
        history = browser.query_one("#cp-history", HistoryList)
        [update_row] = [r for r in history.rows if "update" in r.prompt.plain.split()]
        assert "(update) → analyze" in update_row.prompt.plain, update_row.prompt.plain
    with open_checkpoints(seeded, readonly=True) as store:
        history_rows = store.history(THREAD, limit=100)
    [update] = [c for c in history_rows if c.source == "update"]  # the edited state, once
    assert update.writes in (("greet",), ("__update__",)) and update.next == ("analyze",)


@pytest.fixture
def waiting(settings: Settings) -> Settings:
    """approval_workflow stopped at its interrupt on thread wait-t."""
    workflow = load_workflow(resolve_in_project("approval_workflow", settings))
    with Runner.open(settings) as runner:
        events = list(runner.start(workflow, {"topic": "browsers"}, thread_id="wait-t"))
        assert events[-1].type == "interrupt"
    return settings


@pytest.mark.asyncio
async def test_resume_an_interrupt_from_the_browser(waiting: Settings) -> None:

    settings = waiting
    app = WorkbenchApp(settings)  # opens on basic_workflow: the thread's workflow is loaded
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_browser(app, pilot)
        newest = max(range(len(browser.rows)), key=lambda i: browser.rows[i][1].checkpoint_id)
        oldest = 0
        await select_checkpoint(pilot, browser, oldest)
        await pilot.press("u")  # not waiting at this checkpoint: said in place
        await pilot.pause()
        assert "not waiting at an interrupt" in status_line(browser)
        await select_checkpoint(pilot, browser, newest)
        await pilot.press("u")
        await interrupt_dialog_ready(pilot, app)
        await pilot.press(*'"yes"', "enter")
        await wait_until(
            pilot, lambda: "resume completed" in status_line(browser), what="the resume"
        )
    runs = RunStore(settings.resolve(settings.checkpointer.path))
    try:
        assert runs.latest_for_thread("wait-t").status == "completed"
    finally:
        runs.close()


@pytest.mark.asyncio
async def test_delete_thread_asks_first_then_deletes(seeded: Settings) -> None:
    from lgp_tui.screens.confirm_dialog import ConfirmDialog

    app = WorkbenchApp(seeded)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_browser(app, pilot)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("enter")  # focus starts on Cancel: enter keeps the thread
        await wait_until(pilot, lambda: app.screen is browser)
        assert browser.thread_id == THREAD

        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#confirm-yes")
        await wait_until(pilot, lambda: f"deleted thread {THREAD}" in status_line(browser))
        threads = browser.query_one("#cp-threads", OptionList)
        await wait_until(pilot, lambda: threads.option_count == 0, what="the thread gone")
    with open_checkpoints(seeded, readonly=True) as store:
        assert store.threads() == []


@pytest.mark.asyncio
async def test_ctrl_b_in_the_browser_does_not_stack_a_second_one(seeded: Settings) -> None:
    app = WorkbenchApp(seeded)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_browser(app, pilot)
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert app.screen is browser
        assert sum(isinstance(s, CheckpointBrowser) for s in app.screen_stack) == 1


@pytest.fixture
def four_threads(settings: Settings) -> Settings:
    """basic_workflow on threads t-a..t-d (listed newest first: d, c, b, a)."""
    workflow = load_workflow(resolve_in_project("basic_workflow", settings))
    with Runner.open(settings) as runner:
        for name in ("t-a", "t-b", "t-c", "t-d"):
            list(runner.start(workflow, {"input": name}, thread_id=name))
    return settings


@pytest.mark.asyncio
async def test_after_a_delete_the_selection_stays_in_place(four_threads: Settings) -> None:
    """Issue 16: deleting a thread moved the selection to the first thread."""
    from lgp_tui.screens.confirm_dialog import ConfirmDialog

    app = WorkbenchApp(four_threads)
    async with app.run_test(size=SIZE) as pilot:
        browser = await open_browser(app, pilot)
        threads = browser.query_one("#cp-threads", OptionList)
        threads.focus()
        threads.highlighted = 2  # t-b
        await wait_until(pilot, lambda: browser.thread_id == "t-b", what="t-b selected")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#confirm-yes")
        await wait_until(pilot, lambda: threads.option_count == 3, what="t-b gone")
        await wait_until(pilot, lambda: browser.thread_id == "t-a", what="its neighbour")
        assert threads.highlighted == 2
