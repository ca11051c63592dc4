"""The training loop of the classifier: epochs of RMSprop steps, early stopping on held-out
groups."""

import time

import numpy as np

from emo_gbm.baseline._layers import log_softmax


def grouped_validation_split(groups, fraction, rng):
    """Boolean validation mask holding ``ceil(fraction * n_groups)`` whole groups."""
    unique = np.unique(groups)
    if fraction <= 0 or len(unique) < 2:
        return np.zeros(len(groups), dtype=bool), unique[:0]
    n_val = min(int(np.ceil(fraction * len(unique))), len(unique) - 1)
    val_groups = unique[rng.permutation(len(unique))[:n_val]]
    return np.isin(groups, val_groups), np.sort(val_groups)


def evaluate(network, make_batch, y, weights, index, batch_size, executor):
    """Weighted mean cross-entropy and accuracy of the windows ``index``."""
    total_loss = 0.0
    correct = 0
    for start in range(0, len(index), batch_size):
        part = index[start : start + batch_size]
        logits, _ = network.forward(make_batch(part), executor)
        log_p = log_softmax(logits.astype(np.float64))
        total_loss += float(np.dot(weights[part], -log_p[np.arange(len(part)), y[part]]))
        correct += int((logits.argmax(axis=1) == y[part]).sum())
    return total_loss / len(index), correct / len(index)


def train_epoch(network, optimizer, make_batch, y, weights, order, batch_size, epoch, executor):
    """One pass over the windows ``order`` in batches; mean training loss and accuracy."""
    total_loss, correct = 0.0, 0
    for start in range(0, len(order), batch_size):
        part = order[start : start + batch_size]
        loss, grads, logits = network.loss_and_gradient(
            make_batch(part), y[part], weights[part], executor
        )
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"the training loss became {loss} in epoch {epoch}; "
                "try a lower learning_rate"
            )
        optimizer.step(network.params.flat, grads.flat)
        total_loss += loss * len(part)
        correct += int((logits.argmax(axis=1) == y[part]).sum())
    return total_loss / len(order), correct / len(order)


def run_epochs(network, optimizer, make_batch, y, weights, train_index, val_index, shuffle_rng,
               *, batch_size, max_epochs, patience, verbose, executor):
    """Train ``network`` for up to ``max_epochs`` epochs, stopping early on the validation loss.

    Parameters
    ----------
    network : BaselineNetwork
    optimizer : RMSprop
    make_batch : callable
        Maps window indices to the network's time-major inputs.
    y : ndarray of int
        Encoded class of every window.
    weights : ndarray of float32
        Loss weight of every window.
    train_index, val_index : ndarray of int
        Windows trained on and held out (``val_index`` may be empty: no early stopping).
    shuffle_rng : RandomState
        Draws the batch order of every epoch.
    batch_size, max_epochs, patience, verbose
        See ``BiLSTMClassifier``.
    executor : concurrent.futures.Executor or None
        Runs the branches in parallel.

    Returns
    -------
    history : dict of str to list
    best_epoch : int
        1-based; the network holds this epoch's weights on return.
    """
    history = {k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")}
    best_loss, best_epoch, best_params, wait = np.inf, 0, None, 0
    for epoch in range(1, max_epochs + 1):
        tic = time.perf_counter()
        order = shuffle_rng.permutation(train_index)
        loss, accuracy = train_epoch(
            network, optimizer, make_batch, y, weights, order, batch_size, epoch, executor
        )
        history["loss"].append(loss)
        history["accuracy"].append(accuracy)
        if len(val_index):
            val_loss, val_acc = evaluate(
                network, make_batch, y, weights, val_index, batch_size, executor
            )
        else:
            val_loss, val_acc = np.nan, np.nan
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(val_acc)
        history["seconds"].append(time.perf_counter() - tic)
        if verbose > 0:
            _print_epoch(epoch, max_epochs, history)
        if not len(val_index):
            best_epoch = epoch
            continue
        if val_loss < best_loss:
            best_loss, best_epoch, wait = val_loss, epoch, 0
            best_params = network.params.flat.copy()
        else:
            wait += 1
            if wait >= patience:
                break
    if best_params is not None:
        network.params.flat[:] = best_params
    return history, best_epoch


def _print_epoch(epoch, max_epochs, history):
    print(
        f"epoch {epoch}/{max_epochs}: loss {history['loss'][-1]:.4f} "
        f"acc {history['accuracy'][-1]:.4f} val_loss {history['val_loss'][-1]:.4f} "
        f"val_acc {history['val_accuracy'][-1]:.4f} ({history['seconds'][-1]:.1f} s)",
        flush=True,
    )
