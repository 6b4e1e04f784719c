"""Pure tensor maths of the model and its losses.

Every function here is stateless and is unit-tested against its formula in
``tests/model/test_functional.py``. Modules in ``model.networks`` are thin wrappers around them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

EPS = 1e-5
# Added to the RGB covariance's diagonal: a standard deviation of 0.01, invisible, but it keeps grey
# images' (rank-1) covariances safely factorable.
COLOR_EPS = 1e-4
# The blur of :func:`local_tone`, in pixels: at 256 px it keeps a door knob or a cloud and drops the
# light falling across a whole picture, which a style may rearrange.
TONE_SIGMA = 8.0


def calc_mean_std(features: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel-wise mean and standard deviation over the spatial axes.

    features: (B, C, H, W). Returns two (B, C) tensors; std = sqrt(var + eps) with the biased variance.
    """
    flat = features.flatten(2).float()  # (B, C, HW)
    mean = flat.mean(dim=2)  # (B, C)
    std = (flat.var(dim=2, unbiased=False) + eps).sqrt()  # (B, C)
    return mean, std


def instance_norm(features: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """(x - mean) / std per sample and channel. features: (B, C, H, W).

    group_norm with one group per channel is instance norm and runs about 3x faster in bf16 on the
    CPU than the hand-written formula.
    """
    return F.group_norm(features, num_groups=features.shape[1], eps=eps)


def adaptive_instance_norm(
    features: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor, eps: float = EPS
) -> torch.Tensor:
    """AdaIN: instance-normalise ``features`` then apply a per-channel ``scale`` and ``shift``.

    features: (B, C, H, W); scale, shift: (B, C) or (B, C, H, W) for spatially varying parameters.
    """
    if scale.dim() == 2:
        scale = scale[:, :, None, None]  # (B, C, 1, 1)
        shift = shift[:, :, None, None]  # (B, C, 1, 1)
    return instance_norm(features, eps) * scale + shift


def upsample2x(features: torch.Tensor, mode: str) -> torch.Tensor:
    """Double the resolution: (B, C, H, W) -> (B, C, 2H, 2W), by "nearest" or "bilinear" interpolation.

    Bilinear uses half-pixel centres (align_corners=False) and clamps at the borders: output pixel 2i is
    0.25 x[i-1] + 0.75 x[i] and 2i + 1 is 0.75 x[i] + 0.25 x[i+1] along each axis.
    """
    if mode == "nearest":
        return F.interpolate(features, scale_factor=2.0, mode="nearest")
    if mode == "bilinear":
        return F.interpolate(features, scale_factor=2.0, mode="bilinear", align_corners=False)
    raise ValueError(f"unknown upsample mode {mode!r}")


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """G = F F^T / (C H W) with F the (C, HW) feature matrix. features: (B, C, H, W) -> (B, C, C)."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w).float()  # (B, C, HW)
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)  # (B, C, C)


def content_loss(output_features: torch.Tensor, content_features: torch.Tensor) -> torch.Tensor:
    """Perceptual content loss: mean of (phi(y) - phi(C))^2 over all elements. Both (B, C, H, W)."""
    return F.mse_loss(output_features.float(), content_features.float())


def gram_style_loss(output_features: list[torch.Tensor], style_grams: list[torch.Tensor]) -> torch.Tensor:
    """Sum over layers of the mean squared difference of Gram matrices.

    output_features: per layer (B, C_l, H_l, W_l); style_grams: per layer (B, C_l, C_l), precomputed
    once per step so that each style image's Gram is not recomputed for every loss term.
    """
    total = output_features[0].new_zeros((), dtype=torch.float32)
    for feats, target in zip(output_features, style_grams, strict=True):
        total = total + F.mse_loss(gram_matrix(feats), target.float())
    return total


def mean_std_loss(
    output_stats: list[tuple[torch.Tensor, torch.Tensor]],
    style_stats: list[tuple[torch.Tensor, torch.Tensor]],
) -> torch.Tensor:
    """AdaIN's statistics loss: sum over layers of MSE(mean) + MSE(std), each (B, C_l)."""
    total = output_stats[0][0].new_zeros((), dtype=torch.float32)
    for (out_mean, out_std), (sty_mean, sty_std) in zip(output_stats, style_stats, strict=True):
        total = total + F.mse_loss(out_mean, sty_mean) + F.mse_loss(out_std, sty_std)
    return total


def color_moments(images: torch.Tensor, eps: float = COLOR_EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel colour statistics: the RGB mean and the Cholesky factor of the RGB covariance.

    images: (B, 3, H, W) in [0, 1]. Returns mean (B, 3) and L (B, 3, 3), lower-triangular with
    L L^T = cov + eps I. L is in the units of a standard deviation, like the mean, so that neither part
    of :func:`color_moment_loss` drowns the other (raw covariances are ~100x smaller than mean offsets).
    """
    # In fp32 even under bf16 autocast: a grey image has a rank-1 covariance, and bf16 rounding of the
    # products is far larger than eps, which made the factorisation fail in training.
    with torch.autocast(device_type=images.device.type, enabled=False):
        flat = images.flatten(2).float()  # (B, 3, HW)
        mean = flat.mean(dim=2)  # (B, 3)
        centred = flat - mean[:, :, None]  # (B, 3, HW)
        cov = centred @ centred.transpose(1, 2) / flat.shape[2]  # (B, 3, 3)
        eye = torch.eye(3, device=images.device, dtype=cov.dtype)
        return mean, torch.linalg.cholesky(cov + eps * eye)  # (B, 3), (B, 3, 3)


def color_moment_loss(
    output_moments: tuple[torch.Tensor, torch.Tensor], style_moments: tuple[torch.Tensor, torch.Tensor]
) -> torch.Tensor:
    """Palette loss: MSE of the RGB means plus MSE of the covariance factors, from :func:`color_moments`.

    Matching the covariance, not only the mean, carries a painting's saturation and colour contrast, which
    a mean alone (or the VGG statistics, dominated by texture) leaves at a greyish average.
    """
    (out_mean, out_factor), (sty_mean, sty_factor) = output_moments, style_moments
    return F.mse_loss(out_mean, sty_mean) + F.mse_loss(out_factor, sty_factor)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) = -0.5 * sum(1 + logvar - mu^2 - exp(logvar)).

    mu, logvar: (B, D). Summed over D, averaged over the batch.
    """
    per_sample = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)  # (B,)
    return per_sample.mean()


def triplet_disentanglement_loss(
    code_y1: torch.Tensor, code_y2: torch.Tensor, code_style: torch.Tensor, margin: float = 0.0
) -> torch.Tensor:
    """max(0, m + ||E(y1) - E(y2)||^2 - ||E(y1) - E(S)||^2), averaged over the batch.

    y1 and y2 are stylizations of two different contents with the same style code; S is the style
    image. All codes (B, D).
    """
    positive = (code_y1 - code_y2).pow(2).sum(dim=1)  # (B,)
    negative = (code_y1 - code_style).pow(2).sum(dim=1)  # (B,)
    return F.relu(margin + positive - negative).mean()


def diversity_hinge(sample_a: torch.Tensor, sample_b: torch.Tensor, target: float) -> torch.Tensor:
    """mean over the batch of max(0, target - mean|a - b|): two samples of one pair should differ by target.

    sample_a, sample_b: (B, 3, H, W) in [0, 1], decoded from two codes drawn from the same posterior.
    With one fixed style target per painting, nothing else rewards the decoder for responding to the
    sampling noise, and it learns to ignore it (samples at variation 1 went from 8 to 4 grey levels apart
    in 1,000 steps). The hinge asks for a difference, not for as much as possible, so it cannot run away.
    """
    difference = (sample_a.float() - sample_b.float()).abs().flatten(1).mean(dim=1)  # (B,)
    return F.relu(target - difference).mean()


def inject_noise(features: torch.Tensor, strength: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """features + strength * noise: one noise map per image, scaled per channel (StyleGAN's noise input).

    features: (B, C, H, W); strength: (C,); noise: (B, 1, H, W), already scaled by the variation.
    """
    strength = strength.to(features.device, features.dtype)[None, :, None, None]  # (1, C, 1, 1)
    return features + strength * noise.to(features.device, features.dtype)  # (B, C, H, W)


def sample_code(mu: torch.Tensor, logvar: torch.Tensor, variation: float, noise: torch.Tensor) -> torch.Tensor:
    """s = mu + variation * sigma * eps, with sigma = exp(logvar / 2). All (B, D); variation=0 is mu."""
    return mu + variation * torch.exp(0.5 * logvar) * noise


def blend_codes(mus: torch.Tensor, logvars: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted blend of K Gaussian style codes.

    mus, logvars: (K, D); weights: (K,), non-negative and not all zero (normalised here).
    Returns mu = sum_i w_i mu_i and the logvar of sigma = sum_i w_i sigma_i, each (1, D).
    """
    if weights.dim() != 1 or weights.shape[0] != mus.shape[0]:
        raise ValueError(f"expected {mus.shape[0]} weights, got shape {tuple(weights.shape)}")
    if bool((weights < 0).any()) or not bool(torch.isfinite(weights).all()):
        raise ValueError("weights must be finite and non-negative")
    total = weights.sum()
    if float(total) <= 0:
        raise ValueError("weights must not all be zero")
    w = (weights / total).to(mus.dtype)[:, None]  # (K, 1)
    mu = (w * mus).sum(dim=0, keepdim=True)  # (1, D)
    sigma = (w * torch.exp(0.5 * logvars)).sum(dim=0, keepdim=True)  # (1, D)
    return mu, 2.0 * torch.log(sigma)


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """RGB -> YIQ per pixel. image: (B, 3, H, W) in [0, 1]."""
    matrix = image.new_tensor([[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]])  # (3, 3)
    return torch.einsum("ij,bjhw->bihw", matrix, image)  # (B, 3, H, W)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """YIQ -> RGB per pixel, the inverse of :func:`rgb_to_yiq`. image: (B, 3, H, W)."""
    matrix = image.new_tensor([[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]])
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(matrix), image)


def transfer_luminance(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Colour preservation by luminance-only transfer (Gatys et al. 2016).

    Keeps the stylized image's luminance Y and the content's chrominance I, Q. Both (B, 3, H, W).
    """
    stylized_yiq = rgb_to_yiq(stylized)  # (B, 3, H, W)
    content_yiq = rgb_to_yiq(content)  # (B, 3, H, W)
    merged = torch.cat([stylized_yiq[:, :1], content_yiq[:, 1:]], dim=1)  # (B, 3, H, W)
    return yiq_to_rgb(merged).clamp(0.0, 1.0)


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """Normalised 1-D Gaussian exp(-x^2 / 2 sigma^2) over x in [-3 sigma, 3 sigma]: (2r+1,), summing to 1."""
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)  # (2r+1,)
    weights = torch.exp(-x.pow(2) / (2 * sigma**2))
    return weights / weights.sum()


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of each channel with :func:`gaussian_kernel`: (B, C, H, W) -> (B, C, H, W), fp32.

    Replicate padding: reflection needs the image to be wider than the kernel's radius, and a replicated
    border keeps a mask that touches the edge at full strength there.
    """
    batch, channels, height, width = images.shape
    flat = images.float().reshape(batch * channels, 1, height, width)  # (BC, 1, H, W)
    kernel = gaussian_kernel(sigma).to(images.device)  # (2r+1,)
    radius = kernel.numel() // 2
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))
    return flat.reshape(batch, channels, height, width)


def region_weights(masks: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Per-pixel weights of K regions and of the photo's own look, at one layer's resolution.

    masks: (K, H, W) in [0, 1] -> (K + 1, height, width): row 0 is the remainder r = 1 - sum_k m_k (the photo
    keeps its own style there), rows 1..K the masks, bilinearly resized with antialiasing (an area average
    when shrinking). Where the masks sum to more than 1 they are divided by their sum, so r = 0 there and the
    rows always sum to 1.
    """
    resized = masks.float()[None]  # (1, K, H, W)
    if tuple(masks.shape[-2:]) != (height, width):
        resized = F.interpolate(resized, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    resized = resized[0].clamp(0.0, 1.0)  # (K, h, w)
    total = resized.sum(dim=0, keepdim=True)  # (1, h, w)
    resized = resized / total.clamp_min(1.0)  # (K, h, w), summing to at most 1
    remainder = (1.0 - resized.sum(dim=0, keepdim=True)).clamp_min(0.0)  # (1, h, w)
    return torch.cat([remainder, resized])  # (K + 1, h, w)


def regional_adain_affine(
    features: torch.Tensor, scales: torch.Tensor, shifts: torch.Tensor, weights: torch.Tensor, eps: float = EPS
) -> tuple[torch.Tensor, torch.Tensor]:
    """AdaIN per region, blended over the image by the region weights, as one per-pixel affine map.

    features: (1, C, H, W); scales, shifts: (R, C), one row per region; weights: (R, H, W) from
    :func:`region_weights`. Each region r has its own weighted statistics mu_r = sum_p w_r x / sum_p w_r and
    sigma_r = sqrt(sum_p w_r (x - mu_r)^2 / sum_p w_r + eps), and the output at pixel p is
    sum_r w_r(p) (scale_r (x(p) - mu_r) / sigma_r + shift_r) = a(p) x(p) + b(p), with
    a = sum_r w_r scale_r / sigma_r and b = sum_r w_r (shift_r - scale_r mu_r / sigma_r). Returns a and b,
    each (1, C, H, W) in ``features``' dtype, channels-last. One full region is plain AdaIN. Normalising each
    region over itself (not over the whole image) keeps one region's style from shifting the statistics,
    hence the look, of another.
    """
    _, channels, height, width = features.shape
    # (HW, C): a view, without a copy, of a channels-last map. The sums are matrix products over the pixels, in
    # the features' dtype (accumulated in fp32 by the CPU's bf16 kernels): a cast of the features to fp32 cost
    # more than all the rest.
    x = features[0].permute(1, 2, 0).reshape(height * width, channels)  # (HW, C)
    w = weights.reshape(weights.shape[0], height * width).float()  # (R, HW)
    w_x = w.to(x.dtype)  # (R, HW)
    mass = w.sum(dim=1, keepdim=True).clamp_min(1e-6)  # (R, 1); an empty region's rows are weighted 0 anyway
    mean = (w_x @ x).float() / mass  # (R, C)
    # The variance around the whole image's mean, so that a large common offset costs no precision.
    centre = (mass.t() @ mean) / mass.sum()  # (1, C)
    # x - 1 centre^T as a rank-1 update: as fast in bf16 as in fp32, where a broadcast subtraction in bf16 is
    # 3x slower on the CPU.
    ones = x.new_ones(height * width, 1)  # (HW, 1)
    centred = torch.addmm(x, ones, -centre.to(x.dtype))  # (HW, C)
    spread = (w_x @ (centred * centred)).float() / mass  # (R, C): E_r[(x - centre)^2]
    var = (spread - (mean - centre) ** 2).clamp_min(0.0)  # (R, C)
    gain = scales.float() / (var + eps).sqrt()  # (R, C)
    offset = shifts.float() - gain * mean  # (R, C)
    a = w_x.t() @ gain.to(x.dtype)  # (HW, C)
    b = w_x.t() @ offset.to(x.dtype)  # (HW, C)
    to_map = lambda t: t.view(1, height, width, channels).permute(0, 3, 1, 2)  # noqa: E731 (HW, C) -> (1, C, H, W)
    return to_map(a), to_map(b)


def local_tone(images: torch.Tensor, sigma: float = TONE_SIGMA) -> torch.Tensor:
    """The luma's local detail, Y minus its Gaussian blur: (B, 3, H, W) -> (B, 1, H, W), in fp32.

    Unlike a gradient magnitude it keeps the sign: a white knob on a dark door is positive, and stays
    positive only where the output keeps it lighter than its surroundings.
    """
    with torch.autocast(device_type=images.device.type, enabled=False):
        luma = rgb_to_yiq(images.float())[:, :1]  # (B, 1, H, W)
        return luma - gaussian_blur(luma, sigma)  # (B, 1, H, W)


def tone_correlation(outputs: torch.Tensor, contents: torch.Tensor, sigma: float = TONE_SIGMA) -> torch.Tensor:
    """Per image, the Pearson correlation of the two :func:`local_tone` maps: (B,), 1 = the same light and
    dark, -1 = a negative. outputs and contents: (B, 3, H, W) of one size."""
    x = local_tone(outputs, sigma).flatten(1)  # (B, HW)
    y = local_tone(contents, sigma).flatten(1)  # (B, HW)
    x = x - x.mean(dim=1, keepdim=True)
    y = y - y.mean(dim=1, keepdim=True)
    return (x * y).sum(dim=1) / (x.norm(dim=1) * y.norm(dim=1)).clamp_min(1e-12)  # (B,)


def tone_loss(outputs: torch.Tensor, contents: torch.Tensor, sigma: float = TONE_SIGMA) -> torch.Tensor:
    """1 - the mean :func:`tone_correlation`: 0 for the photo's own light and dark, 2 for its negative.

    The relu4_1 content loss barely tells an output from its local negative (GPU-trained networks drifted
    into painting negatives while that loss kept falling); this term does, and is scale-free, so a palette
    that darkens or flattens the whole picture costs nothing.
    """
    return 1.0 - tone_correlation(outputs, contents, sigma).mean()
