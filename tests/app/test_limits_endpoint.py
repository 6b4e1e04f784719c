"""``GET /limits`` on a running API: the protocol's limits and the server's settings, and what the API enforces."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app import protocol
from app.images import MIN_CONTENT_SIDE
from app.waiting import MAX_WAIT_S
from tests.app.sample_images import png
from tests.service_stack import Stack

# Settings unlike the tests' defaults, so that each value can only have come from this server's environment.
SETTINGS = {
    "VST_MAX_SIDE_LIMIT": "1000",
    "VST_DEFAULT_MAX_SIDE": "300",
    "VST_MAX_UPLOAD_BYTES": "200000",
    "VST_MAX_REQUEST_BYTES": "900000",
    "VST_MAX_IMAGE_PIXELS": "700000",
}


def test_the_limits_are_the_protocols_and_this_servers_settings(own_stack: Stack) -> None:
    _, base_url = own_stack.start_api("vst-tests-limits", env=SETTINGS)
    response = httpx.get(f"{base_url}/limits", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "max_styles": protocol.MAX_STYLES,
        "max_samples": protocol.MAX_SAMPLES,
        "min_steps": protocol.MIN_STEPS,
        "max_steps": protocol.MAX_STEPS,
        "max_outputs": protocol.MAX_OUTPUTS,
        "max_variation": protocol.MAX_VARIATION,
        "max_feather_px": protocol.MAX_FEATHER_PX,
        "max_seed": protocol.MAX_SEED,
        "formats": list(protocol.MEDIA_TYPES),
        "min_max_side": protocol.MIN_MAX_SIDE,
        "max_side_limit": 1000,
        "default_max_side": 300,
        "min_content_side": MIN_CONTENT_SIDE,
        "max_upload_bytes": 200000,
        "max_request_bytes": 900000,
        "max_image_pixels": 700000,
        "max_wait_s": MAX_WAIT_S,
    }


def _refusal(client: httpx.Client, **form: Any) -> str:
    """The error code of an /interpolate with one style: ``invalid_styles`` once the options are within range."""
    data = {"style_ids": ["hokusai_great_wave"], **{name: str(value) for name, value in form.items()}}
    response = client.post("/interpolate", files={"content": ("p.png", png())}, data=data)
    assert response.status_code == 422, response.text
    return str(response.json()["detail"]["code"])


@pytest.mark.parametrize(
    ("option", "lowest", "highest"),
    [
        ("samples", None, "max_samples"),
        ("steps", "min_steps", "max_steps"),
        ("seed", None, "max_seed"),
        ("variation", None, "max_variation"),
        ("feather", None, "max_feather_px"),
    ],
)
def test_the_api_takes_an_option_up_to_its_limit_and_refuses_one_past_it(
    client: httpx.Client, option: str, lowest: str | None, highest: str
) -> None:
    # The one style breaks a rule checked only once every option is within its range: which code comes back
    # says whether the option passed. Nothing is queued either way.
    limits = client.get("/limits").json()
    assert _refusal(client, **{option: limits[highest]}) == "invalid_styles"
    past = limits[highest] + (1 if isinstance(limits[highest], int) else 0.5)
    assert _refusal(client, **{option: past}) == "invalid_request"
    if lowest is not None:
        assert _refusal(client, **{option: limits[lowest]}) == "invalid_styles"
        assert _refusal(client, **{option: limits[lowest] - 1}) == "invalid_request"


def test_the_limits_need_no_api_key(own_stack: Stack) -> None:
    _, base_url = own_stack.start_api("vst-tests-limits-keys", env={"VST_API_KEYS": "limits-key-0123456789abcdef"})
    with httpx.Client(base_url=base_url, timeout=30) as anonymous:
        assert anonymous.get("/styles").status_code == 401
        limits = anonymous.get("/limits")
        assert limits.status_code == 200, limits.text
        assert limits.json()["max_styles"] == protocol.MAX_STYLES


def test_the_api_blends_up_to_max_styles_and_refuses_one_more(client: httpx.Client) -> None:
    # All-zero weights break a rule checked only once the style count is within range.
    most = client.get("/limits").json()["max_styles"]
    for count, code in ((most, "invalid_weights"), (most + 1, "invalid_styles")):
        data = {"style_ids": ["hokusai_great_wave"] * count, "weights": ",".join(["0"] * count)}
        response = client.post("/interpolate", files={"content": ("p.png", png())}, data=data)
        assert response.status_code == 422, response.text
        assert response.json()["detail"]["code"] == code, response.text
