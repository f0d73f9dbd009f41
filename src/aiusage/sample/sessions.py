"""Sessions of the sample company: how many events each workflow gets, and how they group
into interactive sessions and batch jobs."""

from __future__ import annotations

import numpy as np

from aiusage.sample.catalog import BATCH_SESSION_MEAN_LEN, TASK_SESSIONS, WORKFLOWS


def event_shares() -> np.ndarray:
    v = np.array([w.volume_share for w in WORKFLOWS], dtype=float)
    return v / v.sum()


def sample_sessions(rng: np.random.Generator, n_events: int):
    """Sessions (kind, length) whose lengths sum to exactly n_events.

    kind k < W is an interactive session of workflow k, k >= W a batch job of k - W.
    """
    nw = len(WORKFLOWS)
    share = event_shares()
    bshare = np.array([w.batch_share for w in WORKFLOWS])
    ev_w = np.concatenate([share * (1 - bshare), share * bshare])
    mlen = np.concatenate(
        [[TASK_SESSIONS[w.task_type][0] for w in WORKFLOWS], np.full(nw, BATCH_SESSION_MEAN_LEN)]
    )
    sess_w = ev_w / mlen
    sess_w = sess_w / sess_w.sum()
    mean_len = float((sess_w * mlen).sum())
    kinds: list[np.ndarray] = []
    lens: list[np.ndarray] = []
    have = 0
    while have < n_events:
        k = int((n_events - have) / mean_len * 1.15) + 8
        kk = rng.choice(2 * nw, size=k, p=sess_w)
        ll = rng.geometric(1.0 / mlen[kk])
        kinds.append(kk)
        lens.append(ll)
        have += int(ll.sum())
    if not kinds:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    kk = np.concatenate(kinds)
    ll = np.concatenate(lens).astype(np.int64)
    cs = np.cumsum(ll)
    last = int(np.searchsorted(cs, n_events))  # session holding the n-th event
    kk = kk[: last + 1]
    ll = ll[: last + 1].copy()
    ll[-1] -= int(cs[last] - n_events)
    return kk, ll
