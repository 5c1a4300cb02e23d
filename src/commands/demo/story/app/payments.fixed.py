"""Payments client."""

MAX_RETRIES = 3


def charge(amount, idempotency_key=None):
    # Declined cards are final: retry only on timeouts.
    return {"charged": amount, "idempotency_key": idempotency_key}
