"""Job options one step past each limit of :class:`app.protocol.JobOptions`, as a form and as a payload.

The same table drives the route's tests (tests/app/test_job_options.py) and the worker's
(tests/worker/test_tasks.py), so that both are shown to refuse the same choices with the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.protocol import (
    DEFAULT_MAX_SIDE,
    MAX_FEATHER_PX,
    MAX_OUTPUTS,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_STEPS,
    MAX_STYLES,
    MAX_VARIATION,
    MIN_MAX_SIDE,
    MIN_STEPS,
    JobKind,
    input_key,
)

STYLE_IDS = ["hokusai_great_wave", "picabia_udnie", "vangogh_night_cafe"]


def _text(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Choice:
    """What a client asks for: the route, how many styles and masks, and the other options as they are named."""

    kind: JobKind
    styles: int = 1
    masks: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    def form(self) -> dict[str, Any]:
        """The multipart fields besides the files (numbers as the text a form sends)."""
        data: dict[str, Any] = {name: _text(value) for name, value in self.options.items()}
        if self.kind == "stylize":
            data["style_id"] = STYLE_IDS[0]
        else:
            data["style_ids"] = [STYLE_IDS[i % len(STYLE_IDS)] for i in range(self.styles)]
        return data

    def job_options(self) -> dict[str, Any]:
        """The same choice as the fields of :class:`app.protocol.JobOptions`."""
        return {"kind": self.kind, "style_count": self.styles, "mask_count": self.masks, **self.options}

    def payload(self, job_id: str = "0" * 32) -> dict[str, Any]:
        """A job's payload with these options, unchecked, as anything that can write to the queue could send it."""
        return {
            "options": self.job_options(),
            "content_key": input_key(job_id, "content"),
            "styles": [{"key": input_key(job_id, f"style-{i}"), "sha256": "0" * 64} for i in range(self.styles)],
            "masks": [input_key(job_id, f"mask-{i}") for i in range(self.masks)] or None,
            "max_side": DEFAULT_MAX_SIDE,
            "result_ttl_s": 600,
        }


# Each case is one step past one limit, and the error code the API answers it with.
OVER_LIMITS: dict[str, tuple[Choice, str]] = {
    "alpha above 1": (Choice("stylize", options={"alpha": 1.5}), "invalid_request"),
    "negative alpha": (Choice("stylize", options={"alpha": -0.5}), "invalid_request"),
    "variation above its limit": (Choice("stylize", options={"variation": MAX_VARIATION + 0.5}), "invalid_request"),
    "samples above their limit": (Choice("stylize", options={"samples": MAX_SAMPLES + 1}), "invalid_request"),
    "no samples": (Choice("stylize", options={"samples": 0}), "invalid_request"),
    "a negative seed": (Choice("stylize", options={"seed": -1}), "invalid_request"),
    "a seed past 63 bits": (Choice("stylize", options={"seed": MAX_SEED + 1}), "invalid_request"),
    "max_side under its floor": (Choice("stylize", options={"max_side": MIN_MAX_SIDE - 1}), "invalid_request"),
    "feather above its limit": (
        Choice("stylize", masks=1, options={"feather": MAX_FEATHER_PX + 1}),
        "invalid_request",
    ),
    "an unknown format": (Choice("stylize", options={"format": "gif"}), "invalid_request"),
    "steps above their limit": (Choice("interpolate", styles=2, options={"steps": MAX_STEPS + 1}), "invalid_request"),
    "steps under their floor": (Choice("interpolate", styles=2, options={"steps": MIN_STEPS - 1}), "invalid_request"),
    "samples x steps above the outputs' limit": (
        Choice("interpolate", styles=2, options={"samples": MAX_SAMPLES, "steps": MAX_OUTPUTS // MAX_SAMPLES + 1}),
        "too_many_outputs",
    ),
    "one style to blend": (Choice("interpolate", styles=1), "invalid_styles"),
    "more styles than the limit": (Choice("interpolate", styles=MAX_STYLES + 1), "invalid_styles"),
    "a sweep of three styles": (Choice("interpolate", styles=3, options={"steps": 3}), "invalid_styles"),
    "weights of the wrong count": (Choice("interpolate", styles=3, options={"weights": [1, 2]}), "invalid_weights"),
    "a negative weight": (Choice("interpolate", styles=3, options={"weights": [1, -1, 1]}), "invalid_weights"),
    "all-zero weights": (Choice("interpolate", styles=2, options={"weights": [0, 0]}), "invalid_weights"),
    "weights and steps": (
        Choice("interpolate", styles=2, options={"weights": [1, 1], "steps": 3}),
        "invalid_weights",
    ),
    "weights and masks": (Choice("interpolate", styles=2, masks=2, options={"weights": [1, 1]}), "invalid_weights"),
    "fewer masks than styles": (Choice("interpolate", styles=3, masks=2), "mask_count"),
}

# Every limit reached but none passed: accepted by the API and by the worker alike.
AT_LIMITS: dict[str, Choice] = {
    "every image option at its limit": Choice(
        "stylize",
        options={
            "alpha": 1.0,
            "variation": MAX_VARIATION,
            "samples": MAX_SAMPLES,
            "seed": MAX_SEED,
            "max_side": MIN_MAX_SIDE,
            "format": "webp",
            "preserve_color": True,
        },
    ),
    "the most styles, weighted": Choice(
        "interpolate", styles=MAX_STYLES, options={"weights": [float(i) for i in range(MAX_STYLES)], "alpha": 0.0}
    ),
    "the most outputs": Choice(
        "interpolate", styles=2, options={"samples": MAX_OUTPUTS // MAX_STEPS, "steps": MAX_STEPS, "seed": 0}
    ),
    "masks at the widest feather": Choice("interpolate", styles=3, masks=3, options={"feather": MAX_FEATHER_PX}),
}
