"""The survey with the published baselines: AdaIN and Linear as candidates, head to head against ours."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from redis import Redis

from app.survey_store import PreferenceVote, SurveyStore, load_survey_set
from formats.survey_manifest import REAL_PAINTING
from tests.conftest import DATA
from tests.tiny_model import write_tiny_baselines
from training.survey_set import SurveyOptions, head_to_head, prepare_survey_set


def _prepare(out: Path, checkpoint: Path, published: dict[str, Path]) -> SurveyOptions:
    return SurveyOptions(
        content_dir=DATA / "eval" / "content",
        style_dir=DATA / "eval" / "style",
        out=out,
        checkpoint=checkpoint,
        contents=2,
        styles=2,
        max_side=40,
        gatys_steps=0,
        seed=5,
        adain_checkpoint=published["adain"],
        linear_checkpoint=published["linear"],
    )


def test_head_to_head_alternates_which_side_ours_is_on() -> None:
    assert head_to_head("adain", 0) == ["ours_v0", "adain"]
    assert head_to_head("adain", 1) == ["adain", "ours_v0"]


def test_the_survey_set_pits_each_published_baseline_against_ours_in_both_orders(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    options = _prepare(tmp_path / "survey", tiny_checkpoint, write_tiny_baselines(tmp_path))
    manifest = prepare_survey_set(options, log=lambda _: None)
    assert load_survey_set(tmp_path / "survey").manifest == manifest
    assert set(manifest.methods) == {"ours_v0", "ours_v1", "adain", "linear"}
    assert manifest.methods["adain"].label.startswith("AdaIN")
    rotating, matches = manifest.preference[:4], manifest.preference[4:]
    assert all({c.method for c in item.candidates} == {"ours_v0", "ours_v1"} for item in rotating)
    assert len(matches) == 8  # 4 pairs x 2 published baselines
    orders = Counter(tuple(c.method for c in item.candidates) for item in matches)
    assert orders == {
        ("ours_v0", "adain"): 2, ("adain", "ours_v0"): 2, ("ours_v0", "linear"): 2, ("linear", "ours_v0"): 2
    }  # fmt: skip
    # A head-to-head item shows the very images of that pair's other items, and its own photo and painting.
    by_pair = {(item.content, item.style): item for item in rotating}
    for item in matches:
        ours = next(c.image for c in item.candidates if c.method == "ours_v0")
        assert ours in {c.image for c in by_pair[(item.content, item.style)].candidates}
    # Every method's stylizations are among the deception items, one per pair each.
    counted = Counter(d.method for d in manifest.deception if d.method != REAL_PAINTING)
    assert counted == {"ours_v0": 4, "ours_v1": 4, "adain": 4, "linear": 4}


def test_results_break_head_to_head_votes_down_by_pair_of_methods(
    tmp_path: Path, tiny_checkpoint: Path, redis_url: str
) -> None:
    options = _prepare(tmp_path / "survey", tiny_checkpoint, write_tiny_baselines(tmp_path))
    prepare_survey_set(options, log=lambda _: None)
    redis = Redis.from_url(redis_url)
    store = SurveyStore(redis, tmp_path / "survey")
    manifest = store.require().manifest
    matches = [item for item in manifest.preference if len(item.candidates) == 2]
    adain_items = [item for item in matches if "adain" in {c.method for c in item.candidates}]
    # Participant a picks ours on every AdaIN item; b picks AdaIN once and Linear once.
    for item in adain_items:
        ours = next(c.image for c in item.candidates if c.method == "ours_v0")
        store.vote_preference("a" * 32, PreferenceVote(item_id=item.id, choice=ours))
    first = adain_items[0]
    theirs = next(c.image for c in first.candidates if c.method == "adain")
    store.vote_preference("b" * 32, PreferenceVote(item_id=first.id, choice=theirs))
    linear_item = next(item for item in matches if "linear" in {c.method for c in item.candidates})
    pick = next(c.image for c in linear_item.candidates if c.method == "linear")
    store.vote_preference("b" * 32, PreferenceVote(item_id=linear_item.id, choice=pick))

    results = store.results()
    pairs = {(h.first, h.second): h.first_preferred for h in results.head_to_head}
    # Without Gatys and a separate twin, the rotating items are two-method items too: ours at 0 against ours at 1.
    assert set(pairs) == {("ours_v0", "ours_v1"), ("ours_v0", "adain"), ("ours_v0", "linear")}
    assert pairs[("ours_v0", "ours_v1")].trials == 0
    assert (pairs[("ours_v0", "adain")].hits, pairs[("ours_v0", "adain")].trials) == (4, 5)
    assert (pairs[("ours_v0", "linear")].hits, pairs[("ours_v0", "linear")].trials) == (0, 1)
    per_method = {m.id: m.preference for m in results.methods}
    assert (per_method["adain"].hits, per_method["adain"].trials) == (1, 5)
    assert (per_method["linear"].hits, per_method["linear"].trials) == (1, 1)
