"""The API process must never import torch: its image ships without it (docs/docker.md)."""

from __future__ import annotations

import subprocess
import sys

from tests.service_stack import REPO_ROOT, clean_env


def test_importing_and_building_the_api_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import app.main, app.runner, app.jobs, app.images, app.styles, app.metrics\n"
        "app.main.create_app()\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'safetensors', 'model', 'worker') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=clean_env({}), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"the API imported: {result.stdout.strip()}"
