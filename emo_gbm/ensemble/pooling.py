"""A meta-learner that starts from the product of its experts.

A multinomial logistic regression on stacked log-posteriors shrinks, with its penalty,
towards the class prior: on a few hundred windows a well regularised one can be less sure,
and worse, than the best expert it is given. :class:`PooledLogisticRegression` instead
shrinks towards a weighted product of the experts: each expert's log-posterior enters with
one unpenalised weight, shared by all classes, and the full linear model on every input is
penalised on top of it.
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data


class PooledLogisticRegression(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression around a weighted product of experts.

    The first ``n_experts * n_expert_classes`` columns of ``X`` are the log-posteriors of
    ``n_experts`` experts, one block of ``n_expert_classes`` columns per expert, in class
    order. The score of class ``c`` of a row ``x`` is

        b[c] + sum_k a[k] * x[k * n_expert_classes + c] + x @ W[:, c]

    and the posteriors are the softmax of the scores. The intercepts ``b`` and the expert
    weights ``a`` are not penalised; ``W`` (every column, the experts' included) has the
    L2 penalty ``||W||^2 / (2 C)`` of scikit-learn's ``LogisticRegression``. A small ``C``
    gives a calibrated weighted product of the experts, a large one a free linear model.
    With ``n_experts=0`` it is a plain multinomial logistic regression.

    Parameters
    ----------
    n_experts : int, default=0
        Number of expert blocks at the start of ``X``.
    n_expert_classes : int, default=None
        Columns per expert block. ``None``: the number of classes in ``y``. When given, the
        labels must be the integers ``0..n_expert_classes - 1`` naming the column of each
        block (a training set may then lack some classes).
    C : float, default=1.0
        Inverse strength of the L2 penalty on ``W``.
    max_iter : int, default=1000
        Iterations of L-BFGS.
    tol : float, default=1e-5
        L-BFGS stops when the largest entry of the gradient of the mean loss (per unit of
        sample weight), in preconditioned parameters, falls below it.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    intercept_ : ndarray of shape (n_classes,)
    expert_weights_ : ndarray of shape (n_experts,)
        0 for an expert constant over the training rows.
    coef_ : ndarray of shape (n_classes, n_features)
    n_iter_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 3000)
    >>> guess = np.where(rng.random(3000) < 0.6, y, (y + rng.integers(1, 3, 3000)) % 3)
    >>> expert = np.log(np.where(np.eye(3)[guess] > 0, 0.6, 0.2))  # says 0.6, is right 60% of the time
    >>> model = PooledLogisticRegression(n_experts=1, C=1e-4).fit(expert, y)
    >>> bool(abs(model.expert_weights_[0] - 1) < 0.15), model.predict_proba(expert[:1]).round(1).tolist()
    (True, [[0.2, 0.2, 0.6]])
    """

    def __init__(self, n_experts=0, n_expert_classes=None, C=1.0, max_iter=1000, tol=1e-5):
        self.n_experts = n_experts
        self.n_expert_classes = n_expert_classes
        self.C = C
        self.max_iter = max_iter
        self.tol = tol

    def _check_params(self):
        if isinstance(self.n_experts, bool) or not isinstance(self.n_experts, (int, np.integer)) or self.n_experts < 0:
            raise ValueError(f"n_experts must be a non-negative integer, got {self.n_experts!r}")
        if not self.C > 0:
            raise ValueError(f"C must be positive, got {self.C!r}")
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")

    def _set_expert_layout(self, n_columns):
        """Set ``expert_width_`` (columns per expert block) and ``expert_columns_`` (the column
        of each class of ``classes_`` in a block), checked against the labels and the
        ``n_columns`` of ``X``."""
        n_classes = self.classes_.size
        if self.n_expert_classes is None:
            self.expert_width_, self.expert_columns_ = n_classes, np.arange(n_classes)
        else:
            width = int(self.n_expert_classes)
            if not np.issubdtype(self.classes_.dtype, np.integer) or self.classes_.min() < 0 or self.classes_.max() >= width:
                raise ValueError(
                    f"with n_expert_classes={width} the labels must be integers 0..{width - 1}, got {self.classes_.tolist()}"
                )
            self.expert_width_, self.expert_columns_ = width, self.classes_.astype(np.int64)
        if self.n_experts * self.expert_width_ > n_columns:
            raise ValueError(
                f"{self.n_experts} experts of {self.expert_width_} columns need {self.n_experts * self.expert_width_} "
                f"columns, X has {n_columns}"
            )

    def _expert_slices(self, X):
        """The experts' log-posteriors of the classes in ``classes_``: shape (n_experts, n, n_classes)."""
        width = self.expert_width_
        columns = self.expert_columns_
        return np.stack([X[:, k * width + columns] for k in range(self.n_experts)]) if self.n_experts else None

    def _scores(self, X, experts, intercept, weights, coef):
        scores = X @ coef + intercept
        if experts is not None and experts.shape[0]:
            scores = scores + np.tensordot(weights, experts, axes=1)
        return scores

    def fit(self, X, y, sample_weight=None):
        """Fit by L-BFGS on the penalised, weighted multinomial log-loss.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : PooledLogisticRegression
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self._check_params()
        self.classes_, y_index = np.unique(y, return_inverse=True)
        n_classes = self.classes_.size
        if n_classes < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes, got 1 class")
        self._set_expert_layout(X.shape[1])
        weight = _check_sample_weight(sample_weight, X)
        experts = self._expert_slices(X)
        # An expert constant over the rows (e.g. a modality absent from all of them) only
        # shifts the intercepts: its weight would be arbitrary, so it is held at 0.
        active = np.zeros(self.n_experts, dtype=bool)
        if experts is not None:
            active = np.ptp(experts, axis=1).max(axis=1) > 0
            experts = experts[active] if active.any() else None
        n_features = X.shape[1]
        onehot = np.eye(n_classes)[y_index]
        rows = np.arange(y_index.size)
        total = weight.sum()
        sizes = (n_classes, int(active.sum()), n_features * n_classes)

        def unpack(theta):
            intercept, weights, coef = np.split(theta, np.cumsum(sizes)[:-1])
            return intercept, weights, coef.reshape(n_features, n_classes)

        def objective(theta):
            intercept, weights, coef = unpack(theta)
            scores = self._scores(X, experts, intercept, weights, coef)
            scores -= scores.max(axis=1, keepdims=True)
            exponentials = np.exp(scores)
            norm = exponentials.sum(axis=1)
            loss = weight @ (np.log(norm) - scores[rows, y_index]) + (coef**2).sum() / (2 * self.C)
            residual = weight[:, None] * (exponentials / norm[:, None] - onehot)
            gradient = [residual.sum(axis=0)]
            gradient.append(np.einsum("knc,nc->k", experts, residual) if experts is not None else np.zeros(0))
            gradient.append((X.T @ residual + coef / self.C).ravel())
            return loss / total, np.concatenate(gradient) / total

        start = np.zeros(sum(sizes))
        start[n_classes : n_classes + sizes[1]] = 1.0 / max(sizes[1], 1)
        # L-BFGS on badly scaled parameters (unpenalised expert weights beside penalised
        # coefficients of columns of any scale) crawls; it runs on the parameters divided by
        # the square root of the Hessian's diagonal at the start (Jacobi preconditioning).
        scale = 1.0 / np.sqrt(np.maximum(self._hessian_diagonal(X, experts, start, unpack, weight) / total, 1e-12))
        result = minimize(
            lambda u: (lambda value, gradient: (value, gradient * scale))(*objective(u * scale)),
            start / scale, jac=True, method="L-BFGS-B",
            options={"maxiter": int(self.max_iter), "gtol": float(self.tol), "ftol": 1e-12},
        )
        self.intercept_, weights, coef = unpack(result.x * scale)
        self.expert_weights_ = np.zeros(self.n_experts)
        self.expert_weights_[active] = weights
        self.coef_ = coef.T.copy()
        self.n_iter_ = int(result.nit)
        return self

    def _decision(self, X):
        """The class scores: log-posteriors up to a per-row constant."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._scores(X, self._expert_slices(X), self.intercept_, self.expert_weights_, self.coef_.T)

    def _hessian_diagonal(self, X, experts, theta, unpack, weight):
        """Diagonal of the Hessian of the (weighted, summed) penalised loss at ``theta``."""
        intercept, weights, coef = unpack(theta)
        proba = softmax(self._scores(X, experts, intercept, weights, coef), axis=1)
        spread = weight[:, None] * proba * (1 - proba)
        parts = [spread.sum(axis=0)]
        if experts is not None and experts.shape[0]:
            # each expert: the weighted variance of its log-posteriors under the model's posteriors
            mean = np.einsum("knc,nc->kn", experts, proba)
            parts.append((np.einsum("knc,nc->kn", experts**2, proba) - mean**2) @ weight)
        else:
            parts.append(np.zeros(0))
        parts.append(((X**2).T @ spread + 1.0 / self.C).ravel())
        return np.concatenate(parts)

    def predict_proba(self, X):
        """Posterior of each class of ``classes_``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return softmax(self._decision(X), axis=1)

    def predict_log_proba(self, X):
        """Log-posterior of each class of ``classes_``."""
        scores = self._decision(X)
        return scores - logsumexp(scores, axis=1, keepdims=True)

    def predict(self, X):
        """The class of highest posterior."""
        scores = self._decision(X)
        return self.classes_[np.argmax(scores, axis=1)]
