"""A job's options are one model with one set of limits: the route that builds them from the form and the
worker that parses them back from the payload refuse and accept the same choices.

The API under test runs on a queue that no worker listens to, so an accepted job stays there to be read
back as the worker would read it. The cases are in tests/app/option_cases.py, shared with tests/worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from rq.job import Job
from rq.serializers import JSONSerializer

from app.errors import invalid_options
from app.main import create_app
from app.protocol import JobOptions, JobRequest
from app.settings import ApiSettings
from tests.app.option_cases import AT_LIMITS, OVER_LIMITS, Choice
from tests.app.sample_images import png
from tests.service_stack import API_TEST_ENV, Stack

QUEUE = "vst-tests-options"
LIMIT_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "enum")


@pytest.fixture(scope="module")
def options_api(service_stack: Stack) -> str:
    _, base_url = service_stack.start_api(QUEUE)
    return base_url


@pytest.fixture
def api(options_api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=options_api, timeout=30) as client:
        yield client


def _queued(stack: Stack) -> int:
    with stack.redis() as redis:
        return int(redis.llen(f"rq:queue:{QUEUE}"))


def _post(api: httpx.Client, choice: Choice) -> httpx.Response:
    mask_field = "mask" if choice.kind == "stylize" else "masks"
    files = [("content", ("photo.png", png(), "image/png"))]
    files += [(mask_field, (f"mask-{i}.png", png(seed=i), "image/png")) for i in range(choice.masks)]
    return api.post(f"/{choice.kind}", files=files, data=choice.form())


@pytest.mark.parametrize("case", sorted(OVER_LIMITS))
def test_the_api_refuses_a_choice_over_a_limit_with_its_code(
    case: str, api: httpx.Client, service_stack: Stack
) -> None:
    choice, code = OVER_LIMITS[case]
    before = _queued(service_stack)
    response = _post(api, choice)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["code"] == code, response.text
    assert _queued(service_stack) == before


@pytest.mark.parametrize("case", sorted(OVER_LIMITS))
def test_the_workers_parse_refuses_the_same_choice_by_the_same_rule(case: str) -> None:
    choice, code = OVER_LIMITS[case]
    with pytest.raises(ValidationError) as refused:
        JobRequest.model_validate(choice.payload())
    assert invalid_options(refused.value).code == code


@pytest.mark.parametrize("case", sorted(AT_LIMITS))
def test_options_at_their_limits_reach_the_worker_as_the_route_built_them(
    case: str, api: httpx.Client, service_stack: Stack
) -> None:
    choice = AT_LIMITS[case]
    response = _post(api, choice)
    assert response.status_code == 202, response.text
    with service_stack.redis() as redis:
        job = Job.fetch(response.json()["id"], connection=redis, serializer=JSONSerializer)
    request = JobRequest.model_validate(job.kwargs["request"])  # what the worker does with it
    assert request.options == JobOptions.model_validate(choice.job_options())
    asked = choice.options.get("max_side", int(API_TEST_ENV["VST_DEFAULT_MAX_SIDE"]))
    assert request.max_side == min(asked, int(API_TEST_ENV["VST_MAX_SIDE_LIMIT"]))
    assert len(request.styles) == choice.styles and len(request.masks or []) == choice.masks


@pytest.mark.parametrize("case", sorted(AT_LIMITS))
def test_options_come_back_equal_from_the_payloads_json(case: str) -> None:
    request = JobRequest.model_validate(AT_LIMITS[case].payload())
    # As RQ's JSON serializer stores the job's keyword arguments and hands them to the worker.
    stored = JSONSerializer.dumps({"request": request.model_dump(mode="json")})
    assert JobRequest.model_validate(JSONSerializer.loads(stored)["request"]) == request


def test_fractions_and_the_largest_seed_survive_the_json_exactly() -> None:
    choice = Choice(
        "interpolate", styles=3, options={"alpha": 0.1 + 0.2, "weights": [1 / 3, 0.7, 1e-9], "seed": 2**63 - 1}
    )
    request = JobRequest.model_validate(choice.payload())
    parsed = JobRequest.model_validate(JSONSerializer.loads(JSONSerializer.dumps(request.model_dump(mode="json"))))
    assert parsed.options.alpha == 0.1 + 0.2
    assert parsed.options.weights == [1 / 3, 0.7, 1e-9]
    assert parsed.options.seed == 2**63 - 1


def _limits(schema: dict[str, Any]) -> dict[str, Any]:
    """A field's limits and default from its JSON schema, whether optional (anyOf with null) or not."""
    found: dict[str, Any] = {}
    for part in [schema, *schema.get("anyOf", [])]:
        for key in LIMIT_KEYS:
            if key in part:
                found[key] = part[key] if key == "enum" else float(part[key])
    if schema.get("default") is not None:
        found["default"] = schema["default"]
    return found


@pytest.mark.parametrize("path", ["/stylize", "/interpolate"])
def test_the_forms_limits_in_the_openapi_document_are_the_models(path: str) -> None:
    document = create_app(ApiSettings()).openapi()
    body = document["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    form = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]["properties"]
    model = JobOptions.model_json_schema()["properties"]
    # weights are text in the form (`1,2,1`) and numbers in the model; the model checks them after parsing.
    shared = (set(form) & set(model)) - {"weights"}
    assert {"alpha", "variation", "samples", "seed", "max_side", "format", "feather"} <= shared
    for name in sorted(shared):
        assert _limits(form[name]) == _limits(model[name]), name
        assert form[name].get("description") == model[name].get("description"), name


def test_a_payload_whose_images_do_not_match_its_options_is_refused() -> None:
    # Options that pass their own rules (three styles) must still describe the images the job carries.
    payload = Choice("interpolate", styles=3).payload()
    payload["styles"] = payload["styles"][:2]
    with pytest.raises(ValidationError, match="2 style image"):
        JobRequest.model_validate(payload)
    payload = Choice("interpolate", styles=2, masks=2).payload()
    payload["masks"] = None
    with pytest.raises(ValidationError, match="0 mask image"):
        JobRequest.model_validate(payload)
