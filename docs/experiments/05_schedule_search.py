"""Notebook 5's schedule, chosen on the validation images of the complete MNIST (the notebook's split).

Trains the 200-100-60 network for each DROPOUT,DECAY,RATE,EPOCHS[,SEED] given and appends the validation
numbers to 05_schedule_search.jsonl; the test images are never loaded into a model. Run from this folder:
    MNIST_LAB_DATA_DIR=... python 05_schedule_search.py 0.25,0.6,0.01,20 0.25,0.9,0.003,30 ...
"""
import json, sys, time
from mnist_lab import data, models, train, callbacks
import keras, numpy as np
(x_train, y_train), (x_val, y_val), _ = data.load_splits("mnist", seed=0)  # the validation split of notebook 5 (SEED = 0)
x_train, x_val = (data.flatten(data.scale(x)) for x in (x_train, x_val))
out = open("05_schedule_search.jsonl", "a")
for spec in sys.argv[1:]:
    dropout, decay, lr, epochs, *seed = (float(v) for v in spec.split(","))
    seed = int(seed[0]) if seed else 0
    train.set_seed(seed)
    m = models.dense_network((200, 100, 60), dropout=dropout, input_shape=(784,))
    m.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    sched = train.exponential_decay(lr, decay)
    t = time.time()
    h = m.fit(x_train, y_train, batch_size=100, epochs=int(epochs), validation_data=(x_val, y_val), verbose=0,
              callbacks=[callbacks.learning_rate_callback(sched)]).history
    row = dict(seed=seed, dropout=dropout, decay=decay, lr=lr, epochs=int(epochs), final_val_acc=h["val_accuracy"][-1],
               best_val_acc=max(h["val_accuracy"]), final_val_loss=h["val_loss"][-1], min_val_loss=min(h["val_loss"]),
               seconds=round(time.time() - t))
    print(json.dumps(row), flush=True); out.write(json.dumps(row) + "\n"); out.flush()
