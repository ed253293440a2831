"""Tests for lgp_engine.config: environment selection, YAML loading, interpolation, errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lgp_engine.config import (
    DEFAULT_ENVIRONMENT,
    KNOWN_ENVIRONMENTS,
    Settings,
    interpolate,
    load_settings,
    select_environment,
)
from lgp_engine.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]

# Variables the shipped config files read; unset so their defaults apply.
SHIPPED_VARS = (
    "LGP_DB",
    "LGP_DB_BACKEND",
    "LGP_DATABASE_URL",
    "LGP_HOST",
    "LGP_PORT",
    "LGP_API_KEY",
)


@pytest.fixture(autouse=True)
def _no_lgp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without LGP_ENV and the variables the shipped configs read."""
    monkeypatch.delenv("LGP_ENV", raising=False)
    for var in SHIPPED_VARS:
        monkeypatch.delenv(var, raising=False)


def write_config(project: Path, env: str, text: str) -> Path:
    path = project / "config" / f"{env}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- selection


def test_select_environment_defaults_to_experiment() -> None:
    assert DEFAULT_ENVIRONMENT == "experiment"
    assert select_environment() == "experiment"
    assert select_environment(None) == "experiment"


def test_select_environment_reads_lgp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGP_ENV", "hosted")
    assert select_environment() == "hosted"


def test_explicit_env_argument_wins_over_lgp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGP_ENV", "hosted")
    assert select_environment("production") == "production"


@pytest.mark.parametrize("bad", ["Hosted", "../etc", "a b", "1st", "prod!"])
def test_invalid_environment_name_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        select_environment(bad)
    assert repr(bad) in str(info.value)
    assert "invalid environment name" in str(info.value)


def test_invalid_lgp_env_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGP_ENV", "NOT valid")
    with pytest.raises(ConfigError, match="invalid environment name"):
        load_settings(project_dir=Path.cwd())


def test_load_settings_uses_lgp_env_to_pick_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, "hosted", "log_level: debug\n")
    write_config(tmp_path, "experiment", "log_level: error\n")
    monkeypatch.setenv("LGP_ENV", "hosted")
    settings = load_settings(project_dir=tmp_path)
    assert settings.environment == "hosted"
    assert settings.log_level == "debug"
    assert settings.config_file == (tmp_path / "config" / "hosted.yaml").resolve()


def test_load_settings_env_argument_beats_lgp_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, "hosted", "log_level: debug\n")
    write_config(tmp_path, "production", "log_level: warning\n")
    monkeypatch.setenv("LGP_ENV", "hosted")
    settings = load_settings("production", project_dir=tmp_path)
    assert settings.environment == "production"
    assert settings.log_level == "warning"


def test_load_settings_defaults_to_the_experiment_file(tmp_path: Path) -> None:
    write_config(tmp_path, "experiment", "log_level: error\n")
    settings = load_settings(project_dir=tmp_path)
    assert settings.environment == "experiment"
    assert settings.log_level == "error"


# --------------------------------------------------------------------------- missing files


@pytest.mark.parametrize("env", KNOWN_ENVIRONMENTS)
def test_known_environment_without_a_file_gets_defaults(tmp_path: Path, env: str) -> None:
    settings = load_settings(env, project_dir=tmp_path)
    assert settings.environment == env
    assert settings.project_dir == tmp_path.resolve()
    assert settings.config_file is None
    assert settings.checkpointer.backend == "sqlite"
    assert settings.checkpointer.path == ".lgp/checkpoints.db"
    assert settings.server.port == 8123
    assert settings.workflows.registry == "workflows/config.yaml"


def test_unknown_environment_without_a_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings("staging", project_dir=tmp_path)
    message = str(info.value)
    assert "'staging'" in message
    assert "staging.yaml" in message
    for known in KNOWN_ENVIRONMENTS:
        assert known in message


def test_unknown_environment_with_a_file_loads(tmp_path: Path) -> None:
    write_config(tmp_path, "staging", "server:\n  port: 9100\n")
    settings = load_settings("staging", project_dir=tmp_path)
    assert settings.environment == "staging"
    assert settings.server.port == 9100


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, "experiment", "# nothing but a comment\n")
    settings = load_settings("experiment", project_dir=tmp_path)
    assert settings.checkpointer.backend == "sqlite"
    assert settings.config_file == (tmp_path / "config" / "experiment.yaml").resolve()


def test_values_from_the_file_are_validated_and_nested(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        "hosted",
        """
        log_level: warning
        checkpointer:
          backend: memory
          busy_timeout_ms: 250
        server:
          port: 9000
          api_keys: [k1, k2]
        tracing:
          backend: jsonl
        """,
    )
    settings = load_settings("hosted", project_dir=tmp_path)
    assert settings.log_level == "warning"
    assert settings.checkpointer.backend == "memory"
    assert settings.checkpointer.busy_timeout_ms == 250
    assert settings.server.port == 9000
    assert settings.server.api_keys == ["k1", "k2"]
    assert settings.tracing.backend == "jsonl"
    # untouched sections keep their defaults
    assert settings.workflows.directory == "workflows"


def test_project_dir_in_the_file_cannot_move_the_project(tmp_path: Path) -> None:
    write_config(tmp_path, "experiment", "project_dir: /somewhere/else\n")
    settings = load_settings("experiment", project_dir=tmp_path)
    assert settings.project_dir == tmp_path.resolve()


# --------------------------------------------------------------------------- interpolation


def test_env_var_is_interpolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGPT_CFG_DB", "data/mine.db")
    write_config(tmp_path, "experiment", "checkpointer:\n  path: ${LGPT_CFG_DB}\n")
    assert load_settings(project_dir=tmp_path).checkpointer.path == "data/mine.db"


def test_default_is_used_when_the_var_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LGPT_CFG_PORT", raising=False)
    monkeypatch.delenv("LGPT_CFG_HOST", raising=False)
    write_config(
        tmp_path,
        "hosted",
        "server:\n  port: ${LGPT_CFG_PORT:-9001}\n  host: ${LGPT_CFG_HOST:-0.0.0.0}\n",
    )
    settings = load_settings("hosted", project_dir=tmp_path)
    assert settings.server.port == 9001  # the interpolated string is validated to an int
    assert settings.server.host == "0.0.0.0"


def test_set_var_overrides_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGPT_CFG_PORT", "9555")
    write_config(tmp_path, "hosted", "server:\n  port: ${LGPT_CFG_PORT:-9001}\n")
    assert load_settings("hosted", project_dir=tmp_path).server.port == 9555


def test_empty_default_and_embedded_vars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LGPT_CFG_EMPTY", raising=False)
    monkeypatch.setenv("LGPT_CFG_NAME", "alice")
    write_config(
        tmp_path,
        "hosted",
        """
        server:
          api_keys: ["${LGPT_CFG_EMPTY:-}", "key-${LGPT_CFG_NAME}-end"]
        """,
    )
    settings = load_settings("hosted", project_dir=tmp_path)
    assert settings.server.api_keys == ["", "key-alice-end"]


def test_double_dollar_escapes_interpolation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LGPT_CFG_SECRET", "should-not-appear")
    write_config(tmp_path, "experiment", "checkpointer:\n  path: $${LGPT_CFG_SECRET}/x.db\n")
    assert load_settings(project_dir=tmp_path).checkpointer.path == "${LGPT_CFG_SECRET}/x.db"


def test_interpolate_function_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGPT_CFG_A", "1")
    monkeypatch.delenv("LGPT_CFG_B", raising=False)
    assert interpolate("${LGPT_CFG_A}-${LGPT_CFG_B:-two}-$${LGPT_CFG_A}") == "1-two-${LGPT_CFG_A}"
    assert interpolate("no vars, $HOME stays") == "no vars, $HOME stays"


def test_missing_var_without_default_names_file_line_key_and_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LGPT_CFG_MISSING", raising=False)
    write_config(
        tmp_path,
        "experiment",
        """
        log_level: info
        checkpointer:
          backend: sqlite
          path: ${LGPT_CFG_MISSING}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_settings(project_dir=tmp_path)
    message = str(info.value)
    assert "experiment.yaml:4:" in message
    assert "checkpointer.path" in message
    assert "LGPT_CFG_MISSING" in message
    assert "not set" in message


# --------------------------------------------------------------------------- errors


def test_invalid_yaml_reports_file_and_line(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        "experiment",
        """
        environment: experiment
        checkpointer:
          backend: sqlite
           path: bad-indent.db
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_settings(project_dir=tmp_path)
    message = str(info.value)
    assert "experiment.yaml:4:" in message
    assert "invalid YAML" in message


def test_unclosed_flow_mapping_reports_a_line(tmp_path: Path) -> None:
    write_config(tmp_path, "experiment", "log_level: info\nserver: {port: 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(project_dir=tmp_path)
    assert "experiment.yaml:" in str(info.value)
    assert "invalid YAML" in str(info.value)


def test_unknown_nested_key_reports_dotted_key_and_line(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        "experiment",
        """
        log_level: info
        checkpointer:
          backend: sqlite
          backnd: memory
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_settings(project_dir=tmp_path)
    message = str(info.value)
    assert "experiment.yaml:4:" in message
    assert "checkpointer.backnd" in message
    assert "unknown key" in message


def test_unknown_top_level_key_reports_key_and_line(tmp_path: Path) -> None:
    write_config(tmp_path, "hosted", "log_level: info\n\nservr:\n  port: 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings("hosted", project_dir=tmp_path)
    message = str(info.value)
    assert "hosted.yaml:3:" in message
    assert "servr: unknown key" in message


def test_wrong_type_names_key_and_line(tmp_path: Path) -> None:
    write_config(tmp_path, "experiment", "log_level: info\ncheckpointer: {backend: redis}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(project_dir=tmp_path)
    message = str(info.value)
    assert "experiment.yaml:2:" in message
    assert "checkpointer.backend" in message
    assert "sqlite" in message and "memory" in message  # says what is allowed


def test_wrong_scalar_type_names_key_and_line(tmp_path: Path) -> None:
    write_config(tmp_path, "hosted", "log_level: info\nserver:\n  host: h\n  port: not-a-port\n")
    with pytest.raises(ConfigError) as info:
        load_settings("hosted", project_dir=tmp_path)
    message = str(info.value)
    assert "hosted.yaml:4:" in message
    assert "server.port" in message


def test_out_of_range_value_is_rejected(tmp_path: Path) -> None:
    write_config(tmp_path, "hosted", "server:\n  port: 70000\n")
    with pytest.raises(ConfigError, match=r"hosted\.yaml:2: server\.port"):
        load_settings("hosted", project_dir=tmp_path)


def test_file_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    write_config(tmp_path, "experiment", "- just\n- a list\n")
    with pytest.raises(ConfigError, match=r"experiment\.yaml:1: .*mapping"):
        load_settings(project_dir=tmp_path)


def test_control_character_in_config_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config" / "experiment.yaml"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"log_level: info\nserver:\n  host: \x07bell\n")
    with pytest.raises(ConfigError, match=r"experiment\.yaml"):
        load_settings(project_dir=tmp_path)


def test_non_utf8_config_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config" / "experiment.yaml"
    path.parent.mkdir(parents=True)
    path.write_bytes("log_level: info\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"experiment\.yaml"):
        load_settings(project_dir=tmp_path)


# --------------------------------------------------------------------------- paths


def test_resolve_relative_path_against_project_dir(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path)
    assert settings.resolve(".lgp/checkpoints.db") == tmp_path / ".lgp" / "checkpoints.db"
    assert settings.resolve(Path("workflows")) == tmp_path / "workflows"


def test_resolve_keeps_absolute_paths(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path / "project")
    absolute = tmp_path / "elsewhere" / "db.sqlite"
    assert settings.resolve(absolute) == absolute
    assert settings.resolve(str(absolute)) == absolute


def test_resolve_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    settings = Settings(project_dir=tmp_path / "project")
    assert settings.resolve("~/x.db") == tmp_path / "home" / "x.db"


def test_loaded_settings_resolve_against_the_loaded_project(tmp_path: Path) -> None:
    write_config(tmp_path, "experiment", "checkpointer:\n  path: state/db.sqlite\n")
    settings = load_settings(project_dir=tmp_path)
    expected = tmp_path.resolve() / "state" / "db.sqlite"
    assert settings.resolve(settings.checkpointer.path) == expected


# --------------------------------------------------------------------------- shipped files


def test_shipped_experiment_config_loads() -> None:
    settings = load_settings("experiment", project_dir=REPO_ROOT)
    assert settings.config_file == REPO_ROOT / "config" / "experiment.yaml"
    assert settings.environment == "experiment"
    assert settings.checkpointer.backend == "sqlite"
    assert settings.checkpointer.path == ".lgp/checkpoints.db"
    assert settings.tracing.backend == "none"


def test_shipped_hosted_config_loads() -> None:
    settings = load_settings("hosted", project_dir=REPO_ROOT)
    assert settings.config_file == REPO_ROOT / "config" / "hosted.yaml"
    assert settings.environment == "hosted"
    assert settings.checkpointer.path == ".lgp/hosted.db"
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8123
    assert settings.server.keys == []  # ${LGP_API_KEY:-} unset
    assert settings.server.when_no_key == "generate"
    assert settings.tracing.backend == "jsonl"


def test_shipped_production_config_loads() -> None:
    settings = load_settings("production", project_dir=REPO_ROOT)
    assert settings.config_file == REPO_ROOT / "config" / "production.yaml"
    assert settings.environment == "production"
    assert settings.log_level == "warning"
    assert settings.checkpointer.path == ".lgp/production.db"
    assert settings.server.host == "0.0.0.0"


def test_shipped_configs_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGP_DB", "/var/lib/lgp/state.db")
    monkeypatch.setenv("LGP_PORT", "9999")
    monkeypatch.setenv("LGP_API_KEY", "secret-key")
    hosted = load_settings("hosted", project_dir=REPO_ROOT)
    production = load_settings("production", project_dir=REPO_ROOT)
    assert hosted.checkpointer.path == "/var/lib/lgp/state.db"
    assert hosted.server.port == 9999
    assert production.server.port == 9999
    assert production.server.api_keys == ["secret-key"]
    assert load_settings("experiment", project_dir=REPO_ROOT).checkpointer.path == (
        "/var/lib/lgp/state.db"
    )


def test_shipped_config_picked_by_lgp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGP_ENV", "production")
    settings = load_settings(project_dir=REPO_ROOT)
    assert settings.environment == "production"
    assert settings.config_file == REPO_ROOT / "config" / "production.yaml"


def test_yaml_merge_keys_are_supported(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "hosted.yaml").write_text(
        "base: &base\n  busy_timeout_ms: 1234\n  path: x.db\n"
        "checkpointer:\n  <<: *base\n  path: y.db\n".replace("base: &base", "_base: &base")
    )
    # `_base` is not a setting: an anchor holder must be rejected like any unknown key,
    # but the merge itself must resolve
    with pytest.raises(ConfigError, match="_base"):
        load_settings("hosted", project_dir=tmp_path)
    (tmp_path / "config" / "hosted.yaml").write_text(
        "checkpointer: &cp\n  busy_timeout_ms: 1234\n  path: x.db\nworkflows:\n  registry: r.yaml\n"
    )
    text = (tmp_path / "config" / "hosted.yaml").read_text()
    (tmp_path / "config" / "hosted.yaml").write_text(
        text + "runs:\n  <<: {max_runs: 5}\n  max_age_days: 2\n"
    )
    settings = load_settings("hosted", project_dir=tmp_path)
    assert settings.checkpointer.busy_timeout_ms == 1234
    assert settings.runs.max_runs == 5 and settings.runs.max_age_days == 2
