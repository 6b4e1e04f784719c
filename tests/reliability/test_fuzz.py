"""Schemathesis against the API's own OpenAPI document: 0 server errors and 0 schema violations.

The cases are generated from the document the application builds (the same one it serves, as a test
checks) and sent over HTTP to the real API under uvicorn, on the session's real Redis, with the session's
worker on its queue (so that `/readyz` is ready) and a prepared survey set (so that the survey's routes
are reached past their "nothing prepared" 503).

The schema is loaded when this module is imported, not from a fixture: schemathesis' fixture-based
loader does not work with pytest 9 (it sets a private attribute pytest no longer has).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis import BaseSchema, Case
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.settings import ApiSettings
from tests.conftest import SERVICE_QUEUE
from tests.service_stack import Stack

# Bounded so that CI time stays fixed: examples per operation, and no shrinking-time surprises.
MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def fuzzed_api(api_url: str, service_stack: Stack, survey_dir: Path) -> str:
    """An API of its own on the session's queue, whose worker ``api_url`` started."""
    _, base_url = service_stack.start_api(SERVICE_QUEUE, env={"VST_SURVEY_DIR": str(survey_dir)})
    return base_url


def _own_schema() -> dict[str, Any]:
    return create_app(ApiSettings()).openapi()


schema: BaseSchema = schemathesis.openapi.from_dict(_own_schema())
# A finding of this fuzzer, now fixed and kept as a regression test below: the deception-vote body's `real`
# was a lax pydantic `bool`, which took 0/1, so a body the schema forbids was accepted.
DECEPTION_VOTES = "/survey/api/deception/votes"


def test_the_fuzzed_schema_is_the_one_the_api_serves(fuzzed_api: str) -> None:
    assert httpx.get(f"{fuzzed_api}/openapi.json").json() == _own_schema()


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)
def test_the_api_conforms_to_its_schema_and_never_answers_5xx(case: Case, fuzzed_api: str) -> None:
    case.call_and_validate(base_url=fuzzed_api, checks=CHECKS, timeout=30)


def test_a_survey_vote_with_a_number_for_a_boolean_is_refused(fuzzed_api: str) -> None:
    # The case schemathesis found, replayed.
    with httpx.Client(base_url=fuzzed_api, timeout=30) as participant:
        task = participant.get("/survey/api/deception/next", params={"count": 1}).json()["tasks"][0]
        body = {"judgments": [{"item_id": task["item_id"], "real": 0}]}
        response = participant.post(DECEPTION_VOTES, json=body)
    assert response.status_code == 422, response.text
