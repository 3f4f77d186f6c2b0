"""Replace a file in one step: readers and a killed writer see the whole old file or the whole new one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to a temporary file of its own beside ``path``, flush it to disk, then swap it in.

    Concurrent writers never share a temporary file; a failed write removes its own and leaves ``path``
    as it was. The new file keeps the old one's permission bits (0o644 for a new file).
    """
    path = Path(path)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(partial, path.stat().st_mode & 0o7777 if path.exists() else 0o644)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path
