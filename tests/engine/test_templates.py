"""Templates: ``lgp templates``, ``lgp create`` (subprocess) and the Python API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from lgp_engine import (
    Executor,
    LGPError,
    TemplateError,
    UsageError,
    WorkflowRegistry,
    check_new_workflow,
    create_workflow,
    get_template,
    list_templates,
    load_settings,
    load_workflow,
    normalize_workflow_name,
    open_checkpoints,
    resolve_target,
    save_workflow_as,
)
from lgp_engine.config import CheckpointerSettings

REPO = Path(__file__).resolve().parents[2]
EXPECTED = {  # name -> complexity, in the order `lgp templates` shows them
    "basic": "beginner",
    "data_pipeline": "intermediate",
    "multi_agent": "intermediate",
    "with_claude_code": "intermediate",
    "custom": "advanced",
}


def _template_meta(name: str) -> dict[str, Any]:
    return yaml.safe_load(
        (REPO / "lgp_engine" / "templates" / name / "template.yaml").read_text("utf-8")
    )


def _result(stdout: str) -> dict[str, Any]:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("Result: ")]
    assert len(lines) == 1, stdout
    return json.loads(lines[0].removeprefix("Result: "))


def _is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(n == h for h in it) for n in needles)


def _assert_one_line_error(proc: Any, *needles: str) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("[lgp] ❌"), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --------------------------------------------------------------------------- lgp templates


def test_templates_command_lists_name_complexity_description(project: Path, lgp) -> None:
    proc = lgp("templates", cwd=project)
    assert proc.returncode == 0, proc.stderr
    rows = [ln.rstrip().split(None, 2) for ln in proc.stdout.splitlines() if ln.strip()]
    assert rows[0] == ["NAME", "COMPLEXITY", "DESCRIPTION"]
    body = {r[0]: r for r in rows[1:]}
    assert list(body) == list(EXPECTED)
    for name, complexity in EXPECTED.items():
        assert body[name][1] == complexity
        assert body[name][2].strip() == _template_meta(name)["description"].strip()


def test_templates_command_json(project: Path, lgp) -> None:
    proc = lgp("templates", "--json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [t["name"] for t in data] == list(EXPECTED)
    for item in data:
        meta = _template_meta(item["name"])
        assert item["complexity"] == EXPECTED[item["name"]]
        assert item["description"] == meta["description"].strip()
        assert item["default_input"] == (meta.get("default_input") or {})


# --------------------------------------------------------------------------- lgp create


def test_create_basic_then_run_by_name(project: Path, lgp) -> None:
    registry = project / "workflows" / "config.yaml"
    original = registry.read_text("utf-8")

    proc = lgp("create", "my_flow", "--template", "basic", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "[lgp] ✅ Created workflows/my_flow.py from template 'basic'" in proc.stdout
    assert "Registered 'my_flow' in workflows/config.yaml" in proc.stdout
    assert "lgp run my_flow" in proc.stdout

    created = project / "workflows" / "my_flow.py"
    assert created.is_file()
    template_src = (REPO / "lgp_engine" / "templates" / "basic" / "workflow.py").read_text("utf-8")
    assert created.read_text("utf-8").endswith(template_src)

    updated = registry.read_text("utf-8")
    original_lines = original.splitlines()
    assert _is_subsequence(original_lines, updated.splitlines())
    assert [ln for ln in original_lines if ln.startswith("#")] == [
        ln for ln in updated.splitlines() if ln.startswith("#")
    ]
    entries = yaml.safe_load(updated)["workflows"]
    assert list(entries) == [
        "basic_workflow",
        "approval_workflow",
        "optimize_evaluate_ollama",
        "my_flow",
    ]
    assert entries["my_flow"]["path"] == "my_flow.py"
    assert entries["basic_workflow"] == yaml.safe_load(original)["workflows"]["basic_workflow"]

    run = lgp("run", "my_flow", "--input", '{"input": "hello"}', "--thread", "m1", cwd=project)
    assert run.returncode == 0, run.stderr
    assert "[lgp] Loading workflow: my_flow" in run.stdout
    result = _result(run.stdout)
    assert result["result"] == "HELLO"
    assert result["run_count"] == 1


def test_create_without_template_option_uses_basic_and_runs(project: Path, lgp) -> None:
    proc = lgp("create", "plain", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "from template 'basic'" in proc.stdout
    run = lgp("run", "plain", cwd=project)
    assert run.returncode == 0, run.stderr
    assert _result(run.stdout)["messages"][0] == "greet: run #1"


def test_create_data_pipeline_reads_copied_csv_and_writes_report(project: Path, lgp) -> None:
    proc = lgp("create", "sales", "--template", "data_pipeline", cwd=project)
    assert proc.returncode == 0, proc.stderr
    csv_copy = project / "workflows" / "data" / "sales_sample.csv"
    bundled = REPO / "lgp_engine" / "templates" / "data_pipeline" / "data" / "sales_sample.csv"
    assert csv_copy.read_bytes() == bundled.read_bytes()
    assert "+ workflows/data/sales_sample.csv" in proc.stdout

    # Prove the run reads the copy: add one more invalid row to it only.
    with csv_copy.open("a", encoding="utf-8") as f:
        f.write("2024-01-12,North,Widget,-3,2.50\n")
    report = project / "workflows" / "data" / "sales_report.md"
    assert not report.exists()

    run = lgp("run", "sales", "--thread", "s1", cwd=project)
    assert run.returncode == 0, run.stderr
    result = _result(run.stdout)
    assert Path(result["csv_path"]).resolve() == csv_copy.resolve()
    assert len(result["rejected"]) == 4  # 3 bad rows in the sample + the one added here
    assert "(4 rejected)" in result["summary"]
    assert report.is_file()
    assert Path(result["report_path"]).resolve() == report.resolve()
    text = report.read_text("utf-8")
    assert "rejected: 4" in text
    assert "negative value" in text


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["create", "fresh", "--template", "nope"], ["unknown template", "nope", "basic"]),
        (["create", "../x"], ["invalid workflow name", "../x"]),
        (["create", "a b"], ["invalid workflow name", "a b"]),
        (["create", "basic_workflow"], ["already exists", "--force"]),
    ],
    ids=["unknown-template", "dotdot-name", "space-name", "existing"],
)
def test_create_errors_write_nothing(
    project: Path, lgp, tree_snapshot, args: list[str], needles: list[str]
) -> None:
    before = tree_snapshot(project)
    proc = lgp(*args, cwd=project)
    _assert_one_line_error(proc, *needles)
    assert tree_snapshot(project) == before
    assert not (project / ".lgp").exists()
    assert not (project / "x.py").exists()


def test_create_over_existing_needs_force(project: Path, lgp, tree_snapshot) -> None:
    assert lgp("create", "dup", cwd=project).returncode == 0
    target = project / "workflows" / "dup.py"
    target.write_text("# my own edits\n", encoding="utf-8")
    before = tree_snapshot(project)

    again = lgp("create", "dup", "--template", "custom", cwd=project)
    _assert_one_line_error(again, "already exists", "dup")
    assert tree_snapshot(project) == before

    forced = lgp("create", "dup", "--template", "custom", "--force", cwd=project)
    assert forced.returncode == 0, forced.stderr
    custom_src = (REPO / "lgp_engine" / "templates" / "custom" / "workflow.py").read_text("utf-8")
    assert target.read_text("utf-8").endswith(custom_src)
    registry = (project / "workflows" / "config.yaml").read_text("utf-8")
    assert registry.count("\n  dup:\n") == 1
    run = lgp("run", "dup", "--input", '{"input": "x", "max_iterations": 2}', cwd=project)
    assert run.returncode == 0, run.stderr
    assert _result(run.stdout)["iterations"] == 2


def test_create_with_four_space_registry_succeeds_or_writes_nothing(
    project: Path, lgp, tree_snapshot
) -> None:
    (project / "workflows" / "config.yaml").write_text(
        "workflows:\n    basic_workflow:\n        path: basic_workflow.py\n",
        encoding="utf-8",
    )
    before = tree_snapshot(project)
    proc = lgp("create", "indented", cwd=project)
    if proc.returncode == 0:
        entries = WorkflowRegistry(project / "workflows" / "config.yaml").names()
        assert entries == ["basic_workflow", "indented"]
    else:
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
        assert tree_snapshot(project) == before


# --------------------------------------------------------------------------- Python API


def test_list_templates_api() -> None:
    found = list_templates()
    assert [t.name for t in found] == list(EXPECTED)
    for t in found:
        assert t.complexity == EXPECTED[t.name]
        assert t.description
        assert t.workflow_file.is_file()
        assert isinstance(t.default_input, dict)
    by_name = {t.name: t for t in found}
    assert by_name["data_pipeline"].files == ("data/sales_sample.csv",)
    assert by_name["basic"].default_input == {"input": "hello"}


def test_get_template_unknown_lists_available() -> None:
    with pytest.raises(TemplateError) as info:
        get_template("nope")
    assert "nope" in str(info.value)
    for name in EXPECTED:
        assert name in str(info.value)
    assert get_template("custom").name == "custom"


def test_list_templates_from_custom_folder(tmp_path: Path) -> None:
    shutil.copytree(REPO / "lgp_engine" / "templates" / "basic", tmp_path / "mine")
    meta = tmp_path / "mine" / "template.yaml"
    meta.write_text("name: mine\ndescription: Mine.\ncomplexity: advanced\n", encoding="utf-8")
    (tmp_path / "not_a_template").mkdir()
    found = list_templates(tmp_path)
    assert [(t.name, t.complexity, t.description) for t in found] == [("mine", "advanced", "Mine.")]
    meta.write_text("name: mine\ncomplexity: expert\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="complexity"):
        list_templates(tmp_path)


def test_create_workflow_api(project: Path) -> None:
    settings = load_settings("experiment", project_dir=project)
    created = create_workflow("api_flow", "custom", settings)
    assert created.path.resolve() == (project / "workflows" / "api_flow.py").resolve()
    assert created.registry == (project / "workflows" / "config.yaml").resolve()
    assert created.registered is True
    assert created.files == ()
    assert created.template.name == "custom"
    first_line = created.path.read_text("utf-8").splitlines()[0]
    assert first_line == "# Created by `lgp create api_flow --template custom`."
    entry = WorkflowRegistry(created.registry).get("api_flow")
    assert entry is not None
    assert entry.path == "api_flow.py"
    assert entry.description == get_template("custom").description

    with pytest.raises(TemplateError, match="already exists"):
        create_workflow("api_flow", "basic", settings)
    again = create_workflow("api_flow", "basic", settings, force=True)
    assert again.registered is False  # already registered: the registry is not touched twice
    assert created.registry.read_text("utf-8").count("api_flow:") == 1


@pytest.mark.parametrize(
    ("name", "template", "error"),
    [
        ("../x", "basic", UsageError),
        ("a b", "basic", UsageError),
        ("Upper", "basic", UsageError),
        ("class", "basic", UsageError),
        ("fine_name", "nope", TemplateError),
        ("basic_workflow", "basic", TemplateError),
        ("approval_workflow", "basic", TemplateError),
    ],
)
def test_create_workflow_api_rejects_without_writing(
    project: Path, tree_snapshot, name: str, template: str, error: type[LGPError]
) -> None:
    settings = load_settings("experiment", project_dir=project)
    before = tree_snapshot(project)
    with pytest.raises(error):
        create_workflow(name, template, settings)
    assert tree_snapshot(project) == before


def test_create_workflow_api_registered_name_without_file(project: Path, tree_snapshot) -> None:
    (project / "workflows" / "basic_workflow.py").unlink()
    settings = load_settings("experiment", project_dir=project)
    before = tree_snapshot(project)
    with pytest.raises(TemplateError, match="already registered"):
        create_workflow("basic_workflow", "basic", settings)
    assert tree_snapshot(project) == before


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("My Flow", "my_flow"),
        ("  my-flow.py ", "my_flow"),
        ("Crème Brûlée v2", "creme_brulee_v2"),
        ("__already_fine__", "already_fine"),
        ("a  --  b", "a_b"),
        ("2 fast", "2_fast"),  # normalized, still refused by validate_workflow_name
        ("???", ""),
    ],
)
def test_normalize_workflow_name(typed: str, name: str) -> None:
    assert normalize_workflow_name(typed) == name


def test_save_workflow_as_writes_registers_once_and_refuses_taken_names(
    project: Path, tree_snapshot
) -> None:
    settings = load_settings("experiment", project_dir=project)
    source = (project / "workflows" / "basic_workflow.py").read_text("utf-8") + "# mine\n"
    assert check_new_workflow("my_flow", settings) == settings.resolve("workflows") / "my_flow.py"
    saved = save_workflow_as("my_flow", source, settings, description="Saved from basic")
    assert saved.path.read_text("utf-8") == source
    registry = WorkflowRegistry(saved.registry)
    entry = registry.get("my_flow")
    assert entry is not None and (entry.path, entry.description) == (
        "my_flow.py",
        "Saved from basic",
    )
    assert saved.registry.read_text("utf-8").count("my_flow:") == 1
    assert load_workflow(resolve_target("my_flow", project_dir=project)).name == "my_flow"
    assert not list((project / "workflows").glob(".*"))  # no temporary file left

    (project / "workflows" / "stray.py").write_text("x = 1\n", encoding="utf-8")
    before = tree_snapshot(project)
    for name, match in [
        ("my_flow", "already exists"),  # the file, and the entry
        ("basic_workflow", "already exists"),
        ("stray", "already exists: workflows/stray.py"),  # a file, not registered
        ("2_fast", "invalid workflow name"),
        ("class", "invalid workflow name"),
    ]:
        with pytest.raises(LGPError, match=match) as caught:
            check_new_workflow(name, settings)
        assert "force" not in str(caught.value)  # Save As has no overwrite option
        with pytest.raises(LGPError, match=match):
            save_workflow_as(name, "x = 2\n", settings)
    assert tree_snapshot(project) == before
    (project / "workflows" / "my_flow.py").unlink()  # registered, no file: still taken
    with pytest.raises(TemplateError, match="already registered"):
        save_workflow_as("my_flow", "x = 2\n", settings)
    assert not (project / "workflows" / "my_flow.py").exists()
    assert saved.registry.read_text("utf-8").count("my_flow:") == 1


def test_save_workflow_as_removes_the_file_when_registering_fails(project: Path) -> None:
    settings = load_settings("experiment", project_dir=project)
    registry = project / "workflows" / "config.yaml"
    before = registry.read_text("utf-8")
    # the registry is replaced through a temporary file: a folder in its place fails it
    registry.with_name(".config.yaml.tmp").mkdir()
    with pytest.raises(OSError):
        save_workflow_as("blocked_flow", "x = 1\n", settings)
    assert not (project / "workflows" / "blocked_flow.py").exists()
    assert registry.read_text("utf-8") == before


@pytest.mark.parametrize("template", list(EXPECTED))
def test_every_template_runs_through_the_api(
    project: Path, template: str, request: pytest.FixtureRequest
) -> None:
    settings = load_settings("experiment", project_dir=project)
    agents = None
    if template == "multi_agent":  # its models: the local OpenAI-compatible server
        from lgp_engine import AgentRuntime
        from lgp_engine.providers.settings import LlmProviderSettings
        from tests.conftest import FAKE_OPENAI_KEY

        fake = request.getfixturevalue("fake_openai")
        ollama = LlmProviderSettings(base_url=fake.base_url, api_key=FAKE_OPENAI_KEY)  # type: ignore[call-arg]
        agents = AgentRuntime(settings.model_copy(update={"llm_providers": {"ollama": ollama}}))
        fake.script({"match": "demanding editor", "content": "APPROVE"})
    if template == "with_claude_code":  # the real Claude Code CLI, on the local server
        from pydantic import SecretStr

        from lgp_engine import AgentRuntime

        claude = request.getfixturevalue("fake_anthropic")
        claude.script({"text": "Added the README."})
        (project / "home").mkdir()
        cc = settings.claude_code.model_copy(
            update={
                "base_url": claude.url,
                "api_key": SecretStr("sk-ant-test"),
                "env": {
                    "HOME": str(project / "home"),
                    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                },
                "max_retries": 0,
            }
        )
        agents = AgentRuntime(settings.model_copy(update={"claude_code": cc}))
    name = f"from_{template}"
    create_workflow(name, template, settings)
    memory = settings.model_copy(update={"checkpointer": CheckpointerSettings(backend="memory")})
    source = resolve_target(
        name, project_dir=project, registry_file=project / "workflows" / "config.yaml"
    )
    loaded = load_workflow(source)
    inputs = dict(get_template(template).default_input)
    if template == "data_pipeline":
        inputs["report_path"] = str(project / "report.md")
    with open_checkpoints(memory) as store:
        result = Executor(loaded, store, agents=agents).invoke(inputs, thread_id="api")
    assert result.status == "completed", result.error
    out = result.output
    if template == "basic":
        assert out["result"] == "HELLO"
    elif template == "custom":
        assert out["iterations"] == 3
        assert out["history"][-1] == "finalize after 3 refinement(s)"
    elif template == "with_claude_code":
        assert out["coder_output"] == "Added the README."
        assert out["coder_session_id"] and "Task: Add a README.md" in out["plan"]
    elif template == "multi_agent":
        assert out["reviewer_output"] == "APPROVE"
        assert out["writer_output"].startswith("llama3.2 says: Task:")
    else:
        assert len(out["rejected"]) == 3
        assert (project / "report.md").is_file()
    assert not (project / ".lgp").exists()
