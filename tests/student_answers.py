"""A student's own answers to the code tasks of notebooks 2, 4 and 6, and one wrong answer in each.

The answers differ from the worked solutions on purpose (other local names,
other NumPy and Keras calls) and use only the names each task asks for, as a
student would write them. Filled into a handout they must earn every
autograded point; the one wrong answer must lose exactly its task's points.
Markdown answers keep their stub: they are graded by hand.
"""

import re

import nbformat

from mnist_lab.tooling import student

# (notebook, grade_id of the solution cell) -> a student's answer
ANSWERS = {
    ("02_logistic_regression", "solution-predicted"): """
predicted = np.array([np.argmax(row) for row in probabilities])
""",
    ("02_logistic_regression", "solution-accuracy"): """
correct = (predicted == y_val).sum()
accuracy = correct / len(y_val)
print(accuracy)
""",
    ("02_logistic_regression", "solution-weights"): """
weights = 10 * (784 + 1)
""",
    ("04_learning_rate_decay", "solution-fast"): """
experiment.set_seed(SEED)
model_fast = keras.Sequential([keras.Input(shape=(784,)),
                               layers.Dense(200, activation="relu"),
                               layers.Dense(60, activation="relu"),
                               layers.Dense(10, activation="softmax")])
model_fast.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
history_fast = model_fast.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS,
                              validation_data=(x_val, y_val), verbose=0, callbacks=[run_fast])
""",
    ("04_learning_rate_decay", "solution-decay"): """
experiment.set_seed(SEED)
stack = [keras.Input(shape=(784,))] + [layers.Dense(n, activation="relu") for n in (200, 60)]
model = keras.Sequential(stack + [layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=INITIAL_LEARNING_RATE),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history_decay = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS, verbose=0,
                          validation_data=(x_val, y_val),
                          callbacks=[callbacks.learning_rate_callback(schedule), run_decay])
""",
    ("06_convolutional_networks", "solution-conv-network"): """
answer = 8 * (5 * 5 + 1) + 10 * (24 * 24 * 8 + 1)
""",
    ("06_convolutional_networks", "solution-pool-network"): """
answer = 8 * 26 + 10 * (12 * 12 * 8 + 1)
""",
    ("06_convolutional_networks", "solution-three-pairs"): """
experiment.set_seed(SEED)
three_model = models.conv_network((8, 16, 32), kernel_size=(5, 5, 3), pool=True)
three_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history_three = three_model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS,
                                validation_data=(x_val, y_val), verbose=0, callbacks=[run_three])
""",
    ("06_convolutional_networks", "solution-candidates"): """
experiment.set_seed(SEED)
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

# notebook -> (grade_id of the solution cell, a wrong answer, grade_id of the test that must fail)
WRONG = {
    "02_logistic_regression": ("solution-weights", """
weights = 784 * 10  # one weight per pixel and class
""", "test-weights"),
    "04_learning_rate_decay": ("solution-fast", """
experiment.set_seed(SEED)
model_fast = models.dense_network((200, 60), input_shape=(784,))
history_fast = compile_and_fit(model_fast, run_fast, learning_rate=0.001)  # the rate was not raised
""", "test-fast"),
    "06_convolutional_networks": ("solution-pool-network", """
answer = 8 * 26 + 10 * 12 * 12 * 8  # the softmax layer's biases are missing
""", "test-pool-network"),
}

_STUB = re.compile(r"^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)$", re.MULTILINE)


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def fill(handout: nbformat.NotebookNode, name: str, wrong: bool = False) -> nbformat.NotebookNode:
    """The handout with each code stub replaced by the student's answer (and the wrong one, if asked)."""
    answers = {gid: code for (nb, gid), code in ANSWERS.items() if nb == name}
    if wrong:
        gid, code, _ = WRONG[name]
        answers[gid] = code
    for cell in handout.cells:
        if cell.cell_type == "code" and student.role(cell) == "solution":
            code = answers.pop(grade_id(cell)).strip("\n")
            cell.source, count = _STUB.subn(
                lambda m: "\n".join(m.group(1) + line if line else line for line in code.splitlines()), cell.source)
            assert count == 1, f"{name}: cell {grade_id(cell)} should hold one stub"
    assert not answers, f"{name}: no solution cell for the answers {sorted(answers)}"
    return handout
