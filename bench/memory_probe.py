"""Peak memory of one stylization, measured in a fresh process: ``python bench/memory_probe.py ours|peer SIDE``.

Imports one method's libraries (the peer's probe never imports torch) and notes the resident set size,
loads the model and warms it up on a 64 px image and notes it again, then encodes a style and stylizes
one evaluation photo at SIDE px. Prints one JSON object with both and the process's peak RSS (VmHWM:
native allocations included). Called by latency.py.
"""

from __future__ import annotations

import argparse
import json
import sys

import benchlib


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("method", choices=["ours", "peer"])
    parser.add_argument("side", type=int)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    content = benchlib.at_long_side(benchlib.open_rgb(benchlib.image_paths(benchlib.EVAL_CONTENT)[0]), args.side)
    style = benchlib.open_rgb(benchlib.image_paths(benchlib.EVAL_STYLE)[0])
    tiny = benchlib.at_long_side(content, 64)
    if args.method == "ours":
        import torch

        from model.inference import Stylizer

        imports = benchlib.current_rss_mib()
        if args.threads:
            torch.set_num_threads(args.threads)
        ours = Stylizer(benchlib.load_model()[0])
        ours.stylize(tiny, [ours.encode_style(tiny)], max_side=64)
        loaded = benchlib.current_rss_mib()
        ours.stylize(content, [ours.encode_style(style)], max_side=args.side)
    else:
        import onnxruntime  # noqa: F401  (what the peer's first call imports)
        from peer import Peer

        imports = benchlib.current_rss_mib()
        peer = Peer(args.threads)
        peer.stylize(tiny, tiny, 64)
        loaded = benchlib.current_rss_mib()
        peer.stylize(content, style, args.side)
    result = {"rss_after_imports_mib": imports, "rss_loaded_mib": loaded, "peak_rss_mib": benchlib.peak_rss_mib()}
    print(json.dumps({key: round(value, 1) for key, value in result.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
