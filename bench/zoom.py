"""A zoomed crop of 512 px outputs, ours beside the peer: where halos along edges and periodic texture show.

    python bench/zoom.py [--content PHOTO] [--style PAINTING] [--box X,Y] [--out docs/zoom_512.png]

Both stylize the photo at 512 px (longer side); the same 128 px square of each (top-left corner ``--box``) is
enlarged 3x with nearest-neighbour sampling, so that single pixels stay visible. ``VST_CHECKPOINT`` picks
another checkpoint than the shipped one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import benchlib
from peer import Peer
from PIL import Image, ImageDraw

from model.inference import Stylizer

CROP = 128
ZOOM = 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=Path, default=benchlib.EVAL_CONTENT / "kodak_kodim02.jpg")
    parser.add_argument("--style", type=Path, default=benchlib.EVAL_STYLE / "vangogh_night_cafe.jpg")
    parser.add_argument("--box", default="190,120", help="top-left corner X,Y of the 128 px crop")
    parser.add_argument("--out", type=Path, default=benchlib.REPO_ROOT / "docs" / "zoom_512.png")
    args = parser.parse_args()
    left, top = (int(v) for v in args.box.split(","))
    benchlib.ensure_peer()
    content, style = benchlib.open_rgb(args.content), benchlib.open_rgb(args.style)
    stylizer = Stylizer(benchlib.load_model()[0])
    (ours,) = stylizer.stylize(content, [stylizer.encode_style(style)], max_side=512)
    peer = Peer().stylize(content, style, 512)
    if peer.size != ours.size:
        peer = peer.resize(ours.size, Image.Resampling.LANCZOS)
    box = (left, top, left + CROP, top + CROP)
    tiles = [
        (name, image.crop(box).resize((CROP * ZOOM,) * 2, Image.Resampling.NEAREST))
        for name, image in (
            ("photo", content.resize(ours.size, Image.Resampling.LANCZOS)),
            ("ours", ours),
            ("peer", peer),
        )
    ]
    pad, header = 6, 20
    sheet = Image.new("RGB", (len(tiles) * (CROP * ZOOM + pad) + pad, CROP * ZOOM + header + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for index, (name, tile) in enumerate(tiles):
        x = pad + index * (CROP * ZOOM + pad)
        draw.text((x, 4), f"{name}: {CROP} px of the 512 px output, x{ZOOM}", fill="black")
        sheet.paste(tile, (x, header))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {benchlib.relative(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
