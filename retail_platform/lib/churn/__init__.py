"""Churn: the feature columns, the two model engines (scikit-learn, BigQuery ML) and
the metrics they both report. Features are built by dbt (sql/models/ml/churn_features)."""
