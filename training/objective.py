"""The training objective: one forward pass of the model and every loss term, on one batch.

The batch pairs contents with styles two-to-one: contents 2k and 2k+1 get the same sampled style code
k, which gives the (y1, y2) pairs of the disentanglement triplet without extra decoder passes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from model import functional as VF
from model.networks import VariationalStyleTransfer, statistics_vector
from training.options import LossWeights


@dataclass
class LossNorms:
    """Each term's value between random crops at the start, so that every normalised term starts near 1."""

    content: float = 1.0
    style: float = 1.0
    mean_std: float = 1.0
    color: float = 1.0

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@torch.no_grad()
def estimate_norms(model: VariationalStyleTransfer, contents: torch.Tensor, styles: torch.Tensor) -> LossNorms:
    """Loss values between unrelated crops: content i vs content i+1, style of content i vs style image i.

    contents: (B, 3, H, W); styles: (B, 3, Hs, Ws) with the same B.
    """
    trunk = model.style_encoder.trunk
    content_feats = trunk(contents)
    style_feats = trunk(styles)
    rolled = [f.roll(1, dims=0) for f in content_feats]
    content = VF.content_loss(content_feats[-1], rolled[-1])
    style = VF.gram_style_loss(content_feats, [VF.gram_matrix(f) for f in style_feats])
    mean_std = VF.mean_std_loss(
        [VF.calc_mean_std(f) for f in content_feats], [VF.calc_mean_std(f) for f in style_feats]
    )
    color = VF.color_moment_loss(VF.color_moments(contents), VF.color_moments(styles))
    return LossNorms(
        content=max(float(content), 1e-8),
        style=max(float(style), 1e-8),
        mean_std=max(float(mean_std), 1e-8),
        color=max(float(color), 1e-8),
    )


def kl_ramp(step: int, warmup_steps: int) -> float:
    """Linear KL warm-up from 0 to 1 over ``warmup_steps``."""
    return 1.0 if warmup_steps <= 0 else min(1.0, step / warmup_steps)


def compute_losses(
    model: VariationalStyleTransfer,
    contents: torch.Tensor,
    styles: torch.Tensor,
    weights: LossWeights,
    norms: LossNorms,
    step: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
    """One training forward pass.

    contents: (B, 3, H, W) with B even; styles: (B/2, 3, Hs, Ws). Returns the total loss, the detached
    terms for logging, and the outputs (B, 3, H, W).
    """
    batch = contents.shape[0]
    if batch % 2 or styles.shape[0] * 2 != batch:
        raise ValueError("need an even number of contents and half as many styles")
    trunk = model.style_encoder.trunk
    with torch.no_grad():
        style_feats = trunk(styles)  # 4 x (B/2, C_l, h, w)
        style_grams = [VF.gram_matrix(f).repeat_interleave(2, dim=0) for f in style_feats]  # (B, C_l, C_l)
        style_stats_raw = [VF.calc_mean_std(f) for f in style_feats]  # 4 x ((B/2, C_l), (B/2, C_l))
        style_stats = [(m.repeat_interleave(2, dim=0), s.repeat_interleave(2, dim=0)) for m, s in style_stats_raw]
        style_vector = statistics_vector(style_stats_raw)  # (B/2, S)
        content_target = trunk(contents)[-1]  # (B, C4, h4, w4)
        style_mean, style_factor = VF.color_moments(styles)  # (B/2, 3), (B/2, 3, 3)
        style_colors = (style_mean.repeat_interleave(2, dim=0), style_factor.repeat_interleave(2, dim=0))

    mu, logvar = model.style_encoder.encode_statistics(style_vector)  # (B/2, D) each
    noise = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)  # (B/2, D)
    sampled = torch.ones(mu.shape[0], device=mu.device)  # (B/2,) the variation of each style's draw
    if weights.mean_code_share > 0:
        # The service decodes mu by default (variation 0); with sampled codes only, the content and style
        # losses never score the decoder there. Drawn only when on, so that runs without it keep their noise stream.
        at_mean = torch.rand(mu.shape[0], generator=generator) < weights.mean_code_share  # (B/2,)
        noise = noise.masked_fill(at_mean.unsqueeze(1).to(mu.device), 0.0)  # (B/2, D)
        sampled = sampled.masked_fill(at_mean.to(mu.device), 0.0)  # (B/2,)
    code = VF.sample_code(mu, logvar, 1.0, noise).repeat_interleave(2, dim=0)  # (B, D)
    content_features = model.content_encoder(contents)  # (B, C3, H/4, W/4)
    decoder = model.decoder
    height, width = content_features.shape[-2:]
    has_noise = decoder.noise_strength is not None
    # Codes decoded at mu get no noise maps either: together they are what variation 0 serves.
    maps = decoder.noise_maps(sampled.repeat_interleave(2), height, width, generator) if has_noise else None
    outputs = decoder(content_features, decoder.film_parameters(code), maps)  # (B, 3, H, W)
    output_feats = trunk(outputs)
    diversity = outputs.new_zeros((), dtype=torch.float32)
    if weights.diversity > 0:
        # A second draw for one photo of each style pair; the content features are shared.
        if has_noise:
            # The same code with new noise maps: the hinge asks the noise input for the variation, and no
            # longer asks two codes drawn from one posterior to decode differently.
            code_b = code[0::2]  # (B/2, D)
            maps_b = decoder.noise_maps(torch.ones_like(sampled), height, width, generator)
        else:
            noise_b = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)  # (B/2, D)
            code_b = VF.sample_code(mu, logvar, 1.0, noise_b)  # (B/2, D)
            maps_b = None
        outputs_b = decoder(content_features[0::2], decoder.film_parameters(code_b), maps_b)  # (B/2, 3, H, W)
        diversity = VF.diversity_hinge(outputs[0::2], outputs_b, weights.diversity_target)

    content = VF.content_loss(output_feats[-1], content_target) / norms.content
    style = VF.gram_style_loss(output_feats, style_grams) / norms.style
    output_stats = [VF.calc_mean_std(f) for f in output_feats]
    mean_std = VF.mean_std_loss(output_stats, style_stats) / norms.mean_std
    color = VF.color_moment_loss(VF.color_moments(outputs), style_colors) / norms.color
    # Already about 1 at the start (1 - a correlation), so it needs no norm. At weight 0 it is only logged: a
    # network drifting into negatives shows as a rise towards 2, which no other term shows.
    tone = VF.tone_loss(outputs if weights.tone > 0 else outputs.detach(), contents)
    # The triplet trains the generator only: E_s measures the outputs with its weights held fixed, as the
    # loss network does. Letting E_s minimise it too diverged within 20 steps: it can push every output's
    # code away from its painting's code without bound, and the KL's pull on mu is too weak to stop it.
    encoder = model.style_encoder
    fixed_mlp = {name: p.detach() for name, p in encoder.mlp.named_parameters()}
    standardized = encoder.standardize(statistics_vector(output_stats))  # (B, S)
    output_mu = torch.func.functional_call(encoder.mlp, fixed_mlp, (standardized,)).chunk(2, dim=1)[0]  # (B, D)
    triplet = VF.triplet_disentanglement_loss(output_mu[0::2], output_mu[1::2], mu.detach(), weights.triplet_margin)
    kl = VF.kl_divergence(mu, logvar)
    total = (
        weights.content * content
        + weights.style * style
        + weights.mean_std * mean_std
        + weights.color * color
        + weights.tone * tone
        + weights.triplet * triplet
        + weights.kl * kl_ramp(step, weights.kl_warmup_steps) * kl
        + weights.diversity * diversity
    )
    named = {
        "loss": total,
        "content": content,
        "style": style,
        "mean_std": mean_std,
        "color": color,
        "tone": tone,
        "triplet": triplet,
        "kl": kl,
        "diversity": diversity,
    }
    terms = {name: float(value.detach()) for name, value in named.items()}
    return total, terms, outputs


class Objective(torch.nn.Module):
    """The model plus its loss, as one module, so that DistributedDataParallel can wrap the whole step."""

    def __init__(self, model: VariationalStyleTransfer, weights: LossWeights, norms: LossNorms) -> None:
        super().__init__()
        self.model = model
        self.weights = weights
        self.norms = norms

    def forward(
        self, contents: torch.Tensor, styles: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
        return compute_losses(self.model, contents, styles, self.weights, self.norms, step)
