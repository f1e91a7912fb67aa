{{ validated_rows('customers',
    required=['email', 'loyalty_tier', 'signup_date'],
    checks=[
        ("loyalty_tier not in ('bronze', 'silver', 'gold')", 'invalid_loyalty_tier'),
    ]) }}
