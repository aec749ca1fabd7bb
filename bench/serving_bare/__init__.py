"""A bare DRF project: the baseline that bench/serving.py measures the product against."""
