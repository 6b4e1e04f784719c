"""The survey: its two pages, its JSON API under ``/survey/api`` and its images.

A participant is an anonymous random id in the ``vst_participant`` cookie, issued on the first request.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from app.errors import error_responses
from app.survey_store import (
    MAX_DECEPTION_BATCH,
    PARTICIPANT_ID,
    DeceptionNext,
    DeceptionVote,
    PreferenceNext,
    PreferenceVote,
    SurveyResults,
    SurveyStatus,
    SurveyStore,
    VoteReceipt,
)

router = APIRouter(prefix="/survey", tags=["survey"])

PARTICIPANT_COOKIE = "vst_participant"
PARTICIPANT_COOKIE_MAX_AGE_S = 365 * 24 * 3600
_SURVEY_ERRORS = error_responses(404, 409, 422, 503)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def page(name: str) -> FileResponse:
    """One of the survey's own HTML pages (a constant name, never a client's)."""
    return FileResponse(STATIC_DIR / name, media_type="text/html", headers={"Cache-Control": "no-cache"})


def get_survey_store(request: Request) -> SurveyStore:
    store: SurveyStore | None = getattr(request.app.state, "survey", None)
    if store is None:
        # Made on first use so that the app factory needs no survey-specific code; a race makes two, harmlessly.
        store = SurveyStore(request.app.state.redis, request.app.state.settings.survey_dir)
        request.app.state.survey = store
    return store


def participant_id(request: Request, response: Response) -> str:
    """The participant's id from the cookie, or a new one sent back in it."""
    current = request.cookies.get(PARTICIPANT_COOKIE, "")
    if PARTICIPANT_ID.match(current):
        return current
    new_id = secrets.token_hex(16)
    response.set_cookie(
        PARTICIPANT_COOKIE, new_id, max_age=PARTICIPANT_COOKIE_MAX_AGE_S, httponly=True, samesite="lax", path="/"
    )
    return new_id


SurveyDep = Annotated[SurveyStore, Depends(get_survey_store)]
ParticipantDep = Annotated[str, Depends(participant_id)]


@router.get("", include_in_schema=False)
def survey_page() -> FileResponse:
    return page("survey.html")


@router.get("/results", include_in_schema=False)
def results_page() -> FileResponse:
    return page("results.html")


@router.get("/api/status", summary="Whether a survey set is loaded, and its size")
async def survey_status(survey: SurveyDep) -> SurveyStatus:
    return await run_in_threadpool(survey.status)


@router.get(
    "/api/preference/next",
    summary="The next preference item for this participant (candidates shuffled, methods hidden)",
    responses=_SURVEY_ERRORS,
)
async def next_preference(survey: SurveyDep, participant: ParticipantDep) -> PreferenceNext:
    return await run_in_threadpool(survey.next_preference, participant)


@router.post(
    "/api/preference/votes",
    status_code=201,
    summary="Pick the most appealing candidate of a preference item (once per participant and item)",
    responses=_SURVEY_ERRORS,
)
async def vote_preference(vote: PreferenceVote, survey: SurveyDep, participant: ParticipantDep) -> VoteReceipt:
    return await run_in_threadpool(survey.vote_preference, participant, vote)


@router.get(
    "/api/deception/next",
    summary="Images to judge: real paintings and stylizations mixed, not yet judged by this participant",
    responses=_SURVEY_ERRORS,
)
async def next_deception(
    survey: SurveyDep,
    participant: ParticipantDep,
    count: Annotated[int, Query(ge=1, le=MAX_DECEPTION_BATCH, description="How many images.")] = 6,
) -> DeceptionNext:
    return await run_in_threadpool(survey.next_deception, participant, count)


@router.post(
    "/api/deception/votes",
    status_code=201,
    summary="Say which images are real artworks (once per participant and image)",
    responses=_SURVEY_ERRORS,
)
async def vote_deception(vote: DeceptionVote, survey: SurveyDep, participant: ParticipantDep) -> VoteReceipt:
    return await run_in_threadpool(survey.vote_deception, participant, vote)


@router.get(
    "/api/results",
    summary="Per-method preference and deception rates with 95% Wilson intervals and vote counts",
    responses=error_responses(503),
)
async def survey_results(survey: SurveyDep) -> SurveyResults:
    return await run_in_threadpool(survey.results)


@router.get(
    "/images/{image_id}",
    summary="A survey image by its opaque id",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}, **error_responses(404, 503)},
)
async def survey_image(image_id: str, survey: SurveyDep) -> FileResponse:
    # The id is looked up in the manifest; only the file name found there is opened.
    path = await run_in_threadpool(survey.image_file, image_id)
    return FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})
