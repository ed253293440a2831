"""Basic example workflow: greet -> analyze -> respond.

Run it with the LGP Workbench CLI:

    lgp run workflows/basic_workflow.py --input '{"input": "hi"}' --thread t1

Run it again with the same ``--thread`` and the earlier messages are still there
and ``run_count`` goes up, because state is saved per thread by the checkpointer.
"""

import operator
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    input: str
    # operator.add appends each node's messages to the list kept for the thread.
    messages: Annotated[list[str], operator.add]
    run_count: int
    analysis: dict[str, int | bool | str]
    response: str


def greet(state: State) -> State:
    run_count = state.get("run_count", 0) + 1
    return {"run_count": run_count, "messages": [f"greet: hello (run #{run_count})"]}


def analyze(state: State) -> State:
    # Customize: compute whatever features of the input you need.
    text = state.get("input", "")
    words = text.split()
    analysis: dict[str, int | bool | str] = {
        "word_count": len(words),
        "char_count": len(text),
        "uppercase": text.upper(),
        "is_question": text.rstrip().endswith("?"),
    }
    return {"analysis": analysis, "messages": [f"analyze: {len(words)} word(s)"]}


def respond(state: State) -> State:
    # Customize: build the final answer from the analysis.
    analysis = state.get("analysis", {})
    kind = "question" if analysis.get("is_question") else "statement"
    response = (
        f"You sent a {kind} with {analysis.get('word_count', 0)} word(s): "
        f"{analysis.get('uppercase', '')}"
    )
    return {"response": response, "messages": [f"respond: {response}"]}


# Left uncompiled: the engine compiles it with its own SQLite checkpointer.
workflow = StateGraph(State)
workflow.add_node("greet", greet)
workflow.add_node("analyze", analyze)
workflow.add_node("respond", respond)
workflow.add_edge(START, "greet")
workflow.add_edge("greet", "analyze")
workflow.add_edge("analyze", "respond")
workflow.add_edge("respond", END)
