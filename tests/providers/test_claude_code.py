"""Claude Code nodes through the ``lgp`` command: the real Claude Code CLI (bundled in
``claude-agent-sdk``) in real repositories, offline against the local
Anthropic-compatible server, with a temp ``HOME``.

Each CLI run takes about 0.6 s; the failure tests add the seconds of the stall and
timeout limits they set (2 s)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lgp_engine.providers.claude_cli import bundled_cli
from lgp_engine.runs import RunStore
from tests.processes import run_lgp, start_lgp, wait_until
from tests.providers.conftest import write_config
from tests.servers.anthropic_fake import FakeAnthropic
from tests.workflows import copy_workflows

CLI = bundled_cli()
KEY = "sk-ant-test-key"
REPO = Path(__file__).resolve().parents[2]


def claude_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    for name, text in (files or {}).items():
        (path / name).write_text(text)
    return path


@pytest.fixture
def cc_project(tmp_path: Path, fake_anthropic: FakeAnthropic) -> Callable[..., Path]:
    """``cc_project(*workflows, **claude_code_options)``: a project whose Claude Code
    nodes run the bundled CLI against the fake server (no retries)."""

    def make(*workflows: str, **options: Any) -> Path:
        project = tmp_path / "project"
        copy_workflows(project / "workflows", *workflows)
        claude = {"base_url": fake_anthropic.url, "api_key": KEY, "max_retries": 0, **options}
        write_config(project, "experiment", llm_providers={"claude_code": claude})
        return project

    return make


def run_id_of(stdout: str) -> str:
    return next(line.split()[-1] for line in stdout.splitlines() if line.startswith("[lgp] Run:"))


def events_of(project: Path, run_id: str, env: dict[str, str]) -> list[dict[str, Any]]:
    shown = run_lgp("events", run_id, "--json", cwd=project, env=env)
    assert shown.returncode == 0, shown.stderr
    return [json.loads(line) for line in shown.stdout.splitlines()]


def of_type(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == type_]


def claude_processes(under: Path, *, roots: bool = False) -> list[int]:
    """Pids of Claude Code CLI processes working anywhere below ``under``; with
    ``roots``, only those not started by another (the CLI runs copies of itself, e.g.
    its bundled ripgrep)."""
    found: dict[int, int] = {}  # pid -> parent pid
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            cwd = os.readlink(entry / "cwd")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if b"claude" in cmdline.split(b"\0")[0] and cwd.startswith(str(under)):
            found[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    return [pid for pid, parent in found.items() if not (roots and parent in found)]


def test_the_template_writes_a_file_resumes_its_session_and_a_replay_forks_it(
    cc_project: Callable[..., Path], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    project = cc_project()
    env = claude_env(tmp_path)
    repo = make_repo(tmp_path / "site")
    created = run_lgp("create", "coder", "--template", "with_claude_code", cwd=project, env=env)
    assert created.returncode == 0, created.stderr
    target = repo / "NOTES.md"
    fake_anthropic.script(
        {"tool_uses": [{"name": "Write", "input": {"file_path": str(target), "content": "hi\n"}}]},
        {"text": "Wrote NOTES.md (first answer ALPHA)."},
    )
    first_input = {"task": "write the notes FIRST-TASK", "repository": str(repo)}
    ran = run_lgp(
        "run", "coder", "--thread", "t1", "--input", json.dumps(first_input), cwd=project, env=env
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert target.read_text() == "hi\n"
    events = events_of(project, run_id_of(ran.stdout), env)
    (init,) = of_type(events, "agent.init")
    assert (init["role"], init["cwd"], init["via"], init["resumed"]) == (
        "coder",
        str(repo),
        "cli",
        None,
    )
    assert "Write" in init["tools"]
    (use,) = of_type(events, "agent.tool_use")
    assert (use["tool"], use["input"]["file_path"]) == ("Write", str(target))
    (tool_result,) = of_type(events, "agent.tool_result")
    assert tool_result["tool"] == "Write" and not tool_result["is_error"]
    (result,) = of_type(events, "agent.result")
    assert (result["turns"], result["tool_calls"], result["tools"]) == (2, 1, {"Write": 1})
    assert result["total_cost_usd"] > 0 and result["cost_usd"] == result["total_cost_usd"]
    assert result["session_id"] == init["session_id"]
    types = [e["type"] for e in events]
    assert types.index("agent.init") < types.index("agent.tool_use") < types.index("agent.result")
    coder_done = next(
        i for i, e in enumerate(events) if e["type"] == "node.finished" and e["node"] == "coder"
    )
    assert types.index("agent.result") < coder_done
    output = events[-1]["data"]["output"]
    assert output["coder_output"] == "Wrote NOTES.md (first answer ALPHA)."
    assert output["coder_session_id"] == init["session_id"]

    fake_anthropic.script({"text": "Second answer BETA."})
    again = {"task": "now the SECOND-TASK", "repository": str(repo)}
    ran = run_lgp(
        "run", "coder", "--thread", "t1", "--input", json.dumps(again), cwd=project, env=env
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    events = events_of(project, run_id_of(ran.stdout), env)
    (init2,) = of_type(events, "agent.init")
    assert init2["session_id"] == init["session_id"]
    assert (init2["resumed"], init2["forked"]) == (init["session_id"], False)
    sent = json.dumps(fake_anthropic.requests()[-1]["messages"])
    assert "FIRST-TASK" in sent and "first answer ALPHA" in sent
    assert sent.index("first answer ALPHA") < sent.index("SECOND-TASK")
    (result2,) = of_type(events, "agent.result")
    # the session's total includes the first invocation; the run counts only its own
    assert result2["session_cost_usd"] > result2["total_cost_usd"] == result2["cost_usd"] > 0
    assert result2["session_cost_usd"] == pytest.approx(
        result["total_cost_usd"] + result2["total_cost_usd"]
    )

    # a replay from before the second run branches the conversation: a new session
    # with the earlier turns, and the thread's own session file does not move
    (log,) = (tmp_path / "home" / ".claude" / "projects").glob(f"*/{init['session_id']}.jsonl")
    before = log.read_bytes()
    history = json.loads(run_lgp("history", "t1", "--json", cwd=project, env=env).stdout)
    second_start = [c for c in history if c["next"] == ["coder"]][-1]["checkpoint_id"]
    fake_anthropic.script({"text": "branch GAMMA"})
    replayed = run_lgp("replay", "t1", "--checkpoint", second_start, cwd=project, env=env)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    (init3,) = of_type(events_of(project, run_id_of(replayed.stdout), env), "agent.init")
    assert (init3["resumed"], init3["forked"]) == (init["session_id"], True)
    assert init3["session_id"] != init["session_id"]
    sent = json.dumps(fake_anthropic.requests()[-1]["messages"])
    # the conversation as it was at that checkpoint: the first turn, then the second
    # task asked again (its first answer is on the other branch only)
    assert "FIRST-TASK" in sent and "first answer ALPHA" in sent
    assert sent.count("SECOND-TASK") == 1 and "Second answer BETA" not in sent
    assert log.read_bytes() == before


def test_three_repositories_run_concurrently_and_stay_apart(
    cc_project: Callable[..., Path], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    project = cc_project("claude_trio.py", stall_timeout_s=30)  # sequential ones would stall
    env = claude_env(tmp_path)
    secret = "B-ONLY-SECRET-7f3a9c"
    repos = {
        role: make_repo(tmp_path / f"repo_{role}", {f"{role}.txt": f"file of {role}\n"})
        for role in ("a", "c")
    }
    repos["b"] = make_repo(tmp_path / "repo_b", {"secret.txt": secret + "\n"})
    stolen = str(repos["b"] / "secret.txt")
    fake_anthropic.script(
        # A tries to read B's file, with the Read tool and with the shell
        {
            "match": "task-for-a",
            "barrier": "trio",
            "parties": 3,
            "tool_uses": [
                {"name": "Read", "input": {"file_path": stolen}},
                {"name": "Bash", "input": {"command": f"cat {stolen}"}},
            ],
        },
        {"match": "task-for-a", "text": "A could not read it."},
        {"match": "task-for-b", "barrier": "trio", "parties": 3, "text": "B done."},
        {"match": "task-for-c", "barrier": "trio", "parties": 3, "text": "C done."},
    )
    given = {f"repo_{role}": str(path) for role, path in repos.items()}
    ran = run_lgp(
        "run", "workflows/claude_trio.py", "--input", json.dumps(given), cwd=project, env=env
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    events = events_of(project, run_id_of(ran.stdout), env)
    inits = of_type(events, "agent.init")
    assert {i["role"]: i["cwd"] for i in inits} == {r: str(p) for r, p in repos.items()}
    sessions = {i["session_id"] for i in inits}
    assert len(sessions) == 3
    types = [e["type"] for e in events]
    # concurrent: the server answered none of them before all three had asked
    assert max(i for i, t in enumerate(types) if t == "agent.init") < types.index("agent.result")
    output = events[-1]["data"]["output"]
    assert {output[f"{r}_session_id"] for r in "abc"} == sessions
    denied = [r for r in of_type(events, "agent.tool_result") if r["role"] == "a"]
    assert len(denied) == 2 and all(r["is_error"] for r in denied)
    everything = json.dumps(events) + ran.stdout + ran.stderr
    assert secret not in everything
    assert secret not in json.dumps(fake_anthropic.requests())
    shown = run_lgp("runs", "--json", cwd=project, env=env)
    assert secret not in shown.stdout


def test_a_bare_file_tool_is_limited_to_the_repository(
    cc_project: Callable[..., Path], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    """allowed_tools ["Read"] lets the session read its repository without asking, and
    still not another one."""
    project = cc_project("claude_one.py", allowed_tools=["Read"])
    env = claude_env(tmp_path)
    repo = make_repo(tmp_path / "mine", {"own.txt": "OWN-CONTENT\n"})
    other = make_repo(tmp_path / "other", {"secret.txt": "OTHER-SECRET\n"})
    fake_anthropic.script(
        {
            "tool_uses": [
                {"name": "Read", "input": {"file_path": str(repo / "own.txt")}},
                {"name": "Read", "input": {"file_path": str(other / "secret.txt")}},
            ]
        },
        {"text": "Read what I could."},
    )
    given = {"task": "read", "repository": str(repo)}
    ran = run_lgp(
        "run", "workflows/claude_one.py", "--input", json.dumps(given), cwd=project, env=env
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    events = events_of(project, run_id_of(ran.stdout), env)
    read = {u["tool_use_id"]: u["input"]["file_path"] for u in of_type(events, "agent.tool_use")}
    results = {read[r["tool_use_id"]]: r for r in of_type(events, "agent.tool_result")}
    own, stolen = results[str(repo / "own.txt")], results[str(other / "secret.txt")]
    assert not own["is_error"] and "OWN-CONTENT" in own["text"]
    assert stolen["is_error"] and "OTHER-SECRET" not in json.dumps(events)


FAILURES = {
    # kind: (claude_code options, what the fake server does)
    "stalled": ({"stall_timeout_s": 2}, {"fault": {"kind": "stall"}}),
    "timeout": ({"timeout_s": 2}, {"script": {"text": "too late", "delay_ms": 30000}}),
    "unavailable": ({"cli_path": "/nonexistent/bin/claude"}, {}),
    "auth": (
        {},
        {"fault": {"kind": "status", "status": 401, "error_type": "authentication_error"}},
    ),
    "budget_exceeded": (
        {"max_budget_usd": 0.01},
        {
            "script": {
                "tool_uses": [{"name": "Bash", "input": {"command": "true"}}],
                "usage": {"input_tokens": 200_000},
            }
        },
    ),
}


@pytest.mark.parametrize("kind", list(FAILURES))
def test_a_failure_ends_with_its_kind_and_the_thread_resumes(
    kind: str, cc_project: Callable[..., Path], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    options, server = FAILURES[kind]
    project = cc_project("claude_one.py", **options)
    env = claude_env(tmp_path)
    repo = make_repo(tmp_path / "repo")
    if "fault" in server:
        fake_anthropic.fault(**server["fault"])
    if "script" in server:
        fake_anthropic.script(server["script"])
    given = {"task": "do it", "repository": str(repo)}
    ran = run_lgp(
        "run",
        "workflows/claude_one.py",
        "--thread",
        "t1",
        "--input",
        json.dumps(given),
        cwd=project,
        env=env,
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    events = events_of(project, run_id_of(ran.stdout), env)
    failed = events[-1]
    assert (failed["type"], failed["data"]["kind"]) == ("run.failed", kind), failed
    assert failed["data"]["node"] == "coder"
    if kind != "unavailable":
        (result,) = of_type(events, "agent.result")
        assert (result["is_error"], result["kind"]) == (True, kind)
    else:
        assert "pip install 'lgp-workbench[claude-code]'" in ran.stdout + ran.stderr
    assert claude_processes(tmp_path) == []

    cc_project("claude_one.py")  # the fixed config
    fake_anthropic.reset()
    fake_anthropic.script({"text": "Done after all."})
    resumed = run_lgp("resume", "t1", cwd=project, env=env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Done after all." in resumed.stdout


def test_kill_9_of_the_cli_is_a_crash_and_the_thread_resumes(
    cc_project: Callable[..., Path], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    project = cc_project("claude_one.py")
    env = claude_env(tmp_path)
    repo = make_repo(tmp_path / "repo")
    fake_anthropic.script({"text": "never seen", "delay_ms": 60000})
    given = {"task": "do it", "repository": str(repo)}
    with start_lgp(
        "run",
        "workflows/claude_one.py",
        "--thread",
        "t1",
        "--input",
        json.dumps(given),
        cwd=project,
        env=env,
    ) as running:
        wait_until(fake_anthropic.requests, what="the CLI's request")
        (pid,) = claude_processes(tmp_path, roots=True)
        os.kill(pid, signal.SIGKILL)
        assert running.wait() == 1, running.text
    events = events_of(project, run_id_of(running.text), env)
    assert (events[-1]["type"], events[-1]["data"]["kind"]) == ("run.failed", "crashed")
    assert "killed by signal 9" in events[-1]["data"]["message"]
    assert claude_processes(tmp_path) == []
    fake_anthropic.reset()
    fake_anthropic.script({"text": "Back again."})
    resumed = run_lgp("resume", "t1", cwd=project, env=env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Back again." in resumed.stdout


def test_ctrl_c_stops_the_cli_with_the_run(
    cc_project: Callable[..., Path], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    project = cc_project("claude_one.py")
    env = claude_env(tmp_path)
    repo = make_repo(tmp_path / "repo")
    fake_anthropic.script({"text": "never seen", "delay_ms": 60000})
    given = {"task": "do it", "repository": str(repo)}
    with start_lgp(
        "run", "workflows/claude_one.py", "--input", json.dumps(given), cwd=project, env=env
    ) as running:
        wait_until(fake_anthropic.requests, what="the CLI's request")
        assert len(claude_processes(tmp_path, roots=True)) == 1
        running.send_signal(signal.SIGINT)
        assert running.wait() == 130, running.text
    assert claude_processes(tmp_path) == []


def test_a_fixed_subscription_spreads_the_monthly_cost_over_the_runs(
    cc_project: Callable[..., Path], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    project = cc_project("claude_one.py", cost_model="fixed_subscription", monthly_cost=20.00)
    env = claude_env(tmp_path)
    repo = make_repo(tmp_path / "repo")
    given = json.dumps({"task": "do it", "repository": str(repo)})
    runs = RunStore(project / ".lgp" / "checkpoints.db")
    for i in range(149):  # this month's earlier runs of the workflow
        runs.create(f"earlier-{i}", f"thread-{i}", "claude_one")
    runs.close()

    ran = run_lgp("run", "workflows/claude_one.py", "--input", given, cwd=project, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (
        "[lgp] Subscription: $0.13 per invocation ($20.00/month over 150 runs of this "
        "workflow this month)"
    ) in ran.stdout
    done = events_of(project, run_id_of(ran.stdout), env)[-1]
    usage = done["data"]["usage"]
    assert usage["subscription"] == {
        "cost_model": "fixed_subscription",
        "monthly_cost": 20.0,
        "workflow_invocations": 150,
        "cost_per_invocation": 0.13,
    }
    assert usage["cost_usd"] == 0 and usage["cost_models"] == ["subscription"]
    (result,) = of_type(events_of(project, run_id_of(ran.stdout), env), "agent.result")
    assert result["cost_model"] == "subscription" and result["total_cost_usd"] > 0
    shown = run_lgp("runs", "--json", cwd=project, env=env)
    record = next(r for r in json.loads(shown.stdout) if r["run_id"] == run_id_of(ran.stdout))
    assert record["workflow"] == "claude_one"
    assert record["usage"]["subscription"]["cost_per_invocation"] == 0.13


def test_behind_an_mcp_server_the_node_calls_mesh_execute(
    tmp_path: Path, fake_anthropic: FakeAnthropic
) -> None:
    """``mcp_session``: the same node shape, served by a real MCP server (stdio)."""
    project = tmp_path / "project"
    copy_workflows(project / "workflows", "claude_mesh.py")
    mesh = {
        "command": sys.executable,
        "args": ["-m", "tests.servers.mcp_tools_server"],
        "cwd": str(REPO),
        "env": {"PYTHONDONTWRITEBYTECODE": "1"},
    }
    write_config(project, "experiment", mcp_servers={"mesh": mesh})
    repo = make_repo(tmp_path / "repo", {"app.py": ""})
    env = claude_env(tmp_path)
    outputs = []
    for task in ("first", "second"):
        given = json.dumps({"task": task, "repository": str(repo)})
        ran = run_lgp(
            "run",
            "workflows/claude_mesh.py",
            "--thread",
            "m1",
            "--input",
            given,
            cwd=project,
            env=env,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        outputs.append(json.loads(ran.stdout.split("Result: ", 1)[1]))
        events = events_of(project, run_id_of(ran.stdout), env)
        (init,) = of_type(events, "agent.init")
        assert (init["via"], init["repository"]) == ("mcp", str(repo))
        called = of_type(events, "tool.called")
        assert [(c["server"], c["tool"]) for c in called] == [("mesh", "mesh_execute")]
        assert called[0]["arguments"]["task"] == task
    assert outputs[0]["coder_output"] == "did 'first' in repo (files: app.py)"
    assert outputs[0]["coder_session_id"].startswith("mesh-")
    # the second call continued the first one's session
    assert outputs[1]["coder_session_id"] == outputs[0]["coder_session_id"]
    assert not fake_anthropic.requests()


def test_worktree_isolation_keeps_the_agents_work_on_a_branch(
    cc_project: Callable[..., Path], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    project = cc_project("claude_one.py", isolation="worktree")
    env = claude_env(tmp_path)
    repo = make_repo(tmp_path / "repo", {"README.md": "base\n"})
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    given = json.dumps({"task": "work", "repository": str(repo)})
    fake_anthropic.script(
        {"tool_uses": [{"name": "Bash", "input": {"command": "echo from-agent > agent.txt"}}]},
        {"text": "Wrote agent.txt."},
    )
    ran = run_lgp(
        "run", "workflows/claude_one.py", "--thread", "w1", "--input", given, cwd=project, env=env
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (init,) = of_type(events_of(project, run_id_of(ran.stdout), env), "agent.init")
    worktree = Path(init["worktree"])
    assert init["cwd"] == str(worktree) and worktree != repo
    assert not (repo / "agent.txt").exists()  # the repository's own checkout is untouched
    assert not worktree.exists()  # removed afterwards...
    (branch,) = subprocess.run(
        ["git", "branch", "--list", "lgp/coder/w1-*", "--format=%(refname:short)"],
        cwd=repo,
        capture_output=True,
        text=True,
    ).stdout.split()
    shown = subprocess.run(
        ["git", "show", f"{branch}:agent.txt"], cwd=repo, capture_output=True, text=True
    )
    assert shown.stdout == "from-agent\n"  # ...with the work kept on its branch


def test_kill_9_of_lgp_takes_the_cli_with_it(
    cc_project: Callable[..., Path], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    project = cc_project("claude_one.py")
    env = claude_env(tmp_path)
    repo = make_repo(tmp_path / "repo")
    fake_anthropic.script({"text": "never seen", "delay_ms": 60000})
    given = {"task": "do it", "repository": str(repo)}
    with start_lgp(
        "run", "workflows/claude_one.py", "--input", json.dumps(given), cwd=project, env=env
    ) as running:
        wait_until(fake_anthropic.requests, what="the CLI's request")
        assert len(claude_processes(tmp_path, roots=True)) == 1
        running.kill()
    wait_until(lambda: not claude_processes(tmp_path), timeout=10, what="the CLI to end")


def test_lgp_agents_watches_a_real_session_live_and_reads_it_back(
    cc_project: Callable[..., Path], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    project = cc_project("claude_one.py")
    env = claude_env(tmp_path)
    repo = make_repo(tmp_path / "repo", {"a.txt": "alpha\n"})
    fake_anthropic.script(
        {
            "tool_uses": [
                {"name": "Read", "input": {"file_path": str(repo / "a.txt")}},
                {"name": "Bash", "input": {"command": "ls"}},
            ],
            "usage": {"input_tokens": 1000, "output_tokens": 50},
        },
        {
            "tool_uses": [
                {"name": "Read", "input": {"file_path": str(repo / "missing.txt")}},
                {"name": "Write", "input": {"file_path": str(repo / "b.txt"), "content": "b"}},
            ],
            "usage": {"input_tokens": 2000, "output_tokens": 70},
        },
        {
            "text": "All done.",
            "usage": {"input_tokens": 3000, "output_tokens": 9},
            "barrier": "watched",  # held until the test has seen `watch` follow
            "parties": 2,
        },
    )
    given = json.dumps({"task": "work", "repository": str(repo)})
    with start_lgp(
        "run", "workflows/claude_one.py", "--input", given, cwd=project, env=env
    ) as running:
        run_id = running.expect(r"^\[lgp\] Run: ")[-1].split()[-1]
        # watched from another process while the run goes on
        with start_lgp("agents", "watch", run_id, cwd=project, env=env) as watch:
            watch.expect(r"Write", timeout=20)
            assert running.returncode is None  # live: the last reply is still held
            fake_anthropic.arrive("watched")
            watch.expect(r"All done", timeout=20)
            assert watch.wait(20) == 0, watch.text
        assert running.wait() == 0, running.text
    (result,) = of_type(events_of(project, run_id, env), "agent.result")
    session = result["session_id"]

    def agents(*args: str) -> Any:
        shown = run_lgp("agents", *args, "--json", cwd=project, env=env)
        assert shown.returncode == 0, shown.stdout + shown.stderr
        return json.loads(shown.stdout)

    metrics = agents("metrics", session)
    assert (metrics["tool_calls"], metrics["tool_errors"]) == (4, 1)
    assert metrics["turns"] == result["turns"] >= 3  # as the CLI counts them
    assert (metrics["input_tokens"], metrics["output_tokens"]) == (6000, 129)
    assert metrics["tools"] == {"Read": 2, "Bash": 1, "Write": 1}
    assert metrics["cost_usd"] == pytest.approx(result["cost_usd"]) and metrics["cost_usd"] > 0
    assert metrics["events_per_second"] > 0
    summary = agents("summary", run_id[:8])
    assert [s["session_id"] for s in summary["sessions"]] == [session]
    tools = {t["tool"]: t for t in agents("tools", session)["by_tool"]}
    assert {name: (t["calls"], t["errors"]) for name, t in tools.items()} == {
        "Read": (2, 1),
        "Bash": (1, 0),
        "Write": (1, 0),
    }
    errors = agents("errors", session)
    assert [(e["source"], e["tool"]) for e in errors["errors"]] == [("tool", "Read")]
    assert errors["tool_errors"] == 1 and errors["failed_invocations"] == 0
    timeline = agents("timeline", session)["events"]
    assert [e["type"] for e in timeline][:2] == ["agent.init", "agent.tool_use"]
    assert timeline[-1]["type"] == "agent.result"


def test_mcp_servers_given_to_claude_code_serve_its_tool_calls(
    cc_project: Callable[..., Path], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    """The node's ``mcp_servers`` reach the CLI (``--mcp-config``): it starts the
    server itself and calls the tool the model asked for."""
    tools = {
        "command": sys.executable,
        "args": ["-m", "tests.servers.mcp_tools_server"],
        "env": {"PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"},
    }
    project = cc_project(
        "claude_one.py", mcp_servers={"tools": tools}, allowed_tools=["mcp__tools__add"]
    )
    env = claude_env(tmp_path)
    repo = make_repo(tmp_path / "repo")
    fake_anthropic.script(
        {"tool_uses": [{"name": "mcp__tools__add", "input": {"a": 40, "b": 2}}]},
        {"text": "The sum is in."},
    )
    given = json.dumps({"task": "add", "repository": str(repo)})
    ran = run_lgp("run", "workflows/claude_one.py", "--input", given, cwd=project, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    events = events_of(project, run_id_of(ran.stdout), env)
    (init,) = of_type(events, "agent.init")
    assert init["mcp_servers"] == ["tools"] and "mcp__tools__add" in init["tools"]
    (answered,) = of_type(events, "agent.tool_result")
    assert (answered["tool"], answered["is_error"]) == ("mcp__tools__add", False)
    assert json.loads(answered["text"]) == {"result": 42}
