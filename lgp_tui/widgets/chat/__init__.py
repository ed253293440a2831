"""Widgets of the workbench, one per file, grouped by pane."""
