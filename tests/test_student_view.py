"""A student's view: a handout whose stubs hold a student's own, correct answers runs to the end.

The answers differ from the worked solutions on purpose (other code, other
helper names) and use only the names each task asks for, so a later cell that
silently relied on a name from the worked solution fails here.
"""

import re
from pathlib import Path

import pytest

from mnist_lab.tooling import runner, student

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"

# (notebook, index of the solution region among all of its regions, in order) -> a student's answer.
# Markdown regions keep their stub: they are read, not run.
ANSWERS = {
    ("02_logistic_regression", 1): """
for attempt in (1, 2):
    fresh = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(10, activation="softmax")])
    print(f"construction {attempt}:", np.round(fresh(x_val[:1]).numpy()[0], 2))
print("top probability, pixels 0..255:", fresh(x_val * 255).numpy().max(axis=1).mean())
""",
    ("02_logistic_regression", 2): """
predicted = np.array([np.argmax(row) for row in probabilities])
""",
    ("02_logistic_regression", 3): """
correct = (predicted == y_val).sum()
accuracy = correct / len(y_val)
print(accuracy)
""",
    ("02_logistic_regression", 6): """
print(-(-len(x_train) // 32), "steps per epoch")
""",
    ("02_logistic_regression", 9): """
weights = 10 * (784 + 1)
""",
    ("04_learning_rate_decay", 0): """
train.set_seed(SEED)
model_fast = keras.Sequential([keras.Input(shape=(784,)),
                               layers.Dense(200, activation="relu"),
                               layers.Dense(60, activation="relu"),
                               layers.Dense(10, activation="softmax")])
model_fast.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
history_fast = model_fast.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS,
                              validation_data=(x_val, y_val), verbose=0, callbacks=[run_fast])
""",
    ("04_learning_rate_decay", 2): """
train.set_seed(SEED)
stack = [keras.Input(shape=(784,))] + [layers.Dense(n, activation="relu") for n in (200, 60)]
model = keras.Sequential(stack + [layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=INITIAL_LEARNING_RATE),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history_decay = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS, verbose=0,
                          validation_data=(x_val, y_val),
                          callbacks=[callbacks.learning_rate_callback(schedule), run_decay])
""",
    ("06_convolutional_networks", 1): """
answer = 8 * (5 * 5 + 1) + 10 * (24 * 24 * 8 + 1)
""",
    ("06_convolutional_networks", 2): """
answer = 8 * 26 + 10 * (12 * 12 * 8 + 1)
""",
    ("06_convolutional_networks", 4): """
print("the maps are 4x4 after two pairs: a 5x5 filter no longer fits, so the third one is 3x3")
""",
    ("06_convolutional_networks", 5): """
train.set_seed(SEED)
three_model = models.conv_network((8, 16, 32), kernel_size=(5, 5, 3), pool=True)
three_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history_three = three_model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS,
                                validation_data=(x_val, y_val), verbose=0, callbacks=[run_three])
""",
    ("06_convolutional_networks", 8): """
train.set_seed(SEED)
small = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Conv2D(16, 3, activation="relu"),
                          layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10, activation="softmax")],
                         name="conv_16_3x3")
small.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
small_run = callbacks.Run("16 filters 3x3", curves=False)
small_history = small.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS,
                          validation_data=(x_val, y_val), verbose=0, callbacks=[small_run])
candidates = {"the notebook's model": history, "16 filters 3x3": small_history}
candidate_records = [small_run.record()]
""",
}
ANSWERED = sorted({name for name, _ in ANSWERS})
_STUB = re.compile(r"^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)$", re.MULTILINE)


def region_kinds(nb):
    """The cell type of each solution region, in order."""
    return [cell.cell_type for cell in nb.cells for line in cell.source.splitlines()
            if student.is_marker(line) and "BEGIN" in line]


def fill(handout, name, kinds):
    """Replace each code stub of the handout with the student's answer for that region."""
    region = 0

    def answer(match):
        nonlocal region
        assert kinds[region] == "code", f"stub {region} of {name} should be a code region"
        code = ANSWERS[(name, region)].strip("\n")
        region += 1
        return "\n".join(match.group(1) + line if line else line for line in code.splitlines())

    for cell in handout.cells:
        if cell.cell_type == "markdown":
            region += sum(line.strip() == "YOUR ANSWER HERE" for line in cell.source.splitlines())
        elif cell.cell_type == "code":
            cell.source = _STUB.sub(answer, cell.source)
    assert region == len(kinds), "every solution region is matched by one stub"
    return handout


def test_every_code_region_of_the_answered_notebooks_has_an_answer():
    for name in ANSWERED:
        kinds = region_kinds(runner.read(NOTEBOOK_DIR / f"{name}.ipynb"))
        code = {i for i, kind in enumerate(kinds) if kind == "code"}
        assert code == {i for n, i in ANSWERS if n == name}, f"{name}: answers for regions {sorted(code)} needed"


@pytest.mark.slow
@pytest.mark.parametrize("name", ANSWERED)
def test_handout_with_own_answers_runs_to_the_end(name):
    source = runner.read(NOTEBOOK_DIR / f"{name}.ipynb")
    handout, _ = student.student_notebook(source, name=name)
    filled = fill(handout, name, region_kinds(source))
    assert "NotImplementedError" not in "\n".join(c.source for c in filled.cells if c.cell_type == "code")
    runner.execute(filled, cwd=NOTEBOOK_DIR, timeout=600)   # raises CellError naming the failing cell
