"""A graph whose input, context and interrupt answer are typed: for the workbench's
forms. The input is a pydantic model (a required question, a tone among two, a
repeat count with a default, a flag), the runtime context names the user, and the
review interrupt asks for an answer with a response schema (approved required, a
note optional)."""

from dataclasses import dataclass
from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel, Field
from typing_extensions import TypedDict


class Ask(BaseModel):
    question: str = Field(description="what to answer")
    tone: Literal["plain", "pirate"] = "plain"
    repeat: int = 1
    shout: bool = False


@dataclass
class Who:
    user: str = "anon"


class State(TypedDict, total=False):
    question: str
    tone: str
    repeat: int
    shout: bool
    answer: str
    review: dict


ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "approved": {"type": "boolean", "description": "ship it?"},
        "note": {"type": "string"},
    },
    "required": ["approved"],
}


def answer(state: State, runtime: Runtime[Who]) -> State:
    user = runtime.context.user if runtime.context is not None else "nobody"
    text = f"{state['question']} ({state.get('tone', 'plain')}, for {user})"
    if state.get("shout"):
        text = text.upper()
    return {"answer": " ".join([text] * state.get("repeat", 1))}


def review(state: State) -> State:
    verdict = interrupt({"answer": state["answer"]}, response_schema=ANSWER_SCHEMA)
    return {"review": verdict}


graph = StateGraph(State, input_schema=Ask, context_schema=Who)
graph.add_node("answer", answer)
graph.add_node("review", review)
graph.add_edge(START, "answer")
graph.add_edge("answer", "review")
graph.add_edge("review", END)
