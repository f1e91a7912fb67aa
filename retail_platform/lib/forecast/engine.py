"""Where the sales forecast is made: a resource with two implementations.

* ``SklearnForecastEngine``: the calendar regression of sklearn_model.py on the machine
  that runs the step, over the history it reads from the warehouse.
* ``BigQueryMLForecastEngine``: ``CREATE MODEL ... ARIMA_PLUS`` on the history table and
  ``ML.FORECAST`` inside BigQuery; the model of each version is
  ``retail_ml.sales_forecast_model_<version>``, the newest ``keep_versions`` kept. The
  backtest's origins are one model (a series per origin and store), dropped once it has
  forecast.

Both return the same columns for the same request (the days after ``through``), so the
backtest, its metrics and the gate (metrics.py) are one piece of code for both.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

import dagster as dg
import pandas as pd
from pydantic import Field

from retail_platform.lib.forecast import bqml
from retail_platform.lib.gcp_credentials import BigQueryClientResource
from retail_platform.lib.warehouse import Warehouse

HISTORY_TABLE = "retail_ml.daily_net_revenue"
MODEL_NAME = "sales_forecast_model"
FORECAST_COLUMNS = ("store_id", "forecast_date", "forecast", "forecast_lower", "forecast_upper")
#: The backtest's columns: each row's origin (the last day its model saw) and the forecast.
BACKTEST_COLUMNS = ("trained_through", *FORECAST_COLUMNS)


def read_history(warehouse: Warehouse) -> pd.DataFrame:
    """store_id, transaction_date (a date), net_revenue (a float) of every series."""
    rows = warehouse.frame(
        f"SELECT store_id, transaction_date, net_revenue FROM {HISTORY_TABLE} "
        "ORDER BY store_id, transaction_date"
    )
    rows.columns = [c.lower() for c in rows.columns]
    return pd.DataFrame(
        {
            "store_id": rows["store_id"].astype(str),
            "transaction_date": pd.to_datetime(rows["transaction_date"]).dt.date,
            "net_revenue": rows["net_revenue"].astype(float),
        }
    )


class ForecastEngine(dg.ConfigurableResource):
    """Forecasts daily net revenue per store and in total."""

    interval_level: float = Field(
        default=0.8, description="Coverage the prediction interval aims at (0.8: 80 %)."
    )
    keep_versions: int = Field(default=10, description="Forecast versions kept.")

    @property
    def kind(self) -> str:
        raise NotImplementedError

    def forecast(
        self,
        warehouse: Warehouse,
        history: pd.DataFrame,
        through: date,
        horizon: int,
        model_name: str,
        keep_model: bool,
    ) -> pd.DataFrame:
        """The ``horizon`` days after ``through`` from a model trained on the history up to
        ``through``: :data:`FORECAST_COLUMNS`, a row per series and day. ``model_name``
        names the model where the engine keeps one (``keep_model``: else it is dropped)."""
        raise NotImplementedError

    def backtest(
        self,
        warehouse: Warehouse,
        history: pd.DataFrame,
        origins: Sequence[date],
        horizon: int,
        model_name: str,
    ) -> pd.DataFrame:
        """The ``horizon`` days after each of ``origins``, each from a model trained on the
        history up to it: :data:`BACKTEST_COLUMNS`. Nothing is kept."""
        frames = [
            self.forecast(warehouse, history, origin, horizon, model_name, keep_model=False).assign(
                trained_through=origin
            )
            for origin in origins
        ]
        return pd.concat(frames, ignore_index=True).loc[:, list(BACKTEST_COLUMNS)]

    def prune(self, protected: Collection[str]) -> None:
        """Drop stored models beyond ``keep_versions``, never a version in ``protected``."""


class SklearnForecastEngine(ForecastEngine):
    @property
    def kind(self) -> str:
        return "sklearn"

    def forecast(
        self,
        warehouse: Warehouse,
        history: pd.DataFrame,
        through: date,
        horizon: int,
        model_name: str,
        keep_model: bool,
    ) -> pd.DataFrame:
        from retail_platform.lib.forecast.sklearn_model import forecast

        return forecast(history, through, horizon, self.interval_level)


class BigQueryMLForecastEngine(ForecastEngine, BigQueryClientResource):
    dataset: str = Field(default="retail_ml")
    holiday_region: str = Field(
        default="US", description="ARIMA_PLUS holiday_region: whose public holidays count."
    )

    @property
    def kind(self) -> str:
        return "bigquery ml"

    def forecast(
        self,
        warehouse: Warehouse,
        history: pd.DataFrame,
        through: date,
        horizon: int,
        model_name: str,
        keep_model: bool,
    ) -> pd.DataFrame:
        model = self._model(model_name)
        frame = self._train_and_read(
            bqml.create_model_sql(
                model, self._history_table, through, horizon, self.holiday_region
            ),
            bqml.forecast_sql(model, horizon, self.interval_level),
            model,
            keep_model,
        )
        frame["forecast_date"] = pd.to_datetime(frame["forecast_date"]).dt.date
        return frame.loc[:, list(FORECAST_COLUMNS)]

    def backtest(
        self,
        warehouse: Warehouse,
        history: pd.DataFrame,
        origins: Sequence[date],
        horizon: int,
        model_name: str,
    ) -> pd.DataFrame:
        """One model for every origin (its series: an origin and a store), dropped after."""
        model = self._model(model_name)
        frame = self._train_and_read(
            bqml.create_backtest_model_sql(
                model, self._history_table, list(origins), horizon, self.holiday_region
            ),
            bqml.backtest_forecast_sql(model, horizon, self.interval_level),
            model,
            keep_model=False,
        )
        for column in ("trained_through", "forecast_date"):
            frame[column] = pd.to_datetime(frame[column]).dt.date
        return frame.loc[:, list(BACKTEST_COLUMNS)]

    def _model(self, name: str) -> str:
        return f"{self.project}.{self.dataset}.{name}"

    @property
    def _history_table(self) -> str:
        return f"{self.project}.{HISTORY_TABLE}"

    def _train_and_read(
        self, create_sql: str, read_sql: str, model: str, keep_model: bool
    ) -> pd.DataFrame:
        """Train ``model``, read its forecast, drop it unless ``keep_model``."""
        client = self._client()
        client.query(create_sql).result()
        try:
            return client.query(read_sql).to_dataframe()
        finally:
            if not keep_model:
                client.query(bqml.drop_model_sql(model)).result()

    def prune(self, protected: Collection[str]) -> None:
        from retail_platform.lib.bqml_models import prune_models

        dataset = f"{self.project}.{self.dataset}"
        prune_models(self._client(), dataset, f"{MODEL_NAME}_", self.keep_versions, protected)
