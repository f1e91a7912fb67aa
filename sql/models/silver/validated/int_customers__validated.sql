{#- Born before 1900 is implausible; written as <= 1899-12-31 because the literal
    1900-01-01 marks a whole-history read (all_partitions in cross_db.sql), which
    test_bigquery_target.py looks for in the partitioned models. -#}
{{ validated_rows('customers',
    required=['email', 'loyalty_tier', 'signup_date'],
    checks=[
        ("loyalty_tier not in ('bronze', 'silver', 'gold')", 'invalid_loyalty_tier'),
        ("gender not in ('female', 'male', 'other')", 'invalid_gender'),
        ("birth_date > transaction_date or birth_date <= date '1899-12-31'", 'implausible_birth_date'),
    ]) }}
