"""Course tooling, not imported by the notebooks: the ``mnist-lab`` command (``cli``), the notebook
runner (``runner``), the benchmark of every stage (``bench``) and student copies (``student``)."""
