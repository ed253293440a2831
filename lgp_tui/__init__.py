"""LGP Workbench terminal UI: a Textual app over :mod:`lgp_engine`.

Only this package imports Textual; the engine stays headless.
"""
