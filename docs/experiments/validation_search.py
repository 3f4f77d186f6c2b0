"""A notebook's recipe, tried on the validation images of the complete MNIST (the notebook's own split).

Trains the notebook's network for each DROPOUT,DECAY,RATE,EPOCHS[,SEED] given (SEED defaults to the
notebook's) and appends the validation numbers to the notebook's .jsonl beside this script; the test
images are never loaded into a model:
    MNIST_LAB_DATA_DIR=... python validation_search.py 05 0.25,0.6,0.01,20 0.25,0.9,0.003,30 ...
    MNIST_LAB_DATA_DIR=... python validation_search.py 08 0.1,0.666,0.01,10,1 0.3,0.8,0.01,10,1 ...
"""
import json, sys, time
from pathlib import Path
from mnist_lab import data, recipes, experiment, callbacks
import keras

# Per notebook: its results file, recipe (split seed = the notebook's SEED, batch size, network) and image shape.
NOTEBOOKS = {
    "05": dict(file="05_schedule_search.jsonl", recipe=recipes.final_recipe("05"), prepare=data.flatten,
               input_shape=(784,)),
    "08": dict(file="08_recipe_search.jsonl", recipe=recipes.final_recipe("08"), prepare=data.add_channel,
               input_shape=(28, 28, 1)),  # Keras' BN momentum 0.99, as the final models
}
if len(sys.argv) < 3 or sys.argv[1] not in NOTEBOOKS:
    sys.exit(f"usage: python validation_search.py {{{','.join(NOTEBOOKS)}}} DROPOUT,DECAY,RATE,EPOCHS[,SEED] ...")
notebook = NOTEBOOKS[sys.argv[1]]
recipe = notebook["recipe"]
(x_train, y_train), (x_val, y_val), _ = data.load_splits("mnist", seed=recipe.seed)
x_train, x_val = (notebook["prepare"](data.scale(x)) for x in (x_train, x_val))
out = open(Path(__file__).with_name(notebook["file"]), "a")
for spec in sys.argv[2:]:
    dropout, decay, lr, epochs, *seed = (float(v) for v in spec.split(","))
    seed = int(seed[0]) if seed else recipe.seed
    experiment.set_seed(seed)
    m = recipe.model(dropout=dropout, input_shape=notebook["input_shape"])
    m.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t = time.time()
    h = m.fit(x_train, y_train, batch_size=recipe.batch_size, epochs=int(epochs), validation_data=(x_val, y_val),
              verbose=0, callbacks=[callbacks.learning_rate_callback(experiment.exponential_decay(lr, decay))]).history
    row = dict(seed=seed, dropout=dropout, decay=decay, lr=lr, epochs=int(epochs), final_val_acc=h["val_accuracy"][-1],
               best_val_acc=max(h["val_accuracy"]), final_val_loss=h["val_loss"][-1], min_val_loss=min(h["val_loss"]),
               seconds=round(time.time() - t))
    print(json.dumps(row), flush=True); out.write(json.dumps(row) + "\n"); out.flush()
