"""Output schemas of agent nodes: find the JSON answer in a reply, validate it, and
say what is wrong in words a model can fix.

The answer is read from the reply text (bare JSON, or the first fenced block), so
endpoints without tool calling or ``response_format`` work too. A schema is a
pydantic model class or a JSON schema (dict).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


class OutputSchema:
    """A schema an agent's answer must meet."""

    def __init__(self, schema: type[BaseModel] | dict[str, Any]) -> None:
        self.model: type[BaseModel] | None = None
        self.json_schema: dict[str, Any]
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            self.model = schema
            self.json_schema = schema.model_json_schema()
        elif isinstance(schema, dict):
            import jsonschema

            jsonschema.validators.validator_for(schema).check_schema(schema)
            self.json_schema = schema
        else:
            raise TypeError("output_schema must be a pydantic model class or a JSON schema dict")

    @property
    def name(self) -> str:
        if self.model is not None:
            return self.model.__name__
        return str(self.json_schema.get("title") or "answer")

    def instructions(self) -> str:
        """What to add to the prompt so the model answers in the right shape."""
        return (
            "Answer with a single JSON value that matches this JSON schema, and nothing "
            "else (a ```json fenced block is fine):\n" + json.dumps(self.json_schema, indent=1)
        )

    def check(self, text: str) -> tuple[Any, list[str]]:
        """The validated answer found in ``text`` (JSON-safe), or the problems."""
        try:
            value = extract_json(text)
        except ValueError as exc:
            return None, [str(exc)]
        if self.model is not None:
            try:
                return self.model.model_validate(value).model_dump(mode="json"), []
            except ValidationError as exc:
                return None, [_pydantic_error(e) for e in exc.errors()]
        import jsonschema

        validator = jsonschema.validators.validator_for(self.json_schema)(self.json_schema)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            return None, [_jsonschema_error(e) for e in errors[:20]]
        return value, []


def extract_json(text: str) -> Any:
    """The JSON value in a reply: the whole text, else the first fenced block, else
    the outermost ``{...}`` or ``[...]``."""
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    for opener, closer in ("{}", "[]"):
        start, end = text.find(opener), text.rfind(closer)
        if 0 <= start < end:
            candidates.append(text[start : end + 1])
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ValueError("the reply holds no JSON value (expected a JSON object, bare or in ```json)")


def repair_prompt(errors: list[str]) -> str:
    """The message that sends an invalid answer back to the model."""
    listed = "\n".join(f"- {e}" for e in errors)
    return (
        "Your answer does not match the required JSON schema:\n"
        f"{listed}\n"
        "Reply again with only the corrected JSON."
    )


def _pydantic_error(err: Any) -> str:
    where = ".".join(str(p) for p in err.get("loc", ())) or "(answer)"
    return f"{where}: {err.get('msg')}"


def _jsonschema_error(err: Any) -> str:
    where = ".".join(str(p) for p in err.absolute_path) or "(answer)"
    return f"{where}: {err.message}"
