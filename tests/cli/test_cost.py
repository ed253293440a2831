"""``lgp cost`` and the TOKENS / COST of ``lgp runs``: real ``lgp`` processes over runs
of the three-agent ``team`` workflow against the local OpenAI-compatible server."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lgp_engine.cli.cost import parse_since
from lgp_engine.errors import UsageError
from tests.cli.test_commands import assert_one_line_error, table_rows
from tests.conftest import copy_project
from tests.processes import run_lgp
from tests.servers.openai_fake import FakeOpenAI
from tests.usage_project import TEAM_CALLS, TEAM_RUN, script_team, team_project

# The runs of the module's project are made once: its tests stay on one worker.
pytestmark = pytest.mark.xdist_group("cli_cost")

DAY = 86400


@pytest.fixture(scope="module")
def spent(
    tmp_path_factory: pytest.TempPathFactory, openai_server: FakeOpenAI
) -> Iterator[dict[str, Any]]:
    """Two team runs (the first made to look 10 days old) and a basic run (no model)."""
    openai_server.reset()
    project = team_project(tmp_path_factory.mktemp("cost") / "project", openai_server)
    script_team(openai_server, runs=2)
    ids = {}
    for name, args in (
        ("old", ("team", "--thread", "c1")),
        ("new", ("team", "--thread", "c2")),
        ("basic", ("basic_workflow", "--input", '{"input": "hi"}', "--thread", "b1")),
    ):
        proc = run_lgp("run", *args, "--json", cwd=project)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        ids[name] = json.loads(proc.stdout.splitlines()[0])["run_id"]
    assert openai_server.pending()["responses"] == []  # every scripted reply was used
    with sqlite3.connect(project / ".lgp" / "checkpoints.db") as db:
        db.execute(
            "UPDATE lgp_runs SET created_at = created_at - ? WHERE run_id = ?",
            (10 * DAY, ids["old"]),
        )
    yield {"project": project, "ids": ids}
    openai_server.reset()


def cost_json(project: Path, *args: str) -> dict[str, Any]:
    proc = run_lgp("cost", "--json", *args, cwd=project)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_runs_lists_tokens_and_cost_and_json_keeps_usage(spent: dict[str, Any]) -> None:
    project, ids = spent["project"], spent["ids"]
    proc = run_lgp("runs", cwd=project)
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[0].split()
    assert header[-2:] == ["TOKENS", "COST"]
    rows = {row[0]: row for row in table_rows(proc.stdout)}
    assert rows[ids["new"]][-2:] == [f"{TEAM_RUN['total_tokens']:,}", "$0.009270"]
    assert rows[ids["old"]][-2:] == ["4,101", "$0.009270"]
    assert rows[ids["basic"]][-2:] == ["-", "-"]  # no model calls

    listed = run_lgp("runs", "--json", cwd=project)
    by_id = {r["run_id"]: r for r in json.loads(listed.stdout)}
    usage = by_id[ids["new"]]["usage"]
    assert (usage["calls"], usage["total_tokens"]) == (3, TEAM_RUN["total_tokens"])
    assert usage["cost_usd"] == pytest.approx(TEAM_RUN["cost_usd"])
    assert set(usage["by_model"]) == set(TEAM_RUN["by_model"])
    assert by_id[ids["basic"]]["usage"] is None


def test_cost_prints_totals_then_models_then_workflows(spent: dict[str, Any]) -> None:
    proc = run_lgp("cost", cwd=spent["project"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "[lgp] 3 runs; 2 called a model (6 calls)"
    assert lines[1] == "[lgp] Total: 8,202 tokens (7,000 in, 1,202 out), $0.0185"
    blocks = "\n".join(lines[2:]).strip().split("\n\n")
    models, workflows = (table_rows(block) for block in blocks)
    assert blocks[0].split()[:5] == ["MODEL", "CALLS", "INPUT", "OUTPUT", "COST"]
    assert models == [  # costliest first
        ["openai:gpt-4o", "2", "4,000", "800", "$0.0180"],
        ["openai:gpt-4o-mini", "2", "2,000", "400", "$0.000540"],
        ["ollama:llama3.2", "2", "1,000", "2", "$0.00"],
    ]
    assert blocks[1].split()[:6] == ["WORKFLOW", "RUNS", "CALLS", "INPUT", "OUTPUT", "COST"]
    assert workflows == [
        ["team", "2", "6", "7,000", "1,202", "$0.0185"],
        ["basic_workflow", "1", "0", "0", "0", "$0.00"],
    ]


def test_cost_json_filters_by_since_and_workflow(spent: dict[str, Any]) -> None:
    project = spent["project"]
    everything = cost_json(project)
    assert (everything["runs"], everything["runs_with_usage"], everything["calls"]) == (3, 2, 6)
    assert everything["total_tokens"] == 2 * TEAM_RUN["total_tokens"]
    assert everything["cost_usd"] == pytest.approx(2 * TEAM_RUN["cost_usd"])
    assert everything["workflow"] is None and everything["since"] is None
    for role, _, model, prompt, completion, _ in TEAM_CALLS:
        entry = everything["by_model"][model]
        assert (entry["calls"], entry["runs"]) == (2, 2), role
        assert (entry["input_tokens"], entry["output_tokens"]) == (2 * prompt, 2 * completion)

    week = cost_json(project, "--since", "7d")  # the backdated run is left out
    assert (week["runs"], week["calls"]) == (2, 3)
    assert week["cost_usd"] == pytest.approx(TEAM_RUN["cost_usd"])
    assert dt.datetime.fromisoformat(week["since"]) < dt.datetime.now(dt.UTC)

    month_ago = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    assert cost_json(project, "--since", month_ago)["runs"] == 3
    future = cost_json(project, "--since", "2999-01-01T00:00:00+00:00")
    assert (future["runs"], future["by_model"], future["by_workflow"]) == (0, {}, {})

    team = cost_json(project, "--workflow", "team", "--since", "240h")
    assert (team["runs"], team["calls"], team["workflow"]) == (1, 3, "team")
    assert list(team["by_workflow"]) == ["team"]
    basic = cost_json(project, "-w", "basic_workflow")
    assert (basic["runs"], basic["calls"], basic["cost_usd"], basic["by_model"]) == (1, 0, 0, {})


def test_cost_of_an_unknown_workflow_or_a_quiet_period_says_so(spent: dict[str, Any]) -> None:
    project = spent["project"]
    proc = run_lgp("cost", "--workflow", "nope", "--since", "2999-01-01", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[lgp] No runs of workflow nope since 2999-01-01 00:00."


def test_cost_without_a_store_creates_nothing(tmp_path: Path, tree_snapshot: Any) -> None:
    project = copy_project(tmp_path / "fresh")
    before = tree_snapshot(project)
    human = run_lgp("cost", cwd=project)
    assert (human.returncode, human.stdout.strip()) == (0, "[lgp] No runs yet."), human.stderr
    machine = run_lgp("cost", "--json", "--since", "7d", cwd=project)
    assert machine.returncode == 0, machine.stderr
    assert json.loads(machine.stdout)["runs"] == 0
    assert tree_snapshot(project) == before
    assert not (project / ".lgp").exists()


@pytest.mark.parametrize("bad", ["yesterday", "7y", "2026-13-01", "-3d", ""])
def test_a_bad_since_is_one_line_and_exit_2(tmp_path: Path, bad: str) -> None:
    project = copy_project(tmp_path / "p")
    proc = run_lgp("cost", "--since", bad, cwd=project)
    line = assert_one_line_error(proc, "Invalid input: --since must be", "7d", repr(bad))
    assert "Traceback" not in line
    assert not (project / ".lgp").exists()


def test_since_forms() -> None:
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    assert parse_since("7d", now=now) == now - dt.timedelta(days=7)
    assert parse_since("24h", now=now) == now - dt.timedelta(hours=24)
    assert parse_since("30m", now=now) == now - dt.timedelta(minutes=30)
    assert parse_since(" 2W ", now=now) == now - dt.timedelta(weeks=2)
    midnight = parse_since("2026-03-01")
    assert midnight.tzinfo is not None  # local midnight, as an aware time
    assert midnight.replace(tzinfo=None) == dt.datetime(2026, 3, 1)
    assert parse_since("2026-03-01T09:30:00+02:00") == dt.datetime(2026, 3, 1, 7, 30, tzinfo=dt.UTC)
    assert parse_since("2026-03-01T09:30Z") == dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    local = parse_since("2026-03-01 09:30")
    assert local.utcoffset() == local.astimezone().utcoffset()
    with pytest.raises(UsageError) as info:
        parse_since("last week")
    assert info.value.field == "since"
