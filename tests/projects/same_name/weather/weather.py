"""The module named like its package: ``import weather`` must still mean the package."""

from .units import to_fahrenheit

_CELSIUS = {"oslo": -3.0, "lisbon": 17.5, "cairo": 29.0}


def forecast(city: str) -> dict[str, object]:
    celsius = _CELSIUS.get(city.lower(), 12.0)
    return {"city": city, "celsius": celsius, "fahrenheit": to_fahrenheit(celsius)}
