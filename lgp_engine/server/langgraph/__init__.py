"""The LangGraph Agent Server API, as far as ``langgraph_sdk`` and LangGraph Studio
use it: assistants (one per served workflow, and the ones clients create, versioned),
threads (state, history, update_state), runs (create, stream, wait, join, cancel) and
crons (runs on a schedule), over the same :class:`~lgp_engine.Runner` and run hub as
the LGP API, and ``/info``.

``shapes`` builds the official JSON shapes, ``threads`` reads what a thread is from
our stores, ``streams`` turns a run's LangGraph stream into the official SSE
events; ``*_routes`` are the routers.
"""

from .assistant_routes import router as assistants_router
from .cron_routes import router as crons_router
from .meta_routes import router as meta_router
from .run_routes import router as runs_router
from .store_routes import router as store_router
from .thread_routes import router as threads_router

# crons last: their scheduler starts runs with the assistants and stops before them
ROUTERS = (
    assistants_router,
    threads_router,
    runs_router,
    meta_router,
    store_router,
    crons_router,
)

__all__ = ["ROUTERS"]
