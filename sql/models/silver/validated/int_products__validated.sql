{{ validated_rows('products',
    required=['name', 'category', 'list_price', 'unit_cost'],
    checks=[
        ("list_price < 0", 'negative_price'),
        ("unit_cost < 0", 'negative_cost'),
    ]) }}
