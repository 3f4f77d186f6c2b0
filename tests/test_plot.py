"""Tests for mnist_lab.plot: check what is drawn, not only that drawing runs."""

import os
import warnings
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import same_color
from matplotlib.figure import Figure, SubFigure

from mnist_lab import RESULT_MIMETYPE, metrics, plot

REPO = Path(__file__).resolve().parents[1]

# Deprecated matplotlib calls in the library fail the tests.
pytestmark = [
    pytest.mark.filterwarnings("error::matplotlib.MatplotlibDeprecationWarning"),
    pytest.mark.filterwarnings("error::DeprecationWarning:mnist_lab"),
    pytest.mark.filterwarnings("error::PendingDeprecationWarning:mnist_lab"),
    pytest.mark.usefixtures("no_figure_left_open"),   # every helper must leave pyplot without open figures
]


def image_axes(fig):
    """The axes that show an image (not colorbars)."""
    return [ax for ax in fig.axes if ax.images]


def is_red(ax):
    return same_color(ax.title.get_color(), "red")


# --------------------------------------------------------------------------
# plot_digits
# --------------------------------------------------------------------------

def test_plot_digits_grid_titles_and_pixels(digits):
    x, y = digits
    fig = plot.plot_digits(x, y, n=12, ncols=5, title="Some digits")
    assert isinstance(fig, Figure)
    axes = image_axes(fig)
    assert len(axes) == len(fig.axes) == 12
    assert [ax.get_title() for ax in axes] == [str(v) for v in y[:12]]
    assert fig.get_suptitle() == "Some digits"
    assert not any(is_red(ax) for ax in axes)
    # 5 per row: the sixth digit starts the second row
    assert axes[5].get_subplotspec().rowspan.start == 1
    # the pixels shown are the digits, scaled to 0..1
    np.testing.assert_allclose(axes[3].images[0].get_array(), x[3] / 255.0, atol=1e-6)


def test_plot_digits_marks_exactly_the_wrong_predictions_in_red(digits):
    x, y = digits
    x, y = x[:10], y[:10].astype(int)
    predictions = y.copy()
    wrong = [1, 4, 7]
    predictions[wrong] = (y[wrong] + 1) % 10
    fig = plot.plot_digits(x, y, predictions=predictions, n=10)
    axes = image_axes(fig)
    assert [i for i, ax in enumerate(axes) if is_red(ax)] == wrong
    for i, ax in enumerate(axes):
        if i in wrong:
            assert ax.get_title() == f"{predictions[i]} (true {y[i]})"
        else:
            assert ax.get_title() == str(y[i])
    assert fig.get_suptitle().startswith("3 of 10 predictions wrong")


def test_plot_digits_accepts_probabilities_as_predictions(digits):
    x, y = digits
    probabilities = np.eye(10)[y[:8]]
    probabilities[2] = np.eye(10)[(y[2] + 5) % 10]
    fig = plot.plot_digits(x[:8], y[:8], predictions=probabilities)
    assert [i for i, ax in enumerate(fig.axes) if is_red(ax)] == [2]


@pytest.mark.parametrize("form", ["uint8", "float", "channel", "flat"])
def test_plot_digits_accepts_every_image_layout(digits, form):
    x, y = digits
    x = x[:4]
    images = {
        "uint8": x,
        "float": x / 255.0,
        "channel": (x / 255.0).astype("float32")[..., None],
        "flat": x.reshape(4, 784),
    }[form]
    fig = plot.plot_digits(images, y[:4])
    for ax, digit in zip(fig.axes, x):
        np.testing.assert_allclose(ax.images[0].get_array(), digit / 255.0, atol=1e-6)


def test_plot_digits_shows_at_most_n(digits):
    x, _ = digits
    assert len(plot.plot_digits(x[:7], n=30).axes) == 7
    assert len(plot.plot_digits(x, n=3).axes) == 3


# --------------------------------------------------------------------------
# plot_errors
# --------------------------------------------------------------------------

def test_plot_errors_shows_only_errors_most_confident_first(digits):
    x, _ = digits
    x = x[:6]
    labels = np.array([0, 1, 2, 3, 4, 5])
    probabilities = np.full((6, 10), 0.01)
    probabilities[0, 0] = 0.9   # right
    probabilities[1, 7] = 0.6   # wrong, 60%
    probabilities[2, 3] = 0.95  # wrong, 95%
    probabilities[3, 3] = 0.8   # right
    probabilities[4, 9] = 0.75  # wrong, 75%
    probabilities[5, 5] = 0.99  # right
    fig = plot.plot_errors(x, labels, probabilities)
    axes = image_axes(fig)
    assert [ax.get_title() for ax in axes] == [
        "3 (95%)\ntrue 2", "9 (75%)\ntrue 4", "7 (60%)\ntrue 1"]
    assert all(is_red(ax) for ax in axes)
    for ax, i in zip(axes, [2, 4, 1]):
        np.testing.assert_allclose(ax.images[0].get_array(), x[i] / 255.0, atol=1e-6)
    assert "3 errors in 6 digits" in fig.get_suptitle()

    fig = plot.plot_errors(x, labels, probabilities, n=2)
    assert [ax.get_title()[0] for ax in fig.axes] == ["3", "9"]
    assert "showing 2" in fig.get_suptitle()


def test_plot_errors_says_when_there_are_none(digits):
    x, y = digits
    fig = plot.plot_errors(x[:20], y[:20], np.eye(10)[y[:20]])
    assert fig.axes == []
    assert "no errors" in fig.get_suptitle().lower()
    fig = plot.plot_errors(x[:20], y[:20], np.eye(10)[y[:20]], title="Test set")
    assert fig.get_suptitle().startswith("Test set\nNo errors")


# --------------------------------------------------------------------------
# plot_training_curves
# --------------------------------------------------------------------------

CURVES = {"loss": [1.0, 0.6, 0.5], "accuracy": [0.6, 0.8, 0.85],
          "val_loss": [1.1, 0.7, 0.65], "val_accuracy": [0.55, 0.75, 0.8], "learning_rate": [0.1, 0.05, 0.02]}


def test_plot_training_curves_two_panels_training_and_validation():
    history = keras.callbacks.History()
    history.history = CURVES
    fig = plot.plot_training_curves(history, title="tiny")
    assert isinstance(fig, Figure) and fig.get_suptitle() == "tiny"
    loss_ax, acc_ax = fig.axes
    for ax, key in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        train_line, val_line = ax.lines
        assert list(train_line.get_xdata()) == [1, 2, 3]
        np.testing.assert_allclose(train_line.get_ydata(), CURVES[key])
        np.testing.assert_allclose(val_line.get_ydata(), CURVES["val_" + key])
        assert [t.get_text().split()[0] for t in ax.get_legend().get_texts()] == ["training", "validation"]
    assert acc_ax.get_title().startswith("Accuracy")
    assert loss_ax.get_xlim() == (0.5, 3.5)


def test_plot_training_curves_epochs_of_sparse_validation_and_a_wider_axis():
    history = {"loss": [1.0, 0.6, 0.5, 0.4], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.6, 0.7, 0.8]}
    fig = plot.plot_training_curves(history, epochs={"val_loss": [2, 4]}, total_epochs=10)
    loss_ax, _ = fig.axes
    assert list(loss_ax.lines[1].get_xdata()) == [2, 4]
    assert loss_ax.get_xlim() == (0.5, 10.5)
    assert fig.get_suptitle() == "Training curves, 4 epochs"


# --------------------------------------------------------------------------
# Drawing into your own figure: ax= and fig=
# --------------------------------------------------------------------------

def test_single_panel_functions_draw_on_the_given_axes(digits):
    fig, (left, right, third) = plt.subplots(1, 3)
    try:
        assert plot.plot_learning_rate(lambda e: 0.1 * 0.5 ** e, 4, ax=left) is fig   # always the Figure
        assert len(left.lines) == 1
        assert plot.plot_histories({"a": {"val_accuracy": [0.5, 0.7]}}, ax=right) is fig
        assert len(right.lines) == 1
        assert plot.plot_confusion_matrix(LABELS, PREDICTIONS, title="mine", ax=third) is third
        assert third.get_title().startswith("mine\naccuracy 50.0%")
        assert fig.get_suptitle() == ""  # the caller's figure keeps its own title
        assert len(fig.axes) == 4  # three panels and the confusion matrix's colour bar
    finally:
        plt.close(fig)


def test_multi_panel_functions_draw_into_the_given_subfigures(digits):
    x, y = digits
    fig = Figure(figsize=(12, 8), layout="constrained")
    top, bottom = fig.subfigures(2, 1)
    assert plot.plot_digits(x[:6], y[:6], fig=top, title="six digits") is top
    assert plot.plot_training_curves(CURVES, fig=bottom) is bottom
    assert len(top.axes) == 6 and len(bottom.axes) == 2
    assert top.get_suptitle() == "six digits"
    assert isinstance(top, SubFigure)
    with pytest.raises(ValueError, match="fig already has axes"):
        plot.plot_weight_templates(np.ones((784, 10)), fig=top)
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes; got Figure"):
        plot.plot_histories({"a": {"val_accuracy": [0.5]}}, ax=fig)
    with pytest.raises(ValueError, match="fig must be a matplotlib Figure or SubFigure; got Axes"):
        plot.plot_filters(np.zeros((3, 3, 1, 2)), fig=top.axes[0])


# --------------------------------------------------------------------------
# plot_learning_rate
# --------------------------------------------------------------------------

def test_plot_learning_rate_draws_the_given_function():
    def schedule(epoch):
        return 0.01 * 0.5 ** epoch

    fig = plot.plot_learning_rate(schedule, epochs=6)
    (ax,) = fig.axes
    (line,) = ax.lines
    assert list(line.get_xdata()) == list(range(6))
    np.testing.assert_allclose(line.get_ydata(), [schedule(e) for e in range(6)])
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel() == "learning rate"


def test_plot_learning_rate_keras_style_schedule():
    def schedule(epoch, lr):
        return lr if epoch < 2 else lr * 0.5

    callback = keras.callbacks.LearningRateScheduler(schedule)
    fig = plot.plot_learning_rate(callback, epochs=4, initial_learning_rate=0.1, title="halving")
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [0.1, 0.1, 0.05, 0.025])
    assert fig.axes[0].get_title() == "halving"


# --------------------------------------------------------------------------
# Confusion matrix
# --------------------------------------------------------------------------

LABELS = [0, 0, 1, 1, 2, 2, 2, 2]
PREDICTIONS = [0, 1, 1, 1, 2, 0, 0, 1]


def test_plot_confusion_matrix_writes_counts_and_names_mistakes():
    ax = plot.plot_confusion_matrix(LABELS, PREDICTIONS, class_names=["zero", "one", "two"])
    assert isinstance(ax, Axes) and image_axes(ax.figure) == [ax]   # its own Figure, with a colour bar beside
    assert len(ax.figure.axes) == 2 and ax.figure.get_suptitle() == "Confusion matrix"
    np.testing.assert_array_equal(ax.images[0].get_array(),
                                  metrics.confusion_matrix(LABELS, PREDICTIONS, 3))
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}
    assert cells == {(0, 0): "1", (0, 1): "1", (1, 1): "2",
                     (2, 0): "2", (2, 1): "1", (2, 2): "1"}
    assert "two as zero: 2" in ax.get_title()
    assert "accuracy 50.0%" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["zero", "one", "two"]
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"


# --------------------------------------------------------------------------
# What a model learned
# --------------------------------------------------------------------------

def test_plot_weight_templates_of_a_logistic_regression():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    kernel = model.layers[-1].kernel.numpy()
    for source in (model, kernel):
        fig = plot.plot_weight_templates(source)
        axes = image_axes(fig)
        assert len(axes) == 10
        assert [ax.get_title() for ax in axes] == [str(d) for d in range(10)]
        np.testing.assert_allclose(axes[7].images[0].get_array(), kernel[:, 7].reshape(28, 28))
        vmin, vmax = axes[0].images[0].get_clim()
        assert vmin == -vmax > -np.inf  # centred at zero
        assert axes[0].images[0].get_cmap().name == "RdBu_r"


def small_cnn():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(6, 3, activation="relu", name="conv_a"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv_b"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])


def test_plot_filters_one_image_per_output_channel():
    model = small_cnn()
    assert len(image_axes(plot.plot_filters(model.layers[0]))) == 6
    fig = plot.plot_filters(model.get_layer("conv_b"))
    assert len(image_axes(fig)) == 4
    assert "mean over 6 input channels" in fig.get_suptitle()

    kernel = np.random.default_rng(0).normal(size=(5, 5, 3, 7))
    axes = image_axes(plot.plot_filters(kernel, ncols=4))
    assert len(axes) == 7
    np.testing.assert_allclose(axes[2].images[0].get_array(), kernel[:, :, :, 2].mean(axis=2))


def test_plot_feature_maps_one_row_per_conv_layer(digits):
    x, _ = digits
    model = small_cnn()
    fig = plot.plot_feature_maps(model, x[0] / 255.0, n=3)
    row_labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert row_labels == ["conv_a\n26x26x6\nfirst 3 of 6", "conv_b\n11x11x4\nfirst 3 of 4"]  # says what it leaves out
    assert "at most 3 maps per layer" in fig.get_suptitle()
    assert len(image_axes(fig)) == 1 + 3 + 3  # the input, then 3 maps per layer
    assert fig.axes[0].get_title() == "input"
    expected = keras.Model(model.inputs[0], model.get_layer("conv_a").output)(
        (x[:1] / 255.0).astype("float32")[..., None]).numpy()[0]
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), expected[:, :, 0], rtol=1e-5)


def test_plot_feature_maps_needs_a_built_model(digits):
    x, y = digits
    model = keras.Sequential([keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                              keras.layers.Dense(10)])
    with pytest.raises(ValueError, match="not built"):
        plot.plot_feature_maps(model, x[0])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:8, :, :, None] / 255.0, y[:8], epochs=1, verbose=0)  # builds it
    fig = plot.plot_feature_maps(model, x[0] / 255.0)
    (label,) = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert label.endswith("\n26x26x2")  # both maps shown: nothing left out to mention
    assert "at most" not in fig.get_suptitle()


# --------------------------------------------------------------------------
# plot_histories
# --------------------------------------------------------------------------

def test_plot_histories_one_line_per_run_with_best_value():
    relu = keras.callbacks.History()
    relu.history = {"val_accuracy": [0.90, 0.95, 0.94], "val_loss": [0.3, 0.2, 0.25]}
    runs = {"relu": relu, "sigmoid": {"val_accuracy": [0.80, 0.85], "val_loss": [0.6, 0.5]}}
    fig = plot.plot_histories(runs)
    (ax,) = fig.axes
    assert len(ax.lines) == 2
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3]  # epochs counted from 1
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [0.80, 0.85])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["relu (best 0.9500)", "sigmoid (best 0.8500)"]

    labels = [t.get_text() for t in
              plot.plot_histories(runs, metric="val_loss").axes[0].get_legend().get_texts()]
    assert labels == ["relu (best 0.2000)", "sigmoid (best 0.5000)"]  # lowest loss


def test_plot_histories_pairs_each_runs_training_and_validation_curves_by_colour():
    runs = {"a": {"loss": [0.5, 0.1], "val_loss": [0.6, 0.4]}, "b": {"loss": [0.7, 0.3], "val_loss": [0.8, 0.5]}}
    (ax,) = plot.plot_histories(runs, metric="val_loss", training=True).axes
    lines = {line.get_label(): line for line in ax.lines}
    assert list(lines) == ["a, validation (best 0.4000)", "a, training (best 0.1000)",
                           "b, validation (best 0.5000)", "b, training (best 0.3000)"]
    first, first_training, second, second_training = (line.get_color() for line in ax.lines)
    assert same_color(first, first_training) and same_color(second, second_training)
    assert not same_color(first, second)
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--", "-", "--"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [0.5, 0.1])
    assert ax.get_ylabel() == "loss"


# --------------------------------------------------------------------------
# Input checking
# --------------------------------------------------------------------------

GOOD = np.zeros((5, 28, 28), np.uint8)
FIVE = np.arange(5)


@pytest.mark.parametrize("call, expected", [
    (lambda: plot.plot_digits(np.zeros((5, 27, 27))), r"\(N, 28, 28\)"),
    (lambda: plot.plot_digits(np.zeros((5, 28, 28, 3))), r"\(N, 28, 28, 1\)"),
    (lambda: plot.plot_digits(np.zeros(784)), r"\(N, 784\)"),
    (lambda: plot.plot_digits(GOOD, labels=np.arange(4)), "labels must have length 5"),
    (lambda: plot.plot_digits(GOOD, FIVE, predictions=np.arange(6)),
     "predictions must have length 5"),
    (lambda: plot.plot_digits(GOOD, n=0), "n must be a positive integer"),
    (lambda: plot.plot_errors(GOOD, FIVE, np.zeros((4, 10))), r"probabilities must have shape \(5"),
    (lambda: plot.plot_errors(np.zeros((5, 30, 30)), FIVE, np.zeros((5, 10))), "images"),
    (lambda: plot.plot_confusion_matrix([1, 2, 3], [1, 2]), "predictions must have length 3"),
    (lambda: plot.plot_confusion_matrix([1, 2, 12], [1, 2, 3], class_names=list("0123456789")), "classes 0..9"),
    (lambda: plot.plot_training_curves({"loss": []}), "train for at least one epoch"),
    (lambda: plot.plot_weight_templates(np.zeros((784, 5))), r"\(784, 10\)"),
    (lambda: plot.plot_filters(np.zeros((3, 3, 4))), "Conv2D kernel"),
    (lambda: plot.plot_feature_maps(small_cnn(), GOOD), "ONE digit"),
    (lambda: plot.plot_histories({"a": {"loss": [1.0]}}), "has no 'val_accuracy'"),
    (lambda: plot.plot_histories({"a": {"loss": [1.0]}}, metric="loss", training=True), "metric='val_loss'"),
    (lambda: plot.plot_histories({"a": {"val_loss": [1.0]}}, metric="val_loss", training=True), "has no 'loss'"),
    (lambda: plot.plot_learning_rate(0.1, 5), "schedule must be a function"),
])
def test_bad_input_gives_a_clear_one_line_error(call, expected):
    with pytest.raises(ValueError, match=expected) as info:
        call()
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------
# Every figure renders (Agg, no display) without layout or deprecation warnings
# --------------------------------------------------------------------------

def test_every_figure_renders_to_png(digits, tmp_path):
    x, y = digits
    x, y = x[:40], y[:40].astype(int)
    probabilities = np.eye(10)[(y + (np.arange(40) % 7 == 0)) % 10] * 0.8 + 0.02
    cnn = small_cnn()
    figures = {
        "digits": plot.plot_digits(x, y, predictions=probabilities),
        "errors": plot.plot_errors(x, y, probabilities),
        "no_errors": plot.plot_errors(x, y, np.eye(10)[y]),
        "learning_rate": plot.plot_learning_rate(lambda e: 0.1 / (1 + e), 10),
        "confusion": plot.plot_confusion_matrix(y, probabilities).figure,
        "templates": plot.plot_weight_templates(np.ones((784, 10))),
        "filters": plot.plot_filters(cnn.layers[0]),
        "feature_maps": plot.plot_feature_maps(cnn, x[0] / 255.0),
        "histories": plot.plot_histories({"a": {"val_accuracy": [0.5, 0.7]}}),
        "training_curves": plot.plot_training_curves(CURVES),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, fig in figures.items():
            path = tmp_path / f"{name}.png"
            fig.savefig(path)
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


# --------------------------------------------------------------------------
# Jupyter: a returned Figure shows exactly once, the live plot updates in place
# --------------------------------------------------------------------------

NOTEBOOK_CELLS = [
    # a bare returned Figure renders as one PNG, and pyplot keeps no figure
    """import numpy as np
import matplotlib.pyplot as plt
from mnist_lab import RESULT_MIMETYPE, metrics, plot
fig = plot.plot_digits(np.zeros((12, 28, 28), np.uint8), np.arange(12) % 10)
print(plt.get_fignums())
fig""",
    # live training curves: one output, updated after each epoch
    """import keras
from mnist_lab import callbacks
model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
x, y = np.random.default_rng(0).random((64, 784)), np.arange(64) % 10
curves = callbacks.TrainingPlot()
model.fit(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[curves])
print('live', curves.live_, len(curves.history['loss']), plt.get_fignums())""",
    # live=False: drawn once at the end
    """curves = callbacks.TrainingPlot(live=False)
model.fit(x, y, epochs=2, verbose=0, callbacks=[curves])
print('live', curves.live_, plt.get_fignums())""",
    # a Run: live curves in one output, then its record as a line with the JSON attached
    """run = callbacks.Run('tiny run', live=True)
model.fit(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[run])
record = run.report()""",
]


def count_png(outputs):
    return sum("image/png" in out.get("data", {}) for out in outputs)


def stdout_of(outputs):
    return "".join(out.get("text", "") for out in outputs
                   if out.get("output_type") == "stream" and out.get("name") == "stdout")


@pytest.mark.slow
def test_figures_render_once_in_a_jupyter_kernel():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" not in KernelSpecManager().find_kernel_specs():
        pytest.skip("no Jupyter kernel named 'python3' is installed")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(src) for src in NOTEBOOK_CELLS]
    # A kernel as Jupyter starts it: its own (inline) matplotlib backend, not
    # the Agg backend the test session sets.
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=180,
                                     resources={"metadata": {"path": str(REPO)}})
    client.execute(env=env)

    digits_cell, live_cell, drawn_once_cell, run_cell = (cell.outputs for cell in notebook.cells)
    assert count_png(digits_cell) == 1
    assert stdout_of(digits_cell).strip() == "[]"
    assert count_png(live_cell) == 1
    assert stdout_of(live_cell).strip() == "live True 3 []"
    assert count_png(drawn_once_cell) == 1
    assert stdout_of(drawn_once_cell).strip() == "live False []"
    assert count_png(run_cell) == 1
    (recorded,) = [out for out in run_cell if RESULT_MIMETYPE in out.get("data", {})]
    assert recorded["data"][RESULT_MIMETYPE]["name"] == "tiny run"
    assert recorded["data"]["text/plain"].startswith("tiny run | 7,850 params | 2 epochs")
