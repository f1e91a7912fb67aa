{#- The landing contract (docs/contract.md), mirrored from retail_platform/lib/entities.py;
    a test keeps the two identical (test_landing_files.py). Every column is required in a
    landing file unless the entity lists it in 'optional' (a file may omit it; raw still has
    the column, null). 'references': (entity, column) pairs a valid row's column must name a
    landed key of (validated_rows.sql, unknown_<column without _id>). -#}

{%- macro contract_entities() -%}
  {{ return({
    'orders': {'key': ['order_id'], 'references': [('customers', 'customer_id'), ('stores', 'store_id')], 'columns': [
        ('order_id', 'string'), ('customer_id', 'string'), ('store_id', 'string'),
        ('employee_id', 'string'), ('channel', 'string'), ('status', 'string'),
        ('ordered_at', 'timestamp'), ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'order_items': {'key': ['order_id', 'line_no'], 'optional': ['line_amount'], 'references': [('products', 'product_id')], 'columns': [
        ('order_id', 'string'), ('line_no', 'int'), ('product_id', 'string'), ('quantity', 'int'),
        ('unit_price', 'decimal'), ('discount_rate', 'rate'), ('line_amount', 'decimal'),
        ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'customers': {'key': ['customer_id'], 'columns': [
        ('customer_id', 'string'), ('first_name', 'string'), ('last_name', 'string'),
        ('email', 'string'), ('city', 'string'), ('region', 'string'), ('loyalty_tier', 'string'),
        ('signup_date', 'date'), ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'products': {'key': ['product_id'], 'columns': [
        ('product_id', 'string'), ('sku', 'string'), ('name', 'string'), ('category', 'string'),
        ('brand', 'string'), ('list_price', 'decimal'), ('unit_cost', 'decimal'),
        ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'stores': {'key': ['store_id'], 'columns': [
        ('store_id', 'string'), ('name', 'string'), ('city', 'string'), ('region', 'string'),
        ('opened_on', 'date'), ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'employees': {'key': ['employee_id'], 'references': [('stores', 'store_id')], 'columns': [
        ('employee_id', 'string'), ('store_id', 'string'), ('full_name', 'string'),
        ('role', 'string'), ('hired_on', 'date'), ('transaction_date', 'date'),
        ('updated_at', 'timestamp')]},
    'payments': {'key': ['payment_id'], 'references': [('orders', 'order_id')], 'columns': [
        ('payment_id', 'string'), ('order_id', 'string'), ('method', 'string'),
        ('status', 'string'), ('amount', 'decimal'), ('attempt', 'int'), ('paid_at', 'timestamp'),
        ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'shipments': {'key': ['shipment_id'], 'references': [('orders', 'order_id')], 'columns': [
        ('shipment_id', 'string'), ('order_id', 'string'), ('carrier', 'string'),
        ('service_level', 'string'), ('shipped_at', 'timestamp'), ('promised_on', 'date'),
        ('delivered_at', 'timestamp'), ('status', 'string'), ('damaged', 'bool'),
        ('cost', 'decimal'), ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'inventory': {'key': ['store_id', 'product_id', 'transaction_date'], 'references': [('products', 'product_id'), ('stores', 'store_id')], 'columns': [
        ('store_id', 'string'), ('product_id', 'string'), ('on_hand', 'int'),
        ('reorder_point', 'int'), ('received_qty', 'int'), ('damaged_qty', 'int'),
        ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
  }) }}
{%- endmacro -%}

{%- macro typed_column(column, kind) -%}
  {%- if kind == 'string' -%} {{ column }}
  {%- elif kind == 'int' -%} {{ try_cast(column, type_int()) }}
  {%- elif kind == 'decimal' -%} {{ try_cast(column, type_money()) }}
  {%- elif kind == 'rate' -%} {{ try_cast(column, type_rate()) }}
  {%- elif kind == 'date' -%} {{ try_cast(column, 'date') }}
  {%- elif kind == 'timestamp' -%} {{ try_cast(column, 'timestamp') }}
  {%- elif kind == 'bool' -%} {{ try_cast(column, type_bool()) }}
  {%- else -%} {{ exceptions.raise_compiler_error("unknown contract type " ~ kind) }}
  {%- endif -%}
{%- endmacro -%}
