{{ validated_rows('inventory',
    required=['on_hand', 'reorder_point', 'received_qty', 'damaged_qty'],
    checks=[
        ("on_hand < 0 or reorder_point < 0 or received_qty < 0 or damaged_qty < 0",
         'negative_quantity'),
    ]) }}
