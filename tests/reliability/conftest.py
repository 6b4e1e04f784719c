"""Fixtures of the reliability tests: the service parts themselves come from tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DATA


@pytest.fixture(scope="session")
def small_survey_set(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smallest real survey set (1 photo, 2 paintings, 32 px), so that the fuzzer reaches the survey's
    routes past their "no survey prepared" answer."""
    from training.survey_set import SurveyOptions, prepare_survey_set

    out = tmp_path_factory.mktemp("survey-set")
    options = SurveyOptions(
        content_dir=DATA / "eval" / "content",
        style_dir=DATA / "eval" / "style",
        out=out,
        checkpoint=tiny_checkpoint,
        contents=1,
        styles=2,
        max_side=32,
        gatys_steps=1,
        seed=0,
    )
    prepare_survey_set(options, log=lambda _: None)
    return out
