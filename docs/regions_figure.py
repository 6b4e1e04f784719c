"""Draw the regions figure of the docs: ``python docs/regions_figure.py``.

One photo, two paintings, a mask and the result of the shipped model: the first painting where the mask is
white, the second where it is black, blended across a feathered border (``Stylizer.stylize(masks=...)``, as
``POST /interpolate`` with ``masks`` runs it). Writes docs/regions.jpg.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from model.checkpoint import load_checkpoint  # noqa: E402
from model.inference import Stylizer, fit_within, mask_tensor  # noqa: E402

DATA = REPO / "data" / "eval"
PHOTO = DATA / "content" / "weavly_machu_picchu.jpg"
PAINTINGS = [DATA / "style" / "hokusai_great_wave.jpg", DATA / "style" / "vangogh_night_cafe.jpg"]
SIDE = 512
FEATHER = 12.0
PANEL_HEIGHT = 220
LABEL_HEIGHT = 26


def sky_mask(size: tuple[int, int]) -> Image.Image:
    """White over the upper part of the picture, black below, along a gentle diagonal."""
    width, height = size
    rows = np.arange(height)[:, None]
    border = height * (0.42 + 0.12 * np.arange(width)[None, :] / width)  # (1, W)
    return Image.fromarray(np.where(rows < border, 255, 0).astype(np.uint8), mode="L")


def panel(image: Image.Image, label: str) -> Image.Image:
    scale = PANEL_HEIGHT / image.height
    body = image.convert("RGB").resize((round(image.width * scale), PANEL_HEIGHT), Image.Resampling.LANCZOS)
    out = Image.new("RGB", (body.width, PANEL_HEIGHT + LABEL_HEIGHT), "white")
    out.paste(body, (0, LABEL_HEIGHT))
    draw = ImageDraw.Draw(out)
    draw.text((6, 7), label, fill="black")
    draw.rectangle((0, LABEL_HEIGHT, body.width - 1, LABEL_HEIGHT + PANEL_HEIGHT - 1), outline=(150, 150, 150))
    return out


def main() -> int:
    model, _ = load_checkpoint(None)
    stylizer = Stylizer(model)
    photo = fit_within(Image.open(PHOTO).convert("RGB"), SIDE)
    paintings = [Image.open(p).convert("RGB") for p in PAINTINGS]
    codes = [stylizer.encode_style(p) for p in paintings]
    mask = sky_mask(photo.size)
    (result,) = stylizer.stylize(photo, codes, masks=[mask, ImageOps.invert(mask)], feather=FEATHER, max_side=SIDE)
    # The mask as the model uses it: feathered.
    soft = mask_tensor(mask, *photo.size, feather=FEATHER).numpy()
    shown = Image.fromarray((soft * 255 + 0.5).astype(np.uint8), mode="L")
    panels = [
        panel(photo, "photo"),
        panel(paintings[0], "painting 1 (white)"),
        panel(paintings[1], "painting 2 (black)"),
        panel(shown, f"mask, feathered {FEATHER:.0f} px"),
        panel(result, "result"),
    ]
    gap = 8
    sheet = Image.new("RGB", (sum(p.width for p in panels) + gap * (len(panels) - 1), panels[0].height), "white")
    x = 0
    for p in panels:
        sheet.paste(p, (x, 0))
        x += p.width + gap
    out = REPO / "docs" / "regions.jpg"
    sheet.save(out, quality=88)
    print(out.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
