"""A planner and a Claude Code agent working in a repository.

The input names the task and the repository (a path, relative to the project):

    lgp run coder --input '{"task": "Add a CONTRIBUTING.md", "repository": "../my-repo"}'

The planner turns the task into instructions; the `coder` node then runs a real
Claude Code session in that repository and returns `coder_output` (its answer) and
`coder_session_id`. Run the thread again and the session continues where it
stopped: Claude sees the earlier turns. Replaying or forking the thread branches
the conversation instead of sharing it.

Which CLI runs, against which endpoint, with what defaults and cost model, is
config, not code: `llm_providers.claude_code` in `config/<env>.yaml`, e.g.

    llm_providers:
      claude_code:
        base_url: ${ANTHROPIC_BASE_URL:-}      # default: Anthropic's API
        api_key: ${ANTHROPIC_API_KEY:-}        # default: the CLI's own login
        stall_timeout_s: 300                   # stop a session silent this long
        cost_model: fixed_subscription         # or per_token (the CLI's figures)
        monthly_cost: 20.00

Watch a session live from another terminal with `lgp agents watch RUN_ID`, and see
its figures afterwards with `lgp agents summary RUN_ID`.
"""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from lgp_engine import create_claude_code_node

# Customize: the task when the input gives none.
DEFAULT_TASK = "Add a README.md that says what this repository is for"


class State(TypedDict, total=False):
    task: str
    repository: str
    plan: str
    coder_output: str
    coder_session_id: str


def planner(state: State) -> State:
    """Customize: the plan the agent gets. This one is fixed text; for a model-written
    plan, use create_agent_node("ollama", {"role_name": "planner", ...}) instead and
    read its `planner_output`."""
    task = state.get("task") or DEFAULT_TASK
    return {
        "plan": (
            f"Task: {task}\n"
            "Work only inside this repository. Keep changes small, and finish with a "
            "one-paragraph summary of what you changed."
        )
    }


# Customize: the agent's tools and limits. Bare file tools (Read, Edit, Write...) are
# limited to the repository; permission_mode acceptEdits lets it edit files there
# without asking. Its session id lands in `coder_session_id`.
coder = create_claude_code_node(
    "coder",
    "{repository}",  # the input chooses the repository
    prompt="{plan}",
    allowed_tools=["Read", "Edit", "Write", "Glob", "Grep"],
    permission_mode="acceptEdits",
    max_turns=30,
)

# The engine compiles the graph with its own checkpointer: leave it uncompiled.
workflow = StateGraph(State)
workflow.add_node("planner", planner)
workflow.add_node("coder", coder)
workflow.add_edge(START, "planner")
workflow.add_edge("planner", "coder")
workflow.add_edge("coder", END)
