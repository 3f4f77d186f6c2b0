"""Notebook 8's recipe, tried on the validation images of the complete MNIST (the notebook's split, SEED = 1).

Trains the batch-norm convnet for each DROPOUT,DECAY,RATE,EPOCHS,SEED given (batches of 64, Keras' momentum
0.99, as the notebook's final models) and appends the validation numbers to 08_recipe_search.jsonl; the test
images are never loaded into a model. Run from this folder:
    MNIST_LAB_DATA_DIR=... python 08_recipe_search.py 0.1,0.666,0.01,10,1 0.3,0.8,0.01,10,1 ...
"""
import json, sys, time
from mnist_lab import data, models, train, callbacks
import keras
(x_train, y_train), (x_val, y_val), _ = data.load_splits("mnist", seed=1)  # the validation split of notebook 8
x_train, x_val = (data.add_channel(data.scale(x)) for x in (x_train, x_val))
out = open("08_recipe_search.jsonl", "a")
for spec in sys.argv[1:]:
    dropout, decay, lr, epochs, seed = (float(v) for v in spec.split(","))
    train.set_seed(int(seed))
    m = models.batchnorm_convnet(dropout=dropout)
    m.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t = time.time()
    h = m.fit(x_train, y_train, batch_size=64, epochs=int(epochs), validation_data=(x_val, y_val), verbose=0,
              callbacks=[callbacks.learning_rate_callback(train.exponential_decay(lr, decay))]).history
    row = dict(seed=int(seed), dropout=dropout, decay=decay, lr=lr, epochs=int(epochs), final_val_acc=h["val_accuracy"][-1],
               best_val_acc=max(h["val_accuracy"]), final_val_loss=h["val_loss"][-1], min_val_loss=min(h["val_loss"]),
               seconds=round(time.time() - t))
    print(json.dumps(row), flush=True); out.write(json.dumps(row) + "\n"); out.flush()
