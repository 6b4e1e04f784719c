"""Submitting jobs (``/stylize``, ``/interpolate``) and following them (``/jobs/{id}``)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.archive import results_zip
from app.deps import JobStoreDep, JobWaiterDep, SettingsDep, StyleRegistryDep
from app.errors import Unprocessable, error_responses, invalid_options
from app.images import MIN_CONTENT_SIDE, ValidImage, read_upload, validate_image, validate_mask
from app.jobs import JobStore
from app.protocol import MAX_OUTPUTS, MAX_STYLES, ImageFormat, ImageOptions, JobKind, JobOptions, OptionRule
from app.schemas import JobView
from app.security import CallerDep
from app.settings import ApiSettings
from app.sizing import size_note
from app.styles import STYLE_MAX_SIDE, StyleRegistry
from app.waiting import MAX_WAIT_S

router = APIRouter(tags=["jobs"])

_SUBMIT_ERRORS = error_responses(404, 413, 415, 422, 429, 503)
_OPTIONS = JobOptions.model_fields
_LIMITS = ("ge", "gt", "le", "lt", "min_length", "max_length")
Options = TypeVar("Options", bound=ImageOptions)


def _option_form(name: str) -> Any:
    """The form field of the job option ``name``, with the model's limits and description.

    FastAPI checks them before the route runs and the OpenAPI document shows them; being the model's, they
    cannot drift from what :class:`app.protocol.JobOptions` (and so the worker) enforces.
    """
    field = _OPTIONS[name]
    limits = {key: getattr(rule, key) for rule in field.metadata for key in _LIMITS if hasattr(rule, key)}
    return Form(description=field.description, **limits)


def _checked(model: type[Options], fields: dict[str, object]) -> Options:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise invalid_options(exc) from None


def image_options(
    alpha: Annotated[float, _option_form("alpha")] = _OPTIONS["alpha"].default,
    preserve_color: Annotated[bool, _option_form("preserve_color")] = _OPTIONS["preserve_color"].default,
    variation: Annotated[float, _option_form("variation")] = _OPTIONS["variation"].default,
    samples: Annotated[int, _option_form("samples")] = _OPTIONS["samples"].default,
    seed: Annotated[int | None, _option_form("seed")] = _OPTIONS["seed"].default,
    max_side: Annotated[int | None, _option_form("max_side")] = _OPTIONS["max_side"].default,
    format: Annotated[ImageFormat, _option_form("format")] = _OPTIONS["format"].default,
) -> ImageOptions:
    """The options both routes share, as the form sent them."""
    fields: dict[str, object] = {"alpha": alpha, "preserve_color": preserve_color, "variation": variation}
    fields |= {"samples": samples, "seed": seed, "max_side": max_side, "format": format}
    return _checked(ImageOptions, fields)


ImageOptionsDep = Annotated[ImageOptions, Depends(image_options)]
Feather = Annotated[float, _option_form("feather")]


def job_options(
    image: ImageOptions,
    kind: JobKind,
    style_count: int,
    mask_count: int,
    feather: float,
    weights: list[str] | None = None,
    steps: int | None = None,
) -> JobOptions:
    """The job's options, checked by the model the worker checks them with; ``weights`` as the form sends them."""
    # Repeated fields or `1,2,1`: one list of texts, parsed and checked by the model.
    texts = [part.strip() for item in weights for part in item.split(",") if part.strip()] if weights else None
    fields = image.model_dump() | {"kind": kind, "style_count": style_count, "mask_count": mask_count}
    fields |= {"feather": feather, "weights": texts, "steps": steps}
    return _checked(JobOptions, fields)


async def _submit(
    jobs: JobStore,
    options: JobOptions,
    content: ValidImage,
    styles: list[ValidImage],
    max_side: int,
    owner: str | None,
    settings: ApiSettings,
    masks: list[ValidImage] | None = None,
) -> JobView:
    """Queue one job; the store's Redis calls run off the event loop."""
    # Only a size the client asked for gets a note: the default is no promise. Validation fitted the photo into
    # max_side: a longest side under it is the photo's own; one at it means the photo was at least that large.
    note = None
    if options.max_side is not None:
        photo_side = content.longest_side if content.longest_side < max_side else options.max_side
        note = size_note(options.max_side, settings.max_side_limit, photo_side)
    return await run_in_threadpool(
        jobs.submit,
        options=options,
        content=content,
        styles=styles,
        max_side=max_side,
        owner=owner,
        note=note,
        masks=masks,
    )


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


async def _masks(uploads: list[UploadFile], settings: ApiSettings, content: ValidImage) -> list[ValidImage]:
    """One mask per style (their count is the options' rule), each through the upload checks, resized to the photo."""
    masks = []
    for index, upload in enumerate(uploads):
        field = f"masks[{index}]" if len(uploads) > 1 else "mask"
        data = await read_upload(upload, field, settings.max_upload_bytes)
        masks.append(await run_in_threadpool(validate_mask, data, field, settings.max_image_pixels, content))
    return masks


def _max_side(options: ImageOptions, settings: ApiSettings) -> int:
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
    image: ImageOptionsDep,
    content: Annotated[UploadFile, File(description="The photo to stylize (PNG, JPEG, WebP, ...).")],
    style: Annotated[UploadFile | None, File(description="A style image (a painting).")] = None,
    style_id: Annotated[
        str | None, Form(description="Or the id of a registered style.", examples=["hokusai_great_wave"])
    ] = None,
    mask: Annotated[
        UploadFile | None, File(description="A grayscale mask of the photo's shape: white = stylize, black = keep.")
    ] = None,
    feather: Feather = _OPTIONS["feather"].default,
) -> JobView:
    if (style is None) == (style_id is None):
        raise Unprocessable("give exactly one of `style` (a file) or `style_id`", code=OptionRule.INVALID_STYLES)
    options = job_options(image, "stylize", style_count=1, mask_count=int(mask is not None), feather=feather)
    max_side = _max_side(options, settings)
    content_image = await _content(content, settings, max_side)
    masks = await _masks([mask], settings, content_image) if mask is not None else None
    styles = await _styles([style] if style else [], [style_id] if style_id else [], settings, registry, caller.owner)
    view = await _submit(jobs, options, content_image, styles, max_side, caller.owner, settings, masks)
    return _accepted(view, response)


@router.post(
    "/interpolate",
    status_code=202,
    summary=f"Stylize a photo with a weighted blend of 2..{MAX_STYLES} styles",
    description=(
        f"Multipart form: a `content` image and 2..{MAX_STYLES} styles, as repeated `styles` files and/or repeated "
        "`style_ids` (files first, then ids). `weights` gives one non-negative number per style in that order, "
        "as repeated fields or comma-separated (`1,2,1`); they are normalised by the server; default equal weights. "
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
    image: ImageOptionsDep,
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
    steps: Annotated[int | None, _option_form("steps")] = _OPTIONS["steps"].default,
    masks: Annotated[
        list[UploadFile] | None, File(description="One grayscale mask per style, in the styles' order (repeat).")
    ] = None,
    feather: Feather = _OPTIONS["feather"].default,
) -> JobView:
    uploads = styles or []
    ids = [i for i in (style_ids or []) if i]
    options = job_options(
        image, "interpolate", len(uploads) + len(ids), len(masks or []), feather, weights=weights, steps=steps
    )
    max_side = _max_side(options, settings)
    content_image = await _content(content, settings, max_side)
    mask_images = await _masks(masks, settings, content_image) if masks else None
    style_images = await _styles(uploads, ids, settings, registry, caller.owner)
    view = await _submit(jobs, options, content_image, style_images, max_side, caller.owner, settings, mask_images)
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
