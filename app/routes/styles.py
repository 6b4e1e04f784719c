"""The style registry: the built-in gallery plus uploaded styles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from app.deps import SettingsDep, StyleRegistryDep
from app.errors import error_responses
from app.images import read_upload, validate_image
from app.schemas import StyleList, StyleView
from app.security import CallerDep
from app.styles import STYLE_MAX_SIDE

router = APIRouter(tags=["styles"])


@router.get(
    "/styles",
    summary="All styles: the built-in gallery (featured first, then by artist), then uploads (newest first)",
)
async def list_styles(registry: StyleRegistryDep, caller: CallerDep) -> StyleList:
    return StyleList(styles=await run_in_threadpool(registry.list, caller.owner))


@router.post(
    "/styles",
    status_code=201,
    summary="Register a style image",
    description=(
        "Upload a painting once and use its `id` as `style_id` / `style_ids` in later jobs. The same image "
        "uploaded again answers 200 with the style it already is (its first title kept), not a second entry."
    ),
    responses={
        200: {"model": StyleView, "description": "The image was already registered."},
        **error_responses(409, 413, 415, 422),
    },
)
async def add_style(
    response: Response,
    caller: CallerDep,
    registry: StyleRegistryDep,
    settings: SettingsDep,
    image: Annotated[UploadFile, File(description="The style image.")],
    title: Annotated[str, Form(max_length=200, description="A title to show.", examples=["My sketch"])] = "",
    artist: Annotated[str, Form(max_length=200, description="Who made it.", examples=["Me"])] = "",
) -> StyleView:
    data = await read_upload(image, "image", settings.max_upload_bytes)
    valid = await run_in_threadpool(validate_image, data, "image", settings.max_image_pixels, STYLE_MAX_SIDE)
    view, created = await run_in_threadpool(
        registry.add, valid, title or (image.filename or "untitled")[:200], artist, caller.owner
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/styles/{view.id}"
    return view


@router.get("/styles/{style_id}", summary="One style's details", responses=error_responses(404))
async def get_style(style_id: str, registry: StyleRegistryDep, caller: CallerDep) -> StyleView:
    return await run_in_threadpool(registry.get, style_id, caller.owner)


@router.get(
    "/styles/{style_id}/image",
    summary="One style's image",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}, **error_responses(404)},
)
async def get_style_image(style_id: str, registry: StyleRegistryDep, caller: CallerDep) -> Response:
    path = registry.gallery_file(style_id)
    if path is not None:
        # The path comes from the server's own listing of the gallery folders, never from the client.
        return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})
    image = await run_in_threadpool(registry.image, style_id, caller.owner)
    return Response(content=image.png, media_type="image/png")


@router.delete(
    "/styles/{style_id}", status_code=204, summary="Delete an uploaded style", responses=error_responses(404, 409)
)
async def delete_style(style_id: str, registry: StyleRegistryDep, caller: CallerDep) -> Response:
    await run_in_threadpool(registry.delete, style_id, caller.owner)
    return Response(status_code=204)
