"""Each pure function of model.functional against its formula, on small hand-made tensors."""

from __future__ import annotations

import math

import pytest
import torch

from model import functional as VF


def test_calc_mean_std_matches_formula() -> None:
    x = torch.tensor([[[[1.0, 3.0], [5.0, 7.0]]]])  # (1, 1, 2, 2): mean 4, biased var 5
    mean, std = VF.calc_mean_std(x, eps=0.0)
    assert mean.shape == (1, 1)
    assert mean.item() == pytest.approx(4.0)
    assert std.item() == pytest.approx(math.sqrt(5.0))


def test_adaptive_instance_norm_sets_target_statistics() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8) * 4 + 2
    scale = torch.tensor([[1.0, 2.0, 0.5], [3.0, 1.0, 1.0]])
    shift = torch.tensor([[0.0, -1.0, 5.0], [1.0, 2.0, 3.0]])
    y = VF.adaptive_instance_norm(x, scale, shift, eps=1e-8)
    mean, std = VF.calc_mean_std(y, eps=0.0)
    torch.testing.assert_close(mean, shift, atol=1e-4, rtol=0)
    torch.testing.assert_close(std, scale, atol=1e-3, rtol=1e-3)


def test_instance_norm_equals_formula() -> None:
    torch.manual_seed(1)
    x = torch.randn(2, 4, 5, 7)
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
    torch.testing.assert_close(VF.instance_norm(x), (x - mean) / (var + VF.EPS).sqrt(), atol=1e-5, rtol=1e-5)


def test_gram_matrix_by_hand() -> None:
    # F (C=2, HW=2) = [[1, 2], [3, 4]]: F F^T = [[5, 11], [11, 25]], divided by C*H*W = 4.
    x = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # (1, 2, 1, 2)
    expected = torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4.0
    torch.testing.assert_close(VF.gram_matrix(x), expected)


def test_content_loss_is_mean_squared_difference() -> None:
    a = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    b = torch.tensor([[[[1.0, 0.0], [3.0, 8.0]]]])
    assert VF.content_loss(a, b).item() == pytest.approx((0 + 4 + 0 + 16) / 4)


def test_gram_style_loss_sums_layers() -> None:
    torch.manual_seed(2)
    layers = [torch.randn(1, 2, 3, 3), torch.randn(1, 4, 2, 2)]
    targets = [torch.randn(1, 2, 2), torch.randn(1, 4, 4)]
    expected = sum(((VF.gram_matrix(f) - t) ** 2).mean() for f, t in zip(layers, targets, strict=True))
    assert VF.gram_style_loss(layers, targets).item() == pytest.approx(float(expected))


def test_mean_std_loss_by_hand() -> None:
    out = [(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 1.0]]))]
    sty = [(torch.tensor([[0.0, 2.0]]), torch.tensor([[3.0, 1.0]]))]
    # MSE(mean) = (1 + 0) / 2, MSE(std) = (4 + 0) / 2.
    assert VF.mean_std_loss(out, sty).item() == pytest.approx(0.5 + 2.0)


def test_color_moments_by_hand() -> None:
    # Red channel alternates 0/1 (mean 0.5, variance 0.25), green is its mirror, blue is constant 0.2.
    red = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    image = torch.stack([red, 1.0 - red, torch.full((2, 2), 0.2)])[None]  # (1, 3, 2, 2)
    mean, factor = VF.color_moments(image)  # COLOR_EPS on the diagonal keeps this singular covariance factorable
    assert mean[0].tolist() == pytest.approx([0.5, 0.5, 0.2])
    cov = factor[0] @ factor[0].T
    expected = torch.tensor([[0.25, -0.25, 0.0], [-0.25, 0.25, 0.0], [0.0, 0.0, 0.0]])
    assert torch.allclose(cov, expected + VF.COLOR_EPS * torch.eye(3), atol=1e-6)
    assert torch.equal(factor[0], factor[0].tril())  # lower-triangular


def test_color_moment_loss_by_hand() -> None:
    eye = torch.eye(3)[None]
    out = (torch.tensor([[0.5, 0.5, 0.5]]), 0.1 * eye)
    sty = (torch.tensor([[0.2, 0.5, 0.8]]), 0.3 * eye)
    # MSE(mean) = (0.09 + 0 + 0.09) / 3; MSE(factor) = 3 * 0.2^2 / 9.
    assert VF.color_moment_loss(out, sty).item() == pytest.approx(0.06 + 0.04 / 3)
    assert VF.color_moment_loss(out, out).item() == 0.0


def test_color_moments_of_a_grey_image_factor_under_bf16_autocast() -> None:
    grey = torch.rand(2, 1, 16, 16).expand(2, 3, 16, 16)  # R = G = B: a rank-1 covariance
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        mean, factor = VF.color_moments(grey)
    assert factor.dtype == torch.float32 and torch.isfinite(factor).all()


def test_color_moments_of_a_flat_image_have_a_finite_gradient() -> None:
    # A single-colour output (no variance) must not give NaN gradients through the Cholesky factor.
    image = torch.full((1, 3, 4, 4), 0.5, requires_grad=True)
    target = VF.color_moments(torch.rand(1, 3, 4, 4))
    VF.color_moment_loss(VF.color_moments(image), target).backward()
    assert image.grad is not None and torch.isfinite(image.grad).all()


def test_diversity_hinge_by_hand() -> None:
    a = torch.zeros(2, 3, 2, 2)
    b = torch.stack([torch.full((3, 2, 2), 0.01), torch.full((3, 2, 2), 0.5)])
    # Sample 0 differs by 0.01 (hinge 0.03 - 0.01 = 0.02), sample 1 by 0.5 (past the target: 0).
    assert VF.diversity_hinge(a, b, 0.03).item() == pytest.approx(0.01)
    assert VF.diversity_hinge(a, a, 0.03).item() == pytest.approx(0.03)


def test_kl_divergence_formula() -> None:
    assert VF.kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4)).item() == pytest.approx(0.0)
    mu = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)]])
    # -0.5 * [(1 + 0 - 1 - 1) + (1 + ln 4 - 0 - 4)] = -0.5 * (-1 - 3 + ln 4)
    expected = -0.5 * (-1.0 + (-3.0 + math.log(4.0)))
    assert VF.kl_divergence(mu, logvar).item() == pytest.approx(expected)


def test_triplet_loss_formula() -> None:
    y1 = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    y2 = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # positive distances 1 and 0
    style = torch.tensor([[0.0, 2.0], [1.0, 1.5]])  # negative distances 4 and 0.25
    # max(0, m + 1 - 4) and max(0, m + 0 - 0.25) with m = 0.5 -> 0 and 0.25
    assert VF.triplet_disentanglement_loss(y1, y2, style, margin=0.5).item() == pytest.approx(0.125)
    assert VF.triplet_disentanglement_loss(y1, y2, style, margin=0.0).item() == pytest.approx(0.0)


def test_sample_code_formula_and_zero_variation() -> None:
    mu = torch.tensor([[1.0, -1.0]])
    logvar = torch.tensor([[math.log(4.0), 0.0]])
    noise = torch.tensor([[1.0, 2.0]])
    torch.testing.assert_close(VF.sample_code(mu, logvar, 0.0, noise), mu)
    torch.testing.assert_close(VF.sample_code(mu, logvar, 0.5, noise), torch.tensor([[2.0, 0.0]]))


def test_blend_codes_normalises_weights() -> None:
    mus = torch.tensor([[0.0, 2.0], [4.0, 6.0]])
    logvars = torch.log(torch.tensor([[1.0, 1.0], [9.0, 9.0]]))  # sigmas 1 and 3
    mu, logvar = VF.blend_codes(mus, logvars, torch.tensor([1.0, 3.0]))
    torch.testing.assert_close(mu, torch.tensor([[3.0, 5.0]]))
    torch.testing.assert_close(torch.exp(0.5 * logvar), torch.tensor([[2.5, 2.5]]))
    first, _ = VF.blend_codes(mus, logvars, torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(first, mus[:1])


@pytest.mark.parametrize(
    "weights", [[1.0], [1.0, 1.0, 1.0], [-1.0, 2.0], [0.0, 0.0], [float("nan"), 1.0], [float("inf"), 1.0]]
)
def test_blend_codes_refuses_bad_weights(weights: list[float]) -> None:
    with pytest.raises(ValueError):
        VF.blend_codes(torch.zeros(2, 3), torch.zeros(2, 3), torch.tensor(weights))


def test_yiq_round_trip() -> None:
    torch.manual_seed(3)
    image = torch.rand(2, 3, 4, 5)
    torch.testing.assert_close(VF.yiq_to_rgb(VF.rgb_to_yiq(image)), image, atol=1e-5, rtol=1e-5)
    # Y of pure white is 1, its chroma 0.
    white = VF.rgb_to_yiq(torch.ones(1, 3, 1, 1)).flatten()
    torch.testing.assert_close(white, torch.tensor([1.0, 0.0, 0.0]), atol=1e-4, rtol=0)


def test_transfer_luminance_keeps_content_chroma() -> None:
    torch.manual_seed(4)
    stylized = torch.rand(1, 3, 6, 6) * 0.5 + 0.25
    content = torch.rand(1, 3, 6, 6) * 0.5 + 0.25
    merged = VF.transfer_luminance(stylized, content)
    merged_yiq, stylized_yiq, content_yiq = (VF.rgb_to_yiq(t) for t in (merged, stylized, content))
    unclipped = ((merged > 0) & (merged < 1)).all(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    assert unclipped.float().mean() > 0.5
    torch.testing.assert_close(
        merged_yiq[:, :1][unclipped[:, :1]], stylized_yiq[:, :1][unclipped[:, :1]], atol=1e-4, rtol=0
    )
    torch.testing.assert_close(
        merged_yiq[:, 1:][unclipped[:, 1:]], content_yiq[:, 1:][unclipped[:, 1:]], atol=1e-4, rtol=0
    )


def test_inject_noise_by_hand() -> None:
    features = torch.zeros(2, 3, 1, 2)
    strength = torch.tensor([0.0, 1.0, -2.0])
    noise = torch.tensor([[[[1.0, 2.0]]], [[[3.0, -1.0]]]])  # (2, 1, 1, 2)
    got = VF.inject_noise(features + 1.0, strength, noise)
    # channel c of image b at (0, j): 1 + strength[c] * noise[b, 0, 0, j]
    expected = torch.tensor(
        [
            [[[1.0, 1.0]], [[2.0, 3.0]], [[-1.0, -3.0]]],
            [[[1.0, 1.0]], [[4.0, 0.0]], [[-5.0, 3.0]]],
        ]
    )
    torch.testing.assert_close(got, expected)


def test_gaussian_kernel_against_its_formula() -> None:
    kernel = VF.gaussian_kernel(1.0)  # radius 3
    expected = torch.tensor([math.exp(-(x**2) / 2) for x in range(-3, 4)])
    torch.testing.assert_close(kernel, expected / expected.sum())


def test_local_tone_is_luma_minus_its_blur() -> None:
    flat = torch.full((1, 3, 9, 9), 0.4)
    torch.testing.assert_close(VF.local_tone(flat, sigma=1.0), torch.zeros(1, 1, 9, 9))
    spot = flat.clone()
    spot[..., 4, 4] = 1.0  # a white dot: luma +0.6 at one pixel
    kernel = VF.gaussian_kernel(1.0)
    centre = float(kernel[3] ** 2)  # the 2-D kernel's weight on the dot itself
    tone = VF.local_tone(spot, sigma=1.0)[0, 0]
    assert float(tone[4, 4]) == pytest.approx(0.6 * (1 - centre), abs=1e-5)
    assert float(tone[0, 0]) == pytest.approx(0.0, abs=1e-6)


def test_tone_correlation_and_loss_against_their_formulas() -> None:
    torch.manual_seed(0)
    photos = torch.rand(3, 3, 20, 20)
    x, y = VF.local_tone(photos[:1]).flatten(), VF.local_tone(photos[1:2]).flatten()
    x, y = x - x.mean(), y - y.mean()
    by_hand = float((x @ y) / (x.norm() * y.norm()))  # Pearson of the two local-tone maps
    mixed = torch.cat([photos[:1], 1.0 - photos[1:2], 0.5 * photos[2:] + 0.25])  # same, negative, affine
    contents = torch.cat([photos[1:2], photos[1:2], photos[2:]])
    correlation = VF.tone_correlation(mixed, contents)  # (3,)
    torch.testing.assert_close(correlation, torch.tensor([by_hand, -1.0, 1.0]), atol=1e-5, rtol=0)
    assert float(VF.tone_loss(photos, photos)) == pytest.approx(0.0, abs=1e-6)
    assert float(VF.tone_loss(1.0 - photos, photos)) == pytest.approx(2.0, abs=1e-6)
    assert float(VF.tone_loss(mixed, contents)) == pytest.approx(1.0 - float(correlation.mean()), abs=1e-6)


def test_tone_loss_pulls_a_negative_back_towards_the_photo() -> None:
    torch.manual_seed(0)
    photo = torch.rand(1, 3, 16, 16)
    output = (1.0 - photo).requires_grad_()
    VF.tone_loss(output, photo).backward()
    assert output.grad is not None
    stepped = output.detach() - 0.05 * output.grad.sign()
    assert float(VF.tone_loss(stepped, photo)) < 2.0 - 1e-3


def test_upsample2x_bilinear_against_its_formula() -> None:
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    got = VF.upsample2x(x, "bilinear")  # (2, 3, 10, 8)

    def along(t: torch.Tensor, dim: int) -> torch.Tensor:
        # Output 2i = 0.25 x[i-1] + 0.75 x[i], 2i+1 = 0.75 x[i] + 0.25 x[i+1], borders clamped.
        n = t.shape[dim]
        prev = t.index_select(dim, torch.tensor([max(i - 1, 0) for i in range(n)]))
        nxt = t.index_select(dim, torch.tensor([min(i + 1, n - 1) for i in range(n)]))
        even, odd = 0.25 * prev + 0.75 * t, 0.75 * t + 0.25 * nxt
        return torch.stack([even, odd], dim=dim + 1).flatten(dim, dim + 1)

    torch.testing.assert_close(got, along(along(x, 2), 3), rtol=0, atol=1e-12)


def test_upsample2x_nearest_repeats_each_pixel() -> None:
    x = torch.randn(1, 2, 3, 4)
    expected = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    torch.testing.assert_close(VF.upsample2x(x, "nearest"), expected, rtol=0, atol=0)
    with pytest.raises(ValueError, match="unknown upsample mode"):
        VF.upsample2x(x, "bicubic")


def test_gaussian_blur_is_the_separable_kernel_with_replicated_borders() -> None:
    torch.manual_seed(3)
    x = torch.rand(2, 3, 7, 9)
    kernel = VF.gaussian_kernel(1.0)  # radius 3
    padded = torch.nn.functional.pad(x.reshape(6, 1, 7, 9), (3, 3, 3, 3), mode="replicate")
    expected = torch.nn.functional.conv2d(padded, (kernel[:, None] * kernel[None, :])[None, None])  # 2-D kernel
    torch.testing.assert_close(VF.gaussian_blur(x, 1.0), expected.reshape(2, 3, 7, 9), atol=1e-6, rtol=1e-6)


def test_region_weights_put_the_remainder_first_and_sum_to_one() -> None:
    masks = torch.tensor([[[1.0, 0.5], [0.0, 0.8]], [[0.0, 0.2], [0.0, 0.8]]])  # (2, 2, 2)
    weights = VF.region_weights(masks, 2, 2)
    assert weights.shape == (3, 2, 2)
    # (0, 0): all the first; (0, 1): 0.5 + 0.2, remainder 0.3; (1, 0): all the photo; (1, 1): 1.6 -> halves.
    torch.testing.assert_close(weights[0], torch.tensor([[0.0, 0.3], [1.0, 0.0]]))
    torch.testing.assert_close(weights[1], torch.tensor([[1.0, 0.5], [0.0, 0.5]]))
    torch.testing.assert_close(weights[2], torch.tensor([[0.0, 0.2], [0.0, 0.5]]))
    # Shrunk with antialiasing (a local average, not a sample) and the remainder follows the resized mask.
    block = torch.zeros(1, 8, 8)
    block[:, :, :3] = 1.0
    small = VF.region_weights(block, 4, 4)
    resized = torch.nn.functional.interpolate(block[None], size=(4, 4), mode="bilinear", antialias=True)[0, 0]
    torch.testing.assert_close(small[1], resized)
    torch.testing.assert_close(small[0], 1.0 - resized)
    assert 0.0 < float(small[1, 0, 1]) < 1.0  # the border column is partly covered


def test_regional_adain_against_its_formula() -> None:
    torch.manual_seed(4)
    x = torch.randn(1, 3, 6, 5) * 2 + 1
    scales, shifts = torch.rand(2, 3) + 0.5, torch.randn(2, 3)
    weights = torch.rand(2, 6, 5)
    weights = weights / weights.sum(dim=0, keepdim=True)  # (2, 6, 5)
    a, b = VF.regional_adain_affine(x, scales, shifts, weights, eps=1e-5)
    expected = torch.zeros(3, 6, 5)
    for r in range(2):
        w = weights[r]
        mean = (w * x[0]).sum(dim=(1, 2)) / w.sum()  # (3,)
        var = (w * (x[0] - mean[:, None, None]) ** 2).sum(dim=(1, 2)) / w.sum()
        normalised = (x[0] - mean[:, None, None]) / (var[:, None, None] + 1e-5).sqrt()
        expected += w * (scales[r, :, None, None] * normalised + shifts[r, :, None, None])
    torch.testing.assert_close(a * x + b, expected[None], atol=1e-5, rtol=1e-5)


def test_one_full_region_is_plain_adain_and_an_empty_region_is_ignored() -> None:
    torch.manual_seed(5)
    x = torch.randn(1, 4, 5, 6) * 3 - 2
    scales, shifts = torch.rand(2, 4) + 0.5, torch.randn(2, 4)
    weights = torch.stack([torch.zeros(5, 6), torch.ones(5, 6)])  # region 0 is empty
    a, b = VF.regional_adain_affine(x, scales, shifts, weights)
    plain = VF.adaptive_instance_norm(x, scales[1:], shifts[1:])
    assert torch.isfinite(a).all() and torch.isfinite(b).all()
    torch.testing.assert_close(a * x + b, plain, atol=1e-5, rtol=1e-5)
