PRICES = {"blue-widget": 2.5, "red-gadget": 4.0}
BULK = 10  # from this many items on, 10 % off


def quote(sku: str, qty: int) -> tuple[float, float]:
    """Unit price and total for ``qty`` items of ``sku``."""
    unit = PRICES.get(sku, 1.0)
    total = unit * qty * (0.9 if qty >= BULK else 1.0)
    return unit, round(total, 2)
