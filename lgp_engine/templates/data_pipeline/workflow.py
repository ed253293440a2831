"""Data pipeline: load -> validate -> aggregate -> report.

Input (all optional):
    csv_path:    CSV with columns date,region,product,units,unit_price
                 (default: data/sales_sample.csv next to this file)
    report_path: where to write the Markdown report (default: data/sales_report.md)
"""

import csv
import math
from pathlib import Path
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

HERE = Path(__file__).parent
DEFAULT_CSV = HERE / "data" / "sales_sample.csv"
DEFAULT_REPORT = HERE / "data" / "sales_report.md"
# Customize: the columns every row must have, and which of them must be numbers.
REQUIRED = ("date", "region", "product", "units", "unit_price")
NUMERIC = ("units", "unit_price")


class State(TypedDict, total=False):
    csv_path: str
    report_path: str
    rows: list[dict[str, str]]
    valid: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    totals: dict[str, Any]
    summary: str


def load(state: State) -> State:
    path = Path(state.get("csv_path") or DEFAULT_CSV)
    if not path.is_file():
        raise FileNotFoundError(f"Sales CSV not found: {path.resolve()}")
    with path.open(newline="", encoding="utf-8") as f:
        # restkey collects surplus fields so validate() can reject those rows.
        rows = [dict(row) for row in csv.DictReader(f, restkey="_extra")]
    return {"csv_path": str(path), "rows": rows}


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _reject_reason(row: dict[str, Any]) -> str | None:
    """Return why a row is invalid, or None if it is fine."""
    # Customize: add your own business rules here.
    missing = [col for col in REQUIRED if not (row.get(col) or "").strip()]
    if missing:
        return f"missing {', '.join(missing)}"
    if row.get("_extra"):
        return "too many fields"
    bad = [col for col in NUMERIC if _number(row[col]) is None]
    if bad:
        return f"non-numeric {', '.join(bad)}"
    if any(float(row[col]) < 0 for col in NUMERIC):
        return "negative value"
    return None


def validate(state: State) -> State:
    valid: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for line, row in enumerate(state.get("rows", []), start=2):  # line 1 is the header
        reason = _reject_reason(row)
        if reason:
            rejected.append({"line": line, "row": row, "reason": reason})
            continue
        units, price = float(row["units"]), float(row["unit_price"])
        valid.append({**row, "units": units, "unit_price": price, "revenue": units * price})
    return {"valid": valid, "rejected": rejected}


def _group(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, float]]:
    groups: dict[str, dict[str, float]] = {}
    for row in rows:
        g = groups.setdefault(row[key], {"count": 0, "units": 0.0, "revenue": 0.0})
        g["count"] += 1
        g["units"] += row["units"]
        g["revenue"] += row["revenue"]
    for g in groups.values():
        g["mean_revenue"] = round(g["revenue"] / g["count"], 2)
        g["revenue"] = round(g["revenue"], 2)
    return dict(sorted(groups.items()))


def aggregate(state: State) -> State:
    # Customize: group by other columns or add more statistics.
    valid = state.get("valid", [])
    revenue = round(sum((r["revenue"] for r in valid), 0.0), 2)
    totals = {
        "count": len(valid),
        "revenue": revenue,
        "mean_revenue": round(revenue / len(valid), 2) if valid else 0.0,
        "by_region": _group(valid, "region"),
        "by_product": _group(valid, "product"),
    }
    return {"totals": totals}


def report(state: State) -> State:
    # Customize: change the report layout or output format here.
    t = state.get("totals", {})
    rejected = state.get("rejected", [])
    lines = ["# Sales report", "", f"Source: `{state.get('csv_path', '')}`", ""]
    lines.append(
        f"Valid rows: {t['count']}, rejected: {len(rejected)}, "
        f"revenue: {t['revenue']:.2f}, mean per row: {t['mean_revenue']:.2f}"
    )
    for title, key in (("Region", "by_region"), ("Product", "by_product")):
        lines += ["", f"## By {title.lower()}", "", f"| {title} | Rows | Units | Revenue | Mean |"]
        lines.append("|---|---:|---:|---:|---:|")
        for name, g in t[key].items():
            lines.append(
                f"| {name} | {g['count']:.0f} | {g['units']:g} | "
                f"{g['revenue']:.2f} | {g['mean_revenue']:.2f} |"
            )
    if rejected:
        lines += ["", "## Rejected rows", ""]
        lines += [f"- line {r['line']}: {r['reason']}" for r in rejected]
    path = Path(state.get("report_path") or DEFAULT_REPORT)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = (
        f"{t['count']} valid rows ({len(rejected)} rejected), "
        f"total revenue {t['revenue']:.2f}; report written to {path}"
    )
    return {"report_path": str(path), "summary": summary}


workflow = StateGraph(State)
# add_sequence registers the nodes (named after the functions) and chains them with edges.
# Customize: insert extra steps (e.g. a "clean" node) into the list.
workflow.add_sequence([load, validate, aggregate, report])
workflow.add_edge(START, "load")
workflow.add_edge("report", END)
