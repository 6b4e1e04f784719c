"""Jobs through the real API, a real worker process and a real Redis, over HTTP."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from PIL import Image
from redis.client import PubSub

from app.protocol import KEY_PREFIX
from tests.app.sample_images import png
from tests.service_stack import Stack, wait_for_job

STYLE_A = "hokusai_great_wave"
STYLE_B = "picabia_udnie"
STYLE_C = "vangogh_night_cafe"


def _image(client: httpx.Client, url: str) -> tuple[Image.Image, str]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content)), response.headers["content-type"]


def test_stylize_with_an_uploaded_style_polls_to_finished_and_returns_the_png(client: httpx.Client) -> None:
    response = client.post(
        "/stylize",
        files={"content": ("photo.png", png(96, 64), "image/png"), "style": ("art.png", png(40, 40, seed=1))},
        data={"max_side": "48", "seed": "3"},
    )
    assert response.status_code == 202, response.text
    submitted = response.json()
    assert response.headers["location"] == f"/jobs/{submitted['id']}"
    assert submitted["status"] in ("queued", "started", "finished")

    view = wait_for_job(client, submitted["id"])
    assert view["status"] == "finished", view
    assert view["progress"] == 1.0
    assert view["result_urls"] == [f"/jobs/{submitted['id']}/result?index=0"]
    assert view["timings"]["model_seconds"] > 0
    assert view["started_at"] and view["ended_at"]

    image, media_type = _image(client, view["result_urls"][0])
    assert media_type == "image/png"
    assert image.format == "PNG"
    # 96x64 fitted into max_side 48 keeps the aspect ratio.
    assert image.size == (48, 32)
    assert (view["width"], view["height"]) == (48, 32)


def test_samples_give_several_distinct_images(client: httpx.Client) -> None:
    response = client.post(
        "/stylize",
        files={"content": ("photo.png", png(64, 64), "image/png")},
        data={"style_id": STYLE_A, "samples": "3", "variation": "2.0", "seed": "7", "max_side": "32"},
    )
    assert response.status_code == 202, response.text
    view = wait_for_job(client, response.json()["id"])
    assert view["status"] == "finished", view
    assert len(view["result_urls"]) == 3
    images = [_image(client, url)[0] for url in view["result_urls"]]
    assert all(image.size == (32, 32) for image in images)
    assert images[0].tobytes() != images[1].tobytes(), "variation > 0 must draw different samples"


def test_interpolate_three_styles_with_weights(client: httpx.Client) -> None:
    response = client.post(
        "/interpolate",
        files=[
            ("content", ("photo.png", png(64, 48), "image/png")),
            ("styles", ("a.png", png(32, 32, seed=2), "image/png")),
        ],
        data={"style_ids": [STYLE_B, STYLE_C], "weights": "1,2,1", "max_side": "32", "format": "jpeg"},
    )
    assert response.status_code == 202, response.text
    assert response.json()["kind"] == "interpolate"
    view = wait_for_job(client, response.json()["id"])
    assert view["status"] == "finished", view
    image, media_type = _image(client, view["result_urls"][0])
    assert media_type == "image/jpeg" and image.format == "JPEG"
    assert image.size == (32, 24)


def test_interpolate_weights_as_repeated_fields_change_the_result(client: httpx.Client) -> None:
    def run(weights: list[str]) -> bytes:
        response = client.post(
            "/interpolate",
            files={"content": ("photo.png", png(32, 32), "image/png")},
            data={"style_ids": [STYLE_A, STYLE_B], "weights": weights, "max_side": "32", "seed": "1"},
        )
        assert response.status_code == 202, response.text
        view = wait_for_job(client, response.json()["id"])
        assert view["status"] == "finished", view
        return client.get(view["result_urls"][0]).content

    assert run(["1", "0"]) != run(["0", "1"])


def test_sweep_between_two_styles_gives_one_image_per_step(client: httpx.Client) -> None:
    response = client.post(
        "/interpolate",
        files={"content": ("photo.png", png(32, 32), "image/png")},
        data={"style_ids": [STYLE_A, STYLE_B], "steps": "4", "max_side": "32", "format": "webp"},
    )
    assert response.status_code == 202, response.text
    view = wait_for_job(client, response.json()["id"])
    assert view["status"] == "finished", view
    assert len(view["result_urls"]) == 4
    first, media_type = _image(client, view["result_urls"][0])
    last, _ = _image(client, view["result_urls"][3])
    assert media_type == "image/webp" and first.format == "WEBP"
    assert first.tobytes() != last.tobytes()


def test_register_a_style_and_use_it_by_id(client: httpx.Client) -> None:
    response = client.post(
        "/styles", files={"image": ("mine.png", png(40, 30, seed=5), "image/png")}, data={"title": "Mine"}
    )
    assert response.status_code == 201, response.text
    style = response.json()
    assert style["source"] == "upload" and style["title"] == "Mine"
    assert client.get(f"/styles/{style['id']}").json() == style
    assert style["id"] in [s["id"] for s in client.get("/styles").json()["styles"]]

    job = client.post(
        "/stylize",
        files={"content": ("photo.png", png(32, 32), "image/png")},
        data={"style_id": style["id"], "max_side": "32"},
    )
    assert job.status_code == 202, job.text
    assert wait_for_job(client, job.json()["id"])["status"] == "finished"

    assert client.delete(f"/styles/{style['id']}").status_code == 204
    gone = client.get(f"/styles/{style['id']}")
    assert gone.status_code == 404 and gone.json()["detail"]["code"] == "style_not_found"


def test_result_before_the_job_ends_is_a_conflict_and_unknown_index_404(own_stack: Stack) -> None:
    # A queue no worker listens to keeps the job queued.
    _, base_url = own_stack.start_api("vst-tests-idle-result")
    with httpx.Client(base_url=base_url, timeout=30) as client:
        job = client.post(
            "/stylize", files={"content": ("p.png", png(), "image/png")}, data={"style_id": STYLE_A}
        ).json()
        early = client.get(f"/jobs/{job['id']}/result")
        assert early.status_code == 409
        assert early.json()["detail"]["code"] == "job_not_finished"
        assert client.delete(f"/jobs/{job['id']}").status_code == 200


def test_unknown_result_index_is_404(client: httpx.Client) -> None:
    job = client.post(
        "/stylize", files={"content": ("p.png", png(), "image/png")}, data={"style_id": STYLE_A, "max_side": "16"}
    ).json()
    assert wait_for_job(client, job["id"])["status"] == "finished"
    response = client.get(f"/jobs/{job['id']}/result", params={"index": 1})
    assert response.status_code == 404
    assert response.json()["detail"]["code"] == "result_not_found"


def test_cancel_a_queued_job(own_stack: Stack) -> None:
    _, base_url = own_stack.start_api("vst-tests-idle-cancel")
    with httpx.Client(base_url=base_url, timeout=30) as client:
        job = client.post(
            "/stylize", files={"content": ("p.png", png(), "image/png")}, data={"style_id": STYLE_A}
        ).json()
        assert job["status"] == "queued"
        assert job["queue_position"] == 0
        canceled = client.delete(f"/jobs/{job['id']}")
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["status"] == "canceled"
        assert client.get(f"/jobs/{job['id']}").json()["status"] == "canceled"
        again = client.delete(f"/jobs/{job['id']}")
        assert again.status_code == 409
        assert again.json()["detail"]["code"] == "job_not_cancelable"
        # Nothing of it is left in the queue for a worker to pick up.
        with own_stack.redis() as redis:
            assert redis.llen("rq:queue:vst-tests-idle-cancel") == 0


def test_unknown_job_is_404(client: httpx.Client) -> None:
    for job_id in ("0" * 32, "not-a-job-id", "../../etc/passwd"):
        for response in (
            client.get(f"/jobs/{job_id}"),
            client.get(f"/jobs/{job_id}/result"),
            client.delete(f"/jobs/{job_id}"),
        ):
            assert response.status_code == 404, (job_id, response.text)
            assert response.json()["detail"]["code"] in ("job_not_found", "not_found")


def test_job_ids_are_random_uuid4_hex(client: httpx.Client) -> None:
    ids = {
        client.post(
            "/stylize", files={"content": ("p.png", png(16, 16), "image/png")}, data={"style_id": STYLE_A}
        ).json()["id"]
        for _ in range(3)
    }
    assert len(ids) == 3
    for job_id in ids:
        assert len(job_id) == 32 and job_id[12] == "4"  # the uuid4 version nibble


def test_the_exif_orientation_of_the_upload_is_applied(client: httpx.Client) -> None:
    from tests.app.sample_images import jpeg_rotated_by_exif

    response = client.post(
        "/stylize",
        files={"content": ("phone.jpg", jpeg_rotated_by_exif(60, 20), "image/jpeg")},
        data={"style_id": STYLE_A, "max_side": "64"},
    )
    assert response.status_code == 202, response.text
    view = wait_for_job(client, response.json()["id"])
    assert view["status"] == "finished", view
    # Stored 60x20 with "rotate 90 degrees": the photo as shown is 20x60, and so is the result.
    assert _image(client, view["result_urls"][0])[0].size == (20, 60)


@contextmanager
def _ended_announcements(stack: Stack) -> Iterator[PubSub]:
    """Every job-ended announcement on this Redis, from now on."""
    with stack.redis() as redis, redis.pubsub(ignore_subscribe_messages=True) as pubsub:
        pubsub.psubscribe(f"{KEY_PREFIX}:job:*:ended")
        yield pubsub


def _announced(pubsub: PubSub, job_id: str, timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=1.0)
        if message is not None and message["channel"].decode() == f"{KEY_PREFIX}:job:{job_id}:ended":
            return True
    return False


def test_wait_answers_once_the_job_has_ended_and_the_worker_announces_it(
    client: httpx.Client, service_stack: Stack
) -> None:
    with _ended_announcements(service_stack) as announcements:
        response = client.post(
            "/stylize", files={"content": ("p.png", png(48, 32))}, data={"style_id": STYLE_A, "max_side": "32"}
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        view = client.get(f"/jobs/{job_id}", params={"wait": 30})  # one request, no polling loop
        assert view.status_code == 200, view.text
        assert view.json()["status"] == "finished", view.json()
        assert view.json()["result_urls"] == [f"/jobs/{job_id}/result?index=0"]
        assert _announced(announcements, job_id)


def test_wait_on_a_queued_job_answers_queued_and_a_cancel_wakes_a_waiting_request(own_stack: Stack) -> None:
    _, base_url = own_stack.start_api("vst-tests-wait-no-worker")  # no worker: its jobs stay queued
    with httpx.Client(base_url=base_url, timeout=60) as client, _ended_announcements(own_stack) as announcements:
        job_id = client.post("/stylize", files={"content": ("p.png", png())}, data={"style_id": STYLE_A}).json()["id"]
        short = client.get(f"/jobs/{job_id}", params={"wait": 0.3})
        assert short.status_code == 200 and short.json()["status"] == "queued"

        answers: list[dict[str, object]] = []
        waiting = threading.Thread(
            target=lambda: answers.append(client.get(f"/jobs/{job_id}", params={"wait": 30}).json()), daemon=True
        )
        waiting.start()
        time.sleep(0.5)  # let the request subscribe; it would also see the cancel by re-reading the job
        assert client.delete(f"/jobs/{job_id}").json()["status"] == "canceled"
        waiting.join(timeout=40)
        assert answers and answers[0]["status"] == "canceled", answers
        assert _announced(announcements, job_id)  # the API announces the queued job's end itself


def test_wait_is_bounded_and_an_unknown_job_is_404_at_once(client: httpx.Client) -> None:
    assert client.get(f"/jobs/{'0' * 32}", params={"wait": 30}).status_code == 404
    for bad in ("-1", "31", "soon"):
        response = client.get(f"/jobs/{'0' * 32}", params={"wait": bad})
        assert response.status_code == 422, (bad, response.text)
