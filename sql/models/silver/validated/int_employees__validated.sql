{{ validated_rows('employees',
    required=['store_id', 'full_name']) }}
