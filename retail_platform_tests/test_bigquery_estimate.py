"""What benchmarks/bigquery_estimate.py reads out of a statement: per table, the columns
and the days it bills. Statements in the shape dbt-bigquery and the checks send them."""

from datetime import timedelta

from benchmarks.bigquery_estimate import RUN_DAY, STAR, Read, statement_reads

P = "`test-project`"
NEXT_DAY = RUN_DAY + timedelta(days=1)
DAY = f"cast('{RUN_DAY}' as date)"
NEXT = f"cast('{NEXT_DAY}' as date)"
COLUMNS = {
    "retail_raw.orders": ["order_id", "customer_id", "_partition_date"],
    "retail_raw.customers": ["customer_id", "email", "_partition_date"],
    "retail_silver.orders": ["order_id", "customer_id", "status", "transaction_date"],
    "retail_silver.customers": ["customer_id", "email", "transaction_date"],
}
TABLES = {
    "retail_raw.orders": {"partition": "_partition_date", "view": None},
    "retail_raw.customers": {"partition": "_partition_date", "view": None},
    "retail_silver.orders": {"partition": "transaction_date", "view": None},
    "retail_silver.customers": {"partition": None, "view": None},
    "retail_gold.daily_orders": {
        "partition": None,
        "view": f"select transaction_date, count(*) as orders from {P}.retail_silver.orders "
        "group by transaction_date",
    },
}


def reads(sql: str, pushdown: bool = False) -> list[Read]:
    return statement_reads(sql, TABLES, lambda t: COLUMNS.get(t, []), pushdown)


def test_a_window_filter_on_the_partition_column_reads_one_day():
    """Of the columns it names, the filter's too (BigQuery bills what a query references)."""
    sql = (
        f"select order_id, status from {P}.retail_silver.orders "
        f"where transaction_date >= {DAY} and transaction_date < {NEXT}"
    )
    columns = ("order_id", "status", "transaction_date")
    assert reads(sql) == [Read("retail_silver.orders", columns, 1)]


def test_a_filter_from_1900_reads_every_day():
    sql = f"select * from {P}.retail_silver.orders where transaction_date >= '1900-01-01'"
    assert reads(sql) == [Read("retail_silver.orders", STAR, None)]


def test_a_key_lookup_in_a_subquery_reads_the_whole_key_column():
    """The subquery's table is not pruned by the outer query's window."""
    sql = (
        f"select * from {P}.retail_raw.orders "
        f"where _partition_date >= cast('{RUN_DAY}' as datetime) "
        f"and _partition_date < cast('{NEXT_DAY}' as datetime) "
        f"and customer_id not in (select customer_id from {P}.retail_raw.customers)"
    )
    assert sorted(reads(sql), key=repr) == sorted(
        [
            Read("retail_raw.orders", STAR, 1),
            Read("retail_raw.customers", ("customer_id",), None),
        ],
        key=repr,
    )


def test_insert_overwrite_merge_bills_a_day_of_its_temp_table_and_of_its_target():
    sql = (
        f"merge into {P}.`retail_silver`.`orders` as DBT_INTERNAL_DEST using ("
        f"select * from {P}.`retail_silver`.`orders__dbt_tmp211108600266`"
        ") as DBT_INTERNAL_SOURCE on FALSE "
        "when not matched by source and date(dbt_internal_dest.transaction_date) in "
        f"(date '{RUN_DAY}') then delete "
        "when not matched then insert (`order_id`) values (`order_id`)"
    )
    assert reads(sql) == [
        Read("retail_silver.orders", STAR, 1),  # the temp table: the model's day
        Read("retail_silver.orders", STAR, 1),  # the partition the merge replaces
    ]


def test_a_merge_that_updates_an_unpartitioned_table_bills_all_of_it():
    sql = (
        f"merge into {P}.`retail_silver`.`customers` as DBT_INTERNAL_DEST using ("
        f"select * from {P}.`retail_silver`.`customers__dbt_tmp1`) as DBT_INTERNAL_SOURCE "
        "on DBT_INTERNAL_SOURCE.customer_id = DBT_INTERNAL_DEST.customer_id "
        "when matched then update set `email` = DBT_INTERNAL_SOURCE.`email` "
        "when not matched then insert (`customer_id`) values (`customer_id`)"
    )
    assert reads(sql)[-1] == Read("retail_silver.customers", STAR, None)


def test_an_insert_only_merge_bills_its_source_only():
    sql = (
        f"merge into {P}.retail_silver.customers as d using (select customer_id from "
        f"{P}.retail_silver.customers) as s on s.customer_id = d.customer_id "
        "when not matched then insert (customer_id) values (customer_id)"
    )
    assert reads(sql) == [Read("retail_silver.customers", ("customer_id",), None)]


def test_a_view_read_is_its_query_read_and_a_pushed_filter_prunes_it():
    sql = (
        "SELECT transaction_date, orders FROM retail_gold.daily_orders "
        "WHERE transaction_date >= ? AND transaction_date < ?"
    )
    assert reads(sql) == [Read("retail_silver.orders", ("transaction_date",), None)]
    assert reads(sql, pushdown=True) == [Read("retail_silver.orders", ("transaction_date",), 1)]


def test_creating_a_view_reads_nothing():
    sql = f"create or replace view {P}.retail_gold.v as select * from {P}.retail_silver.orders"
    assert reads(sql) == []


def test_a_star_over_a_join_reads_every_column_of_both_tables():
    sql = (
        f"select * from {P}.retail_silver.orders as o join {P}.retail_silver.customers as c "
        f"on c.customer_id = o.customer_id where o.transaction_date >= {DAY} "
        f"and o.transaction_date < {NEXT}"
    )
    assert sorted(reads(sql), key=repr) == sorted(
        [Read("retail_silver.orders", STAR, 1), Read("retail_silver.customers", STAR, None)],
        key=repr,
    )
