"""``lgp deploy`` (issue 15): the environment is checked, the Dockerfile, compose file
and Kubernetes manifests are written, and the image's command runs here and answers
``/health``.

The manifests are checked against Kubernetes' own JSON schemas (kubernetes-validate,
strict: an unknown field fails too). The Dockerfile cannot be built here (no Docker
daemon): it is read instruction by instruction, and ``lgp deploy`` itself runs its
command here and checks ``/health`` (the test checks that it ran exactly that
command, in the image's environment). ``--apply`` meets the real ``docker`` client
without a daemon, and a ``kubectl`` without a context.

``config/production.yaml`` picks its backend from ``LGP_DB_BACKEND`` (SQLite when
unset): the compose file and the manifests of several replicas run on PostgreSQL, and
with ``LGP_DB_BACKEND=postgres`` here the checks and the health check use the
machine's real PostgreSQL (``postgres_dsn``: a database of its own per test)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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


def with_password(dsn: str) -> str:
    """``dsn`` with :data:`DB_PASSWORD` in it (the test server trusts local users, so
    any password is accepted), unless it has one already."""
    parts = urlsplit(dsn)
    if parts.password is not None:
        return dsn
    netloc = f"{parts.username}:{DB_PASSWORD}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc))


def tables(dsn: str) -> set[str]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


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

    @property
    def out(self) -> Path:
        return self.project / "deploy"


@pytest.fixture(scope="module")
def deployed(
    tmp_path_factory: pytest.TempPathFactory, make_project: Any, lgp: LgpRunner
) -> Deployed:
    """``lgp deploy basic_workflow --target k8s`` once, health check included, with
    an API key only, as on a laptop: the health check runs here on SQLite, the pods
    (3-7) on PostgreSQL."""
    project = make_project(tmp_path_factory.mktemp("deploy") / "project")
    with_auto_scaling(project, AUTO_SCALING)
    env = {"LGP_API_KEY": API_KEY}
    proc = lgp("deploy", "basic_workflow", "--target", "k8s", cwd=project, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return Deployed(project, proc)


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
        # production.yaml's shutdown_grace_s (20 s) for the runs to end, 15 s to hand over
        assert pod["terminationGracePeriodSeconds"] == 35
        env = {e["name"]: e for e in container["env"]}
        assert env["LGP_ENV"] == {"name": "LGP_ENV", "value": "production"}
        secret = deployment["metadata"]["name"] + "-secrets"
        for name in ("LGP_API_KEY", "LGP_DATABASE_URL"):  # the pods cannot start without
            assert env[name]["valueFrom"]["secretKeyRef"] == {"name": secret, "key": name}
        assert env["LGP_REDIS_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": secret,
            "key": "LGP_REDIS_URL",
            "optional": True,  # rate limits are counted in the database without it
        }
        # several pods share their state: on PostgreSQL
        assert env["LGP_DB_BACKEND"] == {"name": "LGP_DB_BACKEND", "value": "postgres"}
        header = (deployed.out / "k8s" / "deployment.yaml").read_text()
        assert "--from-literal=LGP_API_KEY=... --from-literal=LGP_DATABASE_URL=..." in header
        assert "The pods share their state in PostgreSQL (LGP_DATABASE_URL)" in header
        assert "coming" not in every_file_text(deployed.out)
        labels = deployment["spec"]["selector"]["matchLabels"]
        assert objects["Service"]["spec"]["selector"] == labels
        assert objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
        assert pod["volumes"] and all("emptyDir" in v for v in pod["volumes"])
        # the secrets themselves are nowhere in what was written, nor in the output
        written = every_file_text(deployed.out)
        shown = deployed.proc.stdout + deployed.proc.stderr
        assert API_KEY not in written
        assert API_KEY not in shown

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
            index(
                r"^\[lgp\] ✅ Environment validated \(config/production\.yaml: API key set; "
                r"secrets: LGP_API_KEY, LGP_DATABASE_URL; optional: LGP_REDIS_URL; "
                r"variables: LGP_DB_BACKEND\)"
            ),
            index(r"✅ Database here \(the health check's\): SQLite \.lgp/production\.db"),
            index(r"✅ Providers: none needed"),
            index(r"✅ Dockerfile written: deploy/Dockerfile"),
            index(
                r"✅ Kubernetes manifests written: deploy/k8s/ .*3-7 replicas on PostgreSQL "
                r"at 65% CPU"
            ),
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
        # the database the pods will use is not here: said, not refused
        assert (
            "⚠ PostgreSQL not checked: LGP_DATABASE_URL is not set here (the pods read it "
            "from the Secret lgp-basic-workflow-secrets; set it to check that it answers)"
        ) in deployed.proc.stderr
        assert "pods on SQLite" not in deployed.proc.stderr  # they are not


# --------------------------------------------------------------------------- compose


def test_compose_runs_replicas_on_postgres_with_redis(project: Path, lgp: LgpRunner) -> None:
    # the trace log in a folder of its own: the only volume the replicas need
    config = project / "config" / "production.yaml"
    config.write_text(config.read_text().replace(".lgp/traces.jsonl", "traces/lgp.jsonl"))
    proc = lgp(
        "deploy", "basic_workflow", "--target", "compose", "--no-health-check",
        cwd=project, env={"LGP_API_KEY": API_KEY, "POSTGRES_PASSWORD": DB_PASSWORD},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Health check: skipped (--no-health-check)" in proc.stdout
    assert (
        "✅ Replicas share the compose file's PostgreSQL (LGP_DB_BACKEND=postgres, "
        "LGP_DATABASE_URL with the password from $POSTGRES_PASSWORD)"
    ) in proc.stdout
    assert "compose.yaml (2 lgp replica(s) on PostgreSQL, Redis)" in proc.stdout
    # the compose file gives the URL: not a secret to set
    assert "secrets: LGP_API_KEY; optional: LGP_REDIS_URL; variables: LGP_DB_BACKEND" in (
        proc.stdout
    )
    out = project / "deploy"
    text = (out / "compose.yaml").read_text()
    compose = yaml.safe_load(text)
    assert set(compose["services"]) == {"lgp", "postgres", "redis"}
    lgp_service = compose["services"]["lgp"]
    build = lgp_service["build"]
    assert (out / build["context"] / build["dockerfile"]).resolve() == out / "Dockerfile"
    assert lgp_service["deploy"]["replicas"] == 2  # config/production.yaml's min_replicas
    assert lgp_service["stop_grace_period"] == "35s"  # its shutdown_grace_s, then 15 s
    env = lgp_service["environment"]
    assert env["LGP_ENV"] == "production"
    assert env["LGP_API_KEY"] == "${LGP_API_KEY:?set LGP_API_KEY}"  # from the shell
    assert env["LGP_DB_BACKEND"] == "postgres"
    assert env["LGP_DATABASE_URL"] == (
        "postgresql://lgp:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432/lgp"
    )
    assert env["LGP_REDIS_URL"] == "redis://redis:6379/0"
    postgres = compose["services"]["postgres"]
    assert postgres["environment"]["POSTGRES_PASSWORD"] == (
        "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    )
    assert postgres["environment"]["POSTGRES_USER"] == "lgp"
    assert postgres["environment"]["POSTGRES_DB"] == "lgp"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "healthcheck" in compose["services"]["redis"]
    assert lgp_service["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    # no SQLite on a shared volume any more: the trace log's folder only
    assert lgp_service["volumes"] == ["lgp-data:/app/traces"]
    assert set(compose["volumes"]) == {"lgp-data", "postgres-data"}
    steps = instructions(out / "Dockerfile")
    assert ("RUN", "mkdir -p /app/traces && chown 10001:10001 /app/traces") in steps
    assert "share their threads, runs, events, queue" in text
    assert "coming" not in text
    assert not (out / "k8s").exists()
    for secret in (API_KEY, DB_PASSWORD):
        assert secret not in every_file_text(out)
        assert secret not in proc.stdout + proc.stderr


def test_compose_on_a_config_that_names_sqlite_shares_its_file(
    project: Path, lgp: LgpRunner
) -> None:
    """A config that writes ``backend: sqlite`` keeps it: the replicas share the file
    on one volume (one host, as ``--workers``), and there is no PostgreSQL to run."""
    config = project / "config" / "production.yaml"
    config.write_text(config.read_text().replace("${LGP_DB_BACKEND:-sqlite}", "sqlite"))
    proc = lgp(
        "deploy", "basic_workflow", "--target", "compose", "--no-health-check",
        cwd=project, env={"LGP_API_KEY": API_KEY},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(2 lgp replica(s) on SQLite on the lgp-data volume, Redis)" in proc.stdout
    compose = yaml.safe_load((project / "deploy" / "compose.yaml").read_text())
    assert set(compose["services"]) == {"lgp", "redis"}
    lgp_service = compose["services"]["lgp"]
    assert lgp_service["volumes"] == ["lgp-data:/app/.lgp"]  # .lgp/production.db
    assert set(lgp_service["depends_on"]) == {"redis"}
    assert "LGP_DB_BACKEND" not in lgp_service["environment"]


@pytest.mark.parametrize(
    ("case", "backend", "warned"),
    [
        ("one replica", "sqlite", False),  # what the config picks here
        ("sqlite written out", None, True),  # no LGP_DB_BACKEND to set
    ],
)
def test_k8s_stays_on_sqlite_only_when_the_config_does(
    project: Path, lgp: LgpRunner, case: str, backend: str | None, warned: bool
) -> None:
    config = project / "config" / "production.yaml"
    if case == "one replica":
        with_auto_scaling(project, "auto_scaling:\n  min_replicas: 1\n  max_replicas: 1\n")
    else:
        config.write_text(config.read_text().replace("${LGP_DB_BACKEND:-sqlite}", "sqlite"))
    proc = lgp(
        "deploy", "basic_workflow", "--target", "k8s", "--no-health-check",
        cwd=project, env={"LGP_API_KEY": API_KEY},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    objects = manifests(project / "deploy" / "k8s")
    [container] = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    if backend is None:
        assert "LGP_DB_BACKEND" not in env
    else:
        assert env["LGP_DB_BACKEND"]["value"] == backend
    # the URL is not needed on SQLite: an optional key of the Secret, if any
    assert env["LGP_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert ("pods on SQLite: each pod keeps its own threads and runs" in proc.stderr) is warned
    assert "replicas on SQLite at" in proc.stdout
    assert "PostgreSQL not checked" not in proc.stderr


# --------------------------------------------------------------------------- PostgreSQL


def test_k8s_on_postgres_checks_and_health_checks_the_real_database(
    project: Path, lgp: LgpRunner, postgres_dsn: str
) -> None:
    """With ``LGP_DB_BACKEND=postgres`` here, the check connects to the database and the
    image's command runs on it: its tables are there afterwards, and no SQLite file."""
    dsn = with_password(postgres_dsn)
    database = urlsplit(dsn).path.lstrip("/")
    env = {"LGP_API_KEY": API_KEY, "LGP_DB_BACKEND": "postgres", "LGP_DATABASE_URL": dsn}
    proc = lgp("deploy", "basic_workflow", "--target", "k8s", cwd=project, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    address = f"{urlsplit(dsn).hostname}:{urlsplit(dsn).port or 5432}/{database}"
    assert re.search(
        rf"✅ Database: PostgreSQL \d+\.\d+ reachable at {re.escape(address)} \(LGP_DATABASE_URL\)",
        proc.stdout,
    ), proc.stdout
    assert re.search(r"✅ Health check passed \(http://127\.0\.0\.1:\d+/health in ", proc.stdout)
    # the server that answered /health ran on this database (and the version recorded)
    assert {"checkpoints", "lgp_runs", "lgp_events", "lgp_thread_leases", "lgp_replicas"} <= (
        tables(dsn)
    )
    assert "lgp_workflow_versions" in tables(dsn)
    assert not (project / ".lgp" / "production.db").exists()
    # a database on this machine's loopback is not the pods'
    if urlsplit(dsn).hostname in ("127.0.0.1", "localhost"):
        assert "LGP_DATABASE_URL names 127.0.0.1: inside a container that is the container" in (
            proc.stderr.replace("localhost", "127.0.0.1")
        )
    objects = manifests(project / "deploy" / "k8s")
    version = k8s_schemas.latest_version()
    for obj in objects.values():
        k8s_schemas.validate(obj, version, strict=True)
    [container] = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    env_of = {e["name"]: e for e in container["env"]}
    assert env_of["LGP_DB_BACKEND"]["value"] == "postgres"
    assert "optional" not in env_of["LGP_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    # the Dockerfile makes no folder for a SQLite file, only the trace log's
    assert "pods on SQLite" not in proc.stderr
    for secret in (API_KEY, DB_PASSWORD):
        assert secret not in proc.stdout + proc.stderr
        assert secret not in every_file_text(project / "deploy")


def test_the_health_check_runs_on_the_configured_postgres(
    project: Path, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """:func:`health_check` itself, on a plan made with the backend postgres: the
    server it starts beats in that database while it answers."""
    from lgp_engine.config import load_settings
    from lgp_engine.loader import load_workflow, resolve_in_project
    from lgp_engine.ops.deploy import plan
    from lgp_engine.ops.deploy_run import health_check

    for name, value in (
        ("LGP_API_KEY", API_KEY),
        ("LGP_DB_BACKEND", "postgres"),
        ("LGP_DATABASE_URL", postgres_dsn),
    ):
        monkeypatch.setenv(name, value)
    settings = load_settings("production", project)
    assert settings.checkpointer.backend == "postgres"
    loaded = load_workflow(resolve_in_project("basic_workflow", settings))
    planned = plan(settings, "basic_workflow", loaded, "docker")
    assert planned.backend == "postgres"
    assert [v.value for v in planned.env if v.name == "LGP_DB_BACKEND"] == ["postgres"]
    result = health_check(planned, cwd=project, timeout=60)
    assert result.body["environment"] == "production"
    assert "basic_workflow" in result.body["workflows"]
    assert {"checkpoints", "lgp_runs", "lgp_replicas"} <= tables(postgres_dsn)
    assert not (project / ".lgp" / "production.db").exists()


def test_the_production_config_needs_no_variable_and_takes_postgres_from_two(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``lgp run --env production`` on a laptop: SQLite, nothing to set; with
    ``LGP_DB_BACKEND=postgres`` the URL is needed, and its absence names the variable."""
    from lgp_engine.config import load_settings
    from lgp_engine.errors import ConfigError

    settings = load_settings("production", project)
    assert settings.checkpointer.backend == "sqlite"
    assert settings.checkpointer.postgres_dsn == ""  # ${LGP_DATABASE_URL:-}: accepted
    monkeypatch.setenv("LGP_DB_BACKEND", "postgres")
    with pytest.raises(ConfigError) as caught:
        load_settings("production", project)
    message = str(caught.value)
    assert "\n" not in message
    text = (project / "config" / "production.yaml").read_text().splitlines()
    line = next(i for i, ln in enumerate(text, 1) if ln.strip().startswith("dsn:"))
    assert message.startswith(f"config/production.yaml:{line}: checkpointer: ")
    assert message.endswith("(checkpointer.dsn is empty: LGP_DATABASE_URL is not set)")
    monkeypatch.setenv("LGP_DATABASE_URL", "postgresql://lgp@db.example:5432/lgp")
    settings = load_settings("production", project)
    assert settings.checkpointer.backend == "postgres"
    assert settings.checkpointer.postgres_dsn == "postgresql://lgp@db.example:5432/lgp"


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
        (  # the pods' database (3-7 replicas), given here: checked
            "database_down",
            r"Deploy error: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+/x "
            r"\(LGP_DATABASE_URL\): Connection refused \(start it, or fix LGP_DATABASE_URL; "
            r"or unset it here to skip this check: the pods read it from the Secret ",
        ),
        (  # the database the health check would run on here
            "database_down_here",
            r"Deploy error: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+/x "
            r"\(LGP_DATABASE_URL\): Connection refused \(start it, or fix LGP_DATABASE_URL\)$",
        ),
        (
            "postgres_without_url",
            r"Configuration error: config/production\.yaml:\d+: checkpointer: .*backend "
            r"postgres needs a dsn.*\(checkpointer\.dsn is empty: LGP_DATABASE_URL is not set\)$",
        ),
        ("not_a_database_url", r"Configuration error: LGP_DATABASE_URL must be a postgres://"),
        ("garbled_database_url", r"LGP_DATABASE_URL is not a valid PostgreSQL URL \(e\.g\. "),
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
    elif case in ("database_down", "database_down_here"):
        env["LGP_DATABASE_URL"] = f"postgresql://lgp:{DB_PASSWORD}@127.0.0.1:{closed_port()}/x"
        if case == "database_down_here":
            env["LGP_DB_BACKEND"] = "postgres"
    elif case == "postgres_without_url":
        env["LGP_DB_BACKEND"] = "postgres"
    elif case == "not_a_database_url":
        env["LGP_DATABASE_URL"] = f"mysql://lgp:{DB_PASSWORD}@db/x"
    elif case == "garbled_database_url":  # psycopg's own message would quote it whole
        env["LGP_DATABASE_URL"] = f"postgresql://lgp:{DB_PASSWORD}@[::1/x"
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
