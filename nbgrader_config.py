"""nbgrader's settings for a course made of these notebooks: copy this file into the course folder.

nbgrader reads it from the folder it runs in (README, "For instructors").
"""

from mnist_lab.tooling import student

c = get_config()  # noqa: F821 (nbgrader defines get_config for its configuration files)

# nbgrader's own release steps plus one that drops the Colab badge, which would open the
# notebook with its solutions; `mnist-lab student` runs the same list.
c.GenerateAssignment.preprocessors = student.release_preprocessors()

# Autograding runs every cell; `nbgrader autograde "*" --QuickProfile.enabled=True` runs each
# notebook with QUICK = True, the quick profile, where a cell takes seconds.
c.Autograde.autograde_preprocessors = student.autograde_preprocessors()
# A cell still running after 5 minutes is stopped and counts as an error.
c.Execute.timeout = 300
