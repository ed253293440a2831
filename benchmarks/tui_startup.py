"""TUI speed: time to the first frame, and opening a thread of 5,000 checkpoints.

Everything happens in a temporary copy of the project (``workflows/`` and
``config/``), with its own ``.lgp/checkpoints.db``; nothing is cached elsewhere.

1. Startup. The real ``lgp-tui workflows/basic_workflow.py`` (from this venv) runs
   under a pseudo-terminal of 120x40 (``TERM=xterm-256color``). The clock runs from
   just before the spawn until the terminal has received the first full frame: every
   row of the alternate screen painted (mode switches and terminal queries before it
   do not count). Then ctrl+q quits it. Baseline, measured in the same rounds under the
   same harness: a bare Textual app that renders one ``Static``. One more run of
   lgp-tui with timestamps (imports, ``on_mount``, ``Runner.open``, workflow import)
   shows what the first frame waits for.
2. Open a thread. One thread gets 5,000 checkpoints by really running a 3-node
   workflow 997 times through the ``Executor`` plus 5 forks (branches in the tree);
   a second, small thread is the newest, so the browser starts on it. In
   ``WorkbenchApp.run_test`` (Pilot, 120x40) ctrl+b opens the checkpoint browser;
   each repeat highlights the big thread and times until its history list is filled
   and the next frame of the screen is rendered, split into: the store read in the
   worker (``store.thread``, ``store.history(limit=2000)``, ``flatten_tree``), the
   ``HistoryRead`` handler that fills the history list, and layout + render. The
   store calls are also timed alone, against two baselines from the same run: the
   raw ``SELECT`` of the same 2,000 rows, and LangGraph's ``saver.list(limit=2000)``.

    python benchmarks/tui_startup.py [--runs 10] [--repeats 5] [--keep DIR]

Targets: startup median < 1.0 s; open thread (5,000 checkpoints, newest 2,000
shown) median < 0.3 s. The exit code is 1 when a target is missed (so ``make``
or CI can gate on it), 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import functools
import os
import select
import shutil
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLS, ROWS = 120, 40
STARTUP_TARGET_S = 1.0
OPEN_TARGET_S = 0.3
BIG, SMALL = "bench-big", "bench-small"
RUNS_ON_BIG, FORKS = 997, 5  # 997 runs x 5 checkpoints + 5 forks x 3 = 5,000
EXPECTED_CHECKPOINTS = 5000

BENCH_WORKFLOW = '''\
"""Benchmark workflow: three nodes whose state does not grow with the thread."""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    n: int
    note: str
    tags: list[str]


def plan(state: State) -> State:
    return {"n": state.get("n", 0) + 1, "note": "planned"}


def act(state: State) -> State:
    return {"note": f"acted {state['n']}", "tags": ["act", str(state["n"] % 7)]}


def report(state: State) -> State:
    return {"note": f"run {state['n']} done"}


workflow = StateGraph(State)
workflow.add_node("plan", plan)
workflow.add_node("act", act)
workflow.add_node("report", report)
workflow.add_edge(START, "plan")
workflow.add_edge("plan", "act")
workflow.add_edge("act", "report")
workflow.add_edge("report", END)
'''

BARE_APP = """\
from textual.app import App
from textual.widgets import Static


class Bare(App):
    def compose(self):
        yield Static("bare Textual baseline")


Bare().run()
"""

# lgp-tui with timestamps (CLOCK_MONOTONIC, shared with the parent) at the points the
# first frame may wait on. Hooks that no longer exist are skipped, not fatal.
STAMPED_TUI = """\
import contextlib, functools, os, sys, time

_out = open(os.environ["LGP_BENCH_STAMPS"], "w", buffering=1)


def stamp(what):
    _out.write(f"{what} {time.monotonic()}\\n")


stamp("interpreter ready")
import textual.app  # noqa: E402,F401

stamp("textual imported")
from lgp_tui import __main__ as cli, app as appmod, workers  # noqa: E402

stamp("lgp_tui.app imported")


def timed(owner, name, label):
    original = getattr(owner, name, None)
    if original is None:
        return

    @functools.wraps(original)  # keeps the signature Textual inspects for handlers
    def wrapper(*args, **kwargs):
        stamp(f"{label} start")
        try:
            return original(*args, **kwargs)
        finally:
            stamp(f"{label} end")

    setattr(owner, name, wrapper)


timed(appmod.WorkbenchApp, "on_mount", "WorkbenchApp.on_mount")
timed(workers, "load", "workflow import (load worker)")
runner = getattr(appmod, "Runner", None)
if runner is not None and hasattr(runner, "open"):
    _open = runner.open

    @contextlib.contextmanager
    def _timed_open(settings):
        stamp("Runner.open start")
        with _open(settings) as opened:
            stamp("Runner.open end")
            yield opened

    runner.open = _timed_open
sys.exit(cli.main(sys.argv[1:]))
"""


# --------------------------------------------------------------------------- helpers
def median_p95(values: list[float]) -> tuple[float, float]:
    if len(values) == 1:
        return values[0], values[0]
    return statistics.median(values), statistics.quantiles(values, n=20, method="inclusive")[-1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def make_project(tmp: Path) -> Path:
    project = tmp / "project"
    project.mkdir()
    for name in ("workflows", "config"):
        shutil.copytree(
            ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__", ".lgp")
        )
    (project / "workflows" / "bench_counter.py").write_text(BENCH_WORKFLOW, encoding="utf-8")
    (tmp / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
    (tmp / "stamped_tui.py").write_text(STAMPED_TUI, encoding="utf-8")
    return project


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LGP_", "TEXTUAL"))}
    # children import this tree (the one the benchmark sits in), as the parent does
    env.update(TERM="xterm-256color", COLORTERM="", PYTHONPATH=str(ROOT))
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return env


# --------------------------------------------------------------------------- 1. startup
class FrameWatcher:
    """Follows a terminal's output just enough to tell when the first full frame is in:
    every row of the alternate screen written after the switch to it."""

    def __init__(self, rows: int) -> None:
        import codecs
        import re

        self.rows = rows
        self.token = re.compile(
            r"\x1b\[([0-9;?<>=$]*)[ -/]*([@-~])"  # CSI
            r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
            r"|\x1b[@-Z\\^_]"  # two-byte escapes
            r"|\r\n|\r|\n|[^\x1b\r\n]+"  # line moves, text
        )
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = ""
        self.alternate = False
        self.row = 0
        self.painted: set[int] = set()

    def feed(self, data: bytes) -> bool:
        text = self.pending + self.decoder.decode(data)
        pos = 0
        for m in self.token.finditer(text):
            if m.start() != pos:
                break
            pos = m.end()
            tok = m.group(0)
            if m.group(2):
                params, final = m.group(1), m.group(2)
                if final == "H":
                    self.row = int(params.partition(";")[0] or 1) - 1
                elif final == "h" and params == "?1049":
                    self.alternate, self.painted = True, set()
            elif tok in ("\r\n", "\n"):
                self.row += 1
            elif tok[0] not in "\x1b\r" and self.alternate and 0 <= self.row < self.rows:
                self.painted.add(self.row)
        self.pending = text[pos:]
        return self.alternate and len(self.painted) == self.rows


def first_frame(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 30.0) -> float:
    """Seconds from spawning ``cmd`` on a fresh pty to its first full frame."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))

    def controlling_tty() -> None:  # the pty becomes the child's terminal, as in a shell
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    watcher = FrameWatcher(ROWS)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=controlling_tty,
    )
    os.close(slave)
    seen = b""
    try:
        while True:
            left = t0 + timeout - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no full frame after {timeout:.0f} s: {seen[-400:]!r}")
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                data = b""
            if not data:
                raise RuntimeError(f"{cmd[0]} exited before its first frame: {seen[-400:]!r}")
            seen = (seen + data)[-4000:]
            if watcher.feed(data):
                elapsed = time.monotonic() - t0
                break
        os.write(master, b"\x11")  # ctrl+q
        _drain_until_exit(master, proc, 10.0)
    finally:
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    return elapsed


def _drain_until_exit(master: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    end = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break
    with suppress(subprocess.TimeoutExpired):
        proc.wait(max(0.0, end - time.monotonic()))


def bench_startup(tmp: Path, project: Path, runs: int) -> dict[str, Any]:
    python = str(Path(sys.executable))
    lgp_tui = str(Path(sys.executable).with_name("lgp-tui"))
    env = child_env()
    variants: dict[str, list[str]] = {
        "bare": [python, str(tmp / "bare_app.py")],
        "lgp": [lgp_tui, "workflows/basic_workflow.py"],
    }
    for cmd in variants.values():  # warm up the OS file cache and bytecode
        first_frame(cmd, project, env)
    times: dict[str, list[float]] = {k: [] for k in variants}
    for i in range(runs):
        order = list(variants) if i % 2 else list(reversed(variants))
        for key in order:
            times[key].append(first_frame(variants[key], project, env))
            print(f"[startup] run {i + 1:>2}/{runs} {key:4s} {ms(times[key][-1])}", file=sys.stderr)

    stamps_file = tmp / "stamps.txt"
    env_stamped = dict(env, LGP_BENCH_STAMPS=str(stamps_file))
    master_t0 = time.monotonic()
    frame = first_frame(
        [python, str(tmp / "stamped_tui.py"), "workflows/basic_workflow.py"], project, env_stamped
    )
    stamps = []
    for line in stamps_file.read_text().splitlines():
        what, _, at = line.rpartition(" ")
        stamps.append((what, float(at) - master_t0))
    return {"times": times, "stamps": stamps, "stamped_frame": frame}


# --------------------------------------------------------------------------- 2. open thread
def build_history(project: Path) -> dict[str, Any]:
    from lgp_engine import Executor, load_settings, load_workflow, open_checkpoints, resolve_target

    settings = load_settings("experiment", project_dir=project)
    workflow = load_workflow(
        resolve_target("workflows/bench_counter.py", project_dir=settings.project_dir)
    )
    t0 = time.monotonic()

    def run(thread_id: str, input_: Any, **options: Any) -> None:
        events = list(executor.stream(input_, thread_id=thread_id, **options))
        if events[-1].type != "run.completed":
            raise RuntimeError(f"benchmark run did not complete: {events[-1].data}")

    with open_checkpoints(settings) as store:
        executor = Executor(workflow, store)
        for _ in range(RUNS_ON_BIG):
            run(BIG, {"tags": []})
        # forks at several depths of the newest 2,000, so the browser draws branches
        mid = [c for c in store.history(BIG, limit=2000) if c.next == ("act",)]
        for k in range(FORKS):
            run(BIG, None, checkpoint_id=mid[(k * 2 + 1) * len(mid) // (FORKS * 2)].checkpoint_id)
        run(SMALL, {"tags": []})
        count = store.thread(BIG).checkpoints
    return {"settings": settings, "seconds": time.monotonic() - t0, "checkpoints": count}


def bench_store(settings: Any, repeats: int) -> dict[str, list[float]]:
    from lgp_engine import open_checkpoints
    from lgp_engine.timetravel import flatten_tree, history_tree

    limit = _history_limit()
    times: dict[str, list[float]] = {
        k: [] for k in ("raw", "saver", "thread", "history", "tree", "store")
    }
    db = settings.resolve(settings.checkpointer.path)
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    config = {"configurable": {"thread_id": BIG, "checkpoint_ns": ""}}
    with open_checkpoints(settings) as store:
        for i in range(repeats + 1):  # the first round warms the caches and is dropped
            t = time.monotonic()
            rows = raw.execute(
                "SELECT checkpoint_id, parent_checkpoint_id, metadata FROM checkpoints "
                "WHERE thread_id = ? AND checkpoint_ns = '' "
                "ORDER BY checkpoint_id DESC LIMIT ?",
                (BIG, limit),
            ).fetchall()
            t_raw = time.monotonic() - t
            t = time.monotonic()
            listed = list(store.saver.list(config, limit=limit))
            t_saver = time.monotonic() - t
            t = time.monotonic()
            store.thread(BIG)
            t_thread = time.monotonic() - t
            t = time.monotonic()
            infos = store.history(BIG, limit=limit)
            t_history = time.monotonic() - t
            t = time.monotonic()
            tree_rows = flatten_tree(history_tree(infos))
            t_tree = time.monotonic() - t
            assert len(rows) == len(listed) == len(infos) == len(tree_rows) == limit
            if i:
                for key, value in zip(
                    times,
                    (t_raw, t_saver, t_thread, t_history, t_tree, t_thread + t_history + t_tree),
                    strict=True,
                ):
                    times[key].append(value)
    raw.close()
    return times


def _history_limit() -> int:
    from lgp_tui.screens.checkpoint_browser import HISTORY_LIMIT

    return int(HISTORY_LIMIT)


async def bench_browser(settings: Any, repeats: int) -> dict[str, Any]:
    """Times in the real app: highlight the big thread → history list filled → next frame."""
    from textual.widgets import OptionList

    from lgp_tui.app import WorkbenchApp
    from lgp_tui.screens import checkpoint_browser as cb

    marks: list[tuple[str, float]] = []

    def mark(what: str) -> None:
        marks.append((what, time.monotonic()))

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

    def handler_label(_screen: Any, message: Any) -> str:
        # Message.time is when the worker posted it (textual's clock is time.monotonic):
        # the worker's own "end" comes later, once it gets the GIL back from the handler
        marks.append((f"posted {message.thread_id}", message.time))
        return f"handler {message.thread_id}"

    screen_cls = cb.CheckpointBrowser
    undo = [
        wrap(cb, "_read_history", lambda _store, thread_id, *_: f"worker {thread_id}"),
        wrap(screen_cls, "on_checkpoint_browser_history_read", handler_label),
        wrap(screen_cls, "_on_timer_update", lambda *_: "frame"),
    ]
    result: dict[str, Any] = {
        k: [] for k in ("total", "filled", "worker", "queue", "handler", "render")
    }
    try:
        app = WorkbenchApp(settings, target="workflows/basic_workflow.py")
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            await _until(lambda: app.ready, pilot, "the workflow and the stores")
            await pilot.press("ctrl+b")
            await _until(lambda: isinstance(app.screen, screen_cls), pilot, "the browser")
            screen = app.screen
            threads = screen.query_one("#cp-threads", OptionList)
            history = screen.query_one("#cp-history")
            await _until(
                lambda: bool(screen.threads) and history.row_count > 0,
                pilot,
                "the first thread's history",
            )
            ids = [t.thread_id for t in screen.threads]
            big, small = ids.index(BIG), ids.index(SMALL)
            for _ in range(repeats + 1):  # the first round warms up and is dropped
                marks.clear()
                t0 = time.monotonic()
                threads.highlighted = big
                await _until(
                    lambda: _frame_after_handler(marks) is not None,
                    pilot,
                    "the big thread's history",
                    poll=0.0005,
                )
                at = _first_marks(marks)
                frame = _frame_after_handler(marks)
                assert frame is not None
                result["total"].append(frame - t0)
                result["filled"].append(at[f"handler {BIG} end"] - t0)
                result["worker"].append(at[f"posted {BIG}"] - at[f"worker {BIG} start"])
                result["queue"].append(at[f"handler {BIG} start"] - at[f"posted {BIG}"])
                result["handler"].append(at[f"handler {BIG} end"] - at[f"handler {BIG} start"])
                result["render"].append(frame - at[f"handler {BIG} end"])
                result["shown"] = history.row_count
                result["subtitle"] = str(history.border_subtitle)
                threads.highlighted = small
                await _until(
                    lambda: (
                        history.row_count < 100
                        and screen.thread_id == SMALL
                        and history.border_subtitle != "reading…"
                    ),
                    pilot,
                    "the small thread's history",
                )
                await pilot.pause(0.05)
            for key in ("total", "filled", "worker", "queue", "handler", "render"):
                result[key] = result[key][1:]
    finally:
        for restore in undo:
            restore()
    return result


def _first_marks(marks: list[tuple[str, float]]) -> dict[str, float]:
    first: dict[str, float] = {}
    for what, at in marks:
        first.setdefault(what, at)
    return first


def _frame_after_handler(marks: list[tuple[str, float]]) -> float | None:
    """When the first frame after the big thread's ``HistoryRead`` handler was rendered."""
    handled = _first_marks(marks).get(f"handler {BIG} end")
    if handled is None:
        return None
    return next((at for what, at in marks if what == "frame end" and at > handled), None)


async def _until(
    check: Callable[[], bool], pilot: Any, what: str, *, timeout: float = 30.0, poll: float = 0.005
) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(poll)


# --------------------------------------------------------------------------- report
def report(
    startup: dict[str, Any],
    built: dict[str, Any],
    store: dict[str, list[float]],
    browser: dict[str, Any],
    runs: int,
    repeats: int,
) -> bool:
    med = statistics.median
    ok = True
    print(
        f"\n1. startup: process start -> first full frame, {COLS}x{ROWS} pty, "
        f"{runs} runs each (after one warm-up)"
    )
    print(f"   {'':34s}{'median':>10s}{'p95':>11s}")
    bare_med, bare_p95 = median_p95(startup["times"]["bare"])
    lgp_med, lgp_p95 = median_p95(startup["times"]["lgp"])
    print(f"   {'bare Textual app (one Static)':34s}{ms(bare_med)} {ms(bare_p95)}")
    print(
        f"   {'lgp-tui workflows/basic_workflow.py':34s}{ms(lgp_med)} {ms(lgp_p95)}"
        f"   target < {STARTUP_TARGET_S * 1000:.0f} ms: "
        f"{'ok' if lgp_med < STARTUP_TARGET_S else 'MISSED'}"
    )
    ok &= lgp_med < STARTUP_TARGET_S
    print(f"   ratio lgp-tui / bare Textual: {lgp_med / bare_med:.2f}x median")
    frame = startup["stamped_frame"]
    print(
        f"   one lgp-tui run with timestamps (ms after spawn; first full frame at "
        f"{frame * 1000:.0f}):"
    )
    for what, at in startup["stamps"]:
        where = "before" if at <= frame else "after "
        print(f"     {at * 1000:7.1f}  {where} frame  {what}")
    stamps = dict(startup["stamps"])
    if "Runner.open end" in stamps and stamps["Runner.open end"] <= frame:
        cost = stamps["Runner.open end"] - stamps["Runner.open start"]
        print(
            f"   -> Runner.open ({cost * 1000:.0f} ms) runs in WorkbenchApp.on_mount, "
            "before the first frame: it is on the critical path"
        )
    if "workflow import (load worker) end" in stamps:
        when = "after" if stamps["workflow import (load worker) end"] > frame else "before"
        print(f"   -> the workflow import runs in a worker and ends {when} the first frame")

    print(
        f"\n2. open a thread of {built['checkpoints']:,} checkpoints "
        f"(built in {built['seconds']:.1f} s: {RUNS_ON_BIG} runs + {FORKS} forks), "
        f"newest {_history_limit():,} shown; median of {repeats}"
    )
    print("   store calls alone (what the browser's worker runs):")
    rows = [
        ("baseline: raw SELECT of the 2,000 rows", store["raw"]),
        ("baseline: LangGraph saver.list(limit)", store["saver"]),
        ("store.thread", store["thread"]),
        ("store.history(limit=2000)", store["history"]),
        ("flatten_tree(history_tree(...))", store["tree"]),
        ("all three", store["store"]),
    ]
    for label, values in rows:
        print(f"     {label:40s}{ms(med(values))}")
    print(
        f"   ratio store.history / raw SELECT: {med(store['history']) / med(store['raw']):.1f}x;"
        f" / saver.list: {med(store['history']) / med(store['saver']):.2f}x"
    )
    print("   in the app (run_test, Pilot): highlight the thread -> ...")
    parts = [
        ("worker: store reads + tree, posted", browser["worker"]),
        ("posted -> HistoryRead handler starts", browser["queue"]),
        ("handler: fill the history list", browser["handler"]),
        ("-> history list filled", browser["filled"]),
        ("layout + render of the next frame", browser["render"]),
        ("-> rendered (total)", browser["total"]),
    ]
    for label, values in parts:
        print(f"     {label:40s}{ms(med(values))}")
    total = med(browser["total"])
    print(
        f"   open thread: {total * 1000:.0f} ms median, target < {OPEN_TARGET_S * 1000:.0f} ms:"
        f" {'ok' if total < OPEN_TARGET_S else 'MISSED'}   "
        f"(list shows {browser['shown']} rows, subtitle {browser['subtitle']!r})"
    )
    ok &= total < OPEN_TARGET_S
    print(
        f"   ratio open thread / raw SELECT: {total / med(store['raw']):.0f}x; "
        f"/ saver.list: {total / med(store['saver']):.1f}x"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="startup runs per variant")
    parser.add_argument("--repeats", type=int, default=5, help="open-thread repeats")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="build the temporary project in DIR (must not exist) and keep it",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lgp-tui-bench-") as scratch:
        tmp = Path(scratch)
        if args.keep is not None:
            args.keep.mkdir(parents=True)
            tmp = args.keep.resolve()
        project = make_project(tmp)
        for key in [k for k in os.environ if k.startswith("LGP_")]:
            del os.environ[key]  # the project's own config, nothing from the shell
        print(
            f"[bench] building {EXPECTED_CHECKPOINTS:,} checkpoints in {project} ...",
            file=sys.stderr,
        )
        built = build_history(project)
        if built["checkpoints"] != EXPECTED_CHECKPOINTS:
            raise SystemExit(
                f"expected {EXPECTED_CHECKPOINTS} checkpoints, got {built['checkpoints']}"
            )
        startup = bench_startup(tmp, project, args.runs)
        store = bench_store(built["settings"], args.repeats)
        browser = asyncio.run(bench_browser(built["settings"], args.repeats))
        ok = report(startup, built, store, browser, args.runs, args.repeats)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
