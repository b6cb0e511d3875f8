"""What `to_mnist` does, step by step (the recipe in edge_lstm/preprocess.py's docstring).

Digits are drawn with OpenCV lines and ellipses on small pages (putText is not used: its stroke
width differs between OpenCV versions).  The last tests hold for any input at all.
"""

import cv2
import numpy as np
import pytest

from edge_lstm import preprocess
from edge_lstm.data import load_test_split
from edge_lstm.preprocess import Digit, to_mnist

MNIST = load_test_split().x[:300]

STROKES = {  # polylines in a unit box; "0" is an ellipse
    "1": [[(0.5, 0.0), (0.5, 1.0)]],
    "2": [[(0.0, 0.2), (0.3, 0.0), (0.8, 0.0), (1.0, 0.25), (0.0, 1.0), (1.0, 1.0)]],
    "4": [[(0.7, 1.0), (0.7, 0.0), (0.0, 0.65), (1.0, 0.65)]],
    "7": [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)]],
}


def draw(img, digit="7", box=(130, 70, 60, 100), ink=40, pen=8):
    """Draw ``digit`` into ``box`` = (x, y, w, h) of ``img`` (in place) and return ``img``."""
    x, y, w, h = box
    if digit == "0":
        cv2.ellipse(img, (x + w // 2, y + h // 2), (w // 2, h // 2), 0, 0, 360, ink, pen, cv2.LINE_AA)
        return img
    for line in STROKES[digit]:
        points = np.array([(x + px * w, y + py * h) for px, py in line], np.int32)
        cv2.polylines(img, [points], False, ink, pen, cv2.LINE_AA)
    return img


def page(digit="7", size=(240, 320), paper=200, ink=40, pen=8, box=(130, 70, 60, 100)):
    return draw(np.full(size, paper, np.uint8), digit, box, ink, pen)


def centre_of_mass(image):
    index = np.arange(image.shape[0])
    mass = image.sum()
    return (image.sum(1) * index).sum() / mass, (image.sum(0) * index).sum() / mass


def overlap(a, b):
    """Intersection over union of two (x, y, w, h) boxes."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


# --- 1. working copy ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape, expected", [((480, 640, 3), (120, 160)), ((1500, 20), (160, 8)),
                                             ((100, 120, 4), (100, 120)), ((720, 1280), (90, 160))])
def test_working_copy_is_grey_with_a_long_side_of_at_most_160(shape, expected):
    work = preprocess._working_copy(np.full(shape, 180, np.uint8))
    assert work.shape == expected and work.dtype == np.uint8
    assert (work == 180).all()  # area averaging keeps the brightness


def test_tiny_inputs_are_upscaled_by_a_whole_factor_first():
    big, factor = preprocess._enlarge_tiny(np.zeros((28, 20), np.uint8))
    assert factor == 4 and big.shape == (112, 80)
    frame = np.zeros((96, 50), np.uint8)
    assert preprocess._enlarge_tiny(frame) == (frame, 1)


# --- 2. paper and polarity ----------------------------------------------------------------------

@pytest.mark.parametrize("paper, ink, light", [(200, 40, False), (40, 200, True),
                                               (120, 50, False), (120, 210, True)])
def test_polarity_finds_dark_ink_on_light_paper_and_light_ink_on_dark(paper, ink, light):
    work = preprocess._working_copy(page(paper=paper, ink=ink))
    assert preprocess._paper_and_ink(work)[2] is light


def test_paper_is_the_page_with_the_ink_taken_out():
    work = preprocess._working_copy(page(paper=200, ink=40))
    paper, ink, _ = preprocess._paper_and_ink(work)
    stroke = work < 120
    assert np.abs(paper[stroke].astype(int) - 200).max() <= 10
    assert np.median(ink[stroke]) > 100 and np.median(ink[~stroke]) < 5


def vignetted(img, strength=0.45):
    """The page under light that falls off toward its corners, as a cheap webcam's lens darkens them."""
    height, width = img.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = (xx / width - 0.5) ** 2 + (yy / height - 0.5) ** 2
    return np.clip(img * (1 - strength * r2 / 0.5), 0, 255).astype(np.uint8)


def test_the_paper_at_a_darkened_edge_is_not_taken_for_ink():
    work = preprocess._working_copy(vignetted(np.full((480, 640), 220, np.uint8)))
    paper, ink, _ = preprocess._paper_and_ink(work)
    relative = cv2.divide(ink, paper, scale=255)
    assert relative.max() < preprocess.MIN_THRESHOLD  # no ink anywhere...
    assert (relative > preprocess.MIN_THRESHOLD // 2).mean() < 0.001  # ...nor a rim of faint ink


@pytest.mark.parametrize("corner", [(12, 12), (640 - 12 - 50, 480 - 12 - 80)])
def test_a_digit_near_a_darkened_corner_is_found(corner):
    frame = vignetted(page("2", size=(480, 640), paper=220, pen=4, box=(*corner, 50, 80)))
    assert overlap(to_mnist(frame).box, (*corner, 50, 80)) > 0.7


# --- 3. relative ink and threshold --------------------------------------------------------------

def lit(img, left=1.0, right=0.3):
    """The page under light that falls off from ``left`` to ``right`` across it."""
    light = np.linspace(left, right, img.shape[1], dtype=np.float32)[None, :]
    return np.clip(img * light, 0, 255).astype(np.uint8)


def test_uneven_light_is_cancelled_by_the_relative_ink():
    even = page("2", box=(200, 60, 70, 110), pen=6)
    uneven = lit(even)
    # a global threshold takes the dim half of the page for ink...
    _, otsu = cv2.threshold(uneven, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    assert otsu[:, -40:].mean() > 200
    # ...while to_mnist finds the digit there and reads it as it reads it under even light
    a, b = to_mnist(even), to_mnist(uneven)
    assert overlap(b.box, (200, 60, 70, 110)) > 0.7
    assert np.abs(a.image - b.image).mean() < 0.03


def test_threshold_sits_above_the_noise_floor_and_below_the_ink():
    rng = np.random.default_rng(0)
    relative = np.clip(rng.normal(12, 4, (120, 160)), 0, 255).astype(np.uint8)
    draw(relative, "4", (60, 30, 40, 60), ink=200, pen=3)
    threshold = preprocess._threshold(relative)
    assert (relative[relative < 100] > threshold).mean() < 0.001
    assert 0.35 * 200 <= threshold < 200
    assert preprocess._threshold(np.zeros((50, 50), np.uint8)) == preprocess.MIN_THRESHOLD


# --- 4. components ------------------------------------------------------------------------------

def relative_page(digit="7", box=(60, 30, 36, 60)):
    """A relative-ink map (255 = black ink) with one digit drawn at 200."""
    return draw(np.zeros((120, 160), np.uint8), digit, box, ink=200, pen=3)


def test_specks_and_blobs_touching_the_border_are_not_chosen():
    relative = relative_page()
    relative[0:120, 0:20] = 250  # a shadow along the left edge, bigger than the digit
    for x, y in [(30, 10), (130, 100), (140, 20), (110, 110)]:
        relative[y:y + 2, x:x + 2] = 250  # specks
    digit = preprocess._digit_mask(relative, 60)
    assert cv2.boundingRect(digit.view(np.uint8)) == cv2.boundingRect((relative_page() > 30).view(np.uint8))
    assert not digit[:, :20].any() and not digit[10, 30] and not digit[100, 130]


def test_the_pieces_of_a_broken_digit_are_merged_but_not_a_neighbour():
    relative = relative_page("7")
    relative[60:64, :] = 0  # break the stem of the 7
    draw(relative, "1", (130, 50, 10, 40), ink=200, pen=3)  # a neighbouring mark
    assert cv2.connectedComponents((relative > 60).view(np.uint8))[0] == 4  # background + 3
    digit = preprocess._digit_mask(relative, 60)
    x, y, w, h = cv2.boundingRect(digit.view(np.uint8))
    assert y < 32 and y + h > 88  # both pieces of the 7
    assert x + w < 120  # not the 1


def test_a_tail_broken_off_below_the_loop_is_merged_even_when_longer_than_the_loop():
    relative = np.zeros((120, 160), np.uint8)
    cv2.ellipse(relative, (70, 30), (16, 14), 0, 0, 360, 200, 3)  # a 9's loop...
    cv2.line(relative, (86, 48), (84, 100), 200, 3)  # ...and its tail, a thin pen's gap between them
    digit = preprocess._digit_mask(relative, 60)
    x, y, w, h = cv2.boundingRect(digit.view(np.uint8))
    assert y < 18 and y + h > 98


def test_hysteresis_grows_the_digit_into_its_faint_ink_only():
    relative = np.zeros((120, 160), np.uint8)
    cv2.line(relative, (72, 88), (72, 110), 45, 3)  # a faint tail from the 7's foot
    cv2.line(relative, (30, 88), (30, 110), 45, 3)  # a faint mark apart from it
    draw(relative, "7", (60, 30, 36, 60), ink=200, pen=3)
    digit = preprocess._digit_mask(relative, 60)
    assert digit[105, 72] and not digit[100, 30]


@pytest.mark.parametrize("lines", [3, 2])
def test_hysteresis_does_not_grow_into_a_ruled_papers_faint_lines(lines):
    relative = np.zeros((120, 160), np.uint8)
    for y in (44, 64, 84)[:lines]:
        cv2.line(relative, (0, y), (159, y + 3), 45, 1)  # faint, slightly sloped, crossing the 7
    draw(relative, "7", (60, 30, 36, 60), ink=200, pen=3)
    digit = preprocess._digit_mask(relative, 60)
    x, _, w, _ = cv2.boundingRect(digit.view(np.uint8))
    if lines == 3:  # ruled paper: the 7 alone
        assert x >= 55 and x + w <= 100 and preprocess._rules(relative, 60)[44, 10]
    else:  # one or two long strokes may be a digit's own: not taken for a ruling
        assert w == 160 and not preprocess._rules(relative, 60).any()


def test_blank_paper_and_specks_only_are_no_digit():
    rng = np.random.default_rng(1)
    assert preprocess._locate(np.full((120, 160), 200, np.uint8)) is None
    noisy = (200 + rng.integers(-3, 4, (120, 160))).astype(np.uint8)
    assert preprocess._locate(noisy) is None
    noisy[50:52, 70:72] = 40
    assert preprocess._locate(noisy) is None


# --- 5. grey-level ink in the box ---------------------------------------------------------------

def test_ink_levels_put_the_paper_at_0_and_the_ink_at_1():
    relative = np.zeros((40, 30), np.float32)
    relative[5:35, 10:20] = 0.5
    relative[5:35, 20] = 0.2  # an anti-aliased edge
    ink = preprocess._ink_levels(relative, 40)
    pad = preprocess.INK_PAD
    assert ink.shape == (40 + 2 * pad, 30 + 2 * pad)
    inner = ink[pad:-pad, pad:-pad]
    assert (inner[5:35, 10:20] == 1).all() and (inner[:5] == 0).all()
    assert 0.1 < inner[20, 20] < 0.9  # grey, not a binary mask
    assert (ink[:pad] == 0).all() and preprocess._ink_levels(np.zeros((9, 9), np.float32), 40) is None


def test_the_digit_keeps_grey_levels_like_mnist():
    image = to_mnist(page("0", box=(120, 60, 70, 110), pen=7)).image
    ink = image[image > 0.02]
    assert 0.2 < ((ink > 0.1) & (ink < 0.9)).mean() < 0.8


def test_other_marks_and_lines_in_the_box_are_blanked_but_faint_ink_next_to_the_digit_stays():
    crop = np.full((60, 60), 200, np.uint8)
    cv2.line(crop, (20, 5), (20, 55), 40, 4, cv2.LINE_AA)  # the digit's stroke, anti-aliased
    cv2.circle(crop, (45, 45), 4, 40, -1)  # another mark
    cv2.line(crop, (0, 10), (59, 10), 170, 1)  # a ruled line, too faint to count on the working copy
    digit = np.zeros((60, 60), bool)
    digit[:, :30] = crop[:, :30] < 60
    ink = preprocess._ink_in_box(crop, 1.0, False, np.full((60, 60), 200, np.uint8), digit)
    assert ink.shape == (60, 60) and ink[30, 20] == pytest.approx(0.8)
    assert (ink[38:53, 38:53] == 0).all() and (ink[10, 30:] == 0).all()
    edge = (crop > 60) & (crop < 190) & (np.abs(np.arange(60) - 20) < 6)[None, :]
    edge[9:12] = False  # the ruled line
    assert edge.any() and (ink[edge] > 0).all()  # faint anti-aliased edge of the stroke


@pytest.mark.parametrize("speck", [(185, 160), (135, 150), (175, 110), (100, 200)])
def test_specks_and_a_neighbour_do_not_move_the_digit(speck):
    clean = page("7")
    marked = draw(clean.copy(), "1", (250, 70, 20, 100), pen=8)
    cv2.circle(marked, speck, 3, 40, -1)
    assert to_mnist(marked).box == to_mnist(clean).box


# --- 6. stroke width ----------------------------------------------------------------------------

@pytest.mark.parametrize("width", [3, 6, 10])
def test_stroke_width_measures_a_line(width):
    ink = np.zeros((200, 60), np.float32)
    ink[20:180, 20:20 + width] = 1
    assert preprocess._stroke_width(ink) == pytest.approx(width, rel=0.1)


@pytest.mark.parametrize("pen", [1, 7])
def test_stroke_width_is_normalised_for_thin_and_thick_pens(pen):
    ink = draw(np.zeros((48, 40), np.float32), "0", (4, 4, 28, 40), ink=1.0, pen=pen)
    assert abs(preprocess._stroke_width(ink) - preprocess.STROKE_WIDTH) > 1.5
    width = preprocess._stroke_width(preprocess._normalise_stroke_width(ink))
    assert abs(width - preprocess.STROKE_WIDTH) < 0.5


@pytest.mark.parametrize("pen", [2, 5, 12, 20])
def test_thin_and_thick_pens_come_out_about_as_wide_as_mnist(pen):
    mnist = np.median([preprocess._stroke_width(x / np.float32(255)) for x in MNIST])
    image = to_mnist(page("4", size=(400, 400), box=(120, 80, 160, 240), pen=pen)).image
    assert preprocess._stroke_width(image) == pytest.approx(mnist, rel=0.4)


# --- 7. 20x20 box, 28x28, centre of mass --------------------------------------------------------

@pytest.mark.parametrize("digit", ["0", "1", "2", "4", "7"])
def test_output_is_laid_out_like_mnist(digit):
    result = to_mnist(page(digit, pen=6))
    image = result.image
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert image.min() >= 0 and 0.9 < image.max() <= 1
    cy, cx = centre_of_mass(image)
    assert abs(cy - 13.5) <= 0.5 and abs(cx - 13.5) <= 0.5
    _, _, w, h = cv2.boundingRect((image > 0.1).view(np.uint8))
    assert 18 <= max(w, h) <= 21
    assert overlap(result.box, (130, 70, 60, 100) if digit != "1" else (158, 70, 8, 100)) > 0.5


def test_fit_and_centre_by_mass():
    fitted = preprocess._fit_20(np.ones((100, 50), np.float32))
    assert fitted.shape == (20, 10)
    digit = np.zeros((20, 20), np.float32)
    digit[:, :5] = 1  # mass on the left
    cy, cx = centre_of_mass(preprocess._centre_by_mass(digit))
    assert abs(cy - 13.5) <= 0.5 and abs(cx - 13.5) <= 0.5


def test_mnist_style_input_passes_through_unchanged():
    for x in MNIST[:100]:
        for image in (x, cv2.cvtColor(x, cv2.COLOR_GRAY2BGR)):
            result = to_mnist(image)
            assert result.box == (0, 0, 28, 28)
            np.testing.assert_array_equal(result.image, x.astype(np.float32) / 255)


def test_a_dark_digit_on_a_light_28x28_goes_the_full_way_and_still_reads_like_the_digit():
    results = [to_mnist(255 - x) for x in MNIST[:100]]
    found = [(r.image, x) for r, x in zip(results, MNIST) if r is not None]
    assert len(found) >= 95
    assert not any(np.array_equal(image, (255 - x) / np.float32(255)) for image, x in found)
    assert np.median([np.corrcoef(image.ravel(), x.ravel())[0, 1] for image, x in found]) > 0.7


# --- whole frames -------------------------------------------------------------------------------

def test_blank_paper_constant_and_tiny_images_are_no_digit():
    rng = np.random.default_rng(0)
    paper = np.full((480, 640, 3), 210, np.uint8) + rng.integers(0, 6, (480, 640, 3), dtype=np.uint8)
    assert to_mnist(paper) is None
    for value in (0, 128, 255):
        assert to_mnist(np.full((100, 120), value, np.uint8)) is None
    assert to_mnist(np.zeros((7, 300), np.uint8)) is None


@pytest.mark.parametrize("image, received", [
    (np.zeros((50, 50), np.float32), "float32"),
    (np.zeros((50, 50, 2), np.uint8), "(50, 50, 2)"),
    (np.zeros((0, 50), np.uint8), "(0, 50)"),
    (np.zeros(50, np.uint8), "(50,)"),
    ([[0, 1], [2, 3]], "list"),
])
def test_bad_input_raises_a_value_error_saying_what_it_got(image, received):
    with pytest.raises(ValueError, match=r"to_mnist .*" + received.replace("(", r"\(").replace(")", r"\)")):
        to_mnist(image)


@pytest.mark.parametrize("roi", [(0, 0, 10), ("a", 0, 1, 1), (400, 0, 10, 10), (0, 0, 0, 5)])
def test_bad_roi_raises_a_value_error(roi):
    with pytest.raises(ValueError, match="roi"):
        to_mnist(page(), roi)


def test_roi_searches_only_there_and_gives_full_frame_coordinates():
    img = draw(page("7", box=(30, 70, 60, 100)), "0", (200, 70, 60, 100))
    result = to_mnist(img, (160, 0, 160, 240))
    assert overlap(result.box, (200, 70, 60, 100)) > 0.7
    alone = to_mnist(np.ascontiguousarray(img[:, 160:]))
    assert alone.box == (result.box[0] - 160, *result.box[1:])
    np.testing.assert_array_equal(alone.image, result.image)


def test_the_box_stays_inside_the_frame():
    """A thick ring near the top of a small page: the widened strokes once gave a box above it."""
    img = np.full((60, 80), 200, np.uint8)
    cv2.ellipse(img, (40, 20), (13, 15), 0, 0, 360, 30, 12)
    x, y, w, h = to_mnist(img).box
    assert x >= 0 and y >= 0 and x + w <= 80 and y + h <= 60


def random_image(rng):
    h, w = (int(np.exp(rng.uniform(np.log(2), np.log(1500)))) for _ in range(2))
    if rng.random() < 0.15:  # extreme aspect ratios
        h, w = (1 + int(rng.integers(12)), w) if rng.random() < 0.5 else (h, 1 + int(rng.integers(12)))
    shape = (h, w) + ((), (1,), (3,), (4,))[int(rng.integers(4))]
    kind = int(rng.integers(4))
    if kind == 0:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if kind == 1:
        return np.full(shape, int(rng.integers(256)), np.uint8)
    img = np.full(shape, int(rng.integers(256)), np.uint8)
    for _ in range(int(rng.integers(1, 5))):  # strokes, then noise
        p, q = (int(rng.integers(w)), int(rng.integers(h))), (int(rng.integers(w)), int(rng.integers(h)))
        cv2.line(img, p, q, (int(rng.integers(256)),) * 4, int(rng.integers(1, 30)))
    img = np.clip(img + rng.normal(0, 3 * kind, shape), 0, 255).astype(np.uint8)
    return img[::-1, ::2] if rng.random() < 0.1 else img  # a non-contiguous view now and then


def test_any_image_gives_a_digit_inside_the_frame_or_none_or_a_value_error():
    rng = np.random.default_rng(2024)
    outcomes = {"digit": 0, "none": 0, "error": 0}
    for _ in range(300):
        img = random_image(rng)
        h, w = img.shape[:2]
        roi = None
        if rng.random() < 0.3:
            roi = tuple(int(v) for v in rng.integers(-w // 2 - 2, w + 2, 2)) + tuple(
                int(v) for v in rng.integers(-2, w + 3, 2))
        try:
            result = to_mnist(img, roi)
        except ValueError:
            outcomes["error"] += 1
            continue
        if result is None:
            outcomes["none"] += 1
            continue
        outcomes["digit"] += 1
        assert isinstance(result, Digit) and result.image.shape == (28, 28)
        assert result.image.dtype == np.float32
        assert np.isfinite(result.image).all() and 0 <= result.image.min() and result.image.max() <= 1
        x, y, bw, bh = result.box
        assert 0 <= x and 0 <= y and bw >= 1 and bh >= 1 and x + bw <= w and y + bh <= h, \
            (img.shape, roi, result.box)
    assert min(outcomes.values()) >= 10, outcomes  # every outcome is exercised
