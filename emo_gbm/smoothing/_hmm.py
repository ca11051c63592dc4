"""HMM decoding of frame posteriors: transitions from train labels, Viterbi over blocks of frames."""

import numpy as np

from emo_gbm.constants import N_CLASSES


def viterbi(log_emissions, log_transition, log_initial):
    """Most likely state paths of several sequences at once.

    Loops over time and vectorises over sequences and states; the sequences may have
    different lengths.

    Parameters
    ----------
    log_emissions : list of ndarray of shape (n_steps_i, n_states)
    log_transition : ndarray of shape (n_states, n_states)
        ``log_transition[i, j]`` = log P(next = j | current = i).
    log_initial : ndarray of shape (n_states,)

    Returns
    -------
    paths : list of ndarray of shape (n_steps_i,), int64

    Examples
    --------
    >>> import numpy as np
    >>> stay = np.log(np.array([[0.9, 0.1], [0.1, 0.9]]))
    >>> emissions = np.log(np.array([[0.8, 0.2], [0.4, 0.6], [0.9, 0.1]]))
    >>> viterbi([emissions], stay, np.log([0.5, 0.5]))[0].tolist()
    [0, 0, 0]
    """
    return viterbi_many(log_emissions, np.asarray(log_transition)[None], log_initial)[0]


def viterbi_many(log_emissions, log_transitions, log_initial):
    """:func:`viterbi` of the same sequences under several transition matrices at once.

    One pass over time decodes every sequence under every matrix (the per-step work is
    vectorised over both), which is what tuning the self-transition needs; each path is
    exactly the one :func:`viterbi` finds with that matrix alone.

    Parameters
    ----------
    log_emissions : list of ndarray of shape (n_steps_i, n_states)
    log_transitions : ndarray of shape (n_matrices, n_states, n_states)
    log_initial : ndarray of shape (n_states,)

    Returns
    -------
    paths : list (one per matrix) of lists of ndarray of shape (n_steps_i,), int64

    Examples
    --------
    >>> import numpy as np
    >>> emissions = np.log(np.array([[0.8, 0.2], [0.4, 0.6], [0.9, 0.1]]))
    >>> stay, switch = np.log([[0.9, 0.1], [0.1, 0.9]]), np.log([[0.1, 0.9], [0.9, 0.1]])
    >>> [p[0].tolist() for p in viterbi_many([emissions], np.stack([stay, switch]), np.log([0.5, 0.5]))]
    [[0, 0, 0], [0, 1, 0]]
    """
    lengths = np.array([e.shape[0] for e in log_emissions], dtype=np.int64)
    log_transitions = np.asarray(log_transitions)
    n_matrices, n_sequences, n_states = log_transitions.shape[0], lengths.size, log_transitions.shape[1]
    if n_sequences == 0:
        return [[] for _ in range(n_matrices)]
    n_steps = int(lengths.max())
    # Arrays are laid out (state, matrix, sequence): the per-step sums then run over rows of
    # n_sequences contiguous numbers, not over a last axis of n_states.
    padded = np.zeros((n_steps, n_states, 1, n_sequences))
    for i, emissions in enumerate(log_emissions):
        padded[: emissions.shape[0], :, 0, i] = emissions
    backpointers = np.zeros((n_steps, n_states, n_matrices, n_sequences), dtype=np.int8)
    score = np.broadcast_to(log_initial[:, None, None] + padded[0], (n_states, n_matrices, n_sequences)).copy()
    final_score = np.where(lengths == 1, score, 0.0)
    # into[i][j, m, 0]: log P(next = j | current = i) under matrix m. The best previous state is
    # found by comparing the states in turn: a later state must score strictly higher to win,
    # so ties go to the lowest state, as argmax breaks them; the sums are those of a full
    # (state x state) table.
    into = [np.ascontiguousarray(log_transitions[:, i].T)[:, :, None] for i in range(n_states)]
    best_score, candidate = np.empty_like(score), np.empty_like(score)
    best, chosen = np.empty(score.shape, dtype=np.int8), np.empty(score.shape, dtype=np.int8)
    better = np.empty(score.shape, dtype=bool)
    for t in range(1, n_steps):
        np.add(score[0], into[0], out=best_score)
        best.fill(0)
        for i in range(1, n_states):
            np.add(score[i], into[i], out=candidate)
            np.greater(candidate, best_score, out=better)
            np.maximum(best_score, candidate, out=best_score)
            # states are tried in increasing order: a winner's index is above every earlier one
            np.multiply(better, i, out=chosen)
            np.maximum(best, chosen, out=best)
        backpointers[t] = best
        score = best_score + padded[t]
        ending = lengths == t + 1
        final_score[:, :, ending] = score[:, :, ending]
    # Backtrack all sequences together; a sequence joins when t reaches its own last step.
    paths = np.zeros((n_matrices, n_sequences, n_steps), dtype=np.int64)
    last = final_score.argmax(axis=0)
    state = last
    for t in range(n_steps - 1, -1, -1):
        state = np.where(lengths - 1 == t, last, state)
        paths[:, :, t] = state
        if t > 0:
            state = np.where(t < lengths, np.take_along_axis(backpointers[t], state[None], axis=0)[0], state)
    return [[paths[m, i, : lengths[i]] for i in range(n_sequences)] for m in range(n_matrices)]


def estimate_transitions(label_sequences, step, n_classes=N_CLASSES):
    """Transition probabilities between labels ``step`` frames apart, Laplace-smoothed.

    Parameters
    ----------
    label_sequences : list of ndarray of int
        Frame labels of each train recording.
    step : int
        Frames per decoding step.

    Returns
    -------
    transition : ndarray of shape (n_classes, n_classes)

    Examples
    --------
    >>> import numpy as np
    >>> estimate_transitions([np.array([0, 0, 0, 1, 1, 1])], step=1, n_classes=2).round(2).tolist()
    [[0.6, 0.4], [0.25, 0.75]]
    """
    counts = np.ones((n_classes, n_classes))
    for labels in label_sequences:
        sampled = np.asarray(labels)[::step]
        np.add.at(counts, (sampled[:-1], sampled[1:]), 1.0)
    return counts / counts.sum(axis=1, keepdims=True)


def block_means(frame_proba, step):
    """Mean posterior of each run of ``step`` frames (the last run may be shorter)."""
    n_frames = frame_proba.shape[0]
    firsts = np.arange(0, n_frames, step)
    sizes = np.diff(np.append(firsts, n_frames))
    return np.add.reduceat(frame_proba, firsts, axis=0) / sizes[:, None]
