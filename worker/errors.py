"""Job failures that are the input's fault: reported with a code and never retried."""

from __future__ import annotations


class InputError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class JobCanceled(Exception):
    """The client canceled the job while it ran (``DELETE /jobs/{id}``)."""
