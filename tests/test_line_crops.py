"""Training images cut from numbers (converters.line_crops): the device's own segmentation on
camera-like numbers of MNIST digits, each candidate labelled by the ink it holds."""

import numpy as np

from converters.line_crops import PAIRS, _labelled, line_crops
from edge_lstm.data import DIGITS, NOT_A_DIGIT, load_test_split

TEST = load_test_split()


def test_line_crops_are_reproducible():
    first = line_crops(TEST.x, TEST.y, 90, seed=5, chunk=45, show_progress=False)
    again = line_crops(TEST.x, TEST.y, 90, seed=5, chunk=45, show_progress=False)
    other = line_crops(TEST.x, TEST.y, 90, seed=6, chunk=45, show_progress=False)
    assert first[0].shape == (90, 28, 28) and first[0].dtype == np.uint8 and first[1].shape == (90,)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_candidates_are_labelled_by_the_ink_they_hold(classifier):
    """Numbers of 3s and 7s only (MNIST test digits: the shipped model trained on crops of the
    training digits): every single-digit crop is labelled 3 or 7 and the model reads it so; pairs
    are at most PAIRS per digit, and the model calls most of them "not a digit"."""
    pool = np.isin(TEST.y, (3, 7))
    images, labels = line_crops(TEST.x[pool], TEST.y[pool], 200, seed=1, chunk=100, show_progress=False)
    digits = labels < DIGITS
    assert set(labels[digits]) == {3, 7} and set(labels[~digits]) == {NOT_A_DIGIT}
    assert 0 < (~digits).sum() <= PAIRS * digits.sum()
    read = classifier.predict(images.astype(np.float32) / 255).argmax(1)
    assert np.mean(read[digits] == labels[digits]) > 0.9
    assert np.mean(read[~digits] == NOT_A_DIGIT) > 0.8


def sides_of_0s(pool: np.ndarray, seed: int) -> list[np.ndarray]:
    """The rows ``_labelled`` adds for numbers of 3 digits of ``pool`` when it keeps every side of a 0."""
    added = []
    for k in range(12):
        rng = np.random.default_rng((seed, k))
        pick = rng.choice(pool, 3, replace=False)
        every, none = (_labelled(TEST.x[pick], TEST.y[pick], np.random.default_rng((seed, k)), sides)
                       for sides in (99.0, 0.0))
        kept = {row.tobytes() for row in none}
        added += [row for row in every if row.tobytes() not in kept]
    return added


def test_the_sides_of_a_0_are_not_a_digit_and_no_other_piece_is_taught(classifier):
    """A cut through a 0 leaves a "C" and a ")" (the model read them 6 and 2): they are labelled
    "not a digit", and the shipped model reads most of them so (the model before them: 10%); pieces
    of a 3 or a 7 are not taught."""
    sides = sides_of_0s(np.nonzero(TEST.y == 0)[0], seed=2)
    assert len(sides) >= 10 and {row[-1] for row in sides} == {NOT_A_DIGIT}
    images = np.stack([row[:-1].reshape(28, 28) for row in sides]).astype(np.float32) / 255
    assert np.mean(classifier.predict(images).argmax(1) == NOT_A_DIGIT) > 0.5
    assert sides_of_0s(np.nonzero(np.isin(TEST.y, (3, 7)))[0], seed=2) == []
