"""Take the README's screenshots from the real running app: ``python docs/take_screenshots.py``.

Starts a redis-server, one worker with the shipped checkpoint and the API (the same processes as the
tests, with production limits). Prepares a small survey set with ``prepare_survey_set``, into
``--survey-dir`` when given and still empty, so that a rerun reuses it. Then drives the system Chromium
headless through the page and the survey.

Writes docs/screenshot-page.png (a stylize job with three samples), docs/screenshot-lightbox.png (a result
enlarged, with the before/after slider at the middle), docs/screenshot-sweep.png (a two-style sweep),
docs/screenshot-phone.png (the page at phone width), docs/screenshot-survey.png (a preference item) and
docs/screenshot-survey-deception.png (the real-or-not task); with ``--no-survey`` only the first four.
No votes are cast.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from app.redis_server import LocalRedis  # noqa: E402
from model.checkpoint import DEFAULT_CHECKPOINT  # noqa: E402
from tests.service_stack import Stack  # noqa: E402

DOCS = REPO / "docs"
DATA = REPO / "data" / "eval"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Production limits, not the tests' small ones.
API_ENV = {
    "VST_MAX_UPLOAD_BYTES": str(16 * 1024 * 1024),
    "VST_MAX_REQUEST_BYTES": str(128 * 1024 * 1024),
    "VST_MAX_IMAGE_PIXELS": "40000000",
    "VST_DEFAULT_MAX_SIDE": "512",
    "VST_MAX_SIDE_LIMIT": "2048",
}
RESULTS_DECODED = """n => {
    const images = [...document.querySelectorAll('#results img')];
    return images.length === n && images.every(image => image.complete && image.naturalWidth > 0);
}"""


def prepare_survey(out: Path, gatys_steps: int) -> None:
    from training.survey_set import SurveyOptions, prepare_survey_set

    options = SurveyOptions(
        content_dir=DATA / "content",
        style_dir=DATA / "style",
        out=out,
        contents=3,
        styles=2,
        max_side=256,
        gatys_steps=gatys_steps,
        seed=0,
    )
    prepare_survey_set(options, log=print)


def pick(page: Page, photo: Path, styles: list[str]) -> None:
    page.goto("/")
    page.set_input_files("#content-input", str(photo))
    for style_id in styles:
        page.locator(f'#gallery button[data-style-id="{style_id}"]').click()


def shoot_page(page: Page) -> None:
    pick(page, DATA / "content" / "kodak_kodim15.jpg", ["hokusai_great_wave"])
    # Sliders are set as a user's drag leaves them: a new value, then an input event.
    page.eval_on_selector("#variation", "el => { el.value = '1'; el.dispatchEvent(new Event('input')); }")
    page.fill("#samples", "3")
    page.fill("#seed", "7")
    page.click("#stylize-button")
    page.wait_for_function(RESULTS_DECODED, arg=3, timeout=300_000)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=DOCS / "screenshot-page.png", full_page=True)
    print("wrote docs/screenshot-page.png")


def shoot_lightbox(page: Page) -> None:
    pick(page, DATA / "content" / "kodak_kodim02.jpg", ["vangogh_starry_night"])
    page.click("#stylize-button")
    page.wait_for_function(RESULTS_DECODED, arg=1, timeout=300_000)
    page.locator("#results .result .compare-button").click()
    page.wait_for_function("document.querySelector('#lightbox-image').naturalWidth > 0")
    page.wait_for_function("document.querySelector('#lightbox-photo').naturalWidth > 0")
    page.screenshot(path=DOCS / "screenshot-lightbox.png")
    print("wrote docs/screenshot-lightbox.png")


def shoot_sweep(page: Page) -> None:
    pick(page, DATA / "content" / "weavly_tower_sunset.jpg", ["hokusai_great_wave", "vangogh_night_cafe"])
    page.fill("#sweep-steps", "5")
    page.click("#sweep-button")
    page.wait_for_function(RESULTS_DECODED, arg=5, timeout=300_000)
    page.locator("#results-card").screenshot(path=DOCS / "screenshot-sweep.png")
    print("wrote docs/screenshot-sweep.png")


def shoot_phone(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    pick(page, DATA / "content" / "weavly_big_ben.jpg", ["picabia_udnie", "vangogh_night_cafe"])
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_function("[...document.images].filter(i => i.loading !== 'lazy').every(i => i.complete)")
    page.screenshot(path=DOCS / "screenshot-phone.png", full_page=True)
    print("wrote docs/screenshot-phone.png")


def shoot_survey(page: Page) -> None:
    page.goto("/survey")
    page.locator("#candidates button img").last.wait_for()
    page.wait_for_function("[...document.images].every(image => image.complete)")
    page.screenshot(path=DOCS / "screenshot-survey.png", full_page=True)
    print("wrote docs/screenshot-survey.png")
    page.click("#tab-deception")
    page.locator("#judge-grid .judge").first.wait_for()
    page.wait_for_function("[...document.images].every(image => image.complete)")
    page.screenshot(path=DOCS / "screenshot-survey-deception.png", full_page=True)
    print("wrote docs/screenshot-survey-deception.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--survey-dir", type=Path, default=None, help="survey set to use; prepared there (and kept) when it has none"
    )
    parser.add_argument("--gatys-steps", type=int, default=100, help="for the survey set prepared here")
    parser.add_argument(
        "--no-survey",
        action="store_true",
        help="only the stylize page's screenshots: no survey set is prepared (its menu links are then hidden)",
    )
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="vst-screenshots-") as scratch:
        work = Path(scratch)
        survey_dir = args.survey_dir or work / "survey"
        if not args.no_survey and not (survey_dir / "manifest.json").is_file():
            prepare_survey(survey_dir, args.gatys_steps)
        redis = LocalRedis(work / "redis")
        stack = Stack(redis_url=redis.start(), checkpoint=DEFAULT_CHECKPOINT, log_dir=work / "logs")
        try:
            stack.start_worker("screenshots", env={"VST_TORCH_THREADS": "2"})
            _, base_url = stack.start_api("screenshots", env={**API_ENV, "VST_SURVEY_DIR": str(survey_dir)})
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                shots = [shoot_page, shoot_lightbox, shoot_sweep, shoot_phone]
                for shoot in shots if args.no_survey else [*shots, shoot_survey]:
                    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
                    shoot(context.new_page())
                    context.close()
                browser.close()
        finally:
            stack.stop_all()
            redis.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
