"""Regenerate the README's screenshots (``screenshots/*.svg``) from real sessions.

    make screenshots          # or: .venv/bin/python scripts/screenshots.py

Each scene drives the real workbench with Pilot in a throwaway copy of the
project (its ``workflows/`` and ``config/``), against a real SQLite file, at
120x40, and saves what is on screen as SVG. Nothing is staged: runs really run,
the fork really forks, the server really answers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
SIZE = (120, 40)

SLOW_FLOW = '''"""A research assistant: plan -> search -> write (slow on purpose)."""

import time
from typing import TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    topic: str
    plan: list[str]
    notes: list[str]
    report: str


def plan(state: State) -> State:
    return {"plan": [f"history of {state['topic']}", f"{state['topic']} today"]}


def search(state: State) -> State:
    write = get_stream_writer()
    notes = []
    for i, query in enumerate(state["plan"]):
        write({"searching": query, "done": i})
        notes.append(f"3 sources on {query}")
    return {"notes": notes}


def write_report(state: State) -> State:
    time.sleep(3)
    return {"report": "..."}


workflow = StateGraph(State)
workflow.add_node("plan", plan)
workflow.add_node("search", search)
workflow.add_node("write_report", write_report)
workflow.add_edge(START, "plan")
workflow.add_edge("plan", "search")
workflow.add_edge("search", "write_report")
workflow.add_edge("write_report", END)
'''

Scene = Callable[..., Awaitable[None]]


async def until(pilot, predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"screenshots: timed out waiting for {what}")
        await pilot.pause(0.05)


async def ready(app, pilot) -> None:
    from lgp_tui.widgets.graph.graph_view import GraphView

    await until(pilot, lambda: app.ready, "the workflow and the stores")
    graph = app.query_one(GraphView)
    await until(pilot, lambda: graph.shape is not None, "the graph")


async def run_in_progress(app, pilot) -> None:
    await ready(app, pilot)
    app.query_one("#run-input").value = '{"topic": "hot reload"}'
    app.query_one("#thread-input").value = "research-1"
    await pilot.press("ctrl+r")
    await until(
        pilot,
        lambda: "● write_report started" in "\n".join(app.query_one("#run-log").plain),
        "write_report to start",
    )
    await pilot.pause(0.3)


async def checkpoint_browser_fork(app, pilot) -> None:
    from lgp_tui.screens.checkpoint_browser import CheckpointBrowser
    from lgp_tui.screens.fork_dialog import ForkDialog

    await ready(app, pilot)
    app.query_one("#thread-input").value = "demo"
    for _ in range(2):
        count = "\n".join(app.query_one("#run-log").plain).count("✔ completed")
        await pilot.press("ctrl+r")
        await until(
            pilot,
            lambda c=count: (
                "\n".join(app.query_one("#run-log").plain).count("✔ completed") == c + 1
            ),
            "a run",
        )
        await until(pilot, lambda: app.query_one("#run-bar").can_run, "the run to end")
    await pilot.press("ctrl+b")
    await until(pilot, lambda: isinstance(app.screen, CheckpointBrowser), "the browser")
    browser = app.screen
    await until(pilot, lambda: browser.state is not None, "the history")
    greet = max(i for i, (_, info, _) in enumerate(browser.rows) if info.writes == ("greet",))
    history = browser.query_one("#cp-history")
    history.focus()
    history.highlighted = greet
    await until(
        pilot,
        lambda: (
            browser.state is not None
            and browser.state.checkpoint_id == browser.rows[greet][1].checkpoint_id
        ),
        "the greet checkpoint",
    )
    await pilot.press("f")
    await until(pilot, lambda: isinstance(app.screen, ForkDialog), "the fork dialog")
    editor = app.screen.query_one("#fork-state")
    editor.text = editor.text.replace('"input": "hello"', '"input": "what if we fork?"')
    await pilot.pause(0.2)
    await pilot.click("#fork-button")
    await until(
        pilot, lambda: "fork completed" in str(browser.query_one("#cp-status").render()), "the fork"
    )
    await until(pilot, lambda: any(depth for _, _, depth in browser.rows), "the new branch")
    history.focus()
    await pilot.pause(0.5)


async def interrupt_dialog(app, pilot) -> None:
    from lgp_tui.screens.interrupt_dialog import InterruptDialog

    await ready(app, pilot)
    app.query_one("#run-input").value = '{"topic": "the release notes"}'
    await pilot.press("ctrl+r")
    await until(pilot, lambda: isinstance(app.screen, InterruptDialog), "the interrupt dialog")
    await pilot.press(*'{"approved": true}')
    await pilot.pause(0.3)


async def template_gallery(app, pilot) -> None:
    from lgp_tui.screens.template_gallery import TemplateGallery

    await ready(app, pilot)
    await pilot.press("ctrl+t")
    await until(
        pilot,
        lambda: isinstance(app.screen, TemplateGallery) and bool(app.screen.templates),
        "the gallery",
    )
    await pilot.press("down")
    await pilot.pause(0.3)


async def server_on(app, pilot) -> None:
    import httpx

    await ready(app, pilot)
    await pilot.press("ctrl+s")
    await until(pilot, lambda: app.server is not None, "the server")
    async with httpx.AsyncClient(base_url=app.server.url, timeout=30) as client:
        await client.get("/health")
        await client.post(
            "/workflows/basic_workflow/invoke",
            json={"input": {"input": "hello over HTTP"}, "thread_id": "api-1"},
        )
    await until(pilot, lambda: "2 requests" in app.query_one("#status").server, "the count")
    app.clear_notifications()
    await pilot.pause(0.2)


async def hot_reload(app, pilot) -> None:
    await ready(app, pilot)
    app.query_one("#thread-input").value = "reload-1"
    await pilot.press("ctrl+r")
    await until(
        pilot, lambda: "✔ completed" in "\n".join(app.query_one("#run-log").plain), "the first run"
    )
    await pilot.pause(0.5)
    path = app.workflow.source.path
    path.write_text(
        path.read_text(encoding="utf-8").replace("You sent a", "You (after a save) sent a"),
        encoding="utf-8",
    )
    await until(
        pilot,
        lambda: "\n".join(app.query_one("#run-log").plain).count("✔ completed") == 2,
        "the rerun",
    )
    await pilot.pause(0.3)


SCENES: dict[str, tuple[str, Scene]] = {
    "run_in_progress": ("workflows/research_flow.py", run_in_progress),
    "checkpoint_browser_fork": ("workflows/basic_workflow.py", checkpoint_browser_fork),
    "interrupt_dialog": ("workflows/approval_workflow.py", interrupt_dialog),
    "template_gallery": ("workflows/basic_workflow.py", template_gallery),
    "server_on": ("workflows/basic_workflow.py", server_on),
    "hot_reload": ("workflows/basic_workflow.py", hot_reload),
}


def fresh_project(tmp: Path) -> Path:
    project = tmp / "project"
    project.mkdir()
    for folder in ("workflows", "config"):
        shutil.copytree(ROOT / folder, project / folder)
    (project / "workflows" / "research_flow.py").write_text(SLOW_FLOW, encoding="utf-8")
    return project


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def shoot(name: str, target: str, scene: Scene) -> Path:
    from lgp_engine import load_settings
    from lgp_tui.app import WorkbenchApp

    with tempfile.TemporaryDirectory(prefix="lgp-shots-") as tmp:
        project = fresh_project(Path(tmp))
        cwd = os.getcwd()
        os.chdir(project)
        try:
            app = WorkbenchApp(load_settings(project_dir=project), target=target, port=free_port())
            async with app.run_test(size=SIZE) as pilot:
                await scene(app, pilot)
                return Path(app.save_screenshot(f"{name}.svg", str(OUT)))
        finally:
            os.chdir(cwd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenes", nargs="*", metavar="SCENE", help=f"only these ({', '.join(SCENES)}); default: all"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.scenes) - set(SCENES))
    if unknown:
        parser.error(f"unknown scene(s) {', '.join(unknown)}; scenes: {', '.join(SCENES)}")
    OUT.mkdir(exist_ok=True)
    for name in args.scenes or list(SCENES):
        target, scene = SCENES[name]
        started = time.perf_counter()
        path = asyncio.run(shoot(name, target, scene))
        print(f"[screenshots] {path.relative_to(ROOT)}  ({time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
