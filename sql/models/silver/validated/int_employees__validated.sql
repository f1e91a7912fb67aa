{{ validated_rows('employees',
    required=['store_id', 'full_name'],
    checks=[
        ("store_id not in (" ~ known_keys('stores', 'store_id', 'employees') ~ ")", 'unknown_store'),
    ]) }}
