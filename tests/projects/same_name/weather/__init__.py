"""Weather lookups: the package's API is what its modules export."""

from weather.weather import forecast

__all__ = ["forecast"]
