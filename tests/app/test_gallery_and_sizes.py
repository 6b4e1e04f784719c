"""The style registry's order and deduplication, a job's size note, the results zip and the offline docs,
through the real API, worker and Redis (the registry's owner separation against the real Redis directly)."""

from __future__ import annotations

import io
import zipfile

import httpx
from redis import Redis

from app.images import validate_image
from app.settings import REPO_ROOT
from app.sizing import size_note
from app.styles import StyleRegistry, artist_sort_key, load_gallery
from tests.app.sample_images import png
from tests.service_stack import wait_for_job

CATALOGUING_NOTES = ("not stated", "by appearance", "attribution inferred", "px)")


def test_the_gallery_lists_featured_paintings_first_then_by_artist(client: httpx.Client) -> None:
    gallery = [s for s in client.get("/styles").json()["styles"] if s["source"] == "gallery"]
    flags = [s["featured"] for s in gallery]
    assert any(flags) and flags == sorted(flags, reverse=True), "featured ones first"
    assert gallery[0]["id"] == "hokusai_great_wave"
    rest = [s for s in gallery if not s["featured"]]
    keys = [(artist_sort_key(s["artist"]), s["title"].casefold()) for s in rest]
    assert keys == sorted(keys)
    assert not [s["title"] for s in gallery if any(note in s["title"] for note in CATALOGUING_NOTES)]


def test_cataloguing_notes_live_in_the_manifests_notes_column() -> None:
    entries = load_gallery((REPO_ROOT / "data" / "train" / "style",), REPO_ROOT / "data" / "MANIFEST.tsv")
    assert entries["seaport_etching_17c"].title == "Seaport (17th century)"
    manifest = (REPO_ROOT / "data" / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    header = manifest[0].split("\t")
    assert header[-2:] == ["featured", "notes"]
    seaport = next(line.split("\t") for line in manifest if "seaport_etching_17c" in line)
    assert "by its appearance" in seaport[header.index("notes")]


def test_artist_sort_key_drops_dates_and_attribution() -> None:
    assert artist_sort_key("Claude Monet (French, 1840–1926)") == "claude monet"
    assert artist_sort_key("Attributed to Jan Brueghel the Elder (Flemish, 1568–1625)") == "jan brueghel the elder"


def test_the_same_image_uploaded_twice_is_one_style(client: httpx.Client) -> None:
    data = png(42, 30, seed=41)
    first = client.post("/styles", files={"image": ("a.png", data, "image/png")}, data={"title": "First"})
    again = client.post("/styles", files={"image": ("b.png", data, "image/png")}, data={"title": "Second"})
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json() == first.json()  # the first title is kept
    assert again.headers["location"] == f"/styles/{first.json()['id']}"
    listed = [s["id"] for s in client.get("/styles").json()["styles"]]
    assert listed.count(first.json()["id"]) == 1
    other = client.post("/styles", files={"image": ("c.png", png(42, 30, seed=42), "image/png")})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    for style_id in (first.json()["id"], other.json()["id"]):
        assert client.delete(f"/styles/{style_id}").status_code == 204
    # Deleted, the same image registers anew.
    assert client.post("/styles", files={"image": ("a.png", data, "image/png")}).status_code == 201
    assert client.delete(f"/styles/{first.json()['id']}").status_code == 204


def test_upload_ids_are_per_owner_and_unguessable_from_the_image(redis_url: str) -> None:
    image = validate_image(png(30, 30, seed=43), "image", 10_000_000, 1024)
    with Redis.from_url(redis_url) as redis:
        registry = StyleRegistry(redis, {}, max_uploaded=100, max_pixels=10_000_000)
        alice, created = registry.add(image, "mine", "", owner="alice")
        alice_again, created_again = registry.add(image, "mine again", "", owner="alice")
        bob, _ = registry.add(image, "mine too", "", owner="bob")
        assert created and not created_again and alice_again.id == alice.id
        assert bob.id != alice.id, "another owner's same image is another style"
        assert image.sha256[:32] not in alice.id
        assert [s.id for s in registry.list(owner="bob") if s.source == "upload"].count(alice.id) == 0
        registry.delete(alice.id, owner="alice")
        registry.delete(bob.id, owner="bob")


def test_a_size_above_the_photos_is_explained_in_the_jobs_json(client: httpx.Client) -> None:
    # The tests' API caps max_side at 128 (VST_MAX_SIDE_LIMIT).
    asked = client.post(
        "/stylize",
        files={"content": ("photo.png", png(96, 64), "image/png")},
        data={"style_id": "hokusai_great_wave", "max_side": "128"},
    )
    assert asked.status_code == 202, asked.text
    note = "up to 128 px asked; your photo is 96 px and photos are never enlarged: the result is 96 px"
    assert asked.json()["note"].startswith(note)
    view = wait_for_job(client, asked.json()["id"])
    assert view["note"].startswith(note) and (view["width"], view["height"]) == (96, 64)

    capped = client.post(
        "/stylize",
        files={"content": ("photo.png", png(200, 100), "image/png")},
        data={"style_id": "hokusai_great_wave", "max_side": "1024"},
    )
    assert capped.json()["note"] == (
        "up to 1024 px asked; this server's limit is 128 px: the result is 128 px on its longest side"
    )
    default = client.post(
        "/stylize", files={"content": ("photo.png", png(96, 64), "image/png")}, data={"style_id": "hokusai_great_wave"}
    )
    assert default.json()["note"] is None  # the server default promises no size


def test_size_note_wording() -> None:
    assert size_note(512, 2048, 800) is None
    assert size_note(1024, None, 512) == (
        "up to 1024 px asked; your photo is 512 px and photos are never enlarged: the result is 512 px on its "
        "longest side"
    )
    assert size_note(4096, 2048, 3000) == (
        "up to 4096 px asked; this server's limit is 2048 px: the result is 2048 px on its longest side"
    )
    assert "your photo is 1000 px" in (size_note(4096, 2048, 1000) or "")


def test_all_results_of_a_job_as_one_zip(client: httpx.Client) -> None:
    job = client.post(
        "/stylize",
        files={"content": ("photo.png", png(48, 48), "image/png")},
        data={"style_id": "hokusai_great_wave", "samples": "2", "variation": "1", "seed": "1", "format": "jpeg"},
    )
    job_id = job.json()["id"]
    assert wait_for_job(client, job_id)["status"] == "finished"
    answer = client.get(f"/jobs/{job_id}/results.zip")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert f'filename="stylized-{job_id}.zip"' in answer.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert archive.namelist() == [f"{job_id}-0.jpeg", f"{job_id}-1.jpeg"]
        for k, name in enumerate(archive.namelist()):
            assert archive.read(name) == client.get(f"/jobs/{job_id}/result?index={k}").content
    missing = client.get(f"/jobs/{'0' * 32}/results.zip")
    assert missing.status_code == 404 and missing.json()["detail"]["code"] == "job_not_found"


def test_the_docs_pages_load_their_assets_from_this_server(client: httpx.Client) -> None:
    for page, assets in (("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")), ("/redoc", ("redoc.standalone.js",))):
        html = client.get(page).text
        assert "cdn." not in html and "fonts.googleapis" not in html, page
        for asset in assets:
            url = f"/static-offline-docs/{asset}"
            assert url in html, (page, asset)
            served = client.get(url)
            assert served.status_code == 200 and len(served.content) > 10_000, url
