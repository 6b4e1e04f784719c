"""Subcommands of ``vst``. Each ``add_*`` registers a parser and its handler."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.protocol import DEFAULT_MAX_SIDE, MAX_SAMPLES, MAX_STYLES, check_weights
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
    if value > MAX_SAMPLES:
        raise argparse.ArgumentTypeError(f"must be in 1..{MAX_SAMPLES}, got {text}")
    return value


def _weights(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"weights must be comma-separated numbers, got {text!r}") from exc
    try:
        check_weights(values)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return values


OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def _paths(text: str) -> list[Path]:
    return [Path(part) for part in text.split(",") if part]


def _output_path(text: str) -> Path:
    """``-o``: checked before any model work, so that a wrong name fails at once, not after the model ran."""
    path = Path(text)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: the name must end in {', '.join(OUTPUT_SUFFIXES)} (it sets the format)"
        )
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: it is a folder")
    return path


def _add_stylize_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        type=_output_path,
        help="output image; its suffix sets the format: .png, .jpg/.jpeg or .webp",
    )
    parser.add_argument(
        "--style-id",
        action="append",
        default=[],
        metavar="ID",
        help="a painting of the service's built-in gallery by its id (as in GET /styles), instead of a file; "
        "the gallery is read from the same folders as the service (VST_GALLERY_DIRS)",
    )
    parser.add_argument("--alpha", type=_unit_float, default=1.0, help="content-style trade-off in [0, 1]")
    parser.add_argument("--variation", type=_non_negative_float, default=0.0, help="sampling temperature >= 0")
    parser.add_argument("--seed", type=int, default=None, help="random seed; the same seed gives the same image")
    parser.add_argument("--samples", type=_samples, default=1, help="K > 1 writes OUT-0 ... OUT-{K-1}")
    parser.add_argument("--preserve-color", action="store_true", help="keep the content's colours")
    parser.add_argument(
        "--max-side",
        type=_positive_int,
        default=None,
        help=f"longest output side in pixels (default {DEFAULT_MAX_SIDE}), at most the photo's own: photos are never "
        "enlarged, and a note says so when asked for more",
    )
    parser.add_argument(
        "--feather",
        type=_non_negative_float,
        default=0.0,
        metavar="PX",
        help="soften the masks' edges by a Gaussian blur of PX output pixels",
    )
    parser.add_argument("--checkpoint", type=Path, default=None, help="model checkpoint (default: shipped)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")


def _open_masks(paths: list[Path], size: tuple[int, int]) -> list[Any]:
    """The masks checked as the API checks them (shape, not all black) for a photo of ``size``."""
    from app.errors import ApiError
    from app.images import fit_mask

    masks = []
    for path in paths:
        try:
            masks.append(fit_mask(_open_image(path), str(path), *size))
        except ApiError as exc:
            raise CliError(exc.message) from exc
    return masks


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
    from model.device import DeviceUnavailableError, resolve_device

    try:
        return resolve_device(name)
    except DeviceUnavailableError as exc:
        raise CliError(str(exc)) from exc


def _gallery_paths(style_ids: list[str]) -> list[Path]:
    """The files of the service's gallery paintings ``style_ids``, found as the API finds them."""
    if not style_ids:
        return []
    from app.settings import SettingsError, load_settings
    from app.styles import load_gallery

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise CliError(str(exc)) from exc
    gallery = load_gallery(settings.gallery_dirs, settings.gallery_manifest)
    if not gallery:
        folders = ", ".join(str(folder) for folder in settings.gallery_dirs)
        raise CliError(f"--style-id: the gallery is empty: no paintings in {folders} (set VST_GALLERY_DIRS)")
    paths = []
    for style_id in style_ids:
        entry = gallery.get(style_id)
        if entry is None:
            close = difflib.get_close_matches(style_id, list(gallery), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise CliError(f"no gallery style with id {style_id!r}{hint}")
        paths.append(entry.path)
    return paths


def _say(args: argparse.Namespace, kind: str, text: str) -> None:
    print(f"vst {args.command}: {kind}: {text}", file=sys.stderr)


def _prepare_output(output: Path) -> None:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc}") from exc
    if not os.access(output.parent, os.W_OK):
        raise CliError(f"cannot write {output}: the folder {output.parent} is not writable")


def _run_stylize(
    args: argparse.Namespace, style_paths: list[Path], weights: list[float] | None, mask_paths: list[Path] | None = None
) -> int:
    from app.sizing import size_note
    from model.checkpoint import CheckpointError, load_checkpoint
    from model.inference import Stylizer

    _prepare_output(args.output)
    if args.samples > 1 and args.variation == 0:
        _say(
            args,
            "warning",
            f"--samples {args.samples} at --variation 0 writes {args.samples} identical images; "
            "give --variation > 0 (e.g. 1) for different ones",
        )
    content = _open_image(args.content)
    styles = [_open_image(p) for p in style_paths]
    masks = _open_masks(mask_paths, content.size) if mask_paths is not None else None
    note = size_note(args.max_side, None, max(content.size)) if args.max_side is not None else None
    if note:
        _say(args, "note", note)
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
        max_side=args.max_side or DEFAULT_MAX_SIDE,
        masks=masks,
        feather=args.feather,
    )
    output: Path = args.output
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
    parser = sub.add_parser(
        "stylize",
        help="stylize a photo with a style image",
        description="Stylize a photo with one painting: a file, or --style-id for one of the service's gallery.",
    )
    parser.add_argument("content", type=Path, help="the photo")
    parser.add_argument("style", type=Path, nargs="?", help="the painting (or give --style-id)")
    parser.add_argument(
        "--mask",
        type=Path,
        default=None,
        metavar="M.png",
        help="a grayscale image of the photo's shape: the style goes where it is white, the photo keeps its own "
        "look where it is black",
    )
    _add_stylize_options(parser)

    def handler(args: argparse.Namespace) -> int:
        if (args.style is None) == (len(args.style_id) == 0) or len(args.style_id) > 1:
            parser.error("give exactly one style: a file or one --style-id")
        paths = [args.style] if args.style is not None else _gallery_paths(args.style_id)
        return _run_stylize(args, paths, None, [args.mask] if args.mask is not None else None)

    parser.set_defaults(handler=handler)


def add_interpolate(sub: Any) -> None:
    parser = sub.add_parser(
        "interpolate",
        help=f"stylize with a weighted blend of 2..{MAX_STYLES} styles",
        description=f"Blend 2..{MAX_STYLES} paintings, or paint each over its own mask: files first, then each "
        "--style-id, in that order for --weights or --masks.",
    )
    parser.add_argument("content", type=Path, help="the photo")
    parser.add_argument(
        "styles", type=Path, nargs="*", help=f"style images (with any --style-id: 2..{MAX_STYLES} in all)"
    )
    parser.add_argument("--weights", type=_weights, default=None, help="one weight per style, e.g. 1,2,1")
    parser.add_argument(
        "--masks",
        type=_paths,
        default=None,
        metavar="M1.png,M2.png",
        help="instead of --weights, one grayscale mask per style in the same order: each style goes where its "
        "mask is white; where none is, the photo keeps its own look",
    )
    _add_stylize_options(parser)

    def handler(args: argparse.Namespace) -> int:
        count = len(args.styles) + len(args.style_id)
        if not 2 <= count <= MAX_STYLES:
            parser.error(f"interpolate takes 2..{MAX_STYLES} styles, got {count}")
        if (args.weights is None) == (args.masks is None):
            parser.error("give either --weights or --masks")
        given = args.weights if args.weights is not None else args.masks
        if len(given) != count:
            parser.error(f"got {len(given)} {'weights' if args.masks is None else 'masks'} for {count} styles")
        return _run_stylize(args, [*args.styles, *_gallery_paths(args.style_id)], args.weights, args.masks)

    parser.set_defaults(handler=handler)


def _add_options_parser(sub: Any, name: str, groups: dict[str, type], **kwargs: Any) -> Any:
    """A subcommand whose flags simple-parsing generates from the option dataclasses ``groups``.

    argparse makes every subcommand's parser of one class; this one has to be simple-parsing's, which fills the
    dataclasses, so the class is swapped for this one call only (the other subcommands keep plain argparse)."""
    from simple_parsing import ArgumentParser

    from training.flags import HelpFormatter, add_groups

    plain = sub._parser_class
    sub._parser_class = ArgumentParser
    try:
        parser = sub.add_parser(name, formatter_class=HelpFormatter, **kwargs)
    finally:
        sub._parser_class = plain
    add_groups(parser, groups)
    return parser


TRAIN_EXTRA = "pip install -e '.[train]'"


def _needs_train_extra(name: str, summary: str) -> Callable[[Callable[[Any, str, str], None]], Callable[[Any], None]]:
    """A subcommand that needs the train extra; without it, ``vst NAME`` says what to install instead of ``vst``
    failing as a whole (the model extra alone runs ``vst stylize``, ``interpolate`` and ``serve``)."""

    def decorate(add: Callable[[Any, str, str], None]) -> Callable[[Any], None]:
        def add_or_explain(sub: Any) -> None:
            try:
                add(sub, name, summary)  # its imports come before its parser is added
            except ImportError as error:
                needs = f"the train extra is not installed (no module {error.name}): {TRAIN_EXTRA}"
                parser = sub.add_parser(name, help=f"{summary} (needs the train extra)", description=needs)

                def handler(args: argparse.Namespace) -> int:
                    raise CliError(needs)

                parser.set_defaults(handler=handler, any_arguments=True)

        return add_or_explain

    return decorate


@_needs_train_extra("train", "train a model (runs under torchrun too)")
def add_train(sub: Any, name: str, summary: str) -> None:
    from training.options import TRAIN_GROUPS

    parser = _add_options_parser(sub, name, TRAIN_GROUPS, help=summary)

    def handler(args: argparse.Namespace) -> int:
        from training.options import train_options
        from training.train import train

        try:
            options = train_options(args)
        except ValueError as exc:
            parser.error(str(exc))
        print(train(options))
        return 0

    parser.set_defaults(handler=handler)


@_needs_train_extra("train-baseline", "train a published fast baseline: AdaIN or Linear")
def add_train_baseline(sub: Any, name: str, summary: str) -> None:
    from training.train_baseline import BASELINE_GROUPS

    parser = _add_options_parser(sub, name, BASELINE_GROUPS, help=summary)

    def handler(args: argparse.Namespace) -> int:
        from training.train_baseline import train_baseline

        print(train_baseline(args.options))
        return 0

    parser.set_defaults(handler=handler)


@_needs_train_extra("evaluate", "evaluate a checkpoint and the baselines")
def add_evaluate(sub: Any, name: str, summary: str) -> None:
    from training.options import EVALUATE_GROUPS

    parser = _add_options_parser(sub, name, EVALUATE_GROUPS, help=summary)

    def handler(args: argparse.Namespace) -> int:
        from model.checkpoint import CheckpointError
        from model.device import DeviceUnavailableError
        from training.eval_report import markdown_table
        from training.evaluate import PeerMissing, evaluate

        options = args.options
        try:
            results = evaluate(options)  # resolves --device before loading anything
        except (CheckpointError, FileNotFoundError, DeviceUnavailableError, PeerMissing) as exc:
            raise CliError(str(exc)) from exc
        print(markdown_table(results))
        print(f"wrote {options.out}/eval.json, eval.md, contact_sheet.png, sweep.png")
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

    pack = actions.add_parser(
        "pack",
        help="write a small random subset of a corpus (ROOT/paintings, ROOT/photos) as JPEGs, e.g. to carry to a GPU",
    )
    pack.add_argument("root", type=Path, help="corpus split with paintings/ and photos/ folders (e.g. its train/)")
    pack.add_argument("out", type=Path, help="folder to write (e.g. .corpus-pack, which git ignores)")
    pack.add_argument("--paintings", type=int, default=3000, help="paintings to pack (default: %(default)s)")
    pack.add_argument("--photos", type=int, default=2000, help="photos to pack (default: %(default)s)")
    pack.add_argument("--short-side", type=int, default=192, help="shorter side in pixels (default: %(default)s)")
    pack.add_argument("--quality", type=int, default=70, help="JPEG quality (default: %(default)s)")
    pack.add_argument("--seed", type=int, default=0)
    pack.add_argument("--max-mb", type=float, default=45.0, help="refuse to grow past this (default: %(default)s)")

    def pack_handler(args: argparse.Namespace) -> int:
        from training.pack import pack_corpus

        if args.out.exists():
            raise CliError(f"{args.out} exists; remove it or choose another folder")
        counts = {"paintings": args.paintings, "photos": args.photos}
        try:
            result = pack_corpus(
                args.root, args.out, counts, args.short_side, args.quality, args.seed, int(args.max_mb * 1e6)
            )
        except (FileNotFoundError, ValueError) as exc:
            raise CliError(str(exc)) from exc
        print(
            f"packed {result.written['paintings']} paintings and {result.written['photos']} photos into {args.out}: "
            f"{result.total_bytes / 1e6:.1f} MB; {len(result.skipped)} unreadable files skipped"
        )
        return 0

    pack.set_defaults(handler=pack_handler)


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
    parser.add_argument(
        "--adain-checkpoint",
        type=Path,
        default=None,
        help="AdaIN (vst train-baseline --method adain, e.g. checkpoints/adain.safetensors): shown head to head "
        "with ours at variation 0 on every pair",
    )
    parser.add_argument(
        "--linear-checkpoint",
        type=Path,
        default=None,
        help="Linear (vst train-baseline --method linear, e.g. checkpoints/linear.safetensors), the same way",
    )

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
            adain_checkpoint=args.adain_checkpoint,
            linear_checkpoint=args.linear_checkpoint,
        )
        try:
            prepare_survey_set(options, log=print)
        except (CheckpointError, FileNotFoundError, ValueError, OSError) as exc:
            raise CliError(str(exc)) from exc
        return 0

    parser.set_defaults(handler=handler)


SERVE_EPILOG = """\
environment:
  REDIS_URL      use this Redis (redis://, rediss:// or unix://); unset: start a local redis-server
                 on a free port, its data in VST_RUN_DIR
  VST_RUN_DIR    where the logs (logs/api.log, logs/worker-N.log) and the local Redis's data
                 (redis/) go (default: .run in the repository)
  VST_*          the API's and the workers' own settings (sizes, limits, API keys, survey folder),
                 passed on to them; see docs/service.md

Ctrl-C stops the API first, then the workers (a running job finishes), then Redis."""


def add_serve(sub: Any) -> None:
    parser = sub.add_parser(
        "serve",
        help="run Redis (if needed), a worker and the API locally",
        description="Run the whole service on this machine: Redis (unless REDIS_URL is set), N workers with the "
        "model loaded, and the API with the web page.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the API listens on (default: %(default)s, this machine only; 0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--port", type=_positive_int, default=8000, help="the API's port (default: %(default)s): http://HOST:PORT"
    )
    parser.add_argument(
        "--workers", type=_positive_int, default=1, help="number of worker processes (default: %(default)s)"
    )

    def handler(args: argparse.Namespace) -> int:
        from app.runner import serve

        return serve(host=args.host, port=args.port, workers=args.workers)

    parser.set_defaults(handler=handler)
