"""Thread history list."""
