"""The generated training images besides MNIST: things that are not digits and printed digits,
drawn on paper and read back by the device's own preprocessing (numpy + OpenCV, no TensorFlow)."""

import numpy as np
from fontTools.ttLib import TTFont

from converters.augment import printed_copies
from converters.font_digits import _fonts, font_ink
from converters.negatives import _line_like, negatives


def test_negatives_are_reproducible_whatever_the_chunks():
    first = negatives(60, seed=5, chunk=25, show_progress=False)
    again = negatives(60, seed=5, chunk=25, show_progress=False)
    other = negatives(60, seed=6, chunk=25, show_progress=False)
    assert first.shape == (60, 28, 28) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_negatives_are_marks_in_mnist_layout_and_never_a_lone_stroke():
    images = negatives(80, seed=1, show_progress=False)
    assert all(image.max() > 128 for image in images)  # something was found on the paper
    assert not any(_line_like(image) for image in images)
    border = np.concatenate([images[:, :2].ravel(), images[:, -2:].ravel()])
    assert np.mean(border > 64) < 0.02  # fitted into the middle like MNIST, not cut off


def test_a_lone_stroke_is_told_from_a_mark():
    stroke, cross = np.zeros((28, 28), np.uint8), np.zeros((28, 28), np.uint8)
    stroke[4:24, 13:15] = 255
    cross[4:24, 13:15] = cross[13:15, 4:24] = 255
    assert _line_like(stroke) and not _line_like(cross)


def test_printed_digits_cycle_through_the_labels():
    images, labels = printed_copies(30, seed=2, chunk=12, show_progress=False)
    assert images.shape == (30, 28, 28)
    assert labels.tolist() == [i % 10 for i in range(30)]
    assert all(image.max() > 128 for image in images)


def test_every_training_font_draws_all_ten_digits():
    for font in _fonts():
        mapped = TTFont(font.path).getBestCmap()  # a digit missing from it would be drawn as a box
        assert all(ord(str(d)) in mapped for d in range(10)), font.path
        inks = [np.asarray(font.getmask(str(d))) for d in range(10)]
        assert all(ink.size and ink.max() > 128 for ink in inks), font.path
        assert len({ink.tobytes() for ink in inks}) == 10, font.path


def test_a_font_digit_is_a_soft_ink_map_cropped_to_its_ink():
    ink = font_ink("4", np.random.default_rng(0))
    assert ink.dtype == np.float32 and ink.max() > 0.9 and ink.min() == 0.0
    assert ink[:4].max() < 0.2 and ink[-4:].max() < 0.2  # the 8 px border, blurred
