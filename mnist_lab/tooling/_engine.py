"""papermill's nbclient engine, saving the executed notebook with :func:`runner.write`.

papermill's own saves rewrite the output file in place, so a run killed during one leaves an
empty or cut-off notebook; :func:`runner.write` replaces the file whole. The engine saves when
papermill does: at the start, after every cell, and every 30 s while a long cell prints.
"""

from __future__ import annotations

from papermill.engines import NBClientEngine, NotebookExecutionManager, catch_nb_assignment, papermill_engines

from .runner import write

NAME = "mnist-lab"


class Saves(NotebookExecutionManager):
    """papermill's record of a run, with every save made by :func:`runner.write`."""

    @catch_nb_assignment
    def save(self, **kwargs):
        if self.output_path:
            write(self.nb, self.output_path)
        self.last_save_time = self.now()


class Engine(NBClientEngine):
    """nbclient's execution, tracked by :class:`Saves`, which writes to the ``save_to`` argument."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                         autosave_cell_every=30, save_to=None, **kwargs):
        nb_man = Saves(nb, output_path=None if save_to is None else str(save_to), progress_bar=progress_bar,
                       log_output=log_output, autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


papermill_engines.register(NAME, Engine)
