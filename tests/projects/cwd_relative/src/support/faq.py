ANSWERS = {
    "refund": "Refunds take 5 business days.",
    "password": "Use 'Forgot password' on the sign-in page.",
}


def answer_for(question: str) -> str:
    words = question.lower().split()
    topic = next((t for t in ANSWERS if t in words), None)
    return ANSWERS[topic] if topic else "A person will get back to you."
