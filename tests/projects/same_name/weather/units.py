def to_fahrenheit(celsius: float) -> float:
    return round(celsius * 9 / 5 + 32, 1)
