"""mnist-lab: helpers behind a notebook course on deep learning with Keras and MNIST.

Submodules, imported on demand: ``data`` (loading and preparing digits),
``profile`` (full or quick run settings), ``models`` (one builder per model of
the series), ``callbacks`` (Keras callbacks: timing, live curves, learning-rate
schedules, one training run), ``train`` (schedules, seeds, run records),
``metrics`` (confusion counts), ``plot`` and ``fonts`` (pictures), ``checks``
(self-checks for the tasks), ``bench`` (every stage trained and compared),
``distribute`` and ``workers`` (tf.distribute strategies, local multi-worker
launcher).
"""

__version__ = "0.1.0"

RESULT_MIMETYPE = "application/vnd.mnist-lab.result+json"
"""Mimetype under which ``train.report`` (and ``callbacks.Run.report``) attaches a run record to a notebook output
and ``notebooks.results`` reads it back."""
