"""Keeping the newest BigQuery ML models of a kind: the engines that store a model per
version (forecast, recommendations) prune with this."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


def prune_models(
    client: Any, dataset: str, prefix: str, keep: int, protected: Collection[str]
) -> None:
    """Delete the models ``<prefix><version>`` of ``dataset`` (``project.dataset``) beyond
    the newest ``keep`` (versions sort by time), never a version in ``protected``."""
    models = sorted(
        (m.model_id for m in client.list_models(dataset) if m.model_id.startswith(prefix)),
        reverse=True,
    )
    for old in models[keep:]:
        if old.removeprefix(prefix) not in protected:
            client.delete_model(f"{dataset}.{old}", not_found_ok=True)
