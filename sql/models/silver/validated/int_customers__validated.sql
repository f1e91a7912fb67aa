{{ validated_rows('customers',
    required=['email', 'loyalty_tier', 'signup_date'],
    checks=[
        ("loyalty_tier not in ('bronze', 'silver', 'gold')", 'invalid_loyalty_tier'),
        ("gender not in ('female', 'male', 'other')", 'invalid_gender'),
        ("birth_date > transaction_date or birth_date < date '1900-01-01'", 'implausible_birth_date'),
    ]) }}
