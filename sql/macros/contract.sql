{#- GENERATED from retail_platform/contract.toml by
    `python -m retail_platform.lib.contract_codegen`: do not edit, edit the
    contract and run that (a test fails when this file is stale).

    The landing contract (docs/contract.md). Every column is required in a landing file
    unless the entity lists it in 'optional' (a file may omit it; raw still has the
    column, null). 'references': (entity, column) pairs a valid row's column must name a
    key with a valid version of (validated_rows.sql known_key_checks, unknown_<column
    without _id>). Column types are the contract's logical types (typed_column). -#}

{#- The fact entities: partitioned by transaction_date in silver. -#}
{%- macro fact_entities() -%}
  {{ return(['orders', 'order_items', 'payments', 'shipments', 'inventory']) }}
{%- endmacro -%}

{#- The dimension entities: merged across windows in silver (no partition of their
    own). -#}
{%- macro dimension_entities() -%}
  {{ return(['customers', 'products', 'stores', 'employees']) }}
{%- endmacro -%}

{%- macro contract_entities() -%}
  {{ return({
    'orders': {
      'kind': 'fact',
      'key': ['order_id'],
      'optional': [],
      'references': [('customers', 'customer_id'), ('stores', 'store_id')],
      'columns': [
        ('order_id', 'string'),
        ('customer_id', 'string'),
        ('store_id', 'string'),
        ('employee_id', 'string'),
        ('channel', 'string'),
        ('status', 'string'),
        ('ordered_at', 'timestamp'),
        ('transaction_date', 'date'),
        ('updated_at', 'timestamp'),
      ]},
    'order_items': {
      'kind': 'fact',
      'key': ['order_id', 'line_no'],
      'optional': ['line_amount'],
      'references': [('products', 'product_id')],
      'columns': [
        ('order_id', 'string'),
        ('line_no', 'int'),
        ('product_id', 'string'),
        ('quantity', 'int'),
        ('unit_price', 'decimal'),
        ('discount_rate', 'rate'),
        ('line_amount', 'decimal'),
        ('transaction_date', 'date'),
        ('updated_at', 'timestamp'),
      ]},
    'customers': {
      'kind': 'dimension',
      'key': ['customer_id'],
      'optional': ['birth_date', 'gender'],
      'references': [],
      'columns': [
        ('customer_id', 'string'),
        ('first_name', 'string'),
        ('last_name', 'string'),
        ('email', 'string'),
        ('city', 'string'),
        ('region', 'string'),
        ('loyalty_tier', 'string'),
        ('signup_date', 'date'),
        ('birth_date', 'date'),
        ('gender', 'string'),
        ('transaction_date', 'date'),
        ('updated_at', 'timestamp'),
      ]},
    'products': {
      'kind': 'dimension',
      'key': ['product_id'],
      'optional': [],
      'references': [],
      'columns': [
        ('product_id', 'string'),
        ('sku', 'string'),
        ('name', 'string'),
        ('category', 'string'),
        ('brand', 'string'),
        ('list_price', 'decimal'),
        ('unit_cost', 'decimal'),
        ('transaction_date', 'date'),
        ('updated_at', 'timestamp'),
      ]},
    'stores': {
      'kind': 'dimension',
      'key': ['store_id'],
      'optional': [],
      'references': [],
      'columns': [
        ('store_id', 'string'),
        ('name', 'string'),
        ('city', 'string'),
        ('region', 'string'),
        ('opened_on', 'date'),
        ('transaction_date', 'date'),
        ('updated_at', 'timestamp'),
      ]},
    'employees': {
      'kind': 'dimension',
      'key': ['employee_id'],
      'optional': [],
      'references': [('stores', 'store_id')],
      'columns': [
        ('employee_id', 'string'),
        ('store_id', 'string'),
        ('full_name', 'string'),
        ('role', 'string'),
        ('hired_on', 'date'),
        ('transaction_date', 'date'),
        ('updated_at', 'timestamp'),
      ]},
    'payments': {
      'kind': 'fact',
      'key': ['payment_id'],
      'optional': [],
      'references': [('orders', 'order_id')],
      'columns': [
        ('payment_id', 'string'),
        ('order_id', 'string'),
        ('method', 'string'),
        ('status', 'string'),
        ('amount', 'decimal'),
        ('attempt', 'int'),
        ('paid_at', 'timestamp'),
        ('transaction_date', 'date'),
        ('updated_at', 'timestamp'),
      ]},
    'shipments': {
      'kind': 'fact',
      'key': ['shipment_id'],
      'optional': [],
      'references': [('orders', 'order_id')],
      'columns': [
        ('shipment_id', 'string'),
        ('order_id', 'string'),
        ('carrier', 'string'),
        ('service_level', 'string'),
        ('shipped_at', 'timestamp'),
        ('promised_on', 'date'),
        ('delivered_at', 'timestamp'),
        ('status', 'string'),
        ('damaged', 'bool'),
        ('cost', 'decimal'),
        ('transaction_date', 'date'),
        ('updated_at', 'timestamp'),
      ]},
    'inventory': {
      'kind': 'fact',
      'key': ['store_id', 'product_id', 'transaction_date'],
      'optional': [],
      'references': [('products', 'product_id'), ('stores', 'store_id')],
      'columns': [
        ('store_id', 'string'),
        ('product_id', 'string'),
        ('on_hand', 'int'),
        ('reorder_point', 'int'),
        ('received_qty', 'int'),
        ('damaged_qty', 'int'),
        ('transaction_date', 'date'),
        ('updated_at', 'timestamp'),
      ]},
  }) }}
{%- endmacro -%}
