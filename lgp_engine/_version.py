"""The version of LGP Workbench, defined once (the build reads it from here)."""

__version__ = "0.1.0"
