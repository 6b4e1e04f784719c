"""The survey: the prepared set on disk (read-only) and the votes in Redis.

Votes are counted per method in Redis hashes, and each vote is also appended to a log for later analysis.
A participant (an anonymous cookie id) can vote on an item once: the "voted" set and the counters change
together in one Lua script, so a double vote, even two at the same instant, is refused and counted never.
Keys carry the survey set's id (a hash of its manifest), so a newly prepared set starts from zero.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from pydantic import BaseModel, Field, StrictBool, ValidationError
from redis import Redis

from app.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable
from app.protocol import KEY_PREFIX
from app.survey_stats import Rate, rate
from formats.survey_manifest import (
    IMAGE_ID_PATTERN,
    ITEM_ID_PATTERN,
    MANIFEST_NAME,
    REAL_PAINTING,
    DeceptionItem,
    DeterministicBaseline,
    PreferenceItem,
    SurveyManifest,
    image_path,
)

logger = logging.getLogger(__name__)

PARTICIPANT_ID = re.compile(r"^[0-9a-f]{32}$")
IMAGE_ID = re.compile(IMAGE_ID_PATTERN)
ITEM_ID = re.compile(ITEM_ID_PATTERN)
MAX_DECEPTION_BATCH = 12
NOT_PREPARED = "no survey is running at the moment"

# KEYS: voted, participants, shown, picked, log.  ARGV: member, participant, picked method, log entry, shown...
_PREFERENCE_VOTE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[2])
for i = 5, #ARGV do redis.call('HINCRBY', KEYS[3], ARGV[i], 1) end
redis.call('HINCRBY', KEYS[4], ARGV[3], 1)
redis.call('RPUSH', KEYS[5], ARGV[4])
return 1
"""

# KEYS: voted, participants, shown, judged real, log.  ARGV: participant, n, n x (member, method, 1|0), log entry.
_DECEPTION_VOTE = """
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  if redis.call('SISMEMBER', KEYS[1], ARGV[3 + 3 * i]) == 1 then return 0 end
end
for i = 0, n - 1 do
  redis.call('SADD', KEYS[1], ARGV[3 + 3 * i])
  redis.call('HINCRBY', KEYS[3], ARGV[4 + 3 * i], 1)
  if ARGV[5 + 3 * i] == '1' then redis.call('HINCRBY', KEYS[4], ARGV[4 + 3 * i], 1) end
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[5], ARGV[3 + 3 * n])
return 1
"""


# --- What clients see.


class SurveyImage(BaseModel):
    id: str = Field(description="Opaque image id; says nothing about the method.")
    url: str


class PreferenceTask(BaseModel):
    item_id: str
    content: SurveyImage
    style: SurveyImage
    candidates: list[SurveyImage] = Field(description="2-3 stylizations in a random order, methods hidden.")


class PreferenceNext(BaseModel):
    task: PreferenceTask | None = Field(description="None once this participant has voted on every item.")
    done: int
    total: int


class DeceptionTask(BaseModel):
    item_id: str
    image: SurveyImage


class DeceptionNext(BaseModel):
    tasks: list[DeceptionTask] = Field(description="Real paintings and stylizations mixed, in a random order.")
    done: int
    total: int


class PreferenceVote(BaseModel):
    item_id: str = Field(pattern=ITEM_ID_PATTERN, examples=["p0"])
    choice: str = Field(pattern=IMAGE_ID_PATTERN, description="The id of the picked candidate image.")


class DeceptionJudgment(BaseModel):
    item_id: str = Field(pattern=ITEM_ID_PATTERN, examples=["d3"])
    # Strict: lax pydantic would take 0/1 for a boolean, which the schema forbids (found by schemathesis).
    real: StrictBool = Field(description="True: the participant takes it for a real artwork.")


class DeceptionVote(BaseModel):
    judgments: list[DeceptionJudgment] = Field(min_length=1, max_length=MAX_DECEPTION_BATCH)


class VoteReceipt(BaseModel):
    recorded: int = Field(description="How many judgments were counted.")
    done: int
    total: int


class MethodResult(BaseModel):
    id: str
    label: str
    description: str
    preference: Rate = Field(description="Picked as most appealing, out of the items it was shown in.")
    deception: Rate = Field(description="Taken for a real artwork, out of the times it was judged.")


class HeadToHead(BaseModel):
    """Two methods shown alone together (e.g. ours against a published baseline): how often the first won."""

    first: str
    second: str
    first_preferred: Rate = Field(description="Votes for the first method, out of the votes on items of the two.")


class SurveyResults(BaseModel):
    set_id: str
    checkpoint: str
    created_at: str
    participants: int
    preference_votes: int
    deception_judgments: int
    deterministic_baseline: DeterministicBaseline
    methods: list[MethodResult]
    real_paintings: Rate = Field(description="Real paintings recognised as real (the control for deception).")
    head_to_head: list[HeadToHead] = Field(
        default_factory=list, description="Items of exactly two methods, tallied per pair of methods."
    )


class SurveyStatus(BaseModel):
    available: bool
    message: str
    preference_items: int = 0
    deception_items: int = 0


# --- The store.


@dataclass(frozen=True)
class LoadedSet:
    folder: Path
    manifest: SurveyManifest
    set_id: str
    preference: dict[str, PreferenceItem]
    deception: dict[str, DeceptionItem]


def load_survey_set(folder: Path) -> LoadedSet:
    """Read and validate ``folder/manifest.json``; raises FileNotFoundError or ValueError with a clear message."""
    raw = (folder / MANIFEST_NAME).read_bytes()
    try:
        manifest = SurveyManifest.model_validate_json(raw)
    except ValidationError as exc:
        raise ValueError(f"{folder / MANIFEST_NAME} is not a valid survey manifest: {exc}") from None
    missing = [name for name in manifest.images.values() if not image_path(folder, name).is_file()]
    if missing:
        raise ValueError(f"{folder} lacks {len(missing)} image file(s) of its manifest, e.g. {missing[0]}")
    return LoadedSet(
        folder=folder,
        manifest=manifest,
        set_id=hashlib.sha256(raw).hexdigest()[:16],
        preference={item.id: item for item in manifest.preference},
        deception={item.id: item for item in manifest.deception},
    )


def _image(image_id: str) -> SurveyImage:
    return SurveyImage(id=image_id, url=f"/survey/images/{image_id}")


class SurveyStore:
    """The survey set of ``folder`` (re-read when its manifest changes) and its votes in ``redis``."""

    def __init__(self, redis: Redis, folder: Path | None) -> None:
        self.redis = redis
        self.folder = folder
        self._loaded: LoadedSet | None = None
        self._loaded_stamp: tuple[int, int] | None = None
        self._problem = ""
        self._told = ""
        self._lock = threading.Lock()
        self._preference_vote = redis.register_script(_PREFERENCE_VOTE)
        self._deception_vote = redis.register_script(_DECEPTION_VOTE)
        # Shuffling only hides the methods' positions; it needs no secret, but no seed either.
        self._random = random.SystemRandom()

    # Loading -----------------------------------------------------------------------------------

    def current(self) -> LoadedSet | None:
        """The survey set, reloaded when ``manifest.json`` was rewritten (e.g. by ``vst survey-prepare``)."""
        # What visitors read (the status and 503 answers) names no server path and no admin command: how to
        # prepare a set is the operator's business, told once in the log and in docs/service.md.
        if self.folder is None:
            self._problem = NOT_PREPARED
            self._tell_operator("no survey folder is configured (VST_SURVEY_DIR)")
            return None
        manifest = self.folder / MANIFEST_NAME
        try:
            stat = manifest.stat()
        except OSError:
            self._problem = NOT_PREPARED
            self._tell_operator(f"no survey set in {self.folder}; prepare one with `vst survey-prepare --out DIR`")
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._loaded_stamp:
                self._loaded_stamp = stamp
                try:
                    self._loaded = load_survey_set(self.folder)
                    self._problem = ""
                except (OSError, ValueError) as exc:
                    logger.error("survey set in %s not loaded: %s", self.folder, exc)
                    self._loaded = None
                    self._problem = "the survey set cannot be used right now"
            return self._loaded

    def _tell_operator(self, text: str) -> None:
        if text != self._told:
            self._told = text
            logger.warning("survey closed: %s", text)

    def require(self) -> LoadedSet:
        loaded = self.current()
        if loaded is None:
            raise ServiceUnavailable(self._problem, code="survey_unavailable")
        return loaded

    def status(self) -> SurveyStatus:
        loaded = self.current()
        if loaded is None:
            return SurveyStatus(available=False, message=self._problem)
        return SurveyStatus(
            available=True,
            message="ready",
            preference_items=len(loaded.preference),
            deception_items=len(loaded.deception),
        )

    def image_file(self, image_id: str) -> Path:
        loaded = self.require()
        name = loaded.manifest.images.get(image_id) if IMAGE_ID.match(image_id) else None
        if name is None:
            raise NotFound(f"no survey image with id {image_id!r}", code="survey_image_not_found")
        return image_path(loaded.folder, name)

    # Keys --------------------------------------------------------------------------------------

    @staticmethod
    def _key(loaded: LoadedSet, *parts: str) -> str:
        return ":".join((KEY_PREFIX, "survey", loaded.set_id, *parts))

    def _voted(self, loaded: LoadedSet, participant: str) -> set[str]:
        members = cast(set[bytes], self.redis.smembers(self._key(loaded, "voted", participant)))
        return {m.decode() for m in members}

    # Preference --------------------------------------------------------------------------------

    def next_preference(self, participant: str) -> PreferenceNext:
        loaded = self.require()
        voted = self._voted(loaded, participant)
        open_items = [item for item in loaded.manifest.preference if f"p:{item.id}" not in voted]
        total = len(loaded.preference)
        if not open_items:
            return PreferenceNext(task=None, done=total, total=total)
        item = self._random.choice(open_items)
        candidates = [_image(c.image) for c in item.candidates]
        self._random.shuffle(candidates)
        task = PreferenceTask(
            item_id=item.id, content=_image(item.content), style=_image(item.style), candidates=candidates
        )
        return PreferenceNext(task=task, done=total - len(open_items), total=total)

    def vote_preference(self, participant: str, vote: PreferenceVote) -> VoteReceipt:
        loaded = self.require()
        item = loaded.preference.get(vote.item_id)
        if item is None:
            raise NotFound(f"no preference item {vote.item_id!r} in this survey", code="survey_item_not_found")
        picked = next((c for c in item.candidates if c.image == vote.choice), None)
        if picked is None:
            raise Unprocessable(f"{vote.choice!r} is not one of the images of item {item.id}", code="invalid_choice")
        shown = [c.method for c in item.candidates]
        entry = {"kind": "preference", "participant": participant, "item": item.id, "method": picked.method}
        log_entry = json.dumps({**entry, "shown": shown, "at": time.time()})
        names = ("voted:" + participant, "participants", "pref:shown", "pref:picked", "log")
        keys = [self._key(loaded, name) for name in names]
        args = [f"p:{item.id}", participant, picked.method, log_entry, *shown]
        if not self._preference_vote(keys=keys, args=args):
            raise Conflict(f"you have already voted on item {item.id}", code="already_voted")
        voted = self._voted(loaded, participant)
        done = sum(1 for item_id in loaded.preference if f"p:{item_id}" in voted)
        return VoteReceipt(recorded=1, done=done, total=len(loaded.preference))

    # Deception ---------------------------------------------------------------------------------

    def next_deception(self, participant: str, count: int) -> DeceptionNext:
        loaded = self.require()
        voted = self._voted(loaded, participant)
        open_items = [item for item in loaded.manifest.deception if f"d:{item.id}" not in voted]
        total = len(loaded.deception)
        chosen = self._spread(open_items, count)
        tasks = [DeceptionTask(item_id=item.id, image=_image(item.image)) for item in chosen]
        return DeceptionNext(tasks=tasks, done=total - len(open_items), total=total)

    def _spread(self, items: list[DeceptionItem], count: int) -> list[DeceptionItem]:
        """A random batch with one item per group where possible: several stylizations of the same photo
        side by side would tell a participant which images were made from a photo."""
        shuffled = self._random.sample(items, len(items))
        chosen: list[DeceptionItem] = []
        groups: set[str] = set()
        for item in shuffled:
            if len(chosen) < count and (not item.group or item.group not in groups):
                chosen.append(item)
                groups.add(item.group)
        for item in shuffled:
            if len(chosen) < count and item not in chosen:
                chosen.append(item)
        return chosen

    def vote_deception(self, participant: str, vote: DeceptionVote) -> VoteReceipt:
        loaded = self.require()
        ids = [j.item_id for j in vote.judgments]
        if len(set(ids)) != len(ids):
            raise Unprocessable("each item may be judged once per request", code="duplicate_item")
        items = []
        for judgment in vote.judgments:
            item = loaded.deception.get(judgment.item_id)
            if item is None:
                raise NotFound(f"no deception item {judgment.item_id!r} in this survey", code="survey_item_not_found")
            items.append((item, judgment.real))
        judged = [{"item": i.id, "method": i.method, "real": real} for i, real in items]
        at = time.time()
        log_entry = json.dumps({"kind": "deception", "participant": participant, "judgments": judged, "at": at})
        args: list[str | int] = [participant, len(items)]
        for item, real in items:
            args += [f"d:{item.id}", item.method, 1 if real else 0]
        names = ("voted:" + participant, "participants", "dec:shown", "dec:real", "log")
        keys = [self._key(loaded, name) for name in names]
        if not self._deception_vote(keys=keys, args=[*args, log_entry]):
            raise Conflict("you have already judged some of these images", code="already_voted")
        voted = self._voted(loaded, participant)
        done = sum(1 for item_id in loaded.deception if f"d:{item_id}" in voted)
        return VoteReceipt(recorded=len(items), done=done, total=len(loaded.deception))

    # Results -----------------------------------------------------------------------------------

    def _counts(self, loaded: LoadedSet, name: str) -> dict[str, int]:
        raw = cast(dict[bytes, bytes], self.redis.hgetall(self._key(loaded, name)))
        return {k.decode(): int(v) for k, v in raw.items()}

    def results(self) -> SurveyResults:
        loaded = self.require()
        shown, picked = self._counts(loaded, "pref:shown"), self._counts(loaded, "pref:picked")
        judged, judged_real = self._counts(loaded, "dec:shown"), self._counts(loaded, "dec:real")
        manifest = loaded.manifest
        methods = [
            MethodResult(
                id=method_id,
                label=info.label,
                description=info.description,
                preference=rate(picked.get(method_id, 0), shown.get(method_id, 0)),
                deception=rate(judged_real.get(method_id, 0), judged.get(method_id, 0)),
            )
            for method_id, info in manifest.methods.items()
        ]
        return SurveyResults(
            set_id=loaded.set_id,
            checkpoint=manifest.checkpoint,
            created_at=manifest.created_at,
            participants=cast(int, self.redis.scard(self._key(loaded, "participants"))),
            preference_votes=sum(picked.values()),
            deception_judgments=sum(judged.values()),
            deterministic_baseline=manifest.deterministic_baseline,
            methods=methods,
            real_paintings=rate(judged_real.get(REAL_PAINTING, 0), judged.get(REAL_PAINTING, 0)),
            head_to_head=self._head_to_head(loaded),
        )

    def _head_to_head(self, loaded: LoadedSet) -> list[HeadToHead]:
        """Tallied from the vote log: the per-method counters cannot tell which other method an item showed.

        Pairs are named in the manifest's method order (ours first), whatever order the items listed them in.
        """
        order = {method: k for k, method in enumerate(loaded.manifest.methods)}
        pairs = {
            tuple(sorted((c.method for c in item.candidates), key=lambda m: order.get(m, len(order))))
            for item in loaded.manifest.preference
            if len(item.candidates) == 2
        }
        if not pairs:
            return []
        trials = dict.fromkeys(pairs, 0)
        wins = dict.fromkeys(pairs, 0)
        for raw in cast(list[bytes], self.redis.lrange(self._key(loaded, "log"), 0, -1)):
            entry = json.loads(raw)
            if entry.get("kind") != "preference" or len(entry.get("shown", [])) != 2:
                continue
            pair = tuple(sorted(entry["shown"], key=lambda m: order.get(m, len(order))))
            if pair in trials:
                trials[pair] += 1
                wins[pair] += entry["method"] == pair[0]
        return [
            HeadToHead(first=first, second=second, first_preferred=rate(wins[(first, second)], trials[(first, second)]))
            for first, second in sorted(pairs, key=lambda p: (order.get(p[0], 0), order.get(p[1], 0)))
        ]
