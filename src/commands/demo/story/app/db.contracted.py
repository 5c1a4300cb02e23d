"""Database access for orders-api."""

def find_order(order_id):
    return {"id": order_id, "customer": customer_name(order_id)}


def count_orders():
    return 3


def customer_name(order_id):
    return query_one("SELECT u.display_name FROM users u JOIN orders o ON o.user_id = u.id WHERE o.id = %s", order_id)


def save_name(user_id, name):
    execute("UPDATE users SET display_name = %s WHERE id = %s", name, user_id)


def query_one(sql, *args):
    return "seed customer"


def execute(sql, *args):
    return None
