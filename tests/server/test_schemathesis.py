"""The OpenAPI document says what the server really does: Schemathesis, with all its
checks, against a real `lgp serve` with an API key.

Schemathesis reads `/openapi.json`, then sends requests the document calls valid
(they must be accepted) and invalid (they must be refused with a 4xx), follows the
document's links from one operation to the next, and checks every answer: no 5xx,
no dropped connection, the status, media type, headers and body each as documented.
Its settings are in the repository's `schemathesis.toml`, each with the reason.

The run is bounded in time (`MAX_TIME`) with a fixed seed; `LGP_SCHEMATHESIS_SECONDS`
and `LGP_SCHEMATHESIS_SEED` run it longer or with another seed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lgp_engine.ids import THREAD_ID_PATTERN, thread_id_problem
from lgp_engine.server.json_guard import MAX_NUMBER, MIN_NUMBER, BodyProblem, check_json_body
from tests.conftest import REPO
from tests.server.conftest import make_server_project
from tests.server.server_process import ServerProcess

KEY = "schemathesis-key"
# 20 s in `make test` (it runs beside the rest of the suite on 2 cores), 60 s in CI
MAX_TIME = int(os.environ.get("LGP_SCHEMATHESIS_SECONDS", "60" if os.environ.get("CI") else "20"))
SEED = os.environ.get("LGP_SCHEMATHESIS_SEED", "20261130")
CONFIG = REPO / "schemathesis.toml"
SCHEMATHESIS = [sys.executable, "-m", "schemathesis.cli"]  # the CLI of this environment

# Workflows whose runs end quickly whatever their input: the slow and burst test
# workflows would sleep or loop as long as a generated number says.
SERVED = """
workflows:
  basic_workflow: {path: basic_workflow.py}
  approval_workflow: {path: approval_workflow.py}
  tiny: {path: tiny.py}
  boom: {path: boom.py}
"""


def _project(root: Path) -> Path:
    project = make_server_project(
        root,
        api_keys=[KEY],
        # Schemathesis sends thousands of requests a minute, and some without a key on
        # purpose (the auth checks): neither must throttle the run into 429s
        rate_limit_per_minute=10_000_000,
        auth_failures_per_minute=10_000_000,
    )
    for name in ("slow.py", "burst.py"):
        (project / "workflows" / name).unlink()
    (project / "workflows" / "config.yaml").write_text(textwrap.dedent(SERVED).lstrip())
    return project


def _runs_started(metrics: str) -> float:
    """``lgp_runs_total{event="started"}`` from the Prometheus text."""
    for line in metrics.splitlines():
        if line.startswith('lgp_runs_total{event="started"}'):
            return float(line.split()[-1])
    return 0.0


def _summary(report: dict[str, Any], output: str) -> str:
    """What went wrong, for the assertion message: the report's failure groups and the
    CLI's own failure details (with a curl line per failure)."""
    lines = [
        f"seed {report.get('seed')}, {report.get('running_time', 0):.0f}s, "
        f"test cases: {report.get('test_cases')}",
        *(
            f"- {f['code']} {f['title']} ({f['count']}): {', '.join(f['operations'])}"
            for f in report.get("failures", [])
        ),
        *(f"- error: {e['title']} ({e['count']})" for e in report.get("errors", [])),
    ]
    found = [i for i in (output.find("= ERRORS ="), output.find("= FAILURES =")) if i >= 0]
    details = output[output.rfind("\n", 0, min(found)) + 1 :] if found else output[-6000:]
    return "\n".join(lines) + "\n\n" + details[:20000]


def test_the_server_does_what_its_openapi_document_says(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    report_path = tmp_path / "report.json"
    with ServerProcess(project) as server:
        done = subprocess.run(
            [
                *SCHEMATHESIS,
                "--config-file",
                str(CONFIG),
                "--no-color",
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {KEY}",
                "--checks",
                "all",
                "--max-time",
                str(MAX_TIME),
                "--seed",
                SEED,
                # a hung request is a finding, not a hung test
                "--request-timeout",
                "30",
                "--generation-database",
                "none",
                "--report",
                "json",
                "--report-json-path",
                str(report_path),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=MAX_TIME + 120,
            check=False,
        )
        with server.client(KEY) as http:
            # the guard's limits hold against the same server: refused before any run
            started = _runs_started(http.get("/metrics").text)
            refused = [
                http.post("/workflows/tiny/invoke", content=body, headers=JSON)
                for body in BODIES_BEYOND_LIMITS.values()
            ]
            started_after = _runs_started(http.get("/metrics").text)
            # a concrete path (/runs/stream) before a templated one (/runs/{run_id}), and
            # a path's methods are all its operations, whichever route has them
            not_allowed = {
                path: http.request(method, path)
                for method, path in [
                    ("OPTIONS", "/runs/stream"),
                    ("GET", "/runs/wait"),
                    ("PUT", "/threads/t1"),
                    ("OPTIONS", "/threads/t1/history"),
                ]
            }
        server_log = "".join(server.output)

    assert report_path.exists(), f"no report (exit {done.returncode}):\n{done.stdout[-4000:]}"
    report = json.loads(report_path.read_text())
    summary = _summary(report, done.stdout)
    print(summary.splitlines()[0])  # shown with -s / -rA: what this run covered

    codes = {f["code"] for f in report["failures"]}
    found = {
        "server errors (5xx)": "ST101" in codes,
        "dropped connections, timeouts or other errors": bool(report["errors"]),
        # ST1xx: an answer unlike the document (status, media type, headers, body, SSE)
        "answers unlike the document": any(c.startswith("ST1") and c != "ST101" for c in codes),
        # valid requests refused, invalid ones accepted, Allow headers, auth...
        "other failures": any(not c.startswith("ST1") for c in codes),
        "an unfinished run": not report["complete"],
    }
    problems = [what for what, yes in found.items() if yes]
    if report["exit_code"] != 0 and not problems:
        problems.append(f"exit code {report['exit_code']}")
    if problems:
        pytest.fail(f"Schemathesis: {'; '.join(problems)}\n\n{summary}", pytrace=False)
    operations = report["operations"]
    assert operations["tested"] == operations["selected"] > 30, summary
    # a floor that scales with the time given: ~20 cases a second on 2 cores busy with
    # the rest of the suite, ~5 when something else loads the machine too
    assert report["test_cases"]["generated"] > 3 * MAX_TIME, summary
    assert "Traceback" not in server_log, server_log[-4000:]

    for name, response in zip(BODIES_BEYOND_LIMITS, refused, strict=True):
        assert response.status_code == 422, (name, response.text)
        assert response.json()["errors"][0]["loc"][0] == "body"
    assert started_after == started > 0
    assert {path: (r.status_code, r.headers.get("allow")) for path, r in not_allowed.items()} == {
        "/runs/stream": (405, "POST"),
        "/runs/wait": (405, "POST"),
        "/threads/t1": (405, "DELETE, GET, PATCH"),
        "/threads/t1/history": (405, "GET, POST"),
    }


JSON = {"content-type": "application/json"}
#: Bodies the guard refuses (422) before any route runs: the document's JsonValue.
BODIES_BEYOND_LIMITS = {
    "2^64": b'{"input": {"n": 18446744073709551616}}',
    "-2^63 - 1": b'{"input": {"n": -9223372036854775809}}',
    "1e400 (infinity)": b'{"input": {"n": 1e400}}',
    "2^64 as a float": b'{"input": {"n": 1.8446744073709552e19}}',
    "500 deep": b'{"input": {"n": ' + b"[" * 500 + b"]" * 500 + b"}}",
}


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        (b'{"n": 18446744073709551615}', True),
        (b'{"n": -9223372036854775808}', True),
        (b'{"n": 1.5e19, "m": -1e-300}', True),
        *((body, False) for body in BODIES_BEYOND_LIMITS.values()),
    ],
    ids=["2^64 - 1", "-2^63", "floats in range", *BODIES_BEYOND_LIMITS],
)
def test_the_body_guard_takes_the_numbers_the_document_allows(text: bytes, ok: bool) -> None:
    assert MIN_NUMBER == -(2**63) and MAX_NUMBER == 2**64 - 1  # what JsonValue says
    try:
        check_json_body(text)
    except BodyProblem:
        assert not ok
    else:
        assert ok


def test_the_thread_id_pattern_is_the_rule() -> None:
    """The document's pattern refuses exactly what ``thread_id_problem`` refuses, for
    every character that can reach it (lone surrogates cannot: see ``lgp_engine.ids``).
    ``fullmatch``: in a JSON Schema (ECMAScript) ``$`` is the very end, while Python's
    ``re.match`` lets it match before a final newline."""
    pattern = re.compile(THREAD_ID_PATTERN)
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        for value in (chr(code), f"a{chr(code)}b", f"{chr(code)}b", f"a{chr(code)}"):
            assert (pattern.fullmatch(value) is None) == (thread_id_problem(value) is not None), (
                hex(code),
                value,
            )
    for value in ("x" * 200, "x" * 201, "", " ", "a b", "ü/", "🦜"):
        assert (pattern.fullmatch(value) is None) == (thread_id_problem(value) is not None), value
