"""The chat view on a 10,000-message thread: time to open it, and frames while scrolling.

Everything happens in a temporary copy of the project (``workflows/`` and
``config/``) with its own ``.lgp/checkpoints.db``, a real SQLite file.

1. The thread. ``tests/workflows/echo_chat.py`` (a chat with a streaming fake model
   and a weather tool, no network) runs on thread ``chat-10k``: once with an input of
   9,991 messages (2,498 exchanges: a question, an AI tool call, its result, the
   answer; the last answer is the model's), then three ordinary turns, one of them
   through the tool, for 10,000 messages in all.
2. Open. In ``WorkbenchApp.run_test`` (Pilot, 120x40) with the thread in the run
   bar, each repeat presses ctrl+n and times until the first frame that shows the
   conversation: the view shows a big thread's newest 200 messages first, read and
   laid out in its worker (``messages_at``, the turns of those messages, their rows),
   then all of them, laid out in the same worker and swapped in whole. Split into:
   the worker until it posted the newest, the wait for the UI thread, the handler
   that takes them, and the frame; and until the whole thread is in the view. Then
   esc closes it. The read is also timed alone against :func:`lgp_engine.state_at`,
   which rebuilds every message as a LangChain object.
3. Scroll. Page up 60 times from the newest message, then page down 60 times; for
   each key, the time the frame that shows it took to render (Textual draws at most
   60 frames a second: a frame that takes longer than 1/60 s is a dropped frame) and
   how many rows of the conversation it drew.

    python benchmarks/chat_open.py [--repeats 10] [--keep DIR]

Targets: open median < 0.5 s; scroll frames p95 < 1/60 s. The exit code is 1 when a
target is missed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLS, ROWS = 120, 40
OPEN_TARGET_S = 0.5
FRAME_BUDGET_S = 1 / 60
THREAD = "chat-10k"
EXCHANGES = 2498  # x 4 messages, + 3 turns (2 + 4 + 2 messages) = 10,000
EXPECTED = 10_000
PAGES = 60


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def median_p95(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def make_project(tmp: Path) -> Path:
    project = tmp / "project"
    for name in ("workflows", "config"):
        shutil.copytree(
            ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    shutil.copy(ROOT / "tests" / "workflows" / "echo_chat.py", project / "workflows")
    return project


def build_thread(settings: Any) -> dict[str, Any]:
    """Thread THREAD with EXPECTED messages, written by real runs of echo_chat."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    from lgp_engine import Runner, load_workflow, messages_at, resolve_in_project

    messages: list[Any] = []
    for i in range(EXCHANGES):
        call = {"name": "get_weather", "args": {"city": f"city {i}"}, "id": f"call-{i}"}
        messages += [
            HumanMessage(f"Question {i}: what will the weather be like in city {i} today?"),
            AIMessage("Let me look that up.", tool_calls=[call]),
            ToolMessage(
                f"{10 + i % 20} °C and sunny", tool_call_id=f"call-{i}", name="get_weather"
            ),
            AIMessage(
                f"In city {i} it will be {10 + i % 20} °C and sunny. "
                + "A light breeze, no rain expected. " * (i % 5)
                + "\nAnything else?"
            ),
        ]
    workflow = load_workflow(resolve_in_project("workflows/echo_chat.py", settings))
    started = time.perf_counter()
    with Runner.open(settings) as runner:
        # the last exchange's answer is the model's: the input ends at the tool's result
        inputs: list[Any] = [messages[:-1], "hello", "weather in Paris?", "thanks"]
        for sent in inputs:
            value = sent if isinstance(sent, list) else [{"role": "user", "content": sent}]
            events = list(runner.start(workflow, {"messages": value}, thread_id=THREAD))
            assert events[-1].type == "run.completed", events[-1]
        count = len(messages_at(runner.store, THREAD).messages or [])
        checkpoints = runner.store.thread(THREAD).checkpoints
    assert count == EXPECTED, count
    db = settings.resolve(settings.checkpointer.path)
    return {
        "messages": count,
        "checkpoints": checkpoints,
        "db_mb": db.stat().st_size / 1e6,
        "build_s": time.perf_counter() - started,
    }


def bench_reads(settings: Any, repeats: int) -> dict[str, list[float]]:
    """The read alone: messages_at (what the chat uses) against state_at."""
    from lgp_engine import open_checkpoints, state_at
    from lgp_tui.chat import Transcript
    from lgp_tui.screens.chat_screen import _read

    out: dict[str, list[float]] = {"chat_read": [], "messages_at": [], "state_at": []}
    with open_checkpoints(settings) as store:
        from lgp_engine import messages_at

        for _ in range(repeats):
            t0 = time.perf_counter()
            at = messages_at(store, THREAD)
            out["messages_at"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            state_at(store, THREAD)
            out["state_at"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _read(store, THREAD, COLS - 4, frozenset(), lambda _message: None)  # the worker
            out["chat_read"].append(time.perf_counter() - t0)
            assert len(Transcript.build(at.messages or [])) > 0
    return out


async def bench_app(settings: Any, repeats: int) -> dict[str, Any]:
    from textual.widgets import Input

    from lgp_tui.app import WorkbenchApp
    from lgp_tui.screens import chat_screen as cs
    from lgp_tui.widgets.chat.chat_log import ChatLog

    marks: list[tuple[str, float]] = []
    cpu: dict[int, float] = {}  # the process's CPU time at each mark, by its place
    drawn = [0]

    def mark(what: str) -> None:
        cpu[len(marks)] = time.process_time()
        marks.append((what, time.perf_counter()))

    def wrap(owner: Any, name: str, label: Callable[..., str]) -> Callable[[], None]:
        original = getattr(owner, name)

        @functools.wraps(original)  # keeps the signature Textual inspects for handlers
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            what = label(*args)
            mark(f"{what} start")
            try:
                return original(*args, **kwargs)
            finally:
                mark(f"{what} end")

        setattr(owner, name, wrapper)
        return lambda: setattr(owner, name, original)

    def frame_after(what: str) -> float | None:
        """When the first frame rendered after the mark ``what`` ended."""
        done = next((at for name, at in marks if name == what), None)
        if done is None:
            return None
        return next((at for name, at in marks if name == "frame end" and at > done), None)

    render_line = ChatLog.render_line

    def counted(self: ChatLog, y: int) -> Any:
        drawn[0] += 1
        return render_line(self, y)

    undo = [
        wrap(cs, "_read", lambda *_: "worker"),
        wrap(
            cs.ChatScreen,
            "on_chat_screen_thread_read",
            lambda _screen, message: "whole" if message.complete else "newest",
        ),
        wrap(
            cs.ChatScreen, "post_message", lambda _screen, message: f"post {type(message).__name__}"
        ),
        wrap(cs.ChatScreen, "_on_timer_update", lambda *_: "frame"),
    ]
    ChatLog.render_line = counted  # type: ignore[method-assign]
    result: dict[str, Any] = {
        k: []
        for k in (
            "total",
            "worker",
            "queue",
            "handler",
            "render",
            "whole",
            "cpu",
            "frames",
            "frame_cpu",
            "rows",
        )
    }
    try:
        app = WorkbenchApp(settings, target="workflows/echo_chat.py")
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            await until(lambda: app.ready, "the workflow and the stores")
            app.query_one("#thread-input", Input).value = THREAD
            await pilot.pause()
            for round_ in range(repeats + 1):  # the first round warms up and is dropped
                marks.clear()
                cpu.clear()
                t0, c0 = time.perf_counter(), time.process_time()
                await pilot.press("ctrl+n")
                await until(lambda: frame_after("whole end") is not None, "the whole thread")
                screen = app.screen
                assert isinstance(screen, cs.ChatScreen) and len(screen.messages) == EXPECTED
                first = dict(reversed(marks))  # the first of each
                shown = frame_after("newest end")
                whole = frame_after("whole end")
                assert shown is not None and whole is not None
                if round_:
                    posted = first["post ThreadRead start"]
                    result["total"].append(shown - t0)
                    result["worker"].append(posted - first["worker start"])
                    result["queue"].append(first["newest start"] - posted)
                    result["handler"].append(first["newest end"] - first["newest start"])
                    result["render"].append(shown - first["newest end"])
                    result["whole"].append(whole - t0)
                    at = next(i for i, (_name, t) in enumerate(marks) if t == shown)
                    result["cpu"].append(cpu[at] - c0)
                if round_ == repeats:
                    await scroll(pilot, screen, result, drawn, marks, cpu)
                await pilot.press("escape")
                await until(lambda: not isinstance(app.screen, cs.ChatScreen), "the chat closed")
                await pilot.pause(0.05)
    finally:
        for restore in undo:
            restore()
        ChatLog.render_line = render_line  # type: ignore[method-assign]
    return result


async def scroll(
    pilot: Any,
    screen: Any,
    result: dict[str, Any],
    drawn: list[int],
    marks: list[Any],
    cpu: dict[int, float],
) -> None:
    """Page up, then down, PAGES times each: each key's frame time and rows drawn."""
    from lgp_tui.widgets.chat.chat_log import ChatLog

    log = screen.query_one(ChatLog)
    log.focus()
    await pilot.press("end")
    await pilot.pause()
    for key in ["pageup"] * PAGES + ["pagedown"] * PAGES:
        marks.clear()
        cpu.clear()
        drawn[0] = 0
        before = log.scroll_y
        await pilot.press(key)
        await until(lambda: _frame_done(marks), f"the frame after {key}")
        starts = [i for i, (what, _at) in enumerate(marks) if what == "frame start"]
        ends = [i for i, (what, _at) in enumerate(marks) if what == "frame end"]
        pairs = list(zip(starts, ends, strict=False))
        result["frames"].append(max(marks[e][1] - marks[s][1] for s, e in pairs))
        result["frame_cpu"].append(max(cpu[e] - cpu[s] for s, e in pairs))
        result["rows"].append(drawn[0])
        assert log.scroll_y != before or log.scroll_y in (0, log.max_scroll_y)


def _frame_done(marks: list[tuple[str, float]]) -> bool:
    return any(what == "frame end" for what, _at in marks)


async def until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(0.0005)


def report(built: dict[str, Any], reads: dict[str, list[float]], app: dict[str, Any]) -> bool:
    print(
        f"thread {THREAD}: {built['messages']:,} messages, {built['checkpoints']} checkpoints, "
        f"{built['db_mb']:.1f} MB SQLite file (built in {built['build_s']:.1f} s)"
    )
    print("\nread alone (median / p95):")
    for key, label in (
        ("messages_at", "messages_at (what the chat reads)"),
        ("state_at", "state_at (every message rebuilt)"),
        ("chat_read", "the chat's worker: read, turns, rows"),
    ):
        med, p95 = median_p95(reads[key])
        print(f"  {label:<36} {ms(med):>9} / {ms(p95):>9}")
    med, p95 = median_p95(app["total"])
    ok_open = med < OPEN_TARGET_S
    runs = len(app["total"])
    print(f"\nopen the chat view (ctrl+n → first frame with the conversation), {runs} runs:")
    print(f"  total    median {ms(med):>9}  p95 {ms(p95):>9}   target < {OPEN_TARGET_S:.1f} s")
    for key in ("worker", "queue", "handler", "render"):
        med_k, p95_k = median_p95(app[key])
        print(f"  {key:<8} median {ms(med_k):>9}  p95 {ms(p95_k):>9}")
    med_c, p95_c = median_p95(app["cpu"])
    print(f"  (CPU time of the process until then: median {ms(med_c)}  p95 {ms(p95_c)})")
    med_w, p95_w = median_p95(app["whole"])
    print(f"  all {EXPECTED:,} messages in the view: median {ms(med_w)}  p95 {ms(p95_w)}")
    print(f"\nscroll: {len(app['frames'])} pages (up, then down), one frame each:")
    ok_scroll = True
    for key, label in (("frames", "wall"), ("frame_cpu", "CPU")):
        med_f, p95_f = median_p95(app[key])
        worst = max(app[key])
        dropped = sum(1 for f in app[key] if f > FRAME_BUDGET_S)
        print(
            f"  frame {label:<4} median {ms(med_f):>8}  p95 {ms(p95_f):>8}  max {ms(worst):>9}"
            f"   budget {ms(FRAME_BUDGET_S)} (over it: {dropped})"
        )
        ok_scroll = ok_scroll and (key == "frames" or p95_f < FRAME_BUDGET_S)
    print(
        f"  rows drawn per page: median {statistics.median(app['rows']):.0f}, "
        f"max {max(app['rows'])} (the view is {ROWS} rows; the thread has "
        f"{built['messages']:,} messages)"
    )
    print(
        f"\n{'PASS' if ok_open else 'FAIL'} open median < {OPEN_TARGET_S} s · "
        f"{'PASS' if ok_scroll else 'FAIL'} scroll frame p95 < 1/60 s (CPU)"
    )
    return ok_open and ok_scroll


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="build the project here and keep it")
    args = parser.parse_args()
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="lgp-chat-bench-"))
    try:
        project = make_project(tmp)
        from lgp_engine import load_settings

        settings = load_settings(project_dir=project)
        built = build_thread(settings)
        reads = bench_reads(settings, args.repeats)
        app = asyncio.run(bench_app(settings, args.repeats))
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if report(built, reads, app) else 1)


if __name__ == "__main__":
    main()
