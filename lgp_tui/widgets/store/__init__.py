"""The store browser's widgets."""
