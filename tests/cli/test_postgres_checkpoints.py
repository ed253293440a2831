"""The CLI on PostgreSQL checkpoints (issue 15): ``config/experiment.yaml`` names
``backend: postgres, dsn: ${LGP_DATABASE_URL}``; ``lgp run`` writes the thread there
and ``lgp threads`` / ``lgp history`` / ``lgp state`` read it back, each a process
of its own. A server that cannot be reached is one line and exit 2, never the
password."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg

from tests.cli.test_commands import table_rows
from tests.conftest import LgpRunner
from tests.workflows import copy_workflows

CHECKPOINTER = re.compile(r"^checkpointer:\n(?:[ \t]+.*\n)+", re.MULTILINE)


def use_postgres(project: Path) -> None:
    config = project / "config" / "experiment.yaml"
    text = config.read_text(encoding="utf-8")
    replaced, count = CHECKPOINTER.subn(
        "checkpointer:\n  backend: postgres\n  dsn: ${LGP_DATABASE_URL}\n", text
    )
    assert count == 1, text
    config.write_text(replaced, encoding="utf-8")
    copy_workflows(project, "tiny.py")


def test_run_then_threads_and_history_read_postgres(
    project: Path, lgp: LgpRunner, postgres_dsn: str
) -> None:
    use_postgres(project)
    env = {"LGP_DATABASE_URL": postgres_dsn}
    for n in (1, 5):
        proc = lgp(
            "run",
            "tiny.py",
            "--thread",
            "pg1",
            "--input",
            json.dumps({"n": n}),
            cwd=project,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
    assert "Result: {'n': 15}" in proc.stdout or '"n": 15' in proc.stdout, proc.stdout
    with psycopg.connect(postgres_dsn) as conn:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM checkpoints WHERE thread_id = 'pg1' AND checkpoint_ns = ''"
        ).fetchone()
    assert count == 10
    assert not (project / ".lgp" / "checkpoints.db").exists()

    threads = lgp("threads", "--json", cwd=project, env=env)
    assert threads.returncode == 0, threads.stderr
    data = json.loads(threads.stdout)
    assert [(t["thread_id"], t["checkpoints"]) for t in data] == [("pg1", 10)]
    human = lgp("threads", cwd=project, env=env)
    assert human.returncode == 0, human.stderr
    assert [r[:2] for r in table_rows(human.stdout)] == [["pg1", "10"]]

    history = lgp("history", "pg1", "--json", cwd=project, env=env)
    assert history.returncode == 0, history.stderr
    rows = json.loads(history.stdout)
    assert [r["step"] for r in rows] == list(range(-1, 9))
    written = [w for r in rows for w in r["writes"]]
    assert written.count("a") == written.count("b") == written.count("c") == 2
    human = lgp("history", "pg1", cwd=project, env=env)
    assert human.returncode == 0, human.stderr
    assert "[lgp] Thread pg1: 10 checkpoint(s)" in human.stdout

    state = lgp("state", "pg1", "--json", cwd=project, env=env)
    assert state.returncode == 0, state.stderr
    assert json.loads(state.stdout)["values"] == {"n": 15}  # (5 + 1) * 2 + 3

    cache = lgp("cache", "stats", "--json", cwd=project, env=env)  # the node cache's table
    assert cache.returncode == 0, cache.stderr
    assert json.loads(cache.stdout)["nodes"] == []


def test_an_unreachable_database_is_one_line_and_exit_2(project: Path, lgp: LgpRunner) -> None:
    use_postgres(project)
    env = {"LGP_DATABASE_URL": "postgresql://lgp:pw-s3cret-9@127.0.0.1:1/lgp"}
    for args in (("run", "tiny.py", "--input", '{"n": 1}'), ("threads",), ("history", "t1")):
        proc = lgp(*args, cwd=project, env=env)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("[lgp] ❌ Checkpoint error: cannot connect to PostgreSQL at "), (
            lines
        )
        assert "postgresql://lgp@127.0.0.1:1/lgp" in lines[0]
        assert "pw-s3cret" not in proc.stderr + proc.stdout
        assert "Traceback" not in proc.stderr
