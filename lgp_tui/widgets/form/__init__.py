"""Forms built from JSON schemas."""
