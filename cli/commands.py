"""Subcommands of ``vst``. Each ``add_*`` registers a parser and its handler."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.main import CliError

if TYPE_CHECKING:  # torch is imported by the handlers that need it, so that `vst --help` stays quick
    import torch


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _unit_float(text: str) -> float:
    value = _non_negative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _samples(text: str) -> int:
    value = _positive_int(text)
    if value > 8:
        raise argparse.ArgumentTypeError(f"must be in 1..8, got {text}")
    return value


def _weights(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"weights must be comma-separated numbers, got {text!r}") from exc
    if any(not v >= 0 or v == float("inf") for v in values):
        raise argparse.ArgumentTypeError("weights must be finite and non-negative")
    if sum(values) <= 0:
        raise argparse.ArgumentTypeError("weights must not all be zero")
    return values


def _add_stylize_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, type=Path, help="output image (PNG/JPEG/WebP)")
    parser.add_argument("--alpha", type=_unit_float, default=1.0, help="content-style trade-off in [0, 1]")
    parser.add_argument("--variation", type=_non_negative_float, default=0.0, help="sampling temperature >= 0")
    parser.add_argument("--seed", type=int, default=None, help="random seed; the same seed gives the same image")
    parser.add_argument("--samples", type=_samples, default=1, help="K > 1 writes OUT-0 ... OUT-{K-1}")
    parser.add_argument("--preserve-color", action="store_true", help="keep the content's colours")
    parser.add_argument("--max-side", type=_positive_int, default=512, help="longest output side in pixels")
    parser.add_argument("--checkpoint", type=Path, default=None, help="model checkpoint (default: shipped)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")


def _open_image(path: Path) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.convert("RGB")
    except FileNotFoundError as exc:
        raise CliError(f"no such file: {path}") from exc
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise CliError(f"cannot read image {path}: {exc}") from exc


def _device(name: str) -> torch.device:
    """``--device`` resolved, or a one-line error (e.g. cuda asked for where there is none), not a traceback."""
    from training.train import DeviceUnavailableError, resolve_device

    try:
        return resolve_device(name)
    except DeviceUnavailableError as exc:
        raise CliError(str(exc)) from exc


def _run_stylize(args: argparse.Namespace, style_paths: list[Path], weights: list[float] | None) -> int:
    from model.checkpoint import CheckpointError, load_checkpoint
    from model.inference import Stylizer

    content = _open_image(args.content)
    styles = [_open_image(p) for p in style_paths]
    device = _device(args.device)
    try:
        model, _ = load_checkpoint(args.checkpoint, device=device)
    except CheckpointError as exc:
        raise CliError(str(exc)) from exc
    stylizer = Stylizer(model, device=device)
    codes = [stylizer.encode_style(s) for s in styles]
    images = stylizer.stylize(
        content,
        codes,
        weights=weights,
        alpha=args.alpha,
        variation=args.variation,
        samples=args.samples,
        seed=args.seed,
        preserve_color=args.preserve_color,
        max_side=args.max_side,
    )
    output: Path = args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    if len(images) == 1:
        targets = [output]
    else:
        targets = [output.with_name(f"{output.stem}-{k}{output.suffix}") for k in range(len(images))]
    for image, target in zip(images, targets, strict=True):
        try:
            image.save(target)
        except (ValueError, OSError) as exc:
            raise CliError(f"cannot write {target}: {exc}") from exc
        print(target)
    return 0


def add_stylize(sub: Any) -> None:
    parser = sub.add_parser("stylize", help="stylize a photo with a style image")
    parser.add_argument("content", type=Path)
    parser.add_argument("style", type=Path)
    _add_stylize_options(parser)
    parser.set_defaults(handler=lambda a: _run_stylize(a, [a.style], None))


def add_interpolate(sub: Any) -> None:
    parser = sub.add_parser("interpolate", help="stylize with a weighted blend of 2..8 styles")
    parser.add_argument("content", type=Path)
    parser.add_argument("styles", type=Path, nargs="+", help="2..8 style images")
    parser.add_argument("--weights", type=_weights, required=True, help="one weight per style, e.g. 1,2,1")
    _add_stylize_options(parser)

    def handler(args: argparse.Namespace) -> int:
        if not 2 <= len(args.styles) <= 8:
            parser.error(f"interpolate takes 2..8 styles, got {len(args.styles)}")
        if len(args.weights) != len(args.styles):
            parser.error(f"got {len(args.weights)} weights for {len(args.styles)} styles")
        return _run_stylize(args, args.styles, args.weights)

    parser.set_defaults(handler=handler)


def add_train(sub: Any) -> None:
    from training.options import add_train_arguments

    parser = sub.add_parser("train", help="train a model (runs under torchrun too)")
    add_train_arguments(parser)

    def handler(args: argparse.Namespace) -> int:
        from training.options import options_from_args
        from training.train import train

        try:
            options = options_from_args(args)
        except ValueError as exc:
            parser.error(str(exc))
        print(train(options))
        return 0

    parser.set_defaults(handler=handler)


def add_train_baseline(sub: Any) -> None:
    from training.train_baseline import add_arguments

    parser = sub.add_parser("train-baseline", help="train a published fast baseline: AdaIN or Linear")
    add_arguments(parser)

    def handler(args: argparse.Namespace) -> int:
        from training.train_baseline import options_from_args, train_baseline

        print(train_baseline(options_from_args(args)))
        return 0

    parser.set_defaults(handler=handler)


def add_evaluate(sub: Any) -> None:
    from training.options import add_evaluate_arguments

    parser = sub.add_parser("evaluate", help="evaluate a checkpoint and the baselines")
    add_evaluate_arguments(parser)

    def handler(args: argparse.Namespace) -> int:
        from model.checkpoint import CheckpointError
        from training.evaluate import evaluate, markdown_table
        from training.train import DeviceUnavailableError

        try:
            results = evaluate(args)  # resolves --device before loading anything
        except (CheckpointError, FileNotFoundError, DeviceUnavailableError) as exc:
            raise CliError(str(exc)) from exc
        print(markdown_table(results))
        print(f"wrote {args.out}/eval.json, eval.md, contact_sheet.png, sweep.png")
        return 0

    parser.set_defaults(handler=handler)


def add_average(sub: Any) -> None:
    parser = sub.add_parser(
        "average",
        help="average the weights of several snapshots of one run (stochastic weight averaging)",
    )
    parser.add_argument("checkpoints", nargs="+", type=Path, help="two or more snapshots of the same run")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the averaged checkpoint to write")

    def handler(args: argparse.Namespace) -> int:
        from model.checkpoint import CheckpointError
        from training.average import average_checkpoints

        try:
            provenance = average_checkpoints(args.checkpoints, args.out)
        except CheckpointError as exc:
            raise CliError(str(exc)) from exc
        steps = ", ".join(str(item["steps"]) for item in provenance["averaged_from"])
        print(f"wrote {args.out}: the mean of {len(args.checkpoints)} checkpoints (steps {steps})")
        return 0

    parser.set_defaults(handler=handler)


def add_datasets(sub: Any) -> None:
    from training.scan import add_scan_arguments

    parser = sub.add_parser("datasets", help="inspect local training datasets (folders, Places365, WikiArt)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    scan = actions.add_parser("scan", help="count images, list unreadable files, report the size distribution")
    add_scan_arguments(scan)

    def handler(args: argparse.Namespace) -> int:
        from training.scan import run_scan

        try:
            return run_scan(args)
        except (FileNotFoundError, ValueError) as exc:
            raise CliError(str(exc)) from exc

    scan.set_defaults(handler=handler)


def add_survey_prepare(sub: Any) -> None:
    repo = Path(__file__).resolve().parent.parent
    parser = sub.add_parser(
        "survey-prepare",
        help="prepare the human survey's images and manifest (served by the API from VST_SURVEY_DIR)",
    )
    parser.add_argument("--content", type=Path, default=repo / "data" / "eval" / "content", help="content photos")
    parser.add_argument("--style", type=Path, default=repo / "data" / "eval" / "style", help="style paintings")
    parser.add_argument("--out", type=Path, default=repo / "survey", help="output folder (the API's VST_SURVEY_DIR)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="our model (default: shipped)")
    parser.add_argument(
        "--baseline-checkpoint",
        type=Path,
        default=None,
        help="a checkpoint trained without KL for the deterministic baseline (default: ours at variation 0)",
    )
    parser.add_argument("--contents", type=_positive_int, default=4, help="content photos used")
    parser.add_argument("--styles", type=_positive_int, default=3, help="style paintings used")
    parser.add_argument("--pairs", type=_positive_int, default=None, help="at most this many content x style pairs")
    parser.add_argument("--reals", type=int, default=None, help="real paintings among the deception items")
    parser.add_argument("--max-side", type=_positive_int, default=384, help="longest side of every survey image")
    parser.add_argument("--gatys-steps", type=int, default=200, help="Gatys optimisation steps; 0 leaves Gatys out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")

    def handler(args: argparse.Namespace) -> int:
        from model.checkpoint import CheckpointError
        from training.survey_set import SurveyOptions, prepare_survey_set

        if args.gatys_steps < 0 or (args.reals is not None and args.reals < 0):
            parser.error("--gatys-steps and --reals must be >= 0")
        options = SurveyOptions(
            content_dir=args.content,
            style_dir=args.style,
            out=args.out,
            checkpoint=args.checkpoint,
            baseline_checkpoint=args.baseline_checkpoint,
            contents=args.contents,
            styles=args.styles,
            pairs=args.pairs,
            reals=args.reals,
            max_side=args.max_side,
            gatys_steps=args.gatys_steps,
            seed=args.seed,
            device=str(_device(args.device)),
        )
        try:
            prepare_survey_set(options, log=print)
        except (CheckpointError, FileNotFoundError, ValueError, OSError) as exc:
            raise CliError(str(exc)) from exc
        return 0

    parser.set_defaults(handler=handler)


def add_serve(sub: Any) -> None:
    parser = sub.add_parser("serve", help="run Redis (if needed), a worker and the API locally")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="number of worker processes")

    def handler(args: argparse.Namespace) -> int:
        from app.runner import serve

        return serve(host=args.host, port=args.port, workers=args.workers)

    parser.set_defaults(handler=handler)
