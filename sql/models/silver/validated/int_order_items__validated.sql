{#- line_amount is optional in a landing file (docs/contract.md): when present it must be
    the contract's formula within a cent (line_amount_mismatch; a null one never compares,
    so the check fires only when the value is there), when absent it is computed, so
    silver/order_items always has it. -#}
with validated as (
{{ validated_rows('order_items',
    required=['product_id', 'quantity', 'unit_price', 'discount_rate'],
    checks=[
        ("quantity <= 0", 'non_positive_quantity'),
        ("unit_price < 0", 'negative_price'),
        ("discount_rate < 0 or discount_rate >= 1", 'invalid_discount'),
        ("line_amount is not null and "
         ~ "abs(line_amount - round(quantity * unit_price * (1 - discount_rate), 2)) > 0.01",
         'line_amount_mismatch'),
    ]) }}
)

select * replace (
    coalesce(
        line_amount,
        cast(round(quantity * unit_price * (1 - discount_rate), 2) as {{ type_money() }})
    ) as line_amount
)
from validated
