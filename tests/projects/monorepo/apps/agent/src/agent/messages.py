def summary_line(qty: int, sku: str, total: float) -> str:
    return f"{qty} x {sku} = {total:.2f}"
