"""The files ``lgp deploy`` writes, rendered from a checked
:class:`~lgp_engine.ops.deploy.DeployPlan`: the Dockerfile (and its
``.dockerignore``), ``compose.yaml``, and the Kubernetes manifests in ``k8s/``.

Every file starts with :data:`~lgp_engine.ops.deploy.MARK`: :func:`write` replaces
those and refuses to replace anything else unless forced.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shlex
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from .._version import __version__
from .deploy import (
    APP_DIR,
    MARK,
    PORT,
    POSTGRES_IMAGE,
    POSTGRES_PASSWORD_ENV,
    REDIS_IMAGE,
    REDIS_URL_ENV,
    REQUESTS_METRIC,
    UID,
    DeployError,
    DeployPlan,
    Target,
)

_CACHES = (".mypy_cache", ".ruff_cache", ".pytest_cache", ".import_linter_cache")


def render(plan: DeployPlan, target: Target, out_dir: Path, project_dir: Path) -> dict[str, str]:
    """The files for ``target`` (relative path in ``out_dir`` -> text). Every target
    gets the Dockerfile: compose builds it, Kubernetes runs the image it builds."""
    context = _relpath(project_dir, out_dir)  # from out_dir
    dockerfile = _relpath(out_dir / "Dockerfile", project_dir)  # from the build context
    files = {
        "Dockerfile": dockerfile_text(plan, target, dockerfile),
        "Dockerfile.dockerignore": dockerignore_text(plan, target, out_dir, project_dir),
    }
    if target == "compose":
        files["compose.yaml"] = compose_text(plan, context, dockerfile)
    if target == "k8s":
        for name, doc in kubernetes_manifests(plan).items():
            files[f"k8s/{name}"] = _yaml(doc, _k8s_header(plan, name, dockerfile))
    return files


def write(files: Mapping[str, str], out_dir: Path, *, force: bool = False) -> list[Path]:
    """Write ``files`` under ``out_dir``. A file there that ``lgp deploy`` did not
    write is kept, and nothing is written, unless ``force``."""
    paths = [out_dir / name for name in files]
    if not force:
        for path in paths:
            if path.is_dir():
                raise DeployError(f"{path} is a folder")
            if path.exists() and MARK not in path.read_text(encoding="utf-8", errors="replace"):
                raise DeployError(
                    f"{path} exists and was not written by lgp deploy",
                    field="force",
                    code="would_overwrite",
                    hint="pass {field} to replace it, or write to another folder",
                )
    for path, text in zip(paths, files.values(), strict=True):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            raise DeployError(f"cannot write {path}: {exc.strerror or exc}") from None
    return paths


def stop_grace_s(plan: DeployPlan) -> int:
    """How long the container runtime waits after its stop signal before it kills the
    server: the runs' ``server.shutdown_grace_s`` to end, then 15 s to hand the rest
    over and exit (at least Kubernetes' default 30 s)."""
    return max(30, math.ceil(plan.shutdown_grace_s) + 15)


def _relpath(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def _header(plan: DeployPlan, target: str, lines: list[str]) -> str:
    first = (
        f"{MARK} {plan.workflow} --target {target}` (lgp {__version__}, environment "
        f"{plan.environment}, {plan.config_name})."
    )
    return "\n".join(f"# {line}".rstrip() for line in [first, *lines]) + "\n"


def dockerfile_text(plan: DeployPlan, target: str, dockerfile: str) -> str:
    """The server's image: build it from the project folder with ``-f dockerfile``."""
    header = _header(
        plan,
        target,
        [
            "The server of this workflow. Build it from the project folder:",
            f"  docker build -f {dockerfile} -t {plan.image} .",
            f"Secrets are not in the image: give them at run time ({', '.join(plan.secrets)}).",
        ],
    )
    q = shlex.quote
    lines = [
        "# syntax=docker/dockerfile:1",
        header.rstrip("\n"),
        f"FROM python:{plan.python}-slim",
        "",
    ]
    if plan.install_engine:
        lines += [
            "# The engine; --build-arg LGP_PACKAGE=path/to/lgp_workbench.whl (or a URL) for",
            "# another build of it.",
            f'ARG LGP_PACKAGE="lgp-workbench=={__version__}"',
        ]
    lines += [
        "ENV PYTHONDONTWRITEBYTECODE=1 \\",
        "    PYTHONUNBUFFERED=1 \\",
        "    PIP_NO_CACHE_DIR=1 \\",
        "    PIP_DISABLE_PIP_VERSION_CHECK=1 \\",
        f"    LGP_ENV={plan.environment}",
        "",
        f"RUN groupadd --system --gid {UID} lgp \\",
        f"    && useradd --system --uid {UID} --gid lgp --home-dir {APP_DIR} "
        "--shell /usr/sbin/nologin lgp",
        f"WORKDIR {APP_DIR}",
    ]
    if plan.install_engine:
        lines.append('RUN pip install "$LGP_PACKAGE"')
    if plan.pip_packages:
        lines += [
            "# langgraph.json dependencies",
            "RUN pip install " + " ".join(q(p) for p in plan.pip_packages),
        ]
    lines += [
        "# The project (owned by root: the server reads its code, never writes it)",
        f"COPY . {APP_DIR}",
    ]
    if plan.requirements:
        lines.append("RUN pip install -r requirements.txt")
    local = (["."] if plan.install_project else []) + list(plan.local_packages)
    if local:
        lines.append("RUN pip install " + " ".join(q(p) for p in local))
    if plan.data_dirs:
        dirs = " ".join(q(d) for d in plan.data_dirs)
        lines += [
            "# Where the server writes (SQLite, traces): the only folders it may",
            f"RUN mkdir -p {dirs} && chown {UID}:{UID} {dirs}",
        ]
    url = f"http://127.0.0.1:{PORT}/health"
    probe = (
        "import sys, urllib.request; "
        f"sys.exit(urllib.request.urlopen('{url}', timeout=4).status != 200)"
    )
    lines += [
        "",
        f"USER {UID}:{UID}",
        f"EXPOSE {PORT}",
        "HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \\",
        "    CMD " + json.dumps(["python", "-c", probe]),
        "CMD " + json.dumps(plan.command),
    ]
    return "\n".join(lines) + "\n"


def dockerignore_text(plan: DeployPlan, target: str, out_dir: Path, project_dir: Path) -> str:
    """What stays out of the build context: local state, secrets, caches, and the
    files written here (BuildKit reads ``<Dockerfile>.dockerignore`` beside it)."""
    generated = ["Dockerfile", "Dockerfile.dockerignore", "compose.yaml", "k8s"]
    own: list[str] = []
    with contextlib.suppress(ValueError):
        folder = out_dir.resolve().relative_to(project_dir.resolve())
        own = [(PurePosixPath(*folder.parts) / g).as_posix() for g in generated]
    local_state = [
        str(PurePosixPath(d).relative_to(APP_DIR))
        for d in plan.data_dirs
        if PurePosixPath(d).is_relative_to(APP_DIR) and d != APP_DIR
    ]
    entries = [
        ".git",
        ".venv",
        "venv",
        "**/__pycache__",
        "**/*.pyc",
        ".env",
        ".env.*",
        *plan.excluded,
        ".lgp",
        *local_state,
        *_CACHES,
        "node_modules",
        "build",
        "dist",
        "*.egg-info",
        *own,
    ]
    header = _header(
        plan, target, ["Kept out of the image: local state, secrets, caches, these files."]
    )
    return header + "\n".join(dict.fromkeys(entries)) + "\n"


def compose_text(plan: DeployPlan, context: str, dockerfile: str) -> str:
    """The server's replicas, PostgreSQL (their shared state, when the config takes
    its URL from a variable) and Redis (their rate limits), for ``docker compose``."""
    scaling = plan.auto_scaling
    password = f"${{{POSTGRES_PASSWORD_ENV}:?set {POSTGRES_PASSWORD_ENV}}}"
    env: dict[str, str] = {"LGP_ENV": plan.environment}
    for var in plan.env:
        if var.name == plan.database_url_env and plan.postgres_service:
            env[var.name] = f"postgresql://lgp:{password}@postgres:5432/lgp"
        elif var.name == REDIS_URL_ENV:
            env[var.name] = "redis://redis:6379/0"
        elif var.secret:
            env[var.name] = (
                f"${{{var.name}:?set {var.name}}}" if var.required else f"${{{var.name}:-}}"
            )
        else:
            env[var.name] = (var.value or "").replace("$", "$$")
    ports = f"{PORT}:{PORT}"
    if scaling.max_replicas > 1:
        ports = f"{PORT}-{PORT + scaling.max_replicas - 1}:{PORT}"
    volumes = {f"lgp-data-{i}" if i else "lgp-data": d for i, d in enumerate(plan.data_dirs)}
    services: dict[str, Any] = {}
    if plan.postgres_service:
        services["postgres"] = {
            "image": POSTGRES_IMAGE,
            "environment": {
                "POSTGRES_USER": "lgp",
                "POSTGRES_PASSWORD": password,
                "POSTGRES_DB": "lgp",
            },
            "volumes": ["postgres-data:/var/lib/postgresql/data"],
            "healthcheck": {
                "test": ["CMD-SHELL", "pg_isready -U lgp -d lgp"],
                "interval": "5s",
                "timeout": "3s",
                "retries": 10,
            },
            "restart": "unless-stopped",
        }
    services["redis"] = {
        "image": REDIS_IMAGE,
        "healthcheck": {
            "test": ["CMD", "redis-cli", "ping"],
            "interval": "5s",
            "timeout": "3s",
            "retries": 10,
        },
        "restart": "unless-stopped",
    }
    lgp: dict[str, Any] = {
        "build": {"context": context, "dockerfile": dockerfile},
        "image": plan.image,
        "environment": env,
        "ports": [ports],
        "volumes": [f"{name}:{path}" for name, path in volumes.items()],
        "depends_on": {name: {"condition": "service_healthy"} for name in services},
        "deploy": {"replicas": scaling.min_replicas},
        "restart": "unless-stopped",
        "stop_grace_period": f"{stop_grace_s(plan)}s",
    }
    if not volumes:
        del lgp["volumes"]
    named: dict[str, dict[str, Any]] = {name: {} for name in volumes}
    if plan.postgres_service:
        named["postgres-data"] = {}
    doc: dict[str, Any] = {"name": plan.name, "services": {"lgp": lgp, **services}}
    if named:
        doc["volumes"] = named
    compose_file = (PurePosixPath(dockerfile).parent / "compose.yaml").as_posix()
    replicas = (
        f"{scaling.min_replicas} replica(s) (up to {scaling.max_replicas} with --scale lgp=N)"
    )
    if plan.postgres_service:
        setting = f"{plan.backend_env}=postgres, " if plan.backend_env else ""
        state = [
            f"{replicas} share their threads, runs, events, queue",
            f"and store in the postgres service ({setting}{plan.database_url_env}; its",
            "password from the shell's POSTGRES_PASSWORD, its data on the postgres-data",
            "volume); a replica that stops has its runs taken over by another. Rate",
            "limits are counted in the redis service (LGP_REDIS_URL), which holds nothing",
            "that must survive." + (" The trace log is on the lgp-data volume." if volumes else ""),
        ]
    elif plan.backend == "postgres":  # the config writes its dsn out
        state = [
            f"{replicas} share their state in the PostgreSQL",
            f"database of checkpointer.dsn in {plan.config_name}.",
            "Rate limits are counted in the redis service (LGP_REDIS_URL).",
        ]
    else:
        kept = "the SQLite file on the lgp-data volume" if plan.sqlite else "memory"
        state = [
            f"{replicas} keep their state in {kept}",
            f"({plan.config_name} names its checkpointer backend; one that reads",
            "${LGP_DB_BACKEND:-sqlite} and ${LGP_DATABASE_URL:-} gets PostgreSQL here).",
            "Rate limits are counted in the redis service (LGP_REDIS_URL).",
        ]
    header = _header(
        plan,
        "compose",
        [
            "From the project folder, with the secrets in the shell:",
            f"  {' '.join(f'{s}=...' for s in _shell_secrets(plan))} "
            f"docker compose -f {compose_file} up -d --build",
            *state,
        ],
    )
    return _yaml(doc, header)


def _shell_secrets(plan: DeployPlan) -> list[str]:
    names = [
        v.name
        for v in plan.env
        if v.secret
        and v.required
        and not (v.name == plan.database_url_env and plan.postgres_service)
    ]
    return [*names, POSTGRES_PASSWORD_ENV] if plan.postgres_service else names


def kubernetes_manifests(plan: DeployPlan) -> dict[str, dict[str, Any]]:
    """The Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget."""
    scaling = plan.auto_scaling
    labels = {
        "app.kubernetes.io/name": plan.name,
        "app.kubernetes.io/component": "server",
        "app.kubernetes.io/managed-by": "lgp-deploy",
    }
    selector = {"app.kubernetes.io/name": plan.name}
    meta = {"name": plan.name, "labels": labels}
    env: list[dict[str, Any]] = [{"name": "LGP_ENV", "value": plan.environment}]
    for var in plan.env:
        if var.secret:
            ref: dict[str, Any] = {"name": plan.secret_name, "key": var.name}
            if not var.required:
                ref["optional"] = True
            env.append({"name": var.name, "valueFrom": {"secretKeyRef": ref}})
        else:
            env.append({"name": var.name, "value": var.value or ""})
    volumes = [(f"data-{i}" if i else "data", d) for i, d in enumerate(plan.data_dirs)]
    volumes.append(("tmp", "/tmp"))
    probe = {"httpGet": {"path": "/health", "port": "http"}}
    container = {
        "name": "lgp",
        "image": plan.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": env,
        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 30},
        "readinessProbe": {**probe, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 3},
        "livenessProbe": {
            **probe,
            "periodSeconds": 15,
            "timeoutSeconds": 5,
            "failureThreshold": 4,
        },
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"memory": "1Gi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": name, "mountPath": path} for name, path in volumes],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": scaling.min_replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(PORT),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": UID,
                        "runAsGroup": UID,
                        "fsGroup": UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "terminationGracePeriodSeconds": stop_grace_s(plan),
                    "containers": [container],
                    "volumes": [{"name": name, "emptyDir": {}} for name, _ in volumes],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    metrics: list[dict[str, Any]] = [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": scaling.target_cpu_percent},
            },
        }
    ]
    if scaling.target_requests_per_second is not None:
        metrics.append(
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": REQUESTS_METRIC},
                    "target": {
                        "type": "AverageValue",
                        "averageValue": _quantity(scaling.target_requests_per_second),
                    },
                },
            }
        )
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": plan.name},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": metrics,
            "behavior": {
                "scaleDown": {"stabilizationWindowSeconds": scaling.scale_down_stabilization_s}
            },
        },
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta,
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
    }
    return {
        "deployment.yaml": deployment,
        "service.yaml": service,
        "hpa.yaml": hpa,
        "pdb.yaml": pdb,
    }


def _k8s_header(plan: DeployPlan, name: str, dockerfile: str) -> str:
    folder = (PurePosixPath(dockerfile).parent / "k8s").as_posix()
    lines = {
        "deployment.yaml": [
            f"The server, probed on /health. The image: docker build -f {dockerfile} "
            f"-t {plan.image} .",
            f"Its variables come from the Secret {plan.secret_name}; create it first, e.g.:",
            f"  kubectl create secret generic {plan.secret_name} "
            + " ".join(f"--from-literal={s}=..." for s in _k8s_required(plan)),
            f"Then: kubectl apply -f {folder}/",
            *_k8s_state(plan),
        ],
        "service.yaml": [f"The pods of {plan.name} behind one address, port {PORT}."],
        "hpa.yaml": [
            "Replicas from auto_scaling in the config: CPU, and requests per second per pod",
            f"as the custom metric {REQUESTS_METRIC}, which a metrics adapter serves, e.g.",
            "prometheus-adapter with a rule on rate(lgp_http_requests_total[1m]) of /metrics.",
        ],
        "pdb.yaml": ["At most one pod down at a time during voluntary disruptions (drains)."],
    }[name]
    return _header(plan, "k8s", lines)


_ON = {"sqlite": "SQLite", "memory": "memory", "postgres": "PostgreSQL"}


def _k8s_state(plan: DeployPlan) -> list[str]:
    optional = [v.name for v in plan.env if v.secret and not v.required]
    also = f" Optional keys: {', '.join(optional)}." if optional else ""
    if plan.backend == "postgres":
        url = plan.database_url_env or "checkpointer.dsn"
        return [
            f"The pods share their state in PostgreSQL ({url}): threads, runs, events, the",
            "queue and the store; a pod that goes has its runs taken over by another.",
            "With LGP_REDIS_URL (optional) they count rate limits in Redis, else in the database.",
        ]
    share = (
        [f"for PostgreSQL set {plan.backend_env}: postgres below and the Secret's database URL)."]
        if plan.backend_env
        else [
            "pods share it on PostgreSQL: checkpointer.backend: ${LGP_DB_BACKEND:-sqlite}",
            "and dsn: ${LGP_DATABASE_URL:-} in the config).",
        ]
    )
    return [
        f"Data folders are emptyDir: on {_ON[plan.backend]} each pod keeps its own state, lost",
        "when the pod goes (" + share[0],
        *share[1:],
        *([also.strip()] if also else []),
    ]


def _k8s_required(plan: DeployPlan) -> list[str]:
    return [v.name for v in plan.env if v.secret and v.required]


def _quantity(value: float) -> str:
    """A Kubernetes quantity: ``50``, or ``12500m`` for 12.5."""
    if float(value).is_integer():
        return str(int(value))
    return f"{round(value * 1000)}m"


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key, long strings kept on one line."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True  # each manifest reads on its own: no &anchors / *aliases


def _yaml(doc: dict[str, Any], header: str) -> str:
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)
    return header + body
