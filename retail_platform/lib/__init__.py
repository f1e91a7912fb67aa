"""Pieces shared by every layer: entities, partitions, landing zone, simulator, targets."""
