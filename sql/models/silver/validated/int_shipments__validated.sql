{{ validated_rows('shipments',
    required=['order_id', 'carrier', 'status', 'shipped_at', 'damaged', 'cost'],
    checks=[
        ("status not in ('delivered', 'in_transit', 'lost', 'returned')", 'invalid_status'),
        ("cost < 0", 'negative_cost'),
        ("delivered_at < shipped_at", 'delivered_before_shipped'),
    ]) }}
