{{ validated_rows('payments',
    required=['order_id', 'method', 'status', 'amount', 'attempt'],
    checks=[
        ("method not in ('card', 'cash', 'bank_transfer', 'wallet')", 'invalid_method'),
        ("status not in ('succeeded', 'failed', 'refunded')", 'invalid_status'),
        ("amount < 0", 'negative_amount'),
        ("attempt < 1", 'invalid_attempt'),
    ]) }}
