"""Bad usage of ``lgp`` is one line and exit 2 with nothing written; a closed pipe
and Ctrl+C end cleanly (issue 10). Every case runs the real CLI as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LgpRunner
from tests.processes import LGP, process_env, wait_until

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("[lgp] ❌"), lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def add_workflow(project: Path, name: str) -> Path:
    return Path(shutil.copy(WORKFLOWS / f"{name}.py", project / "workflows" / f"{name}.py"))


def runs_json(lgp: LgpRunner, project: Path) -> list[dict[str, Any]]:
    proc = lgp("runs", "--json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout))


def wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    def there() -> bool:
        assert proc.poll() is None, proc.communicate()
        return path.exists()

    wait_until(there, timeout, f"{path.name} to appear")


def popen_lgp(*args: str, cwd: Path, **kw: Any) -> subprocess.Popen[str]:
    """``lgp`` with our hands on its pipes (the shared ``Process`` reads them itself)."""
    return subprocess.Popen(
        [*LGP, *args], cwd=cwd, env=process_env(), text=True, encoding="utf-8", **kw
    )


# -- bad input: exit 2 before anything is written ---------------------------------


@pytest.mark.parametrize("value", ["[1, 2]", '"str"', "42", "null"])
def test_a_non_object_input_is_refused_before_anything_is_written(
    lgp: LgpRunner, project: Path, tree_snapshot: Callable[[Path], dict[str, bytes]], value: str
) -> None:
    before = tree_snapshot(project)
    proc = lgp("run", "workflows/basic_workflow.py", "--input", value, cwd=project)
    if value == "null":  # JSON null is "no input": a run with the defaults
        assert proc.returncode == 0, proc.stderr
        return
    one_line_error(proc, "--input must be an object of state keys")
    assert tree_snapshot(project) == before
    assert not (project / ".lgp").exists()


@pytest.mark.parametrize(
    ("name", "needle"),
    [("dangling_edge", "unknown node `nowhere`"), ("no_entry", "must have an entrypoint")],
)
def test_a_graph_that_does_not_compile_is_a_load_error(
    lgp: LgpRunner,
    project: Path,
    tree_snapshot: Callable[[Path], dict[str, bytes]],
    name: str,
    needle: str,
) -> None:
    add_workflow(project, name)
    before = tree_snapshot(project)
    line = one_line_error(lgp("run", f"workflows/{name}.py", cwd=project), needle)
    assert "Workflow load error" in line and "does not compile" in line
    assert tree_snapshot(project) == before  # no thread, no run, no database


def test_serve_refuses_a_port_out_of_range(lgp: LgpRunner, project: Path) -> None:
    one_line_error(
        lgp("serve", "--port", "99999", cwd=project), "99999", "0<=x<=65535", "lgp serve --help"
    )


def test_runs_with_an_unknown_status_names_the_valid_ones(lgp: LgpRunner, project: Path) -> None:
    proc = lgp("runs", "--status", "bogus", cwd=project)
    one_line_error(proc, "'bogus' is not one of")
    for status in ("queued", "running", "interrupted", "completed", "failed", "cancelled"):
        assert status in proc.stderr
    assert "No runs yet" not in proc.stdout


def test_serve_help_says_hosted_and_its_curl_example_sends_json(
    lgp: LgpRunner, project: Path
) -> None:
    text = " ".join(lgp("serve", "--help", cwd=project).stdout.split())
    assert "else hosted" in text and "experiment (default)" not in text
    assert "-H 'content-type: application/json'" in text
    run_help = " ".join(lgp("run", "--help", cwd=project).stdout.split())
    assert "else experiment" in run_help


def test_resume_hint_fits_the_value_given(lgp: LgpRunner, project: Path) -> None:
    line = one_line_error(lgp("resume", "t1", "--value", "yes", cwd=project), "--value")
    assert """e.g. --value '"yes"'""" in line
    assert '{"input"' not in line  # the hint for --input does not fit --value


def test_an_ambiguous_checkpoint_id_is_titled_ambiguous(lgp: LgpRunner, project: Path) -> None:
    ran = lgp("run", "workflows/basic_workflow.py", "--thread", "t1", cwd=project)
    assert ran.returncode == 0, ran.stderr
    history = json.loads(lgp("history", "t1", "--json", cwd=project).stdout)
    ids = [c["checkpoint_id"] for c in history]
    prefix = os.path.commonprefix(ids)  # noqa: RUF071 - ids, not paths
    assert len(prefix) >= 6, ids  # time-ordered ids of one run share a long prefix
    line = one_line_error(
        lgp("fork", "t1", "--checkpoint", prefix[:6], "--update", '{"input": "x"}', cwd=project),
        "Ambiguous id",
        "give more of the id",
    )
    assert "Not found" not in line


# -- a closed pipe and Ctrl+C ------------------------------------------------------


def test_json_into_a_closed_pipe_ends_quietly_and_records_the_run_cancelled(
    lgp: LgpRunner, project: Path, tmp_path: Path
) -> None:
    add_workflow(project, "gated")
    started, gate = tmp_path / "started", tmp_path / "gate"
    payload = json.dumps({"gate": str(gate), "started": str(started), "count": 5})
    proc = popen_lgp(
        "run",
        "workflows/gated.py",
        "--input",
        payload,
        "--json",
        "--thread",
        "piped",
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = [json.loads(proc.stdout.readline()) for _ in range(2)]  # what `head -2` reads
    assert first[0]["type"] == "run.started"
    wait_for(started, proc)
    proc.stdout.close()  # the reader goes away...
    gate.touch()  # ...and the run has more to say
    proc.wait(timeout=60)
    stderr = proc.stderr.read()
    assert proc.returncode == 141, stderr  # 128 + SIGPIPE, as a shell reports `yes | head`
    assert stderr == ""  # no BrokenPipeError, no traceback, no "Exception ignored"
    [record] = runs_json(lgp, project)
    assert record["status"] == "cancelled"
    assert record["run_id"] == first[0]["run_id"]


def test_ctrl_c_cancels_even_when_the_parent_ignores_sigint(
    lgp: LgpRunner, project: Path, tmp_path: Path
) -> None:
    add_workflow(project, "gated")
    started, gate = tmp_path / "started", tmp_path / "gate"
    payload = json.dumps({"gate": str(gate), "started": str(started)})

    def ignore_sigint() -> None:  # what a shell does for `cmd &`, or pytest's runner
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = popen_lgp(
        "run",
        "workflows/gated.py",
        "--input",
        payload,
        "--thread",
        "ctrlc",
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=ignore_sigint,
    )
    try:
        wait_for(started, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        gate.touch()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Cancelled" in out
    [record] = runs_json(lgp, project)
    assert record["status"] == "cancelled"
