"""The HTTP API: FastAPI routes over a Redis job queue. Never imports torch (see tests/app/test_no_torch.py)."""
