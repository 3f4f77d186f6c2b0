"""Tests for mnist_lab.images: a user's digit picture normalized like MNIST."""

import warnings

import numpy as np
import pytest
from PIL import Image

from conftest import centre_of_mass, ink_box
from mnist_lab import images
from mnist_lab.fonts import font_digits


def on_paper(digit, scale=4, size=(200, 190), at=(20, 70)):
    """A font digit drawn big, dark on white paper, off-centre: how a user's picture looks."""
    big = np.kron(digit.astype(np.float64), np.ones((scale, scale)))
    paper = np.full(size, 255.0)
    top, left = at
    paper[top:top + big.shape[0], left:left + big.shape[1]] -= big
    return paper.astype(np.uint8)


def test_mnist_digits_come_back_almost_unchanged(digits):
    x = digits[0][:100]
    prepared = np.stack([images.prepare_image(image) for image in x])
    assert prepared.shape == (100, 28, 28, 1) and prepared.dtype == np.float32
    assert np.abs(prepared[..., 0] - x / 255.0).mean() < 0.01


def test_paper_picture_is_inverted_fitted_and_centred():
    fonts, _ = font_digits(["DejaVu Sans"])
    prepared = images.prepare_image(on_paper(fonts[7]))[..., 0]
    assert prepared.shape == (28, 28)
    assert max(ink_box(prepared, 0.05)) <= 20 and max(ink_box(prepared, 0.05)) >= 18
    assert np.abs(np.array(centre_of_mass(prepared)) - 14).max() <= 0.5
    assert prepared[0].max() == 0 and prepared.max() == pytest.approx(1.0)
    # close to the font digit itself, which is already normalized like MNIST
    assert np.abs(prepared - fonts[7] / 255.0).mean() < 0.03


def test_png_file_and_array_give_the_same_input(tmp_path):
    fonts, _ = font_digits(["DejaVu Serif"])
    picture = on_paper(fonts[4])
    path = tmp_path / "four.png"
    Image.fromarray(picture).save(path)
    np.testing.assert_allclose(images.prepare_image(path), images.prepare_image(picture), atol=1e-6)
    np.testing.assert_allclose(images.prepare_image(str(path)), images.prepare_image(picture), atol=1e-6)


def test_16_bit_png_is_rescaled_not_clipped(tmp_path):
    fonts, _ = font_digits(["DejaVu Serif"])
    picture = on_paper(fonts[4])
    path = tmp_path / "four16.png"
    Image.fromarray(picture.astype(np.uint16) * 257).save(path)      # 0..255 -> 0..65535
    assert Image.open(path).mode.startswith("I")
    np.testing.assert_allclose(images.read_image(path), picture / 255.0, atol=1e-6)
    np.testing.assert_allclose(images.prepare_image(path), images.prepare_image(picture), atol=1e-5)


def test_transparent_png_counts_as_white_paper(tmp_path):
    fonts, _ = font_digits(["DejaVu Sans"])
    rgba = np.zeros((112, 112, 4), dtype=np.uint8)       # black ink, alpha = ink
    rgba[..., 3] = np.kron(fonts[2], np.ones((4, 4), dtype=np.uint8))
    path = tmp_path / "two.png"
    Image.fromarray(rgba).save(path)
    prepared = images.prepare_image(path)[..., 0]
    assert np.abs(prepared - fonts[2] / 255.0).mean() < 0.03


def test_float_and_uint8_arrays_and_a_channel_axis_agree(digits):
    x = digits[0][0]
    expected = images.prepare_image(x)
    np.testing.assert_allclose(images.prepare_image(x / 255.0), expected, atol=1e-6)
    np.testing.assert_allclose(images.prepare_image(x[..., np.newaxis]), expected, atol=1e-6)


def test_invert_can_be_forced():
    light_digit = np.zeros((28, 28)); light_digit[5:23, 12:16] = 1.0   # white "1" on black
    assert images.prepare_image(light_digit).max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no visible digit"):
        images.prepare_image(light_digit[:4, :4] + 0.0, invert=True)   # all background


def test_centre_by_mass_puts_ink_at_pixel_14():
    box = np.zeros((20, 20)); box[3:9, 6:12] = 1.0
    assert np.abs(np.array(centre_of_mass(images.centre_by_mass(box))) - 14).max() <= 0.5


@pytest.mark.parametrize("bad, error, message", [
    (np.zeros((28, 28)), ValueError, "no visible digit"),
    (np.full((28, 28), 255), ValueError, "no visible digit"),
    (np.zeros((28, 28, 3)), ValueError, r"expected a 2-D grey image .* got shape \(28, 28, 3\)"),
    (np.zeros(784), ValueError, r"expected a 2-D grey image .* got shape \(784,\)"),
    (np.full((28, 28), np.nan), ValueError, "NaN or infinite"),
    (np.full((28, 28), 300.0), ValueError, r"pixel values in 0..1 or 0..255, got 300..300"),
    (np.array([["a", "b"], ["c", "d"]]), ValueError, "expected numbers as pixel values"),
], ids=["black", "white", "rgb-array", "flat", "nan", "too-bright", "strings"])
def test_bad_arrays_get_one_line_errors(bad, error, message):
    with pytest.raises(error, match=message) as caught:
        images.prepare_image(bad)
    assert "\n" not in str(caught.value)


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no image file at .*nothing.png: give the path of a PNG"):
        images.prepare_image(tmp_path / "nothing.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really a picture")
    with pytest.raises(ValueError, match=r"cannot read .*broken.png as an image .*expected a PNG file"):
        images.prepare_image(broken)
    assert broken.read_bytes().startswith(b"\x89PNG")   # left as it was


def font_ink(digit=2, font="DejaVu Sans"):
    """A font digit drawn 4x larger, ink levels 0..255 (0 = no ink)."""
    fonts, _ = font_digits([font])
    return fonts[digit], np.kron(fonts[digit], np.ones((4, 4), dtype=np.uint8))


def grey_palette_image(ink):
    """A palette picture: index k is the grey (k, k, k); index 0, the background, is transparent."""
    picture = Image.fromarray(ink, "P")
    picture.putpalette([level for k in range(256) for level in (k, k, k)])
    return picture


@pytest.mark.parametrize("make", [
    lambda ink: Image.fromarray(np.dstack([np.full_like(ink, 255)] * 3 + [ink]), "RGBA"),   # white ink
    lambda ink: Image.fromarray(np.dstack([np.zeros_like(ink)] * 3 + [ink]), "RGBA"),       # black ink
    lambda ink: Image.fromarray(np.dstack([np.full_like(ink, 255), ink]), "LA"),            # white ink
    lambda ink: Image.fromarray(np.dstack([np.zeros_like(ink), ink]), "LA"),                # black ink
    grey_palette_image,
], ids=["RGBA-white-ink", "RGBA-black-ink", "LA-white-ink", "LA-black-ink", "P-transparent-background"])
def test_transparent_background_keeps_the_ink(tmp_path, make):
    digit, ink = font_ink()
    path = tmp_path / "digit.png"
    make(ink).save(path, **({"transparency": 0} if make is grey_palette_image else {}))
    prepared = images.prepare_image(path)[..., 0]
    assert np.abs(prepared - digit / 255.0).mean() < 0.03


def test_16_bit_png_with_transparent_paper_keeps_grey_ink(tmp_path):
    """16-bit grey with a tRNS chunk: mid-grey ink must not be clipped to white on the way."""
    digit, ink = font_ink(4, "DejaVu Serif")
    paper = (65535 - ink.astype(np.uint32) * 160).astype(np.uint16)     # ink down to 40% grey, paper 65535
    path = tmp_path / "four16.png"
    Image.fromarray(paper).save(path, transparency=65535)
    with Image.open(path) as check:
        assert check.mode.startswith("I") and check.info["transparency"] == 65535
    np.testing.assert_allclose(images.read_image(path), paper / 65535.0, atol=1e-6)
    prepared = images.prepare_image(path)[..., 0]
    assert np.abs(prepared - digit / 255.0).mean() < 0.03


def png_claiming(path, width, height):
    """A tiny valid PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's header)."""
    import struct
    import zlib

    Image.new("L", (1, 1), 255).save(path)
    raw = bytearray(path.read_bytes())
    assert raw[12:16] == b"IHDR"
    raw[16:24] = struct.pack(">II", width, height)
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])))
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("width, height, size", [
    (5000, 5000, "5000x5000"),
    (10000, 10000, "10000x10000"),        # Pillow only warns at this size
    (14000, 14000, "196,000,000"),        # Pillow refuses this size with its own exception
])
def test_huge_picture_is_refused_before_decoding(tmp_path, recwarn, width, height, size):
    path = png_claiming(tmp_path / "bomb.png", width, height)
    with pytest.raises(ValueError, match=rf"cannot read .*bomb.png: {size} pixels is more than the 16-megapixel "
                                         "limit for a digit picture; crop or shrink it first") as e:
        images.prepare_image(path)
    assert "\n" not in str(e.value)
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


def test_real_picture_over_the_limit(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (4100, 4000), 255).save(path)       # 16.4 megapixels of white paper, a 40 kB file
    with pytest.raises(ValueError, match=r"big.png: 4100x4000 pixels is more than the 16-megapixel limit"):
        images.read_image(path)


# EXIF orientation tag -> how a camera stored an upright picture (the inverse of what a viewer applies)
STORED_AS = {
    2: np.fliplr,
    3: lambda a: np.rot90(a, 2),
    5: np.transpose,
    6: lambda a: np.rot90(a, 1),     # the phone held upright: the sensor's rows run up the digit
    7: lambda a: np.rot90(a, 2).T,
    8: lambda a: np.rot90(a, -1),
}


def save_with_orientation(upright, orientation, path, **options):
    exif = Image.Exif()
    exif[0x0112] = orientation                          # the EXIF Orientation tag
    Image.fromarray(np.ascontiguousarray(STORED_AS[orientation](upright))).save(path, exif=exif, **options)
    with Image.open(path) as check:
        assert check.getexif()[0x0112] == orientation
    return path


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
def test_exif_orientation_is_applied(tmp_path, orientation):
    fonts, _ = font_digits(["DejaVu Sans"])
    upright = on_paper(fonts[7])
    path = save_with_orientation(upright, orientation, tmp_path / "seven.png")
    np.testing.assert_allclose(images.read_image(path), upright / 255.0, atol=1e-6)


def test_phone_photo_saved_rotated_comes_out_upright(tmp_path):
    fonts, _ = font_digits(["DejaVu Sans"])
    upright = on_paper(fonts[1])
    path = save_with_orientation(upright, 6, tmp_path / "photo.jpg", quality=95)
    prepared = images.prepare_image(path)[..., 0]
    assert np.abs(prepared - images.prepare_image(upright)[..., 0]).mean() < 0.01
    assert np.abs(prepared - fonts[1] / 255.0).mean() < 0.03          # a tall 1, not a horizontal bar


@pytest.mark.parametrize("size", [(1, 60), (60, 1), (1, 1)], ids=["1x60", "60x1", "1x1"])
def test_picture_under_the_minimum_side_is_refused(tmp_path, size):
    picture = Image.new("L", size, 255)
    picture.putpixel((0, 0), 0)
    picture.save(tmp_path / "thin.png")
    width, height = size
    with pytest.raises(ValueError, match=rf"thin.png: {width}x{height} pixels is under the 2x2 minimum for a digit "
                                         "picture; give a picture of the whole digit") as e:
        images.prepare_image(tmp_path / "thin.png")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("suffix, options", [
    ("gif", {}),
    ("png", {}),                                       # APNG
    ("webp", {"lossless": True}),
])
def test_animation_gives_its_first_frame_and_says_so(tmp_path, suffix, options):
    fonts, _ = font_digits(["DejaVu Sans"])
    first, second = (Image.fromarray(on_paper(fonts[digit])) for digit in (3, 8))
    path = tmp_path / f"digits.{suffix}"
    first.save(path, save_all=True, append_images=[second], **options)
    with pytest.warns(UserWarning, match=rf"digits.{suffix} is an animation of 2 frames; only its first frame is "
                                         "used") as caught:
        prepared = images.prepare_image(path)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    np.testing.assert_allclose(prepared, images.prepare_image(on_paper(fonts[3])), atol=1e-5)


def test_still_picture_gives_no_warning(tmp_path):
    fonts, _ = font_digits(["DejaVu Sans"])
    path = tmp_path / "three.gif"
    Image.fromarray(on_paper(fonts[3])).save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        images.prepare_image(path)
