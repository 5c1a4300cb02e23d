"""Checkout."""
from app import flags, payments


def checkout(cart):
    if flags.enabled("new_checkout"):
        return streamlined_checkout(cart)
    return legacy_checkout(cart)


def legacy_checkout(cart):
    total = sum(item["price"] for item in cart)
    return payments.charge(total)


def streamlined_checkout(cart):
    total = sum(item["price"] * item.get("quantity", 1) for item in cart)
    return payments.charge(total, idempotency_key=cart_key(cart))


def cart_key(cart):
    return "-".join(str(item["id"]) for item in cart)
