"""High-level inference: encode styles once, then stylize, blend and sample.

Used by the ``vst`` CLI and by the worker. Takes and returns PIL images; everything between is torch.
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from model import functional as VF
from model.device import default_dtype
from model.fast_generator import FastGenerator
from model.networks import FilmParameters, VariationalStyleTransfer, style_statistics

# Style images are encoded at this shorter side: the training crops come from paintings resized to
# the same scale, so the statistics (and hence the codes) stay inside the range seen in training.
STYLE_SHORT_SIDE = 256
STYLE_LONG_SIDE_MAX = 384
# The content encoder downsamples by 4 and the decoder upsamples by 4.
SIZE_MULTIPLE = 4


@dataclass(frozen=True)
class StyleCode:
    """A style's Gaussian code: mu and logvar, each (D,) float32. Cheap to cache and to serialise."""

    mu: torch.Tensor
    logvar: torch.Tensor

    def to_bytes(self) -> bytes:
        """Raw little-endian float32 [mu, logvar]: no pickle, safe to store in Redis."""
        stacked = torch.stack([self.mu, self.logvar]).float().cpu().numpy().astype("<f4")
        return stacked.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> StyleCode:
        array = np.frombuffer(data, dtype="<f4")
        if array.size % 2:
            raise ValueError("a style code holds an even number of floats")
        mu, logvar = torch.from_numpy(array.copy()).view(2, -1)
        return cls(mu=mu, logvar=logvar)


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL image -> (1, 3, H, W) float32 in [0, 1]."""
    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1)[None].float() / 255.0


def tensor_to_image(tensor: torch.Tensor) -> Image.Image:
    """(3, H, W) or (1, 3, H, W) in [0, 1] -> PIL RGB image."""
    if tensor.dim() == 4:
        tensor = tensor[0]
    array = (tensor.detach().float().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array, mode="RGB")


def fit_within(image: Image.Image, max_side: int) -> Image.Image:
    """Downscale (never upscale) so that the longer side is at most ``max_side``."""
    width, height = image.size
    scale = max_side / max(width, height)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def pad_to_multiple(tensor: torch.Tensor, multiple: int = SIZE_MULTIPLE) -> tuple[torch.Tensor, int, int]:
    """Reflect-pad (B, C, H, W) at the bottom/right to multiples of ``multiple``; returns the padded tensor and H, W."""
    height, width = tensor.shape[-2:]
    pad_h = (-height) % multiple
    pad_w = (-width) % multiple
    if pad_h or pad_w:
        mode = "reflect" if height > pad_h and width > pad_w else "replicate"
        tensor = F.pad(tensor, (0, pad_w, 0, pad_h), mode=mode)
    return tensor, height, width


@functools.cache
def keep_freed_memory_mapped() -> bool:
    """Ask glibc to keep freed large blocks instead of returning them to the kernel after every call.

    Each stylization allocates and frees activations of tens of MB. By default glibc serves those with
    mmap and unmaps them on free, so every call pays page faults again (about 4,000 per 512 px image,
    10% of its time here). Keeping them costs only the peak activation memory, which stays resident.
    Returns whether the setting was applied (glibc on Linux only); done once per process.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, 1 << 30)) and bool(mallopt(m_trim_threshold, 1 << 30))


ProgressCallback = Callable[[float], None]


# The level and seed of the texture noise every output gets (Stylizer.texture_maps).
DEFAULT_TEXTURE = 1.0
TEXTURE_SEED = 0
# Output sizes whose texture offsets a Stylizer keeps (about 40 MB each at 512 px in bf16).
TEXTURE_CACHE_SIZES = 4
# The sampling temperature of variation 1, calibrated so that it gives visibly different samples: at variation 1
# four samples of a held-out pair differ by about 20/255 on average, with their Gram loss within 5% and their
# colour distance within 10% of variation 0's (bench/quality.py). At a temperature of 1 they differed by 13/255,
# mostly in mottled shading.
VARIATION_SCALE = 2.2


def mask_tensor(mask: Image.Image, width: int, height: int, feather: float = 0.0) -> torch.Tensor:
    """A region mask as (height, width) float32 in [0, 1]: white 1 (stylize), black 0 (keep the photo).

    The mask is resized to the output's size, then softened by a Gaussian blur of standard deviation
    ``feather`` output pixels (0: as drawn).
    """
    if feather < 0:
        raise ValueError("feather must be >= 0")
    gray = mask.convert("L")
    if gray.size != (width, height):
        gray = gray.resize((width, height), Image.Resampling.BILINEAR)
    tensor = torch.from_numpy(np.asarray(gray, dtype=np.float32) / 255.0)  # (H, W)
    if feather > 0:
        tensor = VF.gaussian_blur(tensor[None, None], feather)[0, 0]  # (H, W)
    return tensor.clamp(0.0, 1.0)


class Stylizer:
    """Wraps a loaded model for inference. Not thread-safe; one per worker process."""

    def __init__(
        self,
        model: VariationalStyleTransfer,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | None = None,
        texture: float = DEFAULT_TEXTURE,
    ) -> None:
        """``dtype`` of the convolutions; None picks :func:`default_dtype` for the device. ``texture`` scales
        the fixed noise maps that every output of a decoder with a noise input gets (:func:`texture_maps`).

        The model itself is left in fp32 and unchanged: the generator and the VGG trunk are packed into
        copies in ``dtype`` and channels-last (casting, not autocast, is what is fast on the CPU).
        """
        self.device = torch.device(device)
        self.dtype = dtype if dtype is not None else default_dtype(self.device)
        self.model = model.eval().to(self.device)
        self.latent_dim = model.config.latent_dim
        if texture < 0:
            raise ValueError("texture must be >= 0")
        self.texture = texture
        self._texture_cache: dict[tuple[int, int], list[torch.Tensor]] = {}
        self.generator = FastGenerator(model.content_encoder, model.decoder, self.dtype, self.device)
        self.style_trunk = copy.deepcopy(model.style_encoder.trunk).to(self.dtype)
        self.style_trunk.to(memory_format=torch.channels_last)
        if self.device.type == "cpu":
            keep_freed_memory_mapped()

    def texture_maps(self, height: int, width: int) -> list[torch.Tensor] | None:
        """The fixed noise maps of every output, for content features of (height, width): per layer
        (1, 1, H_l, W_l), or None for a decoder without a noise input or at texture 0.

        The decoder learned during training that its noise input makes paint-like texture: with these maps at
        variation 0 the held-out outputs came 20% closer to their paintings' style by the independent judge
        and 13% by colour, for a 1-point drop in edge correlation. They are drawn from a fixed seed, so
        variation 0 still gives one image per photo and painting, whatever the request's seed.
        """
        decoder = self.model.decoder
        if decoder.noise_strength is None or self.texture <= 0:
            return None
        scale = torch.full((1,), self.texture, device=self.device)  # (1,)
        return decoder.noise_maps(scale, height, width, torch.Generator().manual_seed(TEXTURE_SEED))

    def texture_offsets(self, height: int, width: int) -> list[torch.Tensor] | None:
        """:meth:`texture_maps` times the decoder's strengths, ready to add; kept for the last few sizes, since
        they depend only on the size and scaling them on every call cost more than the maps' draw."""
        key = (height, width)
        if key not in self._texture_cache:
            maps = self.texture_maps(height, width)
            if maps is None:
                return None
            if len(self._texture_cache) >= TEXTURE_CACHE_SIZES:
                self._texture_cache.pop(next(iter(self._texture_cache)))
            self._texture_cache[key] = self.generator.noise_offsets(maps)
        return self._texture_cache[key]

    @torch.inference_mode()
    def encode_style(self, image: Image.Image) -> StyleCode:
        """One VGG pass over the style image at the training scale -> its (mu, logvar)."""
        width, height = image.size
        scale = STYLE_SHORT_SIDE / min(width, height)
        size = (max(8, round(width * scale)), max(8, round(height * scale)))
        resized = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
        tensor = image_to_tensor(resized).to(self.device)  # (1, 3, h, w)
        h, w = tensor.shape[-2:]
        # Long panoramas are centre-cropped: the statistics of a crop describe the style as well.
        if max(h, w) > STYLE_LONG_SIDE_MAX:
            top = (h - min(h, STYLE_LONG_SIDE_MAX)) // 2
            left = (w - min(w, STYLE_LONG_SIDE_MAX)) // 2
            tensor = tensor[:, :, top : top + STYLE_LONG_SIDE_MAX, left : left + STYLE_LONG_SIDE_MAX]
        tensor = tensor.to(self.dtype).contiguous(memory_format=torch.channels_last)
        # The statistics are taken in fp32 (calc_mean_std) and the MLP runs in fp32.
        stats = style_statistics(self.style_trunk(tensor))  # (1, S)
        mu, logvar = self.model.style_encoder.encode_statistics(stats)  # (1, D) each
        return StyleCode(mu=mu[0].float().cpu(), logvar=logvar[0].float().cpu())

    def _target_codes(
        self,
        codes: Sequence[StyleCode],
        weights: Sequence[float] | None,
        variation: float,
        samples: int,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """Blend the styles' Gaussians and draw ``samples`` codes from the blend: (samples, D)."""
        if not codes:
            raise ValueError("at least one style is required")
        if weights is None:
            weights = [1.0] * len(codes)
        mus = torch.stack([c.mu for c in codes])  # (K, D)
        logvars = torch.stack([c.logvar for c in codes])  # (K, D)
        mu, logvar = VF.blend_codes(mus, logvars, torch.tensor(list(weights), dtype=torch.float64))
        noise = torch.randn(samples, self.latent_dim, generator=generator)  # (N, D)
        return VF.sample_code(mu.float(), logvar.float(), variation, noise)  # (N, D)

    def _region_codes(
        self, codes: Sequence[StyleCode], variation: float, samples: int, generator: torch.Generator
    ) -> torch.Tensor:
        """Each region draws its own ``samples`` codes from its own style's Gaussian, region after region from
        the one seeded generator (one region draws exactly what a plain stylization does): (N, K, D)."""
        drawn = []
        for code in codes:
            noise = torch.randn(samples, self.latent_dim, generator=generator)  # (N, D)
            drawn.append(VF.sample_code(code.mu[None].float(), code.logvar[None].float(), variation, noise))
        return torch.stack(drawn, dim=1)  # (N, K, D)

    @torch.inference_mode()
    def stylize(
        self,
        content: Image.Image,
        codes: Sequence[StyleCode],
        weights: Sequence[float] | None = None,
        alpha: float = 1.0,
        variation: float = 0.0,
        samples: int = 1,
        seed: int | None = None,
        preserve_color: bool = False,
        max_side: int = 512,
        progress: ProgressCallback | None = None,
        masks: Sequence[Image.Image] | None = None,
        feather: float = 0.0,
    ) -> list[Image.Image]:
        """Stylize ``content`` with the weighted blend of ``codes``; returns ``samples`` images.

        alpha in [0, 1] moves the code from the content's own style (0) to the target (1).
        variation >= 0 scales the sampling noise; 0 is deterministic. The same seed gives the same images.
        The sampling temperature is ``variation * VARIATION_SCALE``, on the code's sigma and on the decoder's
        noise maps alike.
        masks: one grayscale image per code instead of ``weights``: code k is painted where mask k is white,
        with :meth:`Decoder.region_film_parameters`; where the masks sum to less than 1 the photo keeps its own
        style code. They are resized to the output and feathered by ``feather`` px (:func:`mask_tensor`).
        """
        if not 0.0 <= alpha <= 1.0:
            raise ValueError("alpha must be in [0, 1]")
        if variation < 0:
            raise ValueError("variation must be >= 0")
        if samples < 1:
            raise ValueError("samples must be >= 1")
        if masks is not None and len(masks) != len(codes):
            raise ValueError(f"got {len(masks)} mask(s) for {len(codes)} style(s)")
        if masks is not None and weights is not None:
            raise ValueError("give weights or masks, not both: with masks each style has its own region")
        generator = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
        temperature = variation * VARIATION_SCALE
        if masks is None:
            target = self._target_codes(codes, weights, temperature, samples, generator)  # (N, D)
        else:
            target = self._region_codes(codes, temperature, samples, generator)  # (N, K, D)
        content = fit_within(content.convert("RGB"), max_side)
        region_masks = None
        if masks is not None:
            stacked = torch.stack([mask_tensor(m, content.width, content.height, feather) for m in masks])  # (K, H, W)
            region_masks = pad_to_multiple(stacked[None])[0][0].to(self.device)  # (K, H', W')
        keeps_photo = region_masks is not None and bool((region_masks.sum(dim=0) < 1.0).any())
        own_mu = self.encode_style(content).mu if alpha < 1.0 or keeps_photo else torch.zeros(self.latent_dim)
        if alpha < 1.0:
            target = alpha * target + (1.0 - alpha) * own_mu  # (N, D) or (N, K, D)
        if progress:
            progress(0.2)
        pixels = image_to_tensor(content).to(self.device)  # (1, 3, H, W)
        padded, height, width = pad_to_multiple(pixels)
        features = self.generator.encode(padded)  # (1, C, H/4, W/4)
        decoder = self.model.decoder
        feature_h, feature_w = features.shape[-2:]
        if region_masks is None:
            film = decoder.film_parameters(target.to(self.device))  # fp32 (scale, shift) per layer
        with_noise = decoder.noise_strength is not None and variation > 0
        scales = torch.full((1,), temperature, device=self.device)  # (1,) the noise maps' temperature
        texture = self.texture_offsets(feature_h, feature_w)
        outputs: list[Image.Image] = []
        for index in range(samples):
            # One sample at a time keeps peak memory flat for large images and gives real progress.
            single: list[FilmParameters]
            if region_masks is None:
                single = [(scale[index : index + 1], shift[index : index + 1]) for scale, shift in film]
            else:
                region_codes = torch.cat([own_mu[None], target[index]]).to(self.device)  # (K + 1, D)
                single = decoder.region_film_parameters(region_codes, region_masks, feature_h, feature_w)
            # Drawn after the codes from the same seeded generator: one seed, one set of images.
            noise = decoder.noise_maps(scales, feature_h, feature_w, generator) if with_noise else None
            decoded = self.generator.decode(features, single, noise, offsets=texture)
            image = decoded[:, :, :height, :width].float()  # (1, 3, H, W)
            if preserve_color:
                image = VF.transfer_luminance(image, pixels)
            outputs.append(tensor_to_image(image))
            if progress:
                progress(0.2 + 0.8 * (index + 1) / samples)
        return outputs
