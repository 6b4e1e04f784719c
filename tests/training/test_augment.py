"""The style colour jitter against its formula: YIQ hue rotation, chroma scale, contrast about the mean."""

from __future__ import annotations

import math

import torch

from training.augment import RGB_TO_YIQ, apply_color_transform, color_matrices, jitter_style_colors


def test_identity_parameters_give_the_identity_matrix() -> None:
    matrices = color_matrices(torch.zeros(2), torch.ones(2))
    torch.testing.assert_close(matrices, torch.eye(3).expand(2, 3, 3), atol=1e-6, rtol=0)


def test_matrix_turns_the_chroma_plane_and_keeps_luma() -> None:
    hue, saturation = torch.tensor([0.7]), torch.tensor([1.3])
    matrix = color_matrices(hue, saturation)[0]
    pixel = torch.tensor([0.8, 0.3, 0.1])
    y, i, q = (RGB_TO_YIQ @ pixel).tolist()
    out_y, out_i, out_q = (RGB_TO_YIQ @ (matrix @ pixel)).tolist()
    c, s = math.cos(0.7), math.sin(0.7)
    assert math.isclose(out_y, y, abs_tol=1e-5)
    assert math.isclose(out_i, 1.3 * (c * i - s * q), abs_tol=1e-5)
    assert math.isclose(out_q, 1.3 * (s * i + c * q), abs_tol=1e-5)


def test_zero_saturation_gives_grey_of_the_same_luma() -> None:
    matrix = color_matrices(torch.tensor([1.0]), torch.tensor([0.0]))[0]
    pixel = torch.tensor([0.9, 0.2, 0.4])
    grey = matrix @ pixel
    luma = float(RGB_TO_YIQ[0] @ pixel)
    torch.testing.assert_close(grey, torch.full((3,), luma), atol=1e-5, rtol=0)


def test_contrast_scales_the_distance_from_the_mean_colour() -> None:
    images = torch.rand(1, 3, 4, 5) * 0.5 + 0.25  # stays inside [0, 1] after the scaling below
    out = apply_color_transform(images, torch.eye(3)[None], torch.tensor([1.5]))
    mean = images.mean(dim=(2, 3), keepdim=True)
    torch.testing.assert_close(out, (images - mean) * 1.5 + mean)


def test_output_is_clamped_to_the_unit_range() -> None:
    images = torch.tensor([0.0, 1.0]).repeat(1, 3, 2, 1)  # (1, 3, 2, 2): extremes
    out = apply_color_transform(images, torch.eye(3)[None], torch.tensor([2.0]))
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_jitter_changes_only_the_chosen_crops_and_repeats_with_the_seed() -> None:
    images = torch.rand(64, 3, 8, 8)
    first, chosen = jitter_style_colors(images, 0.5, torch.Generator().manual_seed(3))
    again, chosen_again = jitter_style_colors(images, 0.5, torch.Generator().manual_seed(3))
    assert torch.equal(first, again) and torch.equal(chosen, chosen_again)
    assert 0 < int(chosen.sum()) < 64
    torch.testing.assert_close(first[~chosen], images[~chosen], atol=0, rtol=0)
    changed = (first[chosen] - images[chosen]).abs().flatten(1).mean(dim=1)  # (b,)
    assert bool((changed > 1e-3).all())


def test_probability_zero_leaves_the_batch_alone() -> None:
    images = torch.rand(4, 3, 8, 8)
    out, chosen = jitter_style_colors(images, 0.0, torch.Generator().manual_seed(0))
    assert out is images and not bool(chosen.any())
