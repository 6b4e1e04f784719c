"""``vst survey-prepare``: the images and manifest of the human survey (preference and deception rates).

For content photos x style paintings it stylizes each pair with every available method:

- ``ours_v0``: our model at variation 0 (the style code's mean);
- ``ours_v1``: our model at variation 1 (one sample of the style code);
- ``deterministic``: a checkpoint trained without the KL term, at variation 0, when one is given; without one,
  our model at variation 0 stands in, so its images are ``ours_v0``'s and the manifest says so;
- ``gatys``: Gatys et al.'s optimisation against the same loss network, unless ``--gatys-steps 0``;
- ``adain``, ``linear``: the published fast baselines (AdaIN, Huang & Belongie 2017; Linear, Li et al. 2019),
  when their checkpoints (``vst train-baseline``) are given.

A preference item shows one pair with 2-3 of ours, the deterministic baseline and Gatys (rotating which is
left out when there are four). Each published baseline also meets ours at variation 0 head to head: one item
of the two per pair, in alternating order (the API shuffles the order shown as well).
The deception items are all the stylizations plus real paintings not used as styles (where the folder has
enough), so a participant has not already seen a "real" one as a style reference.

Every image, real or not, is resized to the same longest side and saved as JPEG with the same quality,
so that neither the size nor the encoding gives a painting away. Files are named by opaque random ids.
The output folder is what the API serves (``VST_SURVEY_DIR``); the manifest is written last, atomically.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch
from PIL import Image

from formats.survey_manifest import (
    IMAGE_FILE,
    IMAGES_FOLDER,
    MANIFEST_NAME,
    REAL_PAINTING,
    Candidate,
    DeceptionItem,
    DeterministicBaseline,
    MethodInfo,
    PreferenceItem,
    SurveyManifest,
)
from model.baselines import BaselineStylizer, load_baseline
from model.checkpoint import DEFAULT_CHECKPOINT, file_sha256, load_checkpoint
from model.inference import Stylizer, fit_within, image_to_tensor, tensor_to_image
from training.baselines import gatys
from training.datasets import list_images

logger = logging.getLogger(__name__)

JPEG_QUALITY = 92
MAX_CANDIDATES = 3
SAMPLED_VARIATION = 1.0
PUBLISHED = {
    "adain": MethodInfo(
        label="AdaIN (Huang & Belongie 2017)",
        description="Adaptive instance normalisation of VGG relu4_1 features and a trained decoder, "
        "trained on this project's corpus (vst train-baseline --method adain).",
    ),
    "linear": MethodInfo(
        label="Linear (Li et al. 2019)",
        description="A learned linear transform of VGG relu3_1 features and a trained decoder, "
        "trained on this project's corpus (vst train-baseline --method linear).",
    ),
}


@dataclass(frozen=True)
class SurveyOptions:
    content_dir: Path
    style_dir: Path
    out: Path
    checkpoint: Path | None = None
    baseline_checkpoint: Path | None = None
    contents: int = 4
    styles: int = 3
    pairs: int | None = None
    reals: int | None = None
    max_side: int = 384
    gatys_steps: int = 200
    seed: int = 0
    device: str = "cpu"
    adain_checkpoint: Path | None = None
    linear_checkpoint: Path | None = None

    def published_checkpoints(self) -> dict[str, Path]:
        """The published baselines given, by method id."""
        given = {"adain": self.adain_checkpoint, "linear": self.linear_checkpoint}
        return {method: path for method, path in given.items() if path is not None}


def open_rgb(path: Path, max_side: int) -> Image.Image:
    with Image.open(path) as image:
        return fit_within(image.convert("RGB"), max_side)


class ImageWriter:
    """Saves images under opaque ids (reproducible from the seed, meaningless to a participant)."""

    def __init__(self, folder: Path, rng: random.Random) -> None:
        self.folder = folder
        self.rng = rng
        self.files: dict[str, str] = {}
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, image: Image.Image) -> str:
        image_id = f"{self.rng.getrandbits(64):016x}"
        while image_id in self.files:
            image_id = f"{self.rng.getrandbits(64):016x}"
        name = f"{image_id}.jpg"
        image.convert("RGB").save(self.folder / name, format="JPEG", quality=JPEG_QUALITY)
        self.files[image_id] = name
        return image_id


def candidate_methods(available: list[str], pair_index: int) -> list[str]:
    """At most three methods for a preference item; with four, a different one is left out each time."""
    if len(available) <= MAX_CANDIDATES:
        return list(available)
    left_out = available[pair_index % len(available)]
    return [m for m in available if m != left_out][:MAX_CANDIDATES]


def head_to_head(method: str, pair_index: int) -> list[str]:
    """Ours at variation 0 against one published baseline, ours first on even pairs and second on odd ones."""
    return ["ours_v0", method] if pair_index % 2 == 0 else [method, "ours_v0"]


def _method_infos(options: SurveyOptions, has_baseline: bool, has_gatys: bool) -> dict[str, MethodInfo]:
    methods = {
        "ours_v0": MethodInfo(
            label="Ours, variation 0" + ("" if has_baseline else " (= deterministic baseline)"),
            description="The variational model at its style code's mean: one deterministic image per pair."
            + ("" if has_baseline else " No checkpoint trained without KL was given, so it is also the baseline."),
        ),
        "ours_v1": MethodInfo(
            label=f"Ours, variation {SAMPLED_VARIATION:g}",
            description=f"One sample of the style code at temperature {SAMPLED_VARIATION:g}.",
        ),
    }
    if has_baseline:
        methods["deterministic"] = MethodInfo(
            label="Deterministic baseline",
            description=f"A checkpoint trained without the KL term ({options.baseline_checkpoint}), at variation 0.",
        )
    if has_gatys:
        methods["gatys"] = MethodInfo(
            label="Gatys et al. (optimisation)",
            description=f"{options.gatys_steps} Adam steps on the pixels against the model's own VGG losses.",
        )
    return methods | {method: PUBLISHED[method] for method in options.published_checkpoints()}


def prepare_survey_set(options: SurveyOptions, log: Callable[[str], None] = logger.info) -> SurveyManifest:
    """Stylize, save the images and write ``manifest.json`` into ``options.out``; returns the manifest."""
    content_paths = list_images(options.content_dir)[: options.contents]
    all_styles = list_images(options.style_dir)
    style_paths = all_styles[: options.styles]
    if not content_paths or not style_paths:
        folders = f"{options.content_dir}, {options.style_dir}"
        raise ValueError(f"need at least one content image and one style image in {folders}")
    rng = random.Random(options.seed)
    pairs = list(itertools.product(range(len(content_paths)), range(len(style_paths))))
    rng.shuffle(pairs)
    pairs = pairs[: options.pairs] if options.pairs else pairs

    device = torch.device(options.device)
    model, provenance = load_checkpoint(options.checkpoint, device=device)
    ours = Stylizer(model, device=device)
    baseline = None
    if options.baseline_checkpoint is not None:
        baseline_model, _ = load_checkpoint(options.baseline_checkpoint, device=device)
        baseline = Stylizer(baseline_model, device=device)
    published = {
        method: BaselineStylizer(load_baseline(path, method=method, device=device)[0])
        for method, path in options.published_checkpoints().items()
    }
    trunk = model.style_encoder.trunk
    norms = provenance.get("loss_norms", {}) or {}
    has_gatys = options.gatys_steps > 0

    writer = ImageWriter(options.out / IMAGES_FOLDER, rng)
    contents = [open_rgb(p, options.max_side) for p in content_paths]
    styles = [open_rgb(p, options.max_side) for p in style_paths]
    content_ids = [writer.save(image) for image in contents]
    style_ids = [writer.save(image) for image in styles]
    codes = [ours.encode_style(s) for s in styles]
    baseline_codes = [baseline.encode_style(s) for s in styles] if baseline else []

    available = ["ours_v0", "ours_v1"] + (["deterministic"] if baseline else []) + (["gatys"] if has_gatys else [])
    preference: list[PreferenceItem] = []
    matches: list[tuple[int, int, list[Candidate]]] = []  # (content, style, candidates) of the head-to-head items
    stylizations: list[tuple[str, str, str]] = []  # (image id, method, group)
    for index, (ci, si) in enumerate(pairs):
        log(f"pair {index + 1}/{len(pairs)}: {content_paths[ci].name} x {style_paths[si].name}")
        made: dict[str, Image.Image] = {}
        with torch.inference_mode():
            made["ours_v0"] = ours.stylize(contents[ci], [codes[si]], max_side=options.max_side)[0]
            made["ours_v1"] = ours.stylize(
                contents[ci],
                [codes[si]],
                variation=SAMPLED_VARIATION,
                seed=options.seed * 100_003 + index,
                max_side=options.max_side,
            )[0]
            if baseline is not None:
                made["deterministic"] = baseline.stylize(contents[ci], [baseline_codes[si]], max_side=options.max_side)[
                    0
                ]
            for method, fast in published.items():
                made[method] = fast.stylize(contents[ci], [styles[si]], max_side=options.max_side)
        if has_gatys:
            optimised = gatys(
                trunk,
                image_to_tensor(contents[ci]).to(device),
                image_to_tensor(styles[si]).to(device),
                steps=options.gatys_steps,
                content_norm=float(norms.get("content", 1.0)),
                style_norm=float(norms.get("style", 1.0)),
            )
            made["gatys"] = tensor_to_image(optimised)
        ids = {method: writer.save(image) for method, image in made.items()}
        # One group per photo: a batch of the deception task shows each photo at most once.
        stylizations += [(image_id, method, f"content{ci}") for method, image_id in ids.items()]
        chosen = candidate_methods(available, index)
        preference.append(
            PreferenceItem(
                id=f"p{index}",
                content=content_ids[ci],
                style=style_ids[si],
                candidates=[Candidate(image=ids[m], method=m) for m in chosen],
            )
        )
        for method in published:
            matches.append((ci, si, [Candidate(image=ids[m], method=m) for m in head_to_head(method, index)]))
    preference += [
        PreferenceItem(id=f"p{len(pairs) + k}", content=content_ids[ci], style=style_ids[si], candidates=candidates)
        for k, (ci, si, candidates) in enumerate(matches)
    ]

    # Real paintings the participant has not seen as a style reference, where the folder has enough.
    unused = all_styles[len(style_paths) :]
    want = options.reals if options.reals is not None else len(pairs)
    real_paths = (unused + style_paths)[:want]
    reals = [(writer.save(open_rgb(p, options.max_side)), REAL_PAINTING, f"real{k}") for k, p in enumerate(real_paths)]
    mixed = stylizations + reals
    rng.shuffle(mixed)
    deception = [
        DeceptionItem(id=f"d{k}", image=image_id, method=method, group=group)
        for k, (image_id, method, group) in enumerate(mixed)
    ]

    checkpoint_path = options.checkpoint or DEFAULT_CHECKPOINT
    if baseline is not None:
        deterministic = DeterministicBaseline(
            source="checkpoint",
            method="deterministic",
            checkpoint=str(options.baseline_checkpoint),
            note="a checkpoint trained without the KL term, used at variation 0",
        )
    else:
        deterministic = DeterministicBaseline(
            source="ours_at_variation_0",
            method="ours_v0",
            note="no checkpoint trained without KL was given: our model at variation 0 stands in for the baseline",
        )
    manifest = SurveyManifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        checkpoint=f"{checkpoint_path.name} (sha256 {file_sha256(checkpoint_path)[:16]})",
        methods=_method_infos(options, baseline is not None, has_gatys),
        deterministic_baseline=deterministic,
        images=writer.files,
        preference=preference,
        deception=deception,
    )
    _write_manifest(options.out, manifest)
    _remove_stale_images(options.out / IMAGES_FOLDER, set(writer.files.values()))
    log(
        f"wrote {options.out / MANIFEST_NAME}: {len(preference)} preference items, {len(deception)} deception items "
        f"({len(reals)} real paintings), methods {', '.join(manifest.methods)}"
    )
    return manifest


def _write_manifest(out: Path, manifest: SurveyManifest) -> None:
    # Written to a temporary file then renamed: a running API never reads half a manifest.
    temporary = out / f".{MANIFEST_NAME}.tmp"
    temporary.write_text(manifest.model_dump_json(indent=2))
    temporary.replace(out / MANIFEST_NAME)


def _remove_stale_images(folder: Path, keep: set[str]) -> None:
    """Images of an earlier survey set in the same folder (only files named like survey images)."""
    for path in folder.iterdir():
        if IMAGE_FILE.match(path.name) and path.name not in keep:
            path.unlink()
