"""The support agent, started from the repository root with
``langgraph dev --config deploy/langgraph.json``: the paths in that file are relative
to the root, not to ``deploy/``."""
