"""Payments client."""

MAX_RETRIES = 3


def charge(amount, idempotency_key=None):
    for attempt in range(MAX_RETRIES):
        result = {"charged": amount, "attempt": attempt}
        if result:
            return result
    return None
