"""Prepare a digit picture of your own the way MNIST digits were prepared.

MNIST digits are white on black, fitted into a 20x20 box and centred by their centre of mass in
28x28 pixels; a scan or drawing is dark ink on white paper, any size, anywhere.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

__all__ = ["BOX", "MAX_PIXELS", "MIN_SIDE", "SIZE", "centre_by_mass", "fit_in_box", "prepare_image", "read_image"]

BOX = 20            # MNIST fitted each digit into a BOX x BOX square ...
SIZE = 28           # ... placed in a SIZE x SIZE image, centre of mass at pixel (14, 14)
INK = 0.1           # a pixel counts as ink above this fraction of the brightest one
MAX_PIXELS = 16_000_000  # largest picture read: a 12-megapixel phone photo fits, a bomb does not
MIN_SIDE = 2        # shortest side of a picture or array: the border that tells paper from ink needs two rows


def centre_by_mass(box: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Place ``box`` in a ``size`` x ``size`` image, shifted by whole pixels to centre its centre of mass."""
    box = np.asarray(box, dtype=np.float64)
    total = box.sum()
    if box.ndim != 2 or max(box.shape) > size or total <= 0:
        raise ValueError(f"expected a 2-D image with some ink, at most {size}x{size}, got shape {box.shape}")
    rows, cols = np.indices(box.shape)
    centre = size / 2  # pixel (14, 14) in a 28x28 image, as in MNIST
    top = int(np.clip(np.round(centre - (rows * box).sum() / total), 0, size - box.shape[0]))
    left = int(np.clip(np.round(centre - (cols * box).sum() / total), 0, size - box.shape[1]))
    image = np.zeros((size, size))
    image[top:top + box.shape[0], left:left + box.shape[1]] = box
    return image


def fit_in_box(image: np.ndarray, box: int = BOX) -> np.ndarray:
    """Crop ``image`` (white ink on black, 0..1) to its ink and scale it, aspect kept, into ``box`` x ``box``."""
    from PIL import Image  # Pillow comes with matplotlib

    image = np.asarray(image, dtype=np.float32)
    if image.max() <= 0:
        raise ValueError("the image has no ink: expected a digit brighter (or darker) than its background")
    ink_mask = image > INK * image.max()
    rows, cols = np.flatnonzero(ink_mask.any(axis=1)), np.flatnonzero(ink_mask.any(axis=0))
    ink = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = box / max(ink.shape)
    height, width = (max(1, round(side * scale)) for side in ink.shape)
    resized = np.asarray(Image.fromarray(ink).resize((width, height), Image.Resampling.LANCZOS))
    square = np.zeros((box, box), dtype=np.float32)
    top, left = (box - height) // 2, (box - width) // 2
    square[top:top + height, left:left + width] = np.clip(resized, 0.0, None)
    return square


def _grey_and_alpha(picture) -> tuple[np.ndarray, np.ndarray | None]:
    """Grey levels 0..1 of a loaded Pillow image, and its opacity 0..1 (None without alpha or palette transparency).

    A single transparent colour in a grey or RGB PNG is usually the paper: those pixels keep their grey.
    """
    if picture.mode.startswith("I"):      # 16-bit grey: convert() would clip to 0..255, not rescale
        return np.clip(np.asarray(picture, dtype=np.float32) / 65535.0, 0.0, 1.0), None
    if picture.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
        return np.asarray(rgba.convert("RGB").convert("L"), dtype=np.float32) / 255.0, alpha
    return np.asarray(picture.convert("L"), dtype=np.float32) / 255.0, None


def _composite(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Lay a transparent picture onto white under dark ink, black under light ink, so the ink stays visible."""
    visible = float(alpha.sum())
    light_ink = visible > 0 and float((grey * alpha).sum()) / visible > 0.5
    background = 0.0 if light_ink else 1.0
    return grey * alpha + background * (1.0 - alpha)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a picture file (PNG, or any format Pillow reads) as grey levels 0..1, upright.

    Pictures over :data:`MAX_PIXELS` are refused before decoding: a small file can claim a huge size.
    A phone photo's EXIF orientation is applied, as a photo viewer would; an animation gives its first
    frame, with a warning saying so.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no image file at {path}: give the path of a PNG picture of a digit")
    too_big = (f"cannot read {path}: {{}} pixels is more than the {MAX_PIXELS / 1e6:.0f}-megapixel limit for a "
               "digit picture; crop or shrink it first")
    unreadable = f"cannot read {path} as an image ({{}}): expected a PNG file"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, before decoding
            picture = Image.open(path)
    except Image.DecompressionBombError as error:
        found = re.search(r"\((\d+) pixels\)", str(error))
        raise ValueError(too_big.format(f"{int(found.group(1)):,}" if found else "over 100 million")) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise ValueError(unreadable.format(error)) from None
    with picture:
        width, height = picture.size
        if width * height > MAX_PIXELS:
            raise ValueError(too_big.format(f"{width}x{height}"))
        if min(width, height) < MIN_SIDE:
            raise ValueError(f"cannot use {path}: {width}x{height} pixels is under the {MIN_SIDE}x{MIN_SIDE} "
                             "minimum for a digit picture; give a picture of the whole digit")
        try:
            frames = getattr(picture, "n_frames", 1)
            if frames > 1:
                warnings.warn(f"{path} is an animation of {frames} frames; only its first frame is used",
                              stacklevel=2)
            picture.load()
            grey, alpha = _grey_and_alpha(ImageOps.exif_transpose(picture))
        except (OSError, ValueError, SyntaxError) as error:
            raise ValueError(unreadable.format(error)) from None
    return grey if alpha is None else _composite(grey, alpha)


def _as_grey(image) -> np.ndarray:
    """A 2-D float array 0..1 from an array of grey levels (0..1 or 0..255)."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2 or min(array.shape) < MIN_SIDE:
        raise ValueError(f"expected a 2-D grey image of shape (height, width) or (height, width, 1), "
                         f"got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"expected numbers as pixel values, got dtype {array.dtype}")
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ValueError("the image contains NaN or infinite values")
    if array.min() < 0 or array.max() > 255:
        raise ValueError(f"expected pixel values in 0..1 or 0..255, got {array.min():g}..{array.max():g}")
    return array / 255.0 if array.max() > 1.0 else array


def prepare_image(image, invert: bool | None = None) -> np.ndarray:
    """Turn a PNG file or 2-D grey array (0..1 or 0..255) into one model input normalized as MNIST: (28, 28, 1).

    ``invert`` says whether the digit is dark on light; by default a light border means paper.
    """
    grey = read_image(image) if isinstance(image, (str, os.PathLike)) else _as_grey(image)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if invert is None:
        invert = float(np.median(border)) > 0.5
    if invert:
        grey, border = 1.0 - grey, 1.0 - border
    background = float(np.median(border))
    contrast = float(grey.max()) - background
    if contrast < INK:
        raise ValueError("the image has no visible digit: all pixels are close to the background level")
    ink = np.clip((grey - background) / contrast, 0.0, 1.0)
    centred = centre_by_mass(fit_in_box(ink))
    return np.clip(centred, 0.0, 1.0).astype(np.float32)[..., np.newaxis]
