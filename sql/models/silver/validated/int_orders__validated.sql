{{ validated_rows('orders',
    required=['customer_id', 'store_id', 'channel', 'status', 'ordered_at'],
    checks=[
        ("channel not in ('in_store', 'online')", 'invalid_channel'),
        ("status not in ('completed', 'cancelled', 'returned')", 'invalid_status'),
        ("customer_id not in (" ~ known_keys('customers', 'customer_id', 'orders') ~ ")", 'unknown_customer'),
        ("store_id not in (" ~ known_keys('stores', 'store_id', 'orders') ~ ")", 'unknown_store'),
    ]) }}
