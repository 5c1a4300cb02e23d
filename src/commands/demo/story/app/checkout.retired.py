"""Checkout."""
from app import payments


def checkout(cart):
    total = sum(item["price"] * item.get("quantity", 1) for item in cart)
    return payments.charge(total, idempotency_key=cart_key(cart))


def cart_key(cart):
    return "-".join(str(item["id"]) for item in cart)
