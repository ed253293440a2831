"""Tracing: runs as traces and logs, fed by the typed event stream (see :mod:`.base`)."""
