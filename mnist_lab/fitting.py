"""The course's one training helper, taught in notebook 3 and reused by the notebooks after it.

It compiles and fits exactly as the lessons do, so a notebook can show its source once and then call it.
"""

from __future__ import annotations

from ._tf import tf  # noqa: F401  (quiet TensorFlow start-up, before keras)
import keras  # noqa: E402  (must come after the quiet TensorFlow import)

from . import callbacks


def compile_and_fit(model, run, *more_callbacks, data, batch_size, epochs, optimizer="adam", learning_rate=None,
                    schedule=None):
    """Compile ``model`` with ``optimizer`` and sparse cross-entropy, then fit and validate it.

    ``optimizer`` is a name Keras knows (``"adam"``, ``"sgd"``) or an optimizer, trained at ``learning_rate``
    if given, else at its own default rate (0.001 for Adam, 0.01 for SGD).

    ``data`` is ``(x_train, y_train, x_val, y_val)``, or ``(x_train, y_train)`` for a final model that
    learns from every training image once all choices are made (no validation then); training runs
    ``epochs`` epochs of ``batch_size`` images, silently, watched by ``run``, then by the learning-rate
    ``schedule`` (``schedule(epoch)``, if given) and ``more_callbacks``. Returns the ``History``.
    """
    if len(data) not in (2, 4):
        raise ValueError(f"data must be (x_train, y_train, x_val, y_val) or (x_train, y_train), got {len(data)} items")
    for extra in more_callbacks:
        if not isinstance(extra, keras.callbacks.Callback):
            hint = f"; give the learning rate by name: learning_rate={extra!r}" if isinstance(extra, float) else ""
            raise ValueError(f"after the run, compile_and_fit takes Keras callbacks, got {extra!r}{hint}")
    x_train, y_train, *validation = data
    decay = [] if schedule is None else [callbacks.learning_rate_callback(schedule)]
    optimizer = keras.optimizers.get(optimizer)
    if learning_rate is not None:
        optimizer.learning_rate = learning_rate
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                     validation_data=tuple(validation) or None, verbose=0, callbacks=[run, *decay, *more_callbacks])
