"""The value viewer."""
