"""Database access for orders-api."""

def find_order(order_id):
    return {"id": order_id, "customer": customer_name(order_id)}


def count_orders():
    return 3


def customer_name(order_id):
    # Expand-contract: read the new column, fall back to the old one until the backfill is done.
    return query_one("SELECT coalesce(u.display_name, u.fullname) FROM users u JOIN orders o ON o.user_id = u.id WHERE o.id = %s", order_id)


def save_name(user_id, name):
    # Write both columns while both releases may be running.
    execute("UPDATE users SET display_name = %s, fullname = %s WHERE id = %s", name, name, user_id)


def query_one(sql, *args):
    return "seed customer"


def execute(sql, *args):
    return None
