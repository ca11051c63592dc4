"""The challenge's BiLSTM baseline as a scikit-learn classifier of sequence windows."""

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from emo_gbm.baseline._epochs import grouped_validation_split, run_epochs
from emo_gbm.baseline._network import BaselineNetwork
from emo_gbm.baseline._optim import RMSprop
from emo_gbm.baseline._scaling import fit_scaling, scaled_batch
from emo_gbm.baseline._validation import (
    as_modality_dict,
    check_groups,
    check_params,
    check_sample_weight,
    check_targets,
    resolve_modalities,
)


class BiLSTMClassifier(ClassifierMixin, BaseEstimator):
    """The challenge's BiLSTM baseline as a scikit-learn classifier of windows.

    One branch per modality (two stacked bidirectional LSTM layers, see
    :class:`BaselineNetwork`), fused by ``Dense(dense_size)`` and a softmax output, trained
    with RMSprop on (sample-weighted) cross-entropy, with early stopping on whole groups held
    out for validation.

    Parameters
    ----------
    modalities : sequence of str, optional
        Keys of ``X`` to use, in branch order. Default: every key of ``X`` (those of
        :data:`~emo_gbm.constants.MODALITIES` first, in that order).
    hidden_size : int, default=200
        Output width of each bidirectional layer, forward and backward halves joined
        (100 cells per direction by default). Must be even.
    dense_size : int, default=100
    dense_activation : {"relu", "tanh"}, default="relu"
    learning_rate : float, default=0.001
        Of RMSprop (with Keras' defaults rho=0.9, epsilon=1e-7).
    batch_size : int, default=64
    max_epochs : int, default=30
        With the defaults an epoch over the ~3,100 windows of the full training set (four
        modalities) costs about 75 s of one core, so even 30 epochs stay under 40 minutes.
    patience : int, default=5
        Stop after this many epochs without a lower validation loss; the weights of the
        best epoch are kept.
    validation_fraction : float, default=0.1
        Share of the groups held out for early stopping; 0 trains ``max_epochs`` epochs on
        everything and keeps the last weights.
    standardize : bool, default=True
        Clip each feature to its 1st and 99th percentiles seen in ``fit`` and scale it to
        zero mean and unit variance (statistics of the clipped non-missing values) before
        missing values become 0: "missing" then sits at the feature mean, and outliers
        (including infinite values) stay within the range the network was trained on.
        With ``standardize=False`` the raw values are used and must be finite or NaN.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, the validation split and the batch order.
    n_jobs : int, default=1
        Threads running the modality branches side by side (-1: one per CPU). Each branch
        does the same arithmetic on any thread, so the model does not depend on it.
    verbose : int, default=0
        Print one line per epoch when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        Features per time step, summed over the modalities used.
    modalities_ : tuple of str
    input_shapes_ : dict of str to (int, int)
        (n_steps, n_features) of each modality seen in ``fit``.
    feature_bounds_ : dict of str to ndarray of shape (2, n_features)
        Clipping bounds (infinite when ``standardize=False``).
    feature_means_, feature_scales_ : dict of str to ndarray of shape (n_features,)
        Standardisation statistics (0 and 1 when ``standardize=False``).
    network_ : BaselineNetwork
    history_ : dict of str to list
        Per epoch: ``loss``, ``accuracy`` (training batches as seen during the epoch),
        ``val_loss``, ``val_accuracy`` (NaN without validation) and ``seconds``.
    n_epochs_ : int
        Epochs run.
    best_epoch_ : int
        1-based epoch whose weights were kept.
    validation_groups_ : ndarray
        Groups held out for early stopping (empty without validation).

    Notes
    -----
    ``X`` is a dict mapping modality name to a float array of shape
    (n_windows, n_steps, n_features); modalities may have different numbers of steps (each
    at its own rate). A single array is accepted as one modality named ``"x"``; a 2-D array
    (n_windows, n_features) holds windows of a single time step. NaN marks
    missing values; they become 0 (after standardisation), as the challenge baseline fed
    zeros for missing data.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(0, 2, 40)
    >>> X = {"audio": rng.standard_normal((40, 6, 2)).astype(np.float32)}
    >>> X["audio"][:, 0, 0] += 3 * y
    >>> clf = BiLSTMClassifier(hidden_size=8, dense_size=8, learning_rate=0.01,
    ...                        max_epochs=20, validation_fraction=0, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> float(clf.score(X, y)) > 0.9
    True
    """

    def __init__(
        self,
        modalities=None,
        hidden_size=200,
        dense_size=100,
        dense_activation="relu",
        learning_rate=0.001,
        batch_size=64,
        max_epochs=30,
        patience=5,
        validation_fraction=0.1,
        standardize=True,
        random_state=None,
        n_jobs=1,
        verbose=0,
    ):
        self.modalities = modalities
        self.hidden_size = hidden_size
        self.dense_size = dense_size
        self.dense_activation = dense_activation
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.standardize = standardize
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.dict = True
        tags.input_tags.allow_nan = True
        return tags

    @contextmanager
    def _compute_context(self):
        """One BLAS thread, and a pool of ``n_jobs`` threads for the branches (or None)."""
        n_threads = (os.cpu_count() or 1) if self.n_jobs == -1 else int(self.n_jobs)
        # The per-step products are too small to gain from BLAS threads, and BLAS threads
        # competing with other processes for the cores slowed training several-fold.
        with threadpool_limits(limits=1, user_api="blas"):
            if n_threads <= 1:
                yield None
            else:
                with ThreadPoolExecutor(max_workers=n_threads) as executor:
                    yield executor

    def _batch(self, X, index):
        """Time-major float32 inputs of the windows ``index``, standardised, NaN -> 0."""
        return scaled_batch(
            X, index, self.modalities_, self.feature_bounds_, self.feature_means_,
            self.feature_scales_,
        )

    def fit(self, X, y, sample_weight=None, groups=None):
        """Train on windows ``X`` with labels ``y``.

        Parameters
        ----------
        X : dict of str to ndarray of shape (n_windows, n_steps, n_features), or array-like
            See the class notes.
        y : array-like of shape (n_windows,)
        sample_weight : array-like of shape (n_windows,), optional
            Non-negative weights of the windows in the loss (rescaled to mean 1).
        groups : array-like of shape (n_windows,), optional
            Group of each window (recording, session or actor); validation holds out whole
            groups. Default: every window is its own group.

        Returns
        -------
        self
        """
        check_params(self)
        with self._compute_context() as executor:
            return self._fit(X, y, sample_weight, groups, executor)

    def _fit(self, X, y, sample_weight, groups, executor):
        X = as_modality_dict(X)
        n = len(next(iter(X.values())))
        y = check_targets(y, n)
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        weights = check_sample_weight(sample_weight, n)
        groups = check_groups(groups, n)

        self.modalities_ = resolve_modalities(self.modalities, X)
        self.input_shapes_ = {m: tuple(int(d) for d in X[m].shape[1:]) for m in self.modalities_}
        self.n_features_in_ = sum(shape[1] for shape in self.input_shapes_.values())
        self.feature_bounds_, self.feature_means_, self.feature_scales_ = fit_scaling(
            X, self.modalities_, self.standardize
        )

        rng = check_random_state(self.random_state)
        init_seed, split_seed, shuffle_seed = rng.randint(np.iinfo(np.int32).max, size=3)
        val_mask, self.validation_groups_ = grouped_validation_split(
            groups, self.validation_fraction, np.random.RandomState(split_seed)
        )
        train_index = np.flatnonzero(~val_mask)
        val_index = np.flatnonzero(val_mask)
        if weights[train_index].sum() <= 0:
            raise ValueError("the training part of sample_weight sums to zero")
        # Mean weight 1 over the training windows keeps the loss on the unweighted scale.
        weights = (weights / weights[train_index].mean()).astype(np.float32)

        network = BaselineNetwork(
            [self.input_shapes_[m][1] for m in self.modalities_],
            hidden_size=self.hidden_size,
            dense_size=self.dense_size,
            n_classes=len(self.classes_),
            dense_activation=self.dense_activation,
            dtype=np.float32,
        ).initialize(np.random.RandomState(init_seed))
        optimizer = RMSprop(self.learning_rate)
        self.history_, self.best_epoch_ = run_epochs(
            network, optimizer, partial(self._batch, X), y_encoded, weights, train_index,
            val_index, np.random.RandomState(shuffle_seed), batch_size=self.batch_size,
            max_epochs=self.max_epochs, patience=self.patience, verbose=self.verbose,
            executor=executor,
        )
        self.network_ = network
        self.n_epochs_ = len(self.history_["loss"])
        return self

    def _check_X_predict(self, X):
        is_dict = isinstance(X, Mapping) and not issparse(X)
        X = as_modality_dict(X)
        for m in self.modalities_:
            if m not in X:
                raise ValueError(f"X lacks the modality {m!r} the model was fitted on")
            if X[m].shape[2] != self.input_shapes_[m][1]:
                raise ValueError(
                    f"{f'X[{m!r}]' if is_dict else 'X'} has {X[m].shape[2]} features, but "
                    f"{type(self).__name__} is expecting {self.input_shapes_[m][1]} features "
                    "as input"
                )
        return X

    def predict_proba(self, X):
        """Class posteriors of every window.

        Parameters
        ----------
        X : dict of str to ndarray of shape (n_windows, n_steps, n_features), or ndarray

        Returns
        -------
        proba : ndarray of shape (n_windows, n_classes), float64
            Columns follow ``classes_``.
        """
        check_is_fitted(self, "network_")
        X = self._check_X_predict(X)
        n = len(X[self.modalities_[0]])
        proba = np.empty((n, len(self.classes_)))
        with self._compute_context() as executor:
            for start in range(0, n, self.batch_size):
                part = np.arange(start, min(start + self.batch_size, n))
                proba[part] = self.network_.predict_proba(self._batch(X, part), executor)
        return proba

    def predict(self, X):
        """Most probable class of every window, shape (n_windows,).

        Parameters
        ----------
        X : dict of str to ndarray of shape (n_windows, n_steps, n_features), or ndarray
        """
        check_is_fitted(self, "network_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
