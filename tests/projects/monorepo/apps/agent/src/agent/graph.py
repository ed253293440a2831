"""Quotes an order: normalise the item, price it with the shared tools, summarise."""

from typing import TypedDict

from common import slugify  # libs/common: a package folder without pyproject.toml
from langgraph.graph import END, START, StateGraph
from tools_pkg import quote  # libs/tools: a src/-layout package with a pyproject.toml

from agent.messages import summary_line  # this app's own package (src/ layout)


class State(TypedDict, total=False):
    item: str
    qty: int
    sku: str
    unit_price: float
    total: float
    summary: str


def normalise(state: State) -> State:
    return {"sku": slugify(state["item"])}


def price(state: State) -> State:
    unit, total = quote(state["sku"], state.get("qty", 1))
    return {"unit_price": unit, "total": total}


def summarise(state: State) -> State:
    return {"summary": summary_line(state.get("qty", 1), state["sku"], state["total"])}


builder = StateGraph(State)
builder.add_node("normalise", normalise)
builder.add_node("price", price)
builder.add_node("summarise", summarise)
builder.add_edge(START, "normalise")
builder.add_edge("normalise", "price")
builder.add_edge("price", "summarise")
builder.add_edge("summarise", END)
graph = builder.compile()
