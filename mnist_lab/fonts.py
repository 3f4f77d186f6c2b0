"""Digits rendered from computer fonts: a small out-of-distribution test set.

A network trained on handwritten MNIST digits has never seen a printed
"7". :func:`font_digits` renders the digits 0-9 with fonts that ship with
matplotlib and normalizes them the way MNIST was built, so a notebook can
ask: does the network generalize beyond handwriting?

How MNIST was normalized (and what we do the same way):

1. the digit is scaled to fit a 20x20 pixel box, keeping its aspect ratio,
   with anti-aliasing (grey edge pixels);
2. that box is placed in a 28x28 image, shifted by whole pixels so the
   centre of mass of the ink lies at pixel (14, 14) (row, column);
3. white digit (255) on black background (0), stored as uint8.

Example
-------
>>> from mnist_lab.fonts import font_digits
>>> images, labels = font_digits()
>>> images.shape, images.dtype, labels[:10]
((80, 28, 28), dtype('uint8'), array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], dtype=uint8))
>>> x = images.astype("float32") / 255.0      # scale exactly like the training data
"""

import os

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import PathPatch
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

from .images import BOX, centre_by_mass

__all__ = ["FONTS", "font_digits", "font_path"]

#: Default faces (name -> file in matplotlib's ``mpl-data/fonts/ttf``),
#: chosen to look different: sans, bold, serif, italic, monospace, Times-like
#: and Computer Modern (the TeX fonts).
FONTS = {
    "DejaVu Sans": "DejaVuSans.ttf",
    "DejaVu Sans Bold": "DejaVuSans-Bold.ttf",
    "DejaVu Serif": "DejaVuSerif.ttf",
    "DejaVu Serif Italic": "DejaVuSerif-Italic.ttf",
    "DejaVu Sans Mono": "DejaVuSansMono.ttf",
    "STIX General": "STIXGeneral.ttf",
    "STIX General Bold Italic": "STIXGeneralBolIta.ttf",
    "Computer Modern Roman": "cmr10.ttf",
}

_OVERSAMPLE = 8     # render 8x larger, then average 8x8 blocks (anti-aliasing)


def font_path(font):
    """Return the file path of ``font``: a name from :data:`FONTS` or a path.

    Example
    -------
    >>> font_path("DejaVu Sans").endswith("DejaVuSans.ttf")
    True
    """
    if font in FONTS:
        return os.path.join(matplotlib.get_data_path(), "fonts", "ttf", FONTS[font])
    if isinstance(font, (str, os.PathLike)) and os.path.isfile(font):
        return os.fspath(font)
    raise ValueError(
        f"unknown font {font!r}: expected one of {sorted(FONTS)} or a path to a .ttf file"
    )


def _render_in_box(path):
    """Render a glyph path white-on-black, fitted in a BOX x BOX float image."""
    extent = path.get_extents()
    pixels = BOX * _OVERSAMPLE
    scale = pixels / max(extent.width, extent.height)
    # centre the glyph in the square box (the later shift uses the centre of mass)
    tx = (pixels - extent.width * scale) / 2 - extent.x0 * scale
    ty = (pixels - extent.height * scale) / 2 - extent.y0 * scale

    fig = Figure(figsize=(1, 1), dpi=pixels, facecolor="black")
    canvas = FigureCanvasAgg(fig)
    fig.add_artist(PathPatch(
        path, transform=Affine2D().scale(scale).translate(tx, ty),
        facecolor="white", edgecolor="none", linewidth=0, antialiased=True,
    ))
    canvas.draw()
    big = np.asarray(canvas.buffer_rgba())[:, :, 0].astype(np.float64) / 255.0
    # area-average the oversampled image: grey levels = fraction of pixel covered
    return big.reshape(BOX, _OVERSAMPLE, BOX, _OVERSAMPLE).mean(axis=(1, 3))


def _digit_image(digit, font_file):
    glyph = TextPath((0, 0), str(digit), size=100, prop=FontProperties(fname=font_file))
    image = centre_by_mass(_render_in_box(glyph))
    return np.round(image * 255).astype(np.uint8)


def font_digits(fonts=None):
    """Render the digits 0-9 in several fonts, normalized like MNIST.

    Use them as a small out-of-distribution test set: a model that learned
    "digits" rather than "handwriting" should still read printed digits.

    Parameters
    ----------
    fonts : list of str, optional
        Font names from :data:`FONTS` or paths to .ttf files.
        Default: all of :data:`FONTS` (8 faces).

    Returns
    -------
    images : uint8 array, shape (N, 28, 28)
        White digit on black, 0..255 like the raw MNIST arrays.
    labels : uint8 array, shape (N,)
        The digit in each image; ordered by font, then digit 0..9.

    Example
    -------
    >>> images, labels = font_digits(["DejaVu Sans", "DejaVu Serif"])
    >>> images.shape, labels.tolist()[:12]
    ((20, 28, 28), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    """
    if fonts is None:
        fonts = list(FONTS)
    elif isinstance(fonts, (str, os.PathLike)):
        fonts = [fonts]
    files = [font_path(font) for font in fonts]
    if not files:
        raise ValueError("fonts must name at least one font")
    images = np.stack([_digit_image(d, f) for f in files for d in range(10)])
    labels = np.tile(np.arange(10, dtype=np.uint8), len(files))
    return images, labels
