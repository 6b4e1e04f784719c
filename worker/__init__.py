"""The RQ worker: ``python -m worker`` loads the model once, then runs stylize jobs from Redis."""
