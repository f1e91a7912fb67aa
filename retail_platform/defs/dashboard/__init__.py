"""The HTML dashboard over the marts (``marts/dashboard``)."""
