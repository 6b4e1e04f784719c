"""Submitting jobs (``/stylize``, ``/interpolate``) and following them (``/jobs/{id}``)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from app.archive import results_zip
from app.deps import JobStoreDep, JobWaiterDep, SettingsDep, StyleRegistryDep
from app.errors import Unprocessable, error_responses
from app.images import MIN_CONTENT_SIDE, ValidImage, read_upload, validate_image, validate_mask
from app.jobs import JobStore
from app.protocol import ImageFormat
from app.schemas import JobView, StylizeOptions
from app.security import CallerDep
from app.settings import ApiSettings
from app.sizing import size_note
from app.styles import STYLE_MAX_SIDE, StyleRegistry
from app.waiting import MAX_WAIT_S

router = APIRouter(tags=["jobs"])

MAX_STYLES = 8
MAX_OUTPUTS = 32
MAX_FEATHER_PX = 64.0
_SUBMIT_ERRORS = error_responses(404, 413, 415, 422, 429, 503)


def stylize_options(
    alpha: Annotated[
        float, Form(ge=0.0, le=1.0, description="0 keeps the photo's style, 1 is the target style.")
    ] = 1.0,
    preserve_color: Annotated[bool, Form(description="Keep the photo's colours.")] = False,
    variation: Annotated[float, Form(ge=0.0, le=10.0, description="Sampling temperature, 0 = deterministic.")] = 0.0,
    samples: Annotated[int, Form(ge=1, le=8, description="Number of images to draw.")] = 1,
    seed: Annotated[int | None, Form(ge=0, le=2**63 - 1, description="Random seed for reproducible samples.")] = None,
    max_side: Annotated[
        int | None, Form(ge=16, description="Longest output side in pixels (capped by the server).")
    ] = None,
    format: Annotated[ImageFormat, Form(description="Result format: png, jpeg or webp.")] = "png",
) -> StylizeOptions:
    if not math.isfinite(alpha) or not math.isfinite(variation):
        raise Unprocessable("alpha and variation must be finite numbers", code="invalid_request")
    return StylizeOptions(
        alpha=alpha,
        preserve_color=preserve_color,
        variation=variation,
        samples=samples,
        seed=seed,
        max_side=max_side,
        format=format,
    )


OptionsDep = Annotated[StylizeOptions, Depends(stylize_options)]
Feather = Annotated[
    float,
    Form(
        ge=0.0,
        le=MAX_FEATHER_PX,
        description="Softens the masks' edges: a Gaussian blur of this many output pixels (0 = as drawn).",
    ),
]


async def _submit(
    jobs: JobStore,
    options: StylizeOptions,
    kind: str,
    content: ValidImage,
    styles: list[ValidImage],
    weights: list[float] | None,
    steps: int | None,
    max_side: int,
    owner: str | None,
    settings: ApiSettings,
    masks: list[ValidImage] | None = None,
    feather: float = 0.0,
) -> JobView:
    """Queue one job with the shared options; the store's Redis calls run off the event loop."""
    # Only a size the client asked for gets a note: the default is no promise. Validation fitted the photo into
    # max_side: a longest side under it is the photo's own; one at it means the photo was at least that large.
    note = None
    if options.max_side is not None:
        photo_side = content.longest_side if content.longest_side < max_side else options.max_side
        note = size_note(options.max_side, settings.max_side_limit, photo_side)
    return await run_in_threadpool(
        jobs.submit,
        kind=kind,
        content=content,
        styles=styles,
        weights=weights,
        steps=steps,
        alpha=options.alpha,
        variation=options.variation,
        samples=options.samples,
        seed=options.seed,
        preserve_color=options.preserve_color,
        max_side=max_side,
        image_format=options.format,
        owner=owner,
        note=note,
        masks=masks,
        feather=feather,
    )


def parse_weights(raw: list[str] | None, count: int) -> list[float] | None:
    """One finite, non-negative weight per style, not all zero; given as repeated fields or ``1,2,1``."""
    if not raw:
        return None
    texts = [part.strip() for item in raw for part in item.split(",") if part.strip()]
    try:
        weights = [float(text) for text in texts]
    except ValueError:
        raise Unprocessable(f"weights must be numbers, got {texts}", code="invalid_weights") from None
    if len(weights) != count:
        raise Unprocessable(f"got {len(weights)} weight(s) for {count} style(s)", code="invalid_weights")
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise Unprocessable("weights must be finite and non-negative", code="invalid_weights")
    if sum(weights) <= 0:
        raise Unprocessable("weights must not all be zero", code="invalid_weights")
    return weights


async def _content(upload: UploadFile, settings: ApiSettings, max_side: int) -> ValidImage:
    data = await read_upload(upload, "content", settings.max_upload_bytes)
    return await run_in_threadpool(
        validate_image, data, "content", settings.max_image_pixels, max_side, MIN_CONTENT_SIDE
    )


async def _styles(
    uploads: list[UploadFile], style_ids: list[str], settings: ApiSettings, registry: StyleRegistry, owner: str | None
) -> list[ValidImage]:
    """Uploaded style files first (in order), then registered styles by id (in order)."""
    images = []
    for index, upload in enumerate(uploads):
        field = f"styles[{index}]" if len(uploads) > 1 else "style"
        data = await read_upload(upload, field, settings.max_upload_bytes)
        images.append(await run_in_threadpool(validate_image, data, field, settings.max_image_pixels, STYLE_MAX_SIDE))
    for style_id in style_ids:
        images.append(await run_in_threadpool(registry.image, style_id, owner))
    return images


async def _masks(
    uploads: list[UploadFile], style_count: int, settings: ApiSettings, content: ValidImage
) -> list[ValidImage]:
    """One mask per style, each through the upload checks and resized to the photo."""
    if len(uploads) != style_count:
        raise Unprocessable(f"got {len(uploads)} mask(s) for {style_count} style(s)", code="mask_count")
    masks = []
    for index, upload in enumerate(uploads):
        field = f"masks[{index}]" if style_count > 1 else "mask"
        data = await read_upload(upload, field, settings.max_upload_bytes)
        masks.append(await run_in_threadpool(validate_mask, data, field, settings.max_image_pixels, content))
    return masks


def _max_side(options: StylizeOptions, settings: ApiSettings) -> int:
    return min(options.max_side or settings.default_max_side, settings.max_side_limit)


def _accepted(view: JobView, response: Response) -> JobView:
    response.headers["Location"] = f"/jobs/{view.id}"
    return view


@router.post(
    "/stylize",
    status_code=202,
    summary="Stylize a photo with one style",
    description=(
        "Multipart form: a `content` image and either a `style` image or the `style_id` of a registered style. "
        "An optional grayscale `mask` limits the style to its white part; black keeps the photo's own look. "
        "Answers 202 with the job; follow it at the `Location` header (`GET /jobs/{id}`)."
    ),
    responses=_SUBMIT_ERRORS,
)
async def stylize(
    response: Response,
    caller: CallerDep,
    jobs: JobStoreDep,
    registry: StyleRegistryDep,
    settings: SettingsDep,
    options: OptionsDep,
    content: Annotated[UploadFile, File(description="The photo to stylize (PNG, JPEG, WebP, ...).")],
    style: Annotated[UploadFile | None, File(description="A style image (a painting).")] = None,
    style_id: Annotated[
        str | None, Form(description="Or the id of a registered style.", examples=["hokusai_great_wave"])
    ] = None,
    mask: Annotated[
        UploadFile | None, File(description="A grayscale mask of the photo's shape: white = stylize, black = keep.")
    ] = None,
    feather: Feather = 0.0,
) -> JobView:
    if (style is None) == (style_id is None):
        raise Unprocessable("give exactly one of `style` (a file) or `style_id`", code="invalid_styles")
    max_side = _max_side(options, settings)
    content_image = await _content(content, settings, max_side)
    masks = await _masks([mask], 1, settings, content_image) if mask is not None else None
    styles = await _styles([style] if style else [], [style_id] if style_id else [], settings, registry, caller.owner)
    view = await _submit(
        jobs, options, "stylize", content_image, styles, None, None, max_side, caller.owner, settings, masks, feather
    )
    return _accepted(view, response)


@router.post(
    "/interpolate",
    status_code=202,
    summary="Stylize a photo with a weighted blend of 2..8 styles",
    description=(
        "Multipart form: a `content` image and 2..8 styles, as repeated `styles` files and/or repeated `style_ids` "
        "(files first, then ids). `weights` gives one non-negative number per style in that order, as repeated "
        "fields or comma-separated (`1,2,1`); they are normalised by the server; default equal weights. "
        "With exactly two styles, `steps` = n asks for a sweep: n images from the first style to the second. "
        "Instead of weights, `masks` gives one grayscale mask per style, in the same order: each style is painted "
        "where its mask is white, with soft borders between styles; where no mask is white the photo keeps its "
        "own look."
    ),
    responses=_SUBMIT_ERRORS,
)
async def interpolate(
    response: Response,
    caller: CallerDep,
    jobs: JobStoreDep,
    registry: StyleRegistryDep,
    settings: SettingsDep,
    options: OptionsDep,
    content: Annotated[UploadFile, File(description="The photo to stylize.")],
    styles: Annotated[list[UploadFile] | None, File(description="Style images (repeat the field).")] = None,
    style_ids: Annotated[
        list[str] | None,
        Form(description="Ids of registered styles (repeat the field).", examples=[["hokusai_great_wave"]]),
    ] = None,
    weights: Annotated[
        list[str] | None,
        Form(description="One weight per style, e.g. `1,2,1` or repeated fields.", examples=[["1,2,1"]]),
    ] = None,
    steps: Annotated[int | None, Form(ge=2, le=16, description="Sweep between two styles in this many images.")] = None,
    masks: Annotated[
        list[UploadFile] | None, File(description="One grayscale mask per style, in the styles' order (repeat).")
    ] = None,
    feather: Feather = 0.0,
) -> JobView:
    uploads = styles or []
    ids = [i for i in (style_ids or []) if i]
    count = len(uploads) + len(ids)
    if not 2 <= count <= MAX_STYLES:
        raise Unprocessable(f"interpolate takes 2..{MAX_STYLES} styles, got {count}", code="invalid_styles")
    if steps is not None and count != 2:
        raise Unprocessable(f"`steps` sweeps between exactly two styles, got {count}", code="invalid_styles")
    if steps is not None and weights:
        raise Unprocessable("give either `steps` (a sweep) or `weights`, not both", code="invalid_weights")
    if masks and (weights or steps is not None):
        raise Unprocessable("`masks` place each style; give them without `weights` or `steps`", code="invalid_weights")
    parsed_weights = parse_weights(weights, count)
    if options.samples * (steps or 1) > MAX_OUTPUTS:
        raise Unprocessable(f"samples x steps must be at most {MAX_OUTPUTS}", code="too_many_outputs")
    max_side = _max_side(options, settings)
    content_image = await _content(content, settings, max_side)
    mask_images = await _masks(masks, count, settings, content_image) if masks else None
    style_images = await _styles(uploads, ids, settings, registry, caller.owner)
    view = await _submit(
        jobs,
        options,
        "interpolate",
        content_image,
        style_images,
        parsed_weights,
        steps,
        max_side,
        caller.owner,
        settings,
        mask_images,
        feather,
    )
    return _accepted(view, response)


@router.get(
    "/jobs/{job_id}", summary="A job's status, progress, timings and result URLs", responses=error_responses(404)
)
async def get_job(
    job_id: str,
    jobs: JobStoreDep,
    waiter: JobWaiterDep,
    caller: CallerDep,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_S,
            description="Seconds to wait for the job to end (finished, failed or canceled) before answering; "
            "0 answers at once. A client that waits needs no polling loop and hears of the end at once.",
        ),
    ] = 0,
) -> JobView:
    return await waiter.view_when_ended(job_id, wait, lambda: jobs.view(job_id, caller.owner))


@router.get(
    "/jobs/{job_id}/result",
    summary="A finished job's image",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}, "description": "The image bytes."},
        **error_responses(404, 409),
    },
)
async def get_result(
    job_id: str,
    jobs: JobStoreDep,
    caller: CallerDep,
    index: Annotated[int, Query(ge=0, le=MAX_OUTPUTS - 1, description="Which image, for several samples.")] = 0,
) -> Response:
    data, media_type = await run_in_threadpool(jobs.result, job_id, index, caller.owner)
    extension = media_type.split("/")[-1]
    return Response(
        content=data,
        media_type=media_type,
        headers={"Content-Disposition": f'inline; filename="{job_id}-{index}.{extension}"'},
    )


@router.get(
    "/jobs/{job_id}/results.zip",
    summary="All of a finished job's images as one zip file",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "The zip file."}, **error_responses(404, 409)},
)
async def get_results_zip(job_id: str, jobs: JobStoreDep, caller: CallerDep) -> Response:
    data = await run_in_threadpool(results_zip, jobs, job_id, caller.owner)
    return Response(
        content=data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="stylized-{job_id}.zip"'},
    )


@router.delete(
    "/jobs/{job_id}",
    summary="Cancel a job",
    description="A queued job is canceled at once; a running one is stopped by its worker at the next step.",
    responses=error_responses(404, 409),
)
async def cancel_job(job_id: str, jobs: JobStoreDep, caller: CallerDep) -> JobView:
    return await run_in_threadpool(jobs.cancel, job_id, caller.owner)
