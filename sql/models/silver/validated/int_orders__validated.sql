{{ validated_rows('orders',
    required=['customer_id', 'store_id', 'channel', 'status', 'ordered_at'],
    checks=[
        ("channel not in ('in_store', 'online')", 'invalid_channel'),
        ("status not in ('completed', 'cancelled', 'returned')", 'invalid_status'),
    ]) }}
