"""Run profiles: the notebooks' full settings, or a quick profile that only checks that every cell runs.

A notebook switches it with ``QUICK = True`` in its Parameters cell (``mnist-lab run --quick`` sets that);
these functions hold the quick profile's numbers and say what it changed.
"""

from __future__ import annotations

QUICK_EPOCHS = 2
QUICK_TRAIN_SIZE = 1000


def quick(epochs: int, train_size: int | None = None) -> tuple[int, int | None]:
    """Return ``(epochs, train_size)`` cut to the quick profile's; ``None`` means every training image."""
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    small = QUICK_TRAIN_SIZE if train_size is None else min(train_size, QUICK_TRAIN_SIZE)
    print(f"Quick profile (QUICK = True): {min(epochs, QUICK_EPOCHS)} epochs, "
          f"at most {small:,} training images. Set QUICK = False for the real settings.")
    return min(epochs, QUICK_EPOCHS), small


def note_if_quick(quick: bool) -> None:
    """With ``quick`` true, say under a result that it comes from the quick profile: its accuracies look broken."""
    if quick:
        print(f"Quick profile (QUICK = True): the accuracies above come from at most {QUICK_EPOCHS} epochs on at "
              f"most {QUICK_TRAIN_SIZE:,} training images, far below what the notebook's own settings reach. "
              f"Set QUICK = False for those.")
