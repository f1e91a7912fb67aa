"""Keeping the newest model versions of a kind: every engine that stores a model per
version (the churn model's folders, the BigQuery ML forecast and recommender) prunes with
these."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

Version = TypeVar("Version")
#: A model an engine made only to judge a version (dropped once it has predicted; one left
#: behind by a failed drop is never kept).
BACKTEST_SUFFIX = "_backtest"


def beyond_kept(
    newest_first: list[Version],
    keep: int,
    protected: Collection[str],
    version_of: Callable[[Version], str],
) -> list[Version]:
    """The versions to delete: all but the ``keep`` newest and the protected ones."""
    return [v for v in newest_first[keep:] if version_of(v) not in protected]


def prune_models(
    client: Any, dataset: str, prefix: str, keep: int, protected: Collection[str]
) -> None:
    """Delete the BigQuery ML models ``<prefix><version>`` of ``dataset``
    (``project.dataset``) beyond the newest ``keep`` (versions sort by time), never a
    version in ``protected``, and any backtest model left behind."""
    models = sorted(
        (m.model_id for m in client.list_models(dataset) if m.model_id.startswith(prefix)),
        reverse=True,
    )
    leftovers = [m for m in models if m.endswith(BACKTEST_SUFFIX)]
    versions = [m for m in models if not m.endswith(BACKTEST_SUFFIX)]
    stale = beyond_kept(versions, keep, protected, lambda model: model.removeprefix(prefix))
    for old in [*leftovers, *stale]:
        client.delete_model(f"{dataset}.{old}", not_found_ok=True)
