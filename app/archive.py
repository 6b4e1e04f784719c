"""A finished job's images as one zip file, for the page's "Download all"."""

from __future__ import annotations

import io
import zipfile

from app.jobs import JobStore


def results_zip(jobs: JobStore, job_id: str, owner: str | None) -> bytes:
    """Every result of the job, named ``<job id>-<index>.<ext>``; 409 before it finished, like one result."""
    view = jobs.view(job_id, owner)
    buffer = io.BytesIO()
    # Stored, not deflated: PNG, JPEG and WebP are compressed already.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for index in range(max(1, len(view.result_urls))):
            data, media_type = jobs.result(job_id, index, owner)
            archive.writestr(f"{job_id}-{index}.{media_type.split('/')[-1]}", data)
    return buffer.getvalue()
