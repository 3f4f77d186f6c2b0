"""Read and write IDX files, the format MNIST ships in: a magic number, big-endian sizes, uint8 data.

Magic 2051 is images (3 dimensions), 2049 labels (1). Files may be gzip-compressed; nothing is unpickled.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_NDIM = {IMAGES_MAGIC: 3, LABELS_MAGIC: 1}
MAX_BYTES = 1 << 30  # 1 GiB of pixels: twenty times full MNIST; anything larger is a corrupt header


def _read_exactly(f, size: int) -> bytes:
    """Up to ``size`` bytes from ``f``; fewer only at the end of the file."""
    parts, left = [], size
    while left > 0:
        part = f.read(min(left, 1 << 20))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _read_checked(path: Path, f, magic: int | None) -> np.ndarray:
    head = _read_exactly(f, 4)
    if len(head) < 4:
        raise ValueError(f"{path}: truncated IDX file ({len(head)} bytes, no header)")
    (found,) = struct.unpack(">i", head)
    if magic is not None and found != magic:
        raise ValueError(f"{path}: magic number {found}, expected {magic} "
                         f"({'images' if magic == IMAGES_MAGIC else 'labels'}); wrong or corrupt file")
    if found not in _NDIM:
        raise ValueError(f"{path}: magic number {found} is not an MNIST IDX file (2051 or 2049)")
    ndim = _NDIM[found]
    dims = _read_exactly(f, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header ({4 + len(dims)} of {4 + 4 * ndim} bytes)")
    shape = struct.unpack(">" + "i" * ndim, dims)
    described = "x".join(map(str, shape))
    if min(shape) < 0:
        raise ValueError(f"{path}: corrupt IDX header, negative dimension in {described}; re-download the file")
    expected = int(np.prod(shape, dtype=object))
    if expected > MAX_BYTES:
        raise ValueError(f"{path}: corrupt IDX header, {described} = {expected:,} bytes is more than the "
                         f"{MAX_BYTES:,}-byte limit; re-download the file")
    payload = _read_exactly(f, expected + 1)  # one byte more reveals trailing data without reading it all
    if len(payload) != expected:
        what = "truncated" if len(payload) < expected else "has trailing bytes"
        holds = f"{len(payload)}" if len(payload) < expected else "more"
        raise ValueError(f"{path}: {what}: header says {described} = {expected} bytes of data, file holds {holds}")
    return np.frombuffer(payload, dtype=np.uint8).reshape(shape).copy()


def read_idx(path: str | os.PathLike, magic: int | None = None) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``) into a writable uint8 array; ``magic`` is the expected magic number.

    A bad header or payload raises ``ValueError`` naming the file. A ``.gz`` file is never inflated beyond
    what its header promises, so a small corrupt archive cannot fill the memory.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not an IDX file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            return _read_checked(path, f, magic)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such IDX file") from None
    except PermissionError:
        raise PermissionError(f"{path}: not allowed to read this file; check its permissions") from None
    except (OSError, EOFError, zlib.error) as e:  # bad gzip stream, truncated archive
        raise ValueError(f"{path}: cannot decompress ({e}); re-download the file") from None


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write uint8 images (N, rows, cols) or labels (N,) as IDX (gzipped for ``.gz``); never overwrites a file."""
    path = Path(path)
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"write_idx needs a uint8 array, got {array.dtype}")
    magic = {3: IMAGES_MAGIC, 1: LABELS_MAGIC}.get(array.ndim)
    if magic is None:
        raise ValueError(f"write_idx needs images (N, rows, cols) or labels (N,), got shape {array.shape}")
    if path.exists():
        raise FileExistsError(f"{path} exists; remove it first or choose another path")
    data = struct.pack(">i" + "i" * array.ndim, magic, *array.shape) + array.tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(data)
    return path


def read_pair(images_path: str | os.PathLike, labels_path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read matching image and label files, checking that their counts agree."""
    images = read_idx(images_path, magic=IMAGES_MAGIC)
    labels = read_idx(labels_path, magic=LABELS_MAGIC)
    if len(images) != len(labels):
        raise ValueError(f"{images_path}: {len(images)} images but {labels_path} has "
                         f"{len(labels)} labels; the files do not belong together")
    return images, labels
