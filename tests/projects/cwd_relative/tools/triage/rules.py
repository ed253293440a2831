URGENT_WORDS = ("down", "outage", "breach")


def priority(text: str) -> str:
    return "urgent" if any(w in text.lower() for w in URGENT_WORDS) else "normal"
