"""The NumPy BiLSTM: gradients, LSTM semantics, learning, determinism, the estimator contract.

scikit-learn's common checks of BiLSTMClassifier are in test_common_checks.py."""

import joblib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

from emo_gbm.baseline import (
    BaselineNetwork,
    BiLSTM,
    BiLSTMClassifier,
    Dense,
    LSTMGroup,
    ParameterSet,
    RMSprop,
    log_softmax,
)

# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------


def numerical_gradient(loss, array, eps=1e-6):
    """Central differences of ``loss()`` w.r.t. every entry of ``array`` (modified in place)."""
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = loss()
        flat[i] = old - eps
        minus = loss()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(analytic, numeric):
    scale = max(np.abs(numeric).max(), np.abs(analytic).max(), 1e-12)
    return np.abs(analytic - numeric).max() / scale


def make_params(layer, seed=0):
    params = ParameterSet(layer.parameter_shapes(), np.float64)
    layer.initialize(params, np.random.RandomState(seed))
    # Random biases too, so that a wrong bias gradient cannot hide behind zeros.
    rng = np.random.RandomState(seed + 100)
    for name in params:
        if name.endswith(".b"):
            params[name][...] = rng.uniform(-0.5, 0.5, params[name].shape)
    return params


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def reference_lstm(x, W, U, b, reverse=False):
    """Textbook LSTM, one step at a time; gate order i, f, o, g as in the fused weights."""
    steps, batch, _ = x.shape
    hidden = U.shape[0]
    h = np.zeros((batch, hidden))
    c = np.zeros((batch, hidden))
    out = np.zeros((steps, batch, hidden))
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    for t in order:
        z = x[t] @ W + h @ U + b
        i = sigmoid(z[:, :hidden])
        f = sigmoid(z[:, hidden : 2 * hidden])
        o = sigmoid(z[:, 2 * hidden : 3 * hidden])
        g = np.tanh(z[:, 3 * hidden:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out[t] = h
    return out


# ----------------------------------------------------------------------------------------
# the LSTM itself
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_forward_is_the_textbook_lstm(reverse):
    rng = np.random.RandomState(0)
    layer = LSTMGroup([3], hidden_size=4, reverse=[reverse])
    params = make_params(layer)
    x = rng.standard_normal((7, 5, 3))
    (h,), _ = layer.forward(params, [x], return_sequences=True)
    W, U, b = params["lstm.W0"], params["lstm.U"][0], params["lstm.b"][0]
    expected = reference_lstm(x, W, U, b, reverse)
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-12)
    (last,), _ = layer.forward(params, [x], return_sequences=False)
    # The final state of a reversed unit is the one after it read the first step.
    np.testing.assert_allclose(last, expected[0] if reverse else expected[-1], atol=1e-12)


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_layer_gradients(reverse):
    rng = np.random.RandomState(1)
    layer = LSTMGroup([3], hidden_size=4, reverse=[reverse])
    params = make_params(layer)
    x = rng.standard_normal((6, 2, 3))
    target = rng.standard_normal((6, 2, 4))

    def loss():
        (h,), _ = layer.forward(params, [x], return_sequences=True)
        return float(np.sum(h * target))

    (h,), cache = layer.forward(params, [x], return_sequences=True)
    grads = params.zeros_like()
    (dx,) = layer.backward(params, grads, cache, d_sequences=[target])
    for name in params:
        err = relative_error(grads[name], numerical_gradient(loss, params[name]))
        assert err < 1e-7, (name, err)
    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-7


def test_lstm_group_gradients_with_unequal_lengths_and_final_states():
    # Units of lengths 5, 1 and 3 (one reversed) share the time loop; loss on final states.
    rng = np.random.RandomState(2)
    layer = LSTMGroup([2, 3, 2], hidden_size=3, reverse=[False, True, True])
    params = make_params(layer)
    xs = [rng.standard_normal((n, 2, f)) for n, f in ((5, 2), (1, 3), (3, 2))]
    targets = [rng.standard_normal((2, 3)) for _ in xs]

    def loss():
        outs, _ = layer.forward(params, xs, return_sequences=False)
        return float(sum(np.sum(o * t) for o, t in zip(outs, targets)))

    _, cache = layer.forward(params, xs, return_sequences=False)
    grads = params.zeros_like()
    dxs = layer.backward(params, grads, cache, d_last=targets)
    for name in params:
        err = relative_error(grads[name], numerical_gradient(loss, params[name]))
        assert err < 1e-7, (name, err)
    for x, dx in zip(xs, dxs):
        assert relative_error(dx, numerical_gradient(loss, x)) < 1e-7


@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_layer_gradients(return_sequences):
    rng = np.random.RandomState(3)
    layer = BiLSTM(3, hidden_size=3, return_sequences=return_sequences)
    params = make_params(layer)
    x = rng.standard_normal((5, 2, 3))
    shape = (5, 2, 6) if return_sequences else (2, 6)
    target = rng.standard_normal(shape)

    def loss():
        out, _ = layer.forward(params, x)
        return float(np.sum(out * target))

    out, cache = layer.forward(params, x)
    assert out.shape == shape
    grads = params.zeros_like()
    dx = layer.backward(params, grads, cache, target)
    for name in params:
        err = relative_error(grads[name], numerical_gradient(loss, params[name]))
        assert err < 1e-7, (name, err)
    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-7


def test_bidirectional_output_joins_forward_and_backward_states():
    rng = np.random.RandomState(4)
    x = rng.standard_normal((6, 3, 3))
    seq_layer = BiLSTM(3, hidden_size=2, return_sequences=True)
    params = make_params(seq_layer)
    fwd = reference_lstm(x, params["bilstm.W0"], params["bilstm.U"][0], params["bilstm.b"][0])
    bwd = reference_lstm(x, params["bilstm.W1"], params["bilstm.U"][1], params["bilstm.b"][1], True)
    sequence, _ = seq_layer.forward(params, x)
    np.testing.assert_allclose(sequence, np.concatenate([fwd, bwd], axis=2), atol=1e-12)
    vector, _ = BiLSTM(3, hidden_size=2, return_sequences=False).forward(params, x)
    np.testing.assert_allclose(vector, np.concatenate([fwd[-1], bwd[0]], axis=1), atol=1e-12)


@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
def test_dense_layer_gradients(activation):
    rng = np.random.RandomState(5)
    layer = Dense(4, 3, activation=activation)
    params = make_params(layer)
    x = rng.standard_normal((5, 4))
    target = rng.standard_normal((5, 3))

    def loss():
        return float(np.sum(layer.forward(params, x)[0] * target))

    _, cache = layer.forward(params, x)
    grads = params.zeros_like()
    dx = layer.backward(params, grads, cache, target)
    for name in params:
        assert relative_error(grads[name], numerical_gradient(loss, params[name])) < 1e-7
    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-7


def test_whole_network_gradients_with_sample_weights():
    rng = np.random.RandomState(6)
    net = BaselineNetwork([3, 2, 4], hidden_size=4, dense_size=5, n_classes=3, dtype=np.float64)
    net.initialize(0)
    for name in net.params:
        if name.endswith(".b"):
            net.params[name][...] = rng.uniform(-0.5, 0.5, net.params[name].shape)
    xs = [rng.standard_normal((n, 4, f)) for n, f in ((6, 3), (3, 2), (1, 4))]
    y = np.array([0, 2, 1, 1])
    w = np.array([1.0, 0.5, 2.0, 0.25])

    def loss():
        logits, _ = net.forward(xs)
        return float(np.mean(w * -log_softmax(logits)[np.arange(4), y]))

    value, grads, _ = net.loss_and_gradient(xs, y, w)
    assert value == pytest.approx(loss(), rel=1e-12)
    for name in net.params:
        err = relative_error(grads[name], numerical_gradient(loss, net.params[name]))
        assert err < 1e-6, (name, err)


def test_float32_computes_in_float32_and_agrees_with_float64():
    rng = np.random.RandomState(9)
    net64 = BaselineNetwork([3, 2], hidden_size=6, dense_size=5, n_classes=3, dtype=np.float64)
    net64.initialize(0)
    net32 = BaselineNetwork([3, 2], hidden_size=6, dense_size=5, n_classes=3, dtype=np.float32)
    net32.params.flat[:] = net64.params.flat
    xs = [rng.standard_normal((12, 8, 3)), rng.standard_normal((5, 8, 2))]
    y = rng.randint(0, 3, 8)
    loss64, grads64, _ = net64.loss_and_gradient(xs, y)
    loss32, grads32, logits32 = net32.loss_and_gradient([x.astype(np.float32) for x in xs], y)
    assert logits32.dtype == np.float32 and grads32.flat.dtype == np.float32
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(grads32.flat, grads64.flat, rtol=1e-3, atol=1e-5)


def test_zero_weight_windows_do_not_contribute():
    rng = np.random.RandomState(7)
    net = BaselineNetwork([3], hidden_size=4, dense_size=3, n_classes=2, dtype=np.float64)
    net.initialize(1)
    xs = [rng.standard_normal((4, 3, 3))]
    y = np.array([0, 1, 1])
    _, with_zero, _ = net.loss_and_gradient(xs, y, np.array([1.0, 0.0, 1.0]))
    _, without, _ = net.loss_and_gradient([xs[0][:, [0, 2]]], y[[0, 2]])
    # Same windows, mean over 3 instead of 2.
    np.testing.assert_allclose(with_zero.flat, without.flat * 2 / 3, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_batched_forward_equals_one_window_at_a_time(dtype, tol):
    rng = np.random.RandomState(8)
    net = BaselineNetwork([5, 2], hidden_size=6, dense_size=4, n_classes=3, dtype=dtype)
    net.initialize(0)
    xs = [rng.standard_normal((n, 7, f)).astype(dtype) for n, f in ((9, 5), (4, 2))]
    batched = net.predict_proba(xs)
    single = np.concatenate([net.predict_proba([x[:, i : i + 1] for x in xs]) for i in range(7)])
    np.testing.assert_allclose(batched, single, rtol=tol, atol=tol)


def test_rmsprop_step_on_a_quadratic():
    # f(p) = sum(a * p**2) / 2, gradient a * p.
    a = np.array([1.0, 10.0, 0.1])
    p = np.array([1.0, -2.0, 3.0])
    opt = RMSprop(learning_rate=0.01, rho=0.9, epsilon=1e-7)
    g = a * p
    expected = p - 0.01 * g / (np.sqrt(0.1 * g**2) + 1e-7)
    opt.step(p, g)
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    np.testing.assert_allclose(opt.mean_square, 0.1 * g**2, rtol=1e-12)
    g2 = a * p
    ms = 0.9 * 0.1 * g**2 + 0.1 * g2**2
    expected = p - 0.01 * g2 / (np.sqrt(ms) + 1e-7)
    opt.step(p, g2)
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    # Many steps reach the minimum to within about one step size, whatever the curvature.
    for _ in range(2000):
        opt.step(p, a * p)
    assert np.abs(p).max() < 0.05


# ----------------------------------------------------------------------------------------
# the estimator
# ----------------------------------------------------------------------------------------


def memory_task(n=72, steps=24, seed=0):
    """Class = a token shown once mid-sequence, noise everywhere: both directions must
    carry it for ~half the sequence."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 3
    X = np.zeros((n, steps, 5), dtype=np.float32)
    X[:, :, 3:] = rng.standard_normal((n, steps, 2))
    where = rng.randint(steps // 2 - 2, steps // 2 + 3, size=n)
    X[np.arange(n), where, y] = 1.0
    return X, y


def small_classifier(**params):
    defaults = dict(hidden_size=16, dense_size=16, learning_rate=0.01, batch_size=16,
                    max_epochs=60, validation_fraction=0.0, random_state=0)
    defaults.update(params)
    return BiLSTMClassifier(**defaults)


def test_learns_a_task_that_needs_memory():
    X, y = memory_task()
    clf = small_classifier().fit(X, y)
    assert clf.score(X, y) == 1.0
    # Not solved at once: the accuracy comes from training, not from a trivial input.
    assert clf.history_["accuracy"][0] < 0.6


def test_same_seed_same_model_other_seed_other_model():
    X, y = memory_task(n=24, steps=8)
    a = small_classifier(max_epochs=3, random_state=3).fit(X, y)
    b = small_classifier(max_epochs=3, random_state=3).fit(X, y)
    c = small_classifier(max_epochs=3, random_state=4).fit(X, y)
    np.testing.assert_array_equal(a.network_.params.flat, b.network_.params.flat)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.network_.params.flat, c.network_.params.flat)


def test_blas_threads_of_the_caller_do_not_change_the_model():
    X, y = memory_task(n=24, steps=8)
    with threadpool_limits(limits=1):
        a = small_classifier(max_epochs=2).fit(X, y)
    with threadpool_limits(limits=2):
        b = small_classifier(max_epochs=2).fit(X, y)
    np.testing.assert_array_equal(a.network_.params.flat, b.network_.params.flat)


def test_n_jobs_does_not_change_the_model():
    X, y = memory_task(n=24, steps=8)
    data = {"audio": X, "eyes": X[:, ::2, :3], "kinect": X[:, :3, 3:]}
    a = small_classifier(max_epochs=2, n_jobs=1).fit(data, y)
    b = small_classifier(max_epochs=2, n_jobs=2).fit(data, y)
    np.testing.assert_array_equal(a.network_.params.flat, b.network_.params.flat)
    np.testing.assert_array_equal(a.predict_proba(data), b.set_params(n_jobs=3).predict_proba(data))


def test_joblib_round_trip_gives_identical_predictions(tmp_path):
    X, y = memory_task(n=24, steps=8)
    clf = small_classifier(max_epochs=2).fit({"audio": X, "eyes": X[:, ::2, :3]}, y)
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    loaded = joblib.load(path)
    X_test = {"audio": X + 0.1, "eyes": X[:, ::2, :3]}
    np.testing.assert_array_equal(loaded.predict_proba(X_test), clf.predict_proba(X_test))
    # The reloaded parameters are still one flat vector (the optimiser's view of them).
    assert np.shares_memory(loaded.network_.params["output.W"], loaded.network_.params.flat)


def test_skops_round_trip_through_the_trust_list_gives_identical_predictions(tmp_path):
    # `emo-gbm baseline` saves its model with emo_gbm.modelio (skops behind TRUSTED_TYPES).
    from emo_gbm.modelio import load_model, save_model

    X, y = memory_task(n=24, steps=8)
    data = {"audio": X, "eyes": X[:, ::2, :3]}
    clf = small_classifier(max_epochs=2).fit(data, y)
    save_model(clf, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops")
    np.testing.assert_array_equal(loaded.predict_proba(data), clf.predict_proba(data))
    assert np.shares_memory(loaded.network_.params["output.W"], loaded.network_.params.flat)


def test_early_stopping_keeps_the_best_epoch_and_holds_out_whole_groups():
    # Labels unrelated to the inputs: training can only overfit, so validation loss turns up.
    rng = np.random.RandomState(0)
    X = rng.standard_normal((60, 10, 3)).astype(np.float32)
    y = rng.randint(0, 3, 60)
    groups = np.repeat(np.arange(12), 5)
    clf = small_classifier(max_epochs=40, patience=2, validation_fraction=0.25)
    clf.fit(X, y, groups=groups)
    h = clf.history_
    assert set(h) == {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert all(len(v) == clf.n_epochs_ for v in h.values())
    assert clf.best_epoch_ == int(np.argmin(h["val_loss"])) + 1
    # Stopped by patience: the last `patience` epochs did not improve on the best one.
    assert clf.n_epochs_ == clf.best_epoch_ + 2 < 40
    assert len(clf.validation_groups_) == 3  # ceil(0.25 * 12)
    val = np.isin(groups, clf.validation_groups_)
    # The kept weights are the best epoch's: recompute its validation loss.
    log_p = np.log(clf.predict_proba(X[val]))
    assert -log_p[np.arange(val.sum()), y[val]].mean() == pytest.approx(
        h["val_loss"][clf.best_epoch_ - 1], rel=1e-4
    )


def test_a_single_array_is_one_modality_and_classes_keep_their_labels():
    X, y = memory_task(n=24, steps=8)
    labels = np.array(["anger", "sad", "happy"])[y]
    clf = small_classifier(max_epochs=2).fit(X, labels)
    assert clf.modalities_ == ("x",)
    assert list(clf.classes_) == ["anger", "happy", "sad"]
    assert set(clf.predict(X)) <= set(labels)
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba({"x": X}))


def test_missing_values_sit_at_the_feature_mean():
    X, y = memory_task(n=24, steps=8)
    clf = small_classifier(max_epochs=2).fit(X, y)
    with_nan = X.copy()
    with_nan[:5, 2:6, 3] = np.nan
    at_mean = X.copy()
    at_mean[:5, 2:6, 3] = clf.feature_means_["x"][3]
    np.testing.assert_allclose(clf.predict_proba(with_nan), clf.predict_proba(at_mean), atol=1e-6)


def test_outliers_neither_set_the_scale_nor_reach_the_network():
    X, y = memory_task(n=24, steps=8)
    glitched = X.copy()
    glitched[0, 3, 3] = 1e30  # a sensor glitch, as in Kinect files
    glitched[1, 0, 4] = np.inf  # a value beyond float32
    clf = small_classifier(max_epochs=2).fit(glitched, y)
    assert np.isfinite(clf.network_.params.flat).all()
    np.testing.assert_allclose(clf.feature_scales_["x"][3:], X[:, :, 3:].std(axis=(0, 1)), rtol=0.1)
    low, high = clf.feature_bounds_["x"]
    at_bound = X.copy()
    at_bound[:2, :, 3:] = high[3:]
    spiked = X.copy()
    spiked[:2, :, 3:] = np.inf
    np.testing.assert_array_equal(clf.predict_proba(spiked), clf.predict_proba(at_bound))


def test_modalities_select_and_order_the_branches():
    X, y = memory_task(n=24, steps=8)
    data = {"kinect": X[:, :4, 3:], "audio": X, "extra": X[:, :, :1]}
    assert small_classifier(max_epochs=1).fit(data, y).modalities_ == ("audio", "kinect", "extra")
    clf = small_classifier(max_epochs=1, modalities=("kinect",)).fit(data, y)
    assert clf.modalities_ == ("kinect",)
    assert clf.network_.input_sizes == (2,)
    clf.predict({"kinect": X[:, :4, 3:]})  # other modalities are not needed to predict


@pytest.mark.parametrize(
    "params,message",
    [
        ({"hidden_size": 7}, "hidden_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"dense_activation": "sigmoid"}, "dense_activation"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"modalities": ("face_nn",)}, "lacks the modalities"),
    ],
)
def test_bad_parameters_are_reported_in_fit(params, message):
    X, y = memory_task(n=12, steps=8)
    clf = small_classifier(**params)  # constructing never fails
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def test_bad_inputs_are_reported():
    X, y = memory_task(n=12, steps=8)
    with pytest.raises(ValueError, match="3-D"):
        small_classifier().fit(X[..., None], y)
    with pytest.raises(ValueError, match="same number of windows"):
        small_classifier().fit({"a": X, "b": X[:6]}, y)
    bad = X.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        small_classifier(standardize=False).fit(bad, y)
    with pytest.raises(ValueError, match="sample_weight"):
        small_classifier().fit(X, y, sample_weight=np.zeros(12))
    with pytest.raises(NotFittedError):
        small_classifier().predict(X)
    clf = small_classifier(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :, :3])


def test_a_two_d_array_holds_windows_of_one_step():
    X, y = memory_task(n=24, steps=8)
    flat = X[:, 3, :]
    clf = small_classifier(max_epochs=2).fit(flat, y)
    assert clf.input_shapes_ == {"x": (1, 5)} and clf.n_features_in_ == 5
    same = small_classifier(max_epochs=2).fit(flat[:, None, :], y)
    np.testing.assert_array_equal(clf.predict_proba(flat), same.predict_proba(flat[:, None, :]))
    with pytest.raises(ValueError, match="X has 4 features, but BiLSTMClassifier is expecting 5"):
        clf.predict(flat[:, :4])
