"""The footer of the workbench's screens."""
