"""Digits rendered from matplotlib's fonts and normalized like MNIST: does a model read print, not just handwriting?"""

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

#: Faces that look different (name -> file in matplotlib's ``mpl-data/fonts/ttf``).
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
    """Return the file path of ``font``: a name from :data:`FONTS` or a path."""
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
    """Render the digits 0-9 in ``fonts`` (names from :data:`FONTS` or .ttf paths; default all).

    Returns uint8 images (N, 28, 28), white on black like raw MNIST, and their labels, by font then digit.
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
