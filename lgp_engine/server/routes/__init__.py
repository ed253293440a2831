"""HTTP routes, one router per file: ``core`` (the LGP API) and ``lg_*`` (the
subset of the LangGraph Agent Server API that ``langgraph_sdk`` uses)."""
