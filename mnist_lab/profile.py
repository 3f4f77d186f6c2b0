"""Run profiles: the notebooks' full settings, or a quick profile (``MNIST_LAB_QUICK=1``) for a fast check.

:func:`is_quick` is the only reader of the switch; other helpers take its answer as an argument.
"""

from __future__ import annotations

import os

QUICK_ENV = "MNIST_LAB_QUICK"
QUICK_EPOCHS = 2
QUICK_TRAIN_SIZE = 1000

_TRUE = {"1", "true", "yes", "on"}


def is_quick() -> bool:
    """True when the quick profile is on (``MNIST_LAB_QUICK`` set to 1/true/yes/on)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in _TRUE


def shrink(epochs: int, train_size: int | None = None) -> tuple[int, int | None]:
    """Return ``(epochs, train_size)``, shrunk when the quick profile is on; ``None`` means every training image."""
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if not is_quick():
        return epochs, train_size
    small = QUICK_TRAIN_SIZE if train_size is None else min(train_size, QUICK_TRAIN_SIZE)
    print(f"Quick profile ({QUICK_ENV}=1): {min(epochs, QUICK_EPOCHS)} epochs, "
          f"at most {small:,} training images. Unset {QUICK_ENV} for the real settings.")
    return min(epochs, QUICK_EPOCHS), small


def note_if_quick() -> None:
    """In the quick profile, say under a result that it comes from the quick profile: its accuracies look broken."""
    if is_quick():
        print(f"Quick profile ({QUICK_ENV}=1): the accuracies above come from at most {QUICK_EPOCHS} epochs on at most "
              f"{QUICK_TRAIN_SIZE:,} training images, far below what the notebook's own settings reach. "
              f"Unset {QUICK_ENV} for those.")
