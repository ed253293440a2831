"""Screens and modal dialogs pushed over the workbench."""
