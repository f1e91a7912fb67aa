"""Product recommendations from implicit feedback (how often a customer bought a product):
top-N per customer, products bought recently left out, judged against the most popular
products on a time-based holdout (evaluation.py)."""
