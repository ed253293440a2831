"""What differs between storage backends: the long-term store and the node cache
(checkpoints and run records are in :mod:`lgp_engine.checkpointing` and
:mod:`lgp_engine.runs`)."""
