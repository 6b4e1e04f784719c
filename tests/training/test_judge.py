"""The independent style judge: its formula, its weights, and that it tells a painting's style from a photo's."""

from __future__ import annotations

import torch

from model import functional as VF
from model.inference import image_to_tensor
from tests.conftest import DATA
from training.evaluate import load_image
from training.judge import judge_statistics, judge_style_distance, load_judge, relative_statistics_distance


def test_relative_statistics_distance_against_its_formula() -> None:
    generator = torch.Generator().manual_seed(0)
    out = [(torch.randn(2, 5, generator=generator), torch.rand(2, 5, generator=generator)) for _ in range(3)]
    sty = [(torch.randn(2, 5, generator=generator), torch.rand(2, 5, generator=generator)) for _ in range(3)]
    expected = torch.zeros(2)
    for (om, os_), (sm, ss) in zip(out, sty, strict=True):
        for b in range(2):
            num = sum((om[b, c] - sm[b, c]) ** 2 + (os_[b, c] - ss[b, c]) ** 2 for c in range(5))
            den = sum(sm[b, c] ** 2 + ss[b, c] ** 2 for c in range(5))
            expected[b] += num / den / 3
    torch.testing.assert_close(relative_statistics_distance(out, sty), expected)
    torch.testing.assert_close(relative_statistics_distance(sty, sty), torch.zeros(2))


def test_the_shipped_weights_are_imagenet_weights_not_random() -> None:
    judge = load_judge()
    cat = image_to_tensor(load_image(DATA / "train" / "content" / "skimage_chelsea.jpg", 224))
    logits = judge.network((cat - 127 / 255) / (128 / 255))  # (1, 1000)
    # ImageNet's cat classes (281-285): a random network would not put them on top.
    assert int(logits.argmax()) in range(281, 286)


def test_the_judge_finds_a_painting_closer_to_itself_than_to_a_photo() -> None:
    judge = load_judge()
    painting = image_to_tensor(load_image(DATA / "eval" / "style" / "vangogh_night_cafe.jpg", 192))
    photo = image_to_tensor(load_image(DATA / "eval" / "content" / "kodak_kodim02.jpg", 192))
    style_stats = judge_statistics(judge, painting)
    crop = painting[:, :, 8:136, 8:136]  # another view of the same painting
    assert judge_style_distance(judge, crop, style_stats) < judge_style_distance(judge, photo, style_stats)
    assert judge_style_distance(judge, painting, style_stats) == 0.0
    assert all(VF.calc_mean_std(f)[0].shape[1] == c for f, c in zip(judge(painting), (32, 24, 40, 80), strict=True))
