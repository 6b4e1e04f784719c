"""The networks: a frozen VGG trunk, the variational style encoder, the content encoder and the decoder.

Modules stay thin; the maths lives in :mod:`model.functional`. Nothing here imports torchvision:
inference needs only torch and the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from model import functional as VF
from model.config import VGG_PLANS, VGG_TAPS, ModelConfig, TrunkConfig


class VGGTrunk(nn.Module):
    """A VGG feature extractor up to relu4_1 that returns the relu{1..4}_1 activations.

    Takes RGB in [0, 1] and applies the preprocessing its weights expect (stored as buffers).
    Its parameters are frozen: it is never trained.
    """

    input_mean: torch.Tensor
    input_std: torch.Tensor
    layer_scales: torch.Tensor

    def __init__(self, config: TrunkConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for item in VGG_PLANS[config.arch]:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                # Zero padding, as in the original VGG, so that pretrained weights see what they expect.
                layers += [nn.Conv2d(in_channels, int(item), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                in_channels = int(item)
        self.features = nn.Sequential(*layers)
        conv_positions = [i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)]
        # The index in `features` of the ReLU that follows each tapped conv.
        self.tap_indices = [conv_positions[t] + 1 for t in VGG_TAPS[config.arch]]
        self.register_buffer("input_mean", torch.tensor(config.input_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("input_std", torch.tensor(config.input_std).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("layer_scales", torch.tensor(config.layer_scales, dtype=torch.float32), persistent=False)
        self.input_scale = config.input_scale
        self.requires_grad_(False)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        """image: (B, 3, H, W) RGB in [0, 1] -> [relu1_1, relu2_1, relu3_1, relu4_1], each divided by its scale."""
        x = (image * self.input_scale - self.input_mean.to(image.dtype)) / self.input_std.to(image.dtype)
        outputs: list[torch.Tensor] = []
        last = self.tap_indices[-1]
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.tap_indices:
                outputs.append(x / self.layer_scales[len(outputs)].to(x.dtype))
            if index == last:
                break
        return outputs


def statistics_vector(stats: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Concatenate [mean, log std] of every layer: per layer ((B, C_l), (B, C_l)) -> (B, 2 * sum C_l)."""
    return torch.cat([part for mean, std in stats for part in (mean, std.log())], dim=1)


def style_statistics(features: list[torch.Tensor]) -> torch.Tensor:
    """The style encoder's input from tapped VGG features: list of (B, C_l, H, W) -> (B, 2 * sum C_l)."""
    return statistics_vector([VF.calc_mean_std(f) for f in features])


INITIAL_LOGVAR = -6.0
# Initial per-channel strength of the decoder's noise input (see Decoder.noise_strength).
NOISE_STRENGTH_INIT = 1e-3


class StyleEncoder(nn.Module):
    """E_s: frozen VGG statistics -> MLP -> (mu, logvar) of a Gaussian style code."""

    stats_mean: torch.Tensor
    stats_std: torch.Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.trunk = VGGTrunk(config.trunk)
        stats_dim = 2 * sum(config.trunk.channels())
        # Per-feature standardisation of the statistics, measured on the training paintings: the raw
        # [mean, log std] differ little between styles next to their common offset, so an MLP fed them raw
        # starts with nearly the same code for every style.
        self.register_buffer("stats_mean", torch.zeros(stats_dim))
        self.register_buffer("stats_std", torch.ones(stats_dim))
        self.mlp = nn.Sequential(
            nn.Linear(stats_dim, config.style_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(config.style_hidden, config.style_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(config.style_hidden, 2 * config.latent_dim),
        )
        # Start nearly deterministic (sigma ~ 0.05). With sigma ~ 1 at initialisation the sampled codes are
        # mostly noise, the decoder learns to ignore them and every style decodes to the same average
        # style (posterior collapse, seen in a first run). The KL term then grows sigma only where the
        # decoder can afford it.
        # Likewise the mu rows are scaled up (x3) so that different styles start further apart than
        # sigma (0.24 vs 0.08 unscaled, on the bundled paintings); x10 made outlier crops give |mu| ~ 10 and diverged.
        head = self.mlp[-1]
        assert isinstance(head, nn.Linear)
        with torch.no_grad():
            head.weight[: config.latent_dim].mul_(3.0)
            head.weight[config.latent_dim :].mul_(0.1)
            head.bias[config.latent_dim :].fill_(INITIAL_LOGVAR)

    def standardize(self, stats: torch.Tensor) -> torch.Tensor:
        """(B, S) statistics -> (B, S) standardised with the calibrated per-feature mean and std."""
        return (stats.float() - self.stats_mean) / self.stats_std

    def encode_statistics(self, stats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """stats: (B, S) from :func:`style_statistics` -> mu, logvar: (B, D) each."""
        mu, logvar = self.mlp(self.standardize(stats)).chunk(2, dim=1)  # (B, D) each
        # Bounded so that exp(logvar) can neither overflow nor vanish early in training.
        return mu, logvar.clamp(-10.0, 4.0)

    @torch.no_grad()
    def calibrate_statistics(self, batches: list[torch.Tensor]) -> None:
        """Set the standardisation from style crops: batches of (B_i, 3, H_i, W_i), sizes may differ."""
        stats = torch.cat([style_statistics(self.trunk(images)).float() for images in batches])  # (sum B_i, S)
        self.stats_mean.copy_(stats.mean(dim=0))
        std = stats.std(dim=0)  # (S,)
        # Channels that were silent in every calibration crop have a near-zero spread; without a floor a
        # painting that does excite them would get standardised values in the thousands.
        self.stats_std.copy_(std.clamp_min(0.1 * float(std.median())))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """image: (B, 3, H, W) in [0, 1] -> mu, logvar: (B, D)."""
        return self.encode_statistics(style_statistics(self.trunk(image)))


def _conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    # Reflection padding avoids dark borders; stride-2 convs downsample without checkerboards.
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride))


class ContentEncoder(nn.Module):
    """E_c: a light Johnson-style conv net that downsamples by 4. (B, 3, H, W) -> (B, C3, H/4, W/4)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c1, c2, c3 = config.widths
        self.layers = nn.ModuleList([_conv(3, c1), _conv(c1, c2, stride=2), _conv(c2, c3, stride=2)])

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image
        for conv in self.layers:
            x = torch.relu(VF.instance_norm(conv(x)))
        return x


def noise_injector(
    strengths: Iterable[torch.Tensor] | None, noise: list[torch.Tensor] | None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function to apply to each AdaIN layer's conv output in turn: it adds that layer's noise map.

    strengths: the decoder's per-layer (C_l,) strengths, or None for a decoder without a noise input;
    noise: per layer (B, 1, H_l, W_l) from :meth:`Decoder.noise_maps`, or None (variation 0: unchanged).
    """
    if noise is None:
        return lambda features: features
    if strengths is None:
        # A caller's mistake, not something to drop silently.
        raise ValueError("this decoder has no noise input (its config has decoder_noise off)")
    layers = iter(zip(strengths, noise, strict=True))

    def inject(features: torch.Tensor) -> torch.Tensor:
        strength, maps = next(layers)
        return VF.inject_noise(features, strength, maps)

    return inject


class RegionFilm(NamedTuple):
    """One AdaIN layer's parameters for regions: one (scale, shift) row per region and the regions' weights.

    scales, shifts: (R, C_l); weights: (R, H_l, W_l) from :func:`model.functional.region_weights`.
    """

    scales: torch.Tensor
    shifts: torch.Tensor
    weights: torch.Tensor


# Per AdaIN layer: (scale, shift), each (B, C_l), for one style per image; or a RegionFilm for regions.
FilmParameters = tuple[torch.Tensor, torch.Tensor] | RegionFilm


def adain(features: torch.Tensor, params: FilmParameters) -> torch.Tensor:
    """AdaIN with one style per image, or per region (:func:`model.functional.regional_adain_affine`)."""
    if isinstance(params, RegionFilm):
        a, b = VF.regional_adain_affine(features, params.scales, params.shifts, params.weights)
        return torch.addcmul(b, features, a)
    scale, shift = params
    return VF.adaptive_instance_norm(features, scale.to(features.dtype), shift.to(features.dtype))


class Decoder(nn.Module):
    """Residual blocks and upsampling convs, each normalisation an AdaIN driven by the style code.

    A small MLP maps the code s (B, D) to every AdaIN layer's per-channel scale and shift.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c1, c2, c3 = config.widths
        self.residual = nn.ModuleList(
            [nn.ModuleList([_conv(c3, c3), _conv(c3, c3)]) for _ in range(config.residual_blocks)]
        )
        self.upsample = nn.ModuleList([_conv(c3, c2), _conv(c2, c1)])
        self.to_rgb = _conv(c1, 3)
        self.upsample_mode = config.upsample
        self.norm_channels = [c3] * (2 * config.residual_blocks) + [c2, c1]
        self.film = nn.Sequential(
            nn.Linear(config.latent_dim, config.film_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(config.film_hidden, 2 * sum(self.norm_channels)),
        )
        # A linear path beside the MLP, starting at zero. Through the MLP alone, whose ReLU features are
        # mostly positive and alike across styles, the style-dependent part of the AdaIN parameters was
        # learned very slowly: after 300 steps every style still decoded to nearly the same average style.
        self.film_linear = nn.Linear(config.latent_dim, 2 * sum(self.norm_channels))
        nn.init.zeros_(self.film_linear.weight)
        nn.init.zeros_(self.film_linear.bias)
        # Where the sampling noise also enters: a noise map added after each conv, with small per-channel
        # strengths. Variation through the style code alone can only turn whole feature channels up or down,
        # and asking it for visible differences cost structure at every code. The strengths start small but
        # not at zero: at zero two noise draws decode to bit-identical images, the diversity hinge's |a - b|
        # then has a zero subgradient, and the strengths would never start to train.
        self.noise_strength = (
            nn.ParameterList([nn.Parameter(torch.full((c,), NOISE_STRENGTH_INIT)) for c in self.norm_channels])
            if config.decoder_noise
            else None
        )

    def film_parameters(self, code: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """code: (B, D) -> per AdaIN layer (scale, shift), each (B, C_l). Scales start around 1."""
        params = self.film(code) + self.film_linear(code)  # (B, 2 * sum C_l)
        out = []
        offset = 0
        for channels in self.norm_channels:
            scale = 1.0 + params[:, offset : offset + channels]  # (B, C_l)
            shift = params[:, offset + channels : offset + 2 * channels]  # (B, C_l)
            out.append((scale, shift))
            offset += 2 * channels
        return out

    def region_film_parameters(
        self, codes: torch.Tensor, masks: torch.Tensor, height: int, width: int
    ) -> list[FilmParameters]:
        """AdaIN parameters for K styles painted over K soft masks, the rest in the photo's own style.

        codes: (K + 1, D), the photo's own code first, then one per mask; masks: (K, H, W) in [0, 1] at any
        resolution (normally the output's, 4h x 4w); height, width: of the content features. Returns per
        AdaIN layer a :class:`RegionFilm` at that layer's resolution, for :meth:`forward`. Masks whose codes
        are equal are one region (normalised together), so splitting a style's area changes nothing.
        """
        if codes.shape[0] != masks.shape[0] + 1:
            expected = masks.shape[0] + 1
            raise ValueError(f"expected {expected} codes (the photo's, then one per mask), got {codes.shape[0]}")
        unique, inverse = torch.unique(codes, dim=0, return_inverse=True)  # (U, D), (K + 1,)
        # (U, K + 1): which region each mask (and the remainder) belongs to; merging is then one small product.
        members = F.one_hot(inverse.to(masks.device), unique.shape[0]).t().float()
        film = self.film_parameters(unique)  # per layer (U, C_l)
        by_size: dict[tuple[int, int], torch.Tensor] = {}
        out: list[FilmParameters] = []
        for (scale, shift), (h, w) in zip(film, self.noise_sizes(height, width), strict=True):
            if (h, w) not in by_size:
                weights = VF.region_weights(masks, h, w)  # (K + 1, h, w)
                by_size[(h, w)] = (members @ weights.flatten(1)).view(-1, h, w)  # (U, h, w)
            out.append(RegionFilm(scale, shift, by_size[(h, w)]))
        return out

    def noise_sizes(self, height: int, width: int) -> list[tuple[int, int]]:
        """The (H, W) of each AdaIN layer's input for content features of (height, width)."""
        residual = [(height, width)] * (len(self.norm_channels) - len(self.upsample))
        return residual + [(height * 2 ** (i + 1), width * 2 ** (i + 1)) for i in range(len(self.upsample))]

    def noise_maps(
        self, scales: torch.Tensor, height: int, width: int, generator: torch.Generator | None = None
    ) -> list[torch.Tensor]:
        """One standard normal map per image and AdaIN layer, times the image's scale (its variation).

        scales: (B,); height, width: of the content features -> per layer (B, 1, H_l, W_l), on scales' device.
        Drawn on the CPU so that a seed gives the same maps on every device.
        """
        batch = scales.shape[0]
        maps = []
        for h, w in self.noise_sizes(height, width):
            draw = torch.randn(batch, 1, h, w, generator=generator).to(scales.device)  # (B, 1, H_l, W_l)
            maps.append(draw * scales.float()[:, None, None, None])  # (B, 1, H_l, W_l)
        return maps

    def forward(
        self,
        content_features: torch.Tensor,
        film: Sequence[FilmParameters],
        noise: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """content_features: (B, C3, h, w); film from :meth:`film_parameters` or (B = 1)
        :meth:`region_film_parameters`; noise from :meth:`noise_maps` (None: no noise, as at variation 0)
        -> image (B, 3, 4h, 4w) in (0, 1)."""
        add_noise = noise_injector(self.noise_strength, noise)
        x = content_features
        params = iter(film)
        for block in self.residual:
            conv_a, conv_b = block[0], block[1]  # type: ignore[index]
            y = torch.relu(adain(add_noise(conv_a(x)), next(params)))
            x = x + adain(add_noise(conv_b(y)), next(params))
        for conv in self.upsample:
            x = VF.upsample2x(x, self.upsample_mode)  # (B, C, 2h, 2w)
            x = torch.relu(adain(add_noise(conv(x)), next(params)))
        return torch.sigmoid(self.to_rgb(x))


class VariationalStyleTransfer(nn.Module):
    """The whole model: E_s, E_c and the decoder."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.style_encoder = StyleEncoder(config)
        self.content_encoder = ContentEncoder(config)
        self.decoder = Decoder(config)

    def forward(self, content: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """content: (B, 3, H, W) in [0, 1] with H, W multiples of 4; code: (B, D) -> (B, 3, H, W)."""
        return self.decoder(self.content_encoder(content), self.decoder.film_parameters(code))
