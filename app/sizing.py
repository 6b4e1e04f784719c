"""What happens to the output size: the one wording shared by the API (a job's ``note``), the page and the CLI.

Photos are never enlarged: the model paints at the photo's own resolution at most, and an upscaled photo
gives a blurrier painting than the same photo upscaled after stylizing. Asking for more is not an error, so
the answer says what was done instead.
"""

from __future__ import annotations


def size_note(asked: int, limit: int | None, photo_side: int) -> str | None:
    """A one-line note when the result's longest side will be smaller than ``asked``; None when it is not.

    ``limit`` is the server's cap on the size (None for the CLI, which has none); ``photo_side`` is the
    longest side of the photo as uploaded.
    """
    allowed = asked if limit is None else min(asked, limit)
    result = min(allowed, photo_side)
    if result >= asked:
        return None
    # One reason, the one that set the size: the server's cap only when the photo is larger than it.
    if result < photo_side:
        reason = f"this server's limit is {result} px"
    else:
        reason = f"your photo is {photo_side} px and photos are never enlarged"
    return f"up to {asked} px asked; {reason}: the result is {result} px on its longest side"
