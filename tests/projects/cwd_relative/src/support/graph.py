"""Answers a question from the FAQ and signs it."""

import os
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from support.faq import answer_for


class State(TypedDict, total=False):
    question: str
    answer: str


def answer(state: State) -> State:
    signature = os.environ.get("LGPWB_TEST_SUPPORT_SIGNATURE", "<no signature>")
    return {"answer": f"{answer_for(state['question'])} ({signature})"}


builder = StateGraph(State)
builder.add_node("answer", answer)
builder.add_edge(START, "answer")
builder.add_edge("answer", END)
graph = builder.compile()
