"""mnist-lab: helpers behind a notebook course on deep learning with Keras and MNIST.

Submodules are imported on demand; course tooling is in ``mnist_lab.tooling``, distributed training in
``mnist_lab.distributed``.
"""

__version__ = "0.1.0"

RESULT_MIMETYPE = "application/vnd.mnist-lab.result+json"
"""Mimetype under which ``experiment.show_record`` attaches a run record to a notebook output, for the runner to read."""

SAMPLE_MIMETYPE = "application/vnd.mnist-lab.sample-data+json"
"""Mimetype under which ``data.load_data`` notes in a notebook output that it used a sample, not the data set."""
