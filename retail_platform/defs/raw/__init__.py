"""Bronze: every landing file of a partition, as landed, plus lineage columns."""
