"""The quick profile: its numbers defined in one place, and the notebooks' QUICK parameter its only switch."""

from pathlib import Path

import pytest

from mnist_lab import profile


def test_quick_cuts_epochs_and_images(capsys):
    assert profile.quick(100, None) == (profile.QUICK_EPOCHS, profile.QUICK_TRAIN_SIZE)
    assert profile.quick(100, 3000) == (profile.QUICK_EPOCHS, profile.QUICK_TRAIN_SIZE)
    assert profile.quick(1, 200) == (1, 200)
    said = capsys.readouterr().out.splitlines()
    assert len(said) == 3 and all(line.startswith("Quick profile (QUICK = True)") for line in said)


def test_note_only_in_the_quick_profile(capsys):
    profile.note_if_quick(False)
    assert capsys.readouterr().out == ""
    profile.note_if_quick(True)
    note = capsys.readouterr().out
    assert note.startswith("Quick profile (QUICK = True): the accuracies above") and note.count("\n") == 1
    assert f"{profile.QUICK_EPOCHS} epochs" in note and f"{profile.QUICK_TRAIN_SIZE:,} training images" in note


def test_the_package_reads_no_environment_variable_for_it():
    """Only the notebooks' QUICK parameter switches the quick profile."""
    package = Path(profile.__file__).parent
    reads = [f"{path.relative_to(package)}:{n}" for path in package.rglob("*.py")
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if "environ" in line and "quick" in line.lower() or "MNIST_LAB_QUICK" in line]
    assert not reads, reads


def test_bad_epochs():
    with pytest.raises(ValueError, match="epochs"):
        profile.quick(0)
