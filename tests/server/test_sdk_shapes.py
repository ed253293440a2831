"""The LangGraph API's shapes are typed against the official ``langgraph_sdk.schema``:
every field the SDK requires of a Thread, ThreadState, Run, Assistant... is one our
models answer with, and our vocabularies (statuses, strategies, stream modes) are the
SDK's own. A new SDK that adds a required field fails here before a client does."""

from __future__ import annotations

import typing

import pytest
import typing_extensions
from langgraph_sdk import schema as sdk

from lgp_engine.server.langgraph import models

SHAPES = [
    (sdk.Thread, models.Thread),
    (sdk.ThreadState, models.ThreadState),
    (sdk.ThreadTask, models.Task),
    (sdk.Run, models.Run),
    (sdk.Assistant, models.Assistant),
    (sdk.Interrupt, models.Interrupt),
    (sdk.Checkpoint, models.Checkpoint),
]


def our_keys(model: type[models.BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def required_keys(typed_dict: type) -> set[str]:
    """The keys a TypedDict requires (``__required_keys__`` misses ``NotRequired`` when
    the module's annotations are strings)."""
    hints = typing.get_type_hints(typed_dict, include_extras=True)
    optional = (typing.NotRequired, typing_extensions.NotRequired)
    return {k for k, hint in hints.items() if typing.get_origin(hint) not in optional}


@pytest.mark.parametrize(("official", "ours"), SHAPES, ids=lambda t: t.__name__)
def test_every_field_the_sdk_requires_is_answered(official: type, ours: type) -> None:
    required = required_keys(official)
    assert required, official
    assert required <= our_keys(ours), required - our_keys(ours)


@pytest.mark.parametrize(
    ("official", "ours"),
    [
        (sdk.RunStatus, models.RunStatusName),
        (sdk.ThreadStatus, models.ThreadStatusName),
        (sdk.MultitaskStrategy, models.MultitaskStrategy),
    ],
    ids=["run status", "thread status", "multitask strategy"],
)
def test_vocabularies_are_the_sdks(official: object, ours: object) -> None:
    assert set(typing.get_args(ours)) == set(typing.get_args(official))


def test_stream_modes_are_the_sdks_but_the_ones_not_served() -> None:
    ours, theirs = set(typing.get_args(models.StreamMode)), set(typing.get_args(sdk.StreamMode))
    assert ours <= theirs
    # not served (yet): 'lifecycle' and 'tools' are refused with 422 naming the supported ones
    assert theirs - ours <= {"lifecycle", "tools"}
