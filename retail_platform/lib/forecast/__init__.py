"""Sales forecast: daily net revenue per store and in total, 28 days ahead.

The history is a dbt model (sql/models/ml/daily_net_revenue); two engines forecast it
(scikit-learn with the public retail calendar, or BigQuery ML's ARIMA_PLUS), and the same
backtest (metrics.py) gates both against the seasonal-naive forecast."""
