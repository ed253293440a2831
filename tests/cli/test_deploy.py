"""``lgp deploy`` (issue 15): the environment is checked, the Dockerfile, compose file
and Kubernetes manifests are written, and the image's command runs here and answers
``/health``.

The manifests are checked against Kubernetes' own JSON schemas (kubernetes-validate,
strict: an unknown field fails too). The Dockerfile cannot be built here (no Docker
daemon): it is read instruction by instruction, and ``lgp deploy`` itself runs its
command here and checks ``/health`` (the test checks that it ran exactly that
command, in the image's environment). ``--apply`` meets the real ``docker`` client
without a daemon, and a ``kubectl`` without a context."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as k8s_schemas

from tests.conftest import LgpRunner

API_KEY = "deploy-test-key-0f9e8d7c6b5a"
DB_PASSWORD = "db-pass-never-shown-4821"
# Not the repository's values: the manifests must take them from the project's file.
AUTO_SCALING = """\
auto_scaling:
  min_replicas: 3
  max_replicas: 7
  target_cpu_percent: 65
  target_requests_per_second: 12.5
"""
K8S_KINDS = {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


# --------------------------------------------------------------------------- helpers


def with_auto_scaling(project: Path, block: str) -> None:
    """Replace the ``auto_scaling`` section of the project's production config."""
    config = project / "config" / "production.yaml"
    text = config.read_text(encoding="utf-8").split("auto_scaling:", 1)[0]
    config.write_text(text.rstrip("\n") + "\n" + block, encoding="utf-8")


@contextlib.contextmanager
def listening() -> Iterator[int]:
    """A TCP port something listens on (a database's address, for a reachability check)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a failed command."""
    lines = [ln for ln in proc.stderr.splitlines() if "❌" in ln]
    assert len(lines) == 1, proc.stdout + proc.stderr
    return lines[0]


def instructions(path: Path) -> list[tuple[str, str]]:
    """A Dockerfile as ``(INSTRUCTION, arguments)``, continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not pending and (not text or text.startswith("#")):
            continue
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        word, _, rest = (pending + text).partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    return out


def image_env(steps: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in steps:
        if word == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(rest))  # type: ignore[misc]
    return env


def manifests(folder: Path) -> dict[str, dict[str, Any]]:
    """The Kubernetes objects in ``folder`` by kind."""
    docs = [d for f in sorted(folder.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text())]
    return {d["kind"]: d for d in docs}


def every_file_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- k8s


@dataclass(frozen=True)
class Deployed:
    project: Path
    proc: subprocess.CompletedProcess[str]
    db_port: int

    @property
    def out(self) -> Path:
        return self.project / "deploy"


@pytest.fixture(scope="module")
def deployed(
    tmp_path_factory: pytest.TempPathFactory, make_project: Any, lgp: LgpRunner
) -> Deployed:
    """``lgp deploy basic_workflow --target k8s`` once, health check included, with
    an API key and a reachable LGP_DATABASE_URL."""
    project = make_project(tmp_path_factory.mktemp("deploy") / "project")
    with_auto_scaling(project, AUTO_SCALING)
    with listening() as port:
        url = f"postgresql://lgp:{DB_PASSWORD}@127.0.0.1:{port}/lgp"
        env = {"LGP_API_KEY": API_KEY, "LGP_DATABASE_URL": url}
        proc = lgp("deploy", "basic_workflow", "--target", "k8s", cwd=project, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return Deployed(project, proc, port)


@pytest.mark.xdist_group("deploy_k8s")  # one worker: the fixture's deploy runs once
class TestKubernetes:
    def test_the_manifests_pass_the_kubernetes_schemas(self, deployed: Deployed) -> None:
        objects = manifests(deployed.out / "k8s")
        assert set(objects) == K8S_KINDS
        version = k8s_schemas.latest_version()
        for obj in objects.values():
            k8s_schemas.validate(obj, version, strict=True)  # raises on any violation
        # and the validator does bite: a misspelt field fails
        broken = json.loads(json.dumps(objects["HorizontalPodAutoscaler"]))
        broken["spec"]["minReplica"] = broken["spec"].pop("minReplicas")
        with pytest.raises(k8s_schemas.ValidationError, match="minReplica"):
            k8s_schemas.validate(broken, version, strict=True)

    def test_the_autoscaler_takes_auto_scaling_from_production_yaml(
        self, deployed: Deployed
    ) -> None:
        objects = manifests(deployed.out / "k8s")
        spec = objects["HorizontalPodAutoscaler"]["spec"]
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": objects["Deployment"]["metadata"]["name"],
        }
        assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 7)
        cpu, rps = spec["metrics"]
        assert cpu["resource"] == {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 65},
        }
        assert rps["type"] == "Pods"
        assert rps["pods"]["metric"]["name"] == "lgp_http_requests_per_second"
        assert rps["pods"]["target"] == {"type": "AverageValue", "averageValue": "12500m"}
        assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300  # default
        assert objects["Deployment"]["spec"]["replicas"] == 3

    def test_the_deployment_is_probed_on_health_and_reads_a_secret(
        self, deployed: Deployed
    ) -> None:
        objects = manifests(deployed.out / "k8s")
        deployment = objects["Deployment"]
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
        assert container["ports"] == [{"name": "http", "containerPort": 8123, "protocol": "TCP"}]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        env = {e["name"]: e for e in container["env"]}
        assert env["LGP_ENV"] == {"name": "LGP_ENV", "value": "production"}
        secret = deployment["metadata"]["name"] + "-secrets"
        assert env["LGP_API_KEY"]["valueFrom"]["secretKeyRef"] == {
            "name": secret,
            "key": "LGP_API_KEY",
        }
        for name in ("LGP_DATABASE_URL", "LGP_REDIS_URL"):
            assert env[name]["valueFrom"]["secretKeyRef"] == {
                "name": secret,
                "key": name,
                "optional": True,  # the Postgres backend is not there yet
            }
        labels = deployment["spec"]["selector"]["matchLabels"]
        assert objects["Service"]["spec"]["selector"] == labels
        assert objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
        assert pod["volumes"] and all("emptyDir" in v for v in pod["volumes"])
        # the secrets themselves are nowhere in what was written, nor in the output
        written = every_file_text(deployed.out)
        shown = deployed.proc.stdout + deployed.proc.stderr
        for value in (API_KEY, DB_PASSWORD):
            assert value not in written
            assert value not in shown

    def test_the_dockerfile_is_slim_non_root_and_health_checked(self, deployed: Deployed) -> None:
        steps = instructions(deployed.out / "Dockerfile")
        words = [w for w, _ in steps]
        [base] = [rest for w, rest in steps if w == "FROM"]
        assert re.fullmatch(r"python:3\.\d+-slim", base)
        [user] = [rest for w, rest in steps if w == "USER"]
        assert all(part.isdigit() and int(part) != 0 for part in user.split(":"))
        assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")
        [check] = [rest for w, rest in steps if w == "HEALTHCHECK"]
        assert "/health" in check and "CMD" in check
        assert json.loads(check.split("CMD", 1)[1])[0] == "python"  # slim has no curl
        cmd = json.loads(next(rest for w, rest in steps if w == "CMD"))
        assert cmd == ["lgp", "serve", "basic_workflow", "--host", "0.0.0.0", "--port", "8123"]
        assert image_env(steps)["LGP_ENV"] == "production"
        assert ("EXPOSE", "8123") in steps
        # the project goes in, and the engine is installed (the project is not its source)
        assert ("COPY", ". /app") in steps
        assert ("RUN", 'pip install "$LGP_PACKAGE"') in steps
        ignored = (deployed.out / "Dockerfile.dockerignore").read_text().splitlines()
        assert {".lgp", ".env", ".git", ".venv"} <= set(ignored)  # local state and secrets

    def test_deploy_validates_writes_and_health_checks_in_order(self, deployed: Deployed) -> None:
        out = deployed.proc.stdout.splitlines()

        def index(pattern: str) -> int:
            found = [i for i, ln in enumerate(out) if re.search(pattern, ln)]
            assert found, f"no line matching {pattern!r} in:\n{deployed.proc.stdout}"
            return found[0]

        order = [
            index(r"^\[lgp\] ✅ Environment validated \(config/production\.yaml: API key set"),
            index(r"✅ Database: SQLite \.lgp/production\.db"),
            index(
                rf"✅ PostgreSQL reachable at 127\.0\.0\.1:{deployed.db_port} \(LGP_DATABASE_URL"
            ),
            index(r"✅ Providers: none needed"),
            index(r"✅ Dockerfile written: deploy/Dockerfile"),
            index(r"✅ Kubernetes manifests written: deploy/k8s/ .*3-7 replicas at 65% CPU"),
            index(r"Starting the image's command here: lgp serve basic_workflow"),
            index(r"^\[lgp\] ✅ Health check passed \(http://127\.0\.0\.1:\d+/health in "),
            index(r"kubectl apply -f deploy/k8s/"),
        ]
        assert order == sorted(order)
        # what ran here and answered /health is the Dockerfile's command, word for word,
        # in the image's environment
        started = out[index("Starting the image's command here")]
        steps = instructions(deployed.out / "Dockerfile")
        cmd = json.loads(next(rest for w, rest in steps if w == "CMD"))
        assert f"here: {shlex.join(cmd)} (LGP_ENV={image_env(steps)['LGP_ENV']}," in started
        passed = out[index("Health check passed")]
        assert passed.endswith(": environment production, workflows basic_workflow); stopped")
        # SQLite with several pods is said plainly
        assert "3-7 pods on SQLite: each pod keeps its own" in deployed.proc.stderr


# --------------------------------------------------------------------------- compose


def test_compose_runs_replicas_with_postgres_and_redis(project: Path, lgp: LgpRunner) -> None:
    proc = lgp(
        "deploy", "basic_workflow", "--target", "compose", "--no-health-check",
        cwd=project, env={"LGP_API_KEY": API_KEY},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Health check: skipped (--no-health-check)" in proc.stdout
    out = project / "deploy"
    compose = yaml.safe_load((out / "compose.yaml").read_text())
    assert set(compose["services"]) == {"lgp", "postgres", "redis"}
    lgp_service = compose["services"]["lgp"]
    build = lgp_service["build"]
    assert (out / build["context"] / build["dockerfile"]).resolve() == out / "Dockerfile"
    assert lgp_service["deploy"]["replicas"] == 2  # config/production.yaml's min_replicas
    env = lgp_service["environment"]
    assert env["LGP_ENV"] == "production"
    assert env["LGP_API_KEY"] == "${LGP_API_KEY:?set LGP_API_KEY}"  # from the shell
    assert env["LGP_DATABASE_URL"].startswith("postgresql://lgp:${POSTGRES_PASSWORD")
    assert env["LGP_DATABASE_URL"].endswith("@postgres:5432/lgp")
    assert env["LGP_REDIS_URL"] == "redis://redis:6379/0"
    assert set(lgp_service["depends_on"]) == {"postgres", "redis"}
    assert all(c == {"condition": "service_healthy"} for c in lgp_service["depends_on"].values())
    assert lgp_service["volumes"] == ["lgp-data:/app/.lgp"]  # replicas share the SQLite file
    assert "healthcheck" in compose["services"]["postgres"]
    assert not (out / "k8s").exists()
    assert API_KEY not in every_file_text(out)


# --------------------------------------------------------------------------- --apply


def docker_daemon_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )
    return probe.returncode == 0


def test_apply_says_when_docker_has_no_daemon(project: Path, lgp: LgpRunner) -> None:
    if docker_daemon_answers():
        pytest.skip("a Docker daemon runs here: --apply would really build")
    proc = lgp(
        "deploy", "basic_workflow", "--target", "docker", "--apply", "--no-health-check",
        cwd=project, env={"LGP_API_KEY": API_KEY},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = error_line(proc)
    if shutil.which("docker") is None:
        assert "cannot apply: docker is not installed" in line
    else:  # the real client, and no daemon behind it
        assert "cannot apply: the Docker daemon is not reachable (" in line
        assert "Cannot connect to the Docker daemon" in line
    assert "the files are in deploy/: run `docker build -f deploy/Dockerfile" in line
    assert (project / "deploy" / "Dockerfile").is_file()  # written all the same


def test_apply_says_when_docker_is_not_installed(
    project: Path, lgp: LgpRunner, tmp_path: Path
) -> None:
    proc = lgp(
        "deploy", "basic_workflow", "--target", "compose", "--apply", "--no-health-check",
        cwd=project, env={"LGP_API_KEY": API_KEY, "PATH": str(tmp_path)},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = error_line(proc)
    assert "cannot apply: docker is not installed (no docker on PATH)" in line
    assert "run `docker compose -f deploy/compose.yaml up -d --build` where Docker runs" in line


def test_apply_says_when_kubectl_has_no_context(
    project: Path, lgp: LgpRunner, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    proc = lgp(
        "deploy", "basic_workflow", "--target", "k8s", "--apply", "--no-health-check",
        cwd=project, env={"LGP_API_KEY": API_KEY, "KUBECONFIG": str(kubeconfig)},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = error_line(proc)
    if shutil.which("kubectl") is None:
        assert "cannot apply: kubectl is not installed" in line
    else:
        assert "cannot apply: kubectl has no current context (" in line
    assert "run `kubectl apply -f deploy/k8s/` with a kubectl context" in line


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no_api_key", r"Configuration error: a deployed server needs an API key.*set LGP_API_KEY"),
        (
            "database_down",
            r"Deploy error: PostgreSQL is not reachable at 127\.0\.0\.1:\d+ \(LGP_DATABASE_URL\)",
        ),
        ("not_a_database_url", r"Configuration error: LGP_DATABASE_URL must be a postgres://"),
        ("sqlite_under_a_file", r"the SQLite database .* cannot be created: .* is a file"),
        (
            "bad_auto_scaling",
            r"config/production\.yaml:\d+: auto_scaling: Value error, max_replicas \(1\) is "
            r"below min_replicas \(3\)",
        ),
        ("provider_missing", r"agent role 'writer' uses provider 'ollama', which is not config"),
    ],
)
def test_a_bad_environment_is_one_line_and_exit_2(
    project: Path, lgp: LgpRunner, case: str, expected: str
) -> None:
    env = {"LGP_API_KEY": API_KEY}
    workflow = "basic_workflow"
    if case == "no_api_key":
        del env["LGP_API_KEY"]
    elif case == "database_down":
        env["LGP_DATABASE_URL"] = f"postgresql://lgp:{DB_PASSWORD}@127.0.0.1:{closed_port()}/x"
    elif case == "not_a_database_url":
        env["LGP_DATABASE_URL"] = f"mysql://lgp:{DB_PASSWORD}@db/x"
    elif case == "sqlite_under_a_file":
        env["LGP_DB"] = "workflows/config.yaml/state.db"
    elif case == "bad_auto_scaling":
        with_auto_scaling(project, "auto_scaling:\n  min_replicas: 3\n  max_replicas: 1\n")
    elif case == "provider_missing":
        workflow = "optimize_evaluate_ollama"  # its roles run on ollama; production has none
    proc = lgp("deploy", workflow, "--target", "k8s", cwd=project, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = error_line(proc)
    assert re.search(expected, line), line
    assert DB_PASSWORD not in proc.stdout + proc.stderr
    assert not (project / "deploy").exists()  # nothing written before the checks pass


def test_files_it_did_not_write_are_kept_unless_forced(project: Path, lgp: LgpRunner) -> None:
    mine = project / "deploy" / "Dockerfile"
    mine.parent.mkdir()
    mine.write_text("FROM scratch\n")
    args = ("deploy", "basic_workflow", "--target", "docker", "--no-health-check")
    env = {"LGP_API_KEY": API_KEY}
    proc = lgp(*args, cwd=project, env=env)
    assert proc.returncode == 2
    assert "deploy/Dockerfile exists and was not written by lgp deploy (pass --force" in (
        error_line(proc)
    )
    assert mine.read_text() == "FROM scratch\n"
    assert lgp(*args, "--force", cwd=project, env=env).returncode == 0
    assert mine.read_text().startswith("# syntax=docker/dockerfile:1\n# Generated by `lgp deploy")
    assert lgp(*args, cwd=project, env=env).returncode == 0  # its own files: replaced


def test_help_teaches_targets_checks_and_apply(project: Path, lgp: LgpRunner) -> None:
    proc = lgp("deploy", "--help", cwd=project)
    assert proc.returncode == 0
    for text in (
        "--target [docker|compose|k8s]",
        "--apply",
        "--no-health-check",
        "LGP_API_KEY",
        "HorizontalPodAutoscaler",
        "lgp deploy basic_workflow --target k8s",
        "exits 2",
    ):
        assert text in proc.stdout, text
    missing = lgp("deploy", "basic_workflow", cwd=project)
    assert missing.returncode == 2
    assert "Missing option '--target'" in error_line(missing)


def test_a_command_that_does_not_start_fails_the_health_check(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The health check's failure path, on a real process that dies at once (its
    Python cannot start): the error names how it ended and its last words."""
    from lgp_engine.config import load_settings
    from lgp_engine.loader import load_workflow, resolve_in_project
    from lgp_engine.ops.deploy import HealthCheckError, plan
    from lgp_engine.ops.deploy_run import health_check

    monkeypatch.setenv("LGP_API_KEY", API_KEY)
    settings = load_settings("production", project)
    loaded = load_workflow(resolve_in_project("basic_workflow", settings))
    planned = plan(settings, "basic_workflow", loaded, "docker")
    broken = {**os.environ, "PYTHONHOME": str(project / "no-python-here")}
    with pytest.raises(HealthCheckError) as caught:
        health_check(planned, cwd=project, environ=broken, timeout=20)
    assert caught.value.exit_code == 1
    message = str(caught.value)
    assert message.startswith("the image's command exited with 1 before answering /health: ")
    assert message.endswith("ModuleNotFoundError: No module named 'encodings'")  # its last words
