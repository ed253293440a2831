"""``lgp deploy``: check the environment, write a Dockerfile, a compose file or
Kubernetes manifests for one workflow, run the image's command here and
health-check it, and (``--apply``) hand the files to docker or kubectl."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from .common import common_options, handle_errors, load_target, relpath, setup
from .console import PREFIX, secs

if TYPE_CHECKING:
    from ..ops.deploy import Target

TARGETS = ("docker", "compose", "k8s")  # lgp_engine.ops.deploy.TARGETS (imported lazily)


@click.command()
@click.argument("workflow", metavar="WORKFLOW")
@click.option(
    "--target",
    required=True,
    type=click.Choice(TARGETS),
    help="docker: a Dockerfile; compose: + compose.yaml (replicas on PostgreSQL, Redis); "
    "k8s: + Kubernetes manifests (Deployment, Service, autoscaler, disruption budget).",
)
@click.option(
    "--out",
    default="deploy",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the files (relative to the project folder).",
)
@click.option(
    "--image", metavar="NAME:TAG", default=None, help="The image (default lgp-WORKFLOW:VERSION)."
)
@click.option(
    "--apply",
    "apply_",
    is_flag=True,
    help="Then run `docker build` + `docker run` (docker), `docker compose up -d` "
    "(compose) or `kubectl apply` (k8s), when the tool and a daemon/context are there.",
)
@click.option(
    "--no-health-check",
    is_flag=True,
    help="Don't start the image's command here to check that it answers /health.",
)
@click.option("--force", is_flag=True, help="Replace files in --out that lgp deploy did not write.")
@common_options(default_env="production")
@handle_errors
def deploy(
    workflow: str,
    target: str,
    out: Path,
    image: str | None,
    apply_: bool,
    no_health_check: bool,
    force: bool,
    env: str | None,
    verbose: bool,
) -> None:
    """Deploy a workflow's server: check, write the files, health-check, apply.

    WORKFLOW is a registered name, a workflow file or a langgraph.json, inside the
    project folder (the image holds the project). The environment is `production`
    unless --env or $LGP_ENV names another.

    \b
    Checked first (a problem is one line and exit 2):
      an API key (LGP_API_KEY), the variables the config needs, the workflow
      loads, its agent roles' providers are configured, the database: the
      SQLite folder is writable, or PostgreSQL (LGP_DATABASE_URL) accepts a
      connection; LGP_REDIS_URL, when set, is reachable.
    \b
    Replicas share state on PostgreSQL: with config/production.yaml
    (backend: ${LGP_DB_BACKEND:-sqlite}, dsn: ${LGP_DATABASE_URL:-}) the
    compose file and Kubernetes manifests of more than one replica set
    LGP_DB_BACKEND=postgres; rate limits go to Redis (LGP_REDIS_URL) if given.
    \b
    Written to --out (every target gets the Dockerfile):
      Dockerfile               python:3.X-slim, the engine, the project and its
                               langgraph.json dependencies, non-root, HEALTHCHECK;
                               CMD lgp serve WORKFLOW --host 0.0.0.0 --port 8123
      compose.yaml             replicas on a PostgreSQL service (password from
                               $POSTGRES_PASSWORD), Redis for rate limits
      k8s/*.yaml               Deployment (probes on /health, LGP_DATABASE_URL and
                               other secrets from a Secret), Service,
                               HorizontalPodAutoscaler (auto_scaling in the
                               config), PodDisruptionBudget
    Then the image's command runs here on a free port against the database the
    config picks here until /health answers (exit 1 if it does not), and stops.

    \b
    Examples:
      LGP_API_KEY=... lgp deploy basic_workflow --target k8s
      lgp deploy basic_workflow --target compose --apply
      lgp deploy langgraph.json --target docker --out build/docker --image me/app:1

    With --apply and no docker, no Docker daemon, no Compose or no kubectl
    context, it says which in one line and exits 2; the files stay written.
    """
    from ..ops import deploy as ops
    from ..ops import deploy_files, deploy_run

    settings = setup(env or os.environ.get("LGP_ENV") or "production", verbose)
    project = settings.project_dir
    click.echo(
        f"{PREFIX} Deploying {workflow} (target: {target}, environment: {settings.environment})"
    )
    loaded = load_target(settings, workflow)
    chosen = cast("Target", target)
    plan = ops.plan(settings, workflow, loaded, chosen, image=image)
    needed = [v.name for v in plan.env if v.secret and v.required]
    if target == "compose" and plan.postgres_service:  # the compose file writes it
        needed = [n for n in needed if n != plan.database_url_env]
    optional = [v.name for v in plan.env if v.secret and not v.required]
    plain = [v.name for v in plan.env if not v.secret]
    _ok(
        f"Environment validated ({plan.config_name}: API key set; secrets: "
        + ", ".join(needed or ["none"])
        + (f"; optional: {', '.join(optional)}" if optional else "")
        + (f"; variables: {', '.join(plain)}" if plain else "")
        + ")"
    )
    _ok(f"Workflow {loaded.name} loads (the image runs: {shlex.join(plan.command)})")
    for check in plan.checks:
        (_ok if check.level == "ok" else _warn)(check.text)

    out_dir = settings.resolve(out)
    files = deploy_files.render(plan, chosen, out_dir, project)
    deploy_files.write(files, out_dir, force=force)
    shown = relpath(out_dir)
    _ok(f"Dockerfile written: {shown}/Dockerfile (+ Dockerfile.dockerignore)")
    scaling = plan.auto_scaling
    on = {"postgres": "PostgreSQL", "sqlite": "SQLite", "memory": "memory"}[plan.backend]
    if target == "compose":
        volume = " on the lgp-data volume" if plan.sqlite else ""
        _ok(
            f"Compose file written: {shown}/compose.yaml ({scaling.min_replicas} lgp replica(s) "
            f"on {on}{volume}, Redis)"
        )
    elif target == "k8s":
        rps = scaling.target_requests_per_second
        _ok(
            f"Kubernetes manifests written: {shown}/k8s/ (Deployment, Service, "
            f"HorizontalPodAutoscaler {scaling.min_replicas}-{scaling.max_replicas} replicas "
            f"on {on} at {scaling.target_cpu_percent}% CPU"
            + (f" or {rps:g} req/s" if rps is not None else "")
            + f", PodDisruptionBudget; Secret {plan.secret_name})"
        )

    _record_version(settings, loaded)
    if no_health_check:
        _line("Health check: skipped (--no-health-check)")
    else:
        _line(
            f"Starting the image's command here: {shlex.join(plan.command)} "
            f"(LGP_ENV={plan.environment}, any free port)"
        )
        result = deploy_run.health_check(plan, cwd=project)
        served = ", ".join(result.body.get("workflows") or [])
        _ok(
            f"Health check passed ({result.url} in {secs(result.seconds)}: environment "
            f"{result.body.get('environment')}, workflows {served}); stopped"
        )

    commands = deploy_run.apply_commands(plan, chosen, out_dir, project)
    by_hand = " && ".join(shlex.join(c) for c in commands)
    if not apply_:
        if target == "k8s":
            _line(f"Next: docker build -f {shown}/Dockerfile -t {plan.image} . (and push it)")
            required = [v.name for v in plan.env if v.secret and v.required]
            literals = " ".join(f"--from-literal={n}=..." for n in required)
            _line(f"      kubectl create secret generic {plan.secret_name} {literals}")
            _line(f"      {by_hand}   (or lgp deploy ... --apply)")
        else:
            _line(f"Next: {by_hand}   (or lgp deploy ... --apply)")
        return
    where = "with a kubectl context" if target == "k8s" else "where Docker runs"
    tool = deploy_run.check_tools(
        chosen,
        instead=f"the files are in {shown}/: run `{by_hand}` {where}",
        postgres=plan.postgres_service,
    )
    _line(f"Applying with {tool}: {by_hand}")
    deploy_run.run_apply(commands, cwd=project)
    _ok("Applied")


def _record_version(settings: Any, loaded: Any) -> None:
    """Record the deployed code as a version of the workflow (what an anomaly
    rollback goes back to); a database that cannot be reached is a warning."""
    from ..errors import LGPError
    from ..ops.versions import VersionStore

    try:
        store = VersionStore.open(settings)
        try:
            version = store.record(loaded, "deploy")
        finally:
            store.close()
    except LGPError as exc:
        _warn(f"Version not recorded: {exc}")
        return
    _ok(f"Version {version.version} of {loaded.name} recorded (a rollback can go back to it)")


def _line(text: str) -> None:
    click.echo(f"{PREFIX} {text}")


def _ok(text: str) -> None:
    click.echo(f"{PREFIX} ✅ {text}")


def _warn(text: str) -> None:
    click.echo(f"{PREFIX} ⚠ {text}", err=True)


COMMANDS = [deploy]
