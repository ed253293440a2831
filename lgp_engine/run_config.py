"""A caller's run configuration (LangChain's ``RunnableConfig`` as JSON), checked and
merged with the keys the engine sets itself.

Callers (``lgp run --config``, the API's ``config``, an assistant's stored config)
may give ``configurable`` values, ``tags``, ``metadata``, ``recursion_limit``,
``run_name`` and ``max_concurrency``; they reach the graph as LangGraph would pass
them. The engine owns the thread and checkpoint keys: a caller's ``thread_id`` /
``checkpoint_id`` that disagrees with the run's is refused rather than silently
replaced, and LangGraph's private ``__...`` keys are refused.
"""

from __future__ import annotations

from typing import Any

from .errors import UsageError

#: Top-level keys of a run config a caller may set.
RUN_CONFIG_KEYS = (
    "configurable",
    "tags",
    "metadata",
    "recursion_limit",
    "run_name",
    "max_concurrency",
)
#: ``configurable`` keys the engine sets from the run itself.
OWNED_KEYS = ("thread_id", "checkpoint_id", "checkpoint_ns")


def check_run_config(config: Any, *, field: str = "config") -> dict[str, Any]:
    """``config`` as a clean dict, or :class:`UsageError` naming what is wrong."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise UsageError(
            '{field} must be an object, e.g. {"configurable": {"user_id": "u1"}}',
            field=field,
            code="not_an_object",
        )
    unknown = sorted(set(config) - set(RUN_CONFIG_KEYS))
    if unknown:
        raise UsageError(
            f"unknown key(s) in {{field}}: {', '.join(unknown)}; "
            f"allowed: {', '.join(RUN_CONFIG_KEYS)}",
            field=field,
            code="unknown_key",
        )
    configurable = config.get("configurable")
    if configurable is not None:
        if not isinstance(configurable, dict):
            raise UsageError(
                "configurable in {field} must be an object", field=field, code="not_an_object"
            )
        private = sorted(k for k in configurable if str(k).startswith("__"))
        if private:
            raise UsageError(
                f"configurable in {{field}} may not set LangGraph's private keys: "
                f"{', '.join(private)}",
                field=field,
                code="private_key",
            )
    for key, kind in (("tags", list), ("metadata", dict)):
        if config.get(key) is not None and not isinstance(config[key], kind):
            noun = "a list of strings" if kind is list else "an object"
            raise UsageError(f"{key} in {{field}} must be {noun}", field=field, code="bad_type")
    if config.get("tags") and not all(isinstance(t, str) for t in config["tags"]):
        raise UsageError("tags in {field} must be a list of strings", field=field, code="bad_type")
    for key in ("recursion_limit", "max_concurrency"):
        value = config.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise UsageError(
                f"{key} in {{field}} must be a whole number >= 1", field=field, code="bad_type"
            )
    if config.get("run_name") is not None and not isinstance(config["run_name"], str):
        raise UsageError("run_name in {field} must be a string", field=field, code="bad_type")
    return {k: v for k, v in config.items() if v is not None}


def check_owned_keys(
    config: dict[str, Any],
    thread_id: str | None,
    checkpoint_id: str | None,
    *,
    field: str = "config",
) -> None:
    """Refuse a caller's thread/checkpoint key that disagrees with the run's own."""
    configurable = config.get("configurable") or {}
    given = {"thread_id": thread_id, "checkpoint_id": checkpoint_id, "checkpoint_ns": ""}
    for key in OWNED_KEYS:
        if key in configurable and configurable[key] not in (None, given[key]):
            ours = "a new thread" if given[key] is None else repr(given[key])
            raise UsageError(
                f"configurable.{key} in {{field}} is {configurable[key]!r} but the run's is "
                f"{ours}; the run sets it (choose the thread or checkpoint with the run's "
                "own option, not in the config)",
                field=field,
                code="owned_key",
            )


def merge_run_config(caller: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """The caller's config with the engine's own keys on top (``own`` wins)."""
    merged: dict[str, Any] = {**caller, **{k: v for k, v in own.items() if k != "configurable"}}
    configurable = {
        k: v for k, v in (caller.get("configurable") or {}).items() if k not in OWNED_KEYS
    }
    configurable.update(own.get("configurable") or {})
    merged["configurable"] = configurable
    if caller.get("metadata") or own.get("metadata"):
        merged["metadata"] = {**(caller.get("metadata") or {}), **(own.get("metadata") or {})}
    tags = [*(caller.get("tags") or []), *(own.get("tags") or [])]
    if tags:
        merged["tags"] = list(dict.fromkeys(tags))
    limit = caller.get("recursion_limit")
    if limit is not None:
        # the caller may lower the engine's cap (the server's max_steps), never raise it
        cap = own.get("recursion_limit")
        merged["recursion_limit"] = min(limit, cap) if cap is not None else limit
    return merged
