{{ validated_rows('order_items',
    required=['product_id', 'quantity', 'unit_price', 'discount_rate', 'line_amount'],
    checks=[
        ("quantity <= 0", 'non_positive_quantity'),
        ("unit_price < 0", 'negative_price'),
        ("discount_rate < 0 or discount_rate >= 1", 'invalid_discount'),
        ("abs(line_amount - round(quantity * unit_price * (1 - discount_rate), 2)) > 0.01",
         'amount_mismatch'),
    ],
    references=[('products', 'product_id')]) }}
