"""The agent panel (f10): the agents of the run, live."""
