"""Import TensorFlow once, without the start-up log lines it writes straight to file descriptor 2.

Those lines (oneDNN notes, CUDA probing) ignore ``TF_CPP_MIN_LOG_LEVEL``; everything else is passed on.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} .*"                                      # absl INFO / WARNING lines
    r"|E\d{4} .*(cuInit|cuda_platform|Unable to register cu).*"  # CUDA probing on a CPU-only machine
    r"|To enable the following instructions: .*"          # follow-up of the cpu_feature_guard note
    r"|\S+ \S+: I .*)$")                                  # older "date time: I file] ..." style


def _filtered(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not _NOISE.match(line.rstrip("\n")))


def import_tensorflow():
    """Return the ``tensorflow`` module, importing it quietly the first time."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (some embedded interpreters)
        import tensorflow as tf
        return tf
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow as tf
            tf.config.list_physical_devices()  # the CUDA probe logs here, once
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            rest = _filtered(capture.read().decode(errors="replace"))
            if rest:
                sys.stderr.write(rest)
    return tf


tf = import_tensorflow()
