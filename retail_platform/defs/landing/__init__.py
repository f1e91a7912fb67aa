"""The landing sensor: new files in the landing zone become partition runs."""
