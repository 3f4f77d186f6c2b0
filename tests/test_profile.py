"""The quick profile: one switch, numbers defined in one place."""

import pytest

from mnist_lab import profile


def test_full_profile_keeps_settings(monkeypatch, capsys):
    monkeypatch.delenv(profile.QUICK_ENV, raising=False)
    assert not profile.is_quick()
    assert profile.shrink(100, None) == (100, None)
    assert profile.shrink(100, 3000) == (100, 3000)
    profile.note_if_quick()
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_quick_profile_shrinks(monkeypatch, capsys, value):
    monkeypatch.setenv(profile.QUICK_ENV, value)
    assert profile.is_quick()
    assert profile.shrink(100, None) == (profile.QUICK_EPOCHS, profile.QUICK_TRAIN_SIZE)
    assert profile.shrink(1, 200) == (1, 200)
    assert "Quick profile" in capsys.readouterr().out
    profile.note_if_quick()
    note = capsys.readouterr().out
    assert note.startswith(f"Quick profile ({profile.QUICK_ENV}=1): the accuracies above") and note.count("\n") == 1
    assert f"{profile.QUICK_EPOCHS} epochs" in note and f"{profile.QUICK_TRAIN_SIZE:,} training images" in note


@pytest.mark.parametrize("value", ["", "0", "false", "no"])
def test_falsy_values_are_full(monkeypatch, value):
    monkeypatch.setenv(profile.QUICK_ENV, value)
    assert not profile.is_quick()


def test_bad_epochs():
    with pytest.raises(ValueError, match="epochs"):
        profile.shrink(0)
