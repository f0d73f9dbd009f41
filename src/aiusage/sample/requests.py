"""One landing day of sample requests: sessions, models, tokens, timing, outcomes, as
JSON lines (the hot loop of the generator, vectorized with numpy)."""

from __future__ import annotations

from datetime import date

import numpy as np

from aiusage.sample.catalog import (
    ALIAS_SESSION_SHARE,
    BATCH_GAP_MS,
    CLIENTS,
    DAY_MS,
    LONG_CONTEXT_MODELS,
    LONG_CONTEXT_SHARE,
    LONG_CONTEXT_TASKS,
    LONG_CONTEXT_THRESHOLD_TOKENS,
    MODEL_ALIASES,
    MODELS,
    ORG,
    TASK_SESSIONS,
    TASK_TOKENS,
    UNPRICED_MODEL_SESSION_SHARE,
    WORKFLOWS,
    resolve_model,
)
from aiusage.sample.ground_truth import (
    BATCH_HOUR_P,
    BATCH_HOURS,
    ERROR_SHARE,
    HOUR_P,
    PREVIEW_QUALITY_BONUS,
    QUALITY_GROUND_TRUTH,
    QUALITY_PASS_THRESHOLD,
    QUALITY_SCORED_SHARE,
    QUALITY_SD,
    RATE_LIMITED_SHARE,
    REPORTED_COST_WORKFLOW,
    SPIKE_MODEL,
    SPIKE_RATE_LIMITED_SHARE,
    SPIKE_WORKFLOW,
    STAGING_SHARE,
    TIMEOUT_SHARE,
)
from aiusage.sample.sessions import sample_sessions

# --------------------------------------------------------------------------------------
# Lookup arrays
# --------------------------------------------------------------------------------------

_MODEL_IDS: tuple[str, ...] = tuple(MODELS)
_MIDX = {m: i for i, m in enumerate(_MODEL_IDS)}
_PROVIDERS = ("openai", "anthropic", "google")
_PIDX = {p: i for i, p in enumerate(_PROVIDERS)}
_M_PROVIDER = np.array([_PIDX[MODELS[m].provider] for m in _MODEL_IDS])
_M_TTFT = np.array([MODELS[m].ttft_ms for m in _MODEL_IDS])
_M_MSTOK = np.array([MODELS[m].ms_per_token for m in _MODEL_IDS])
_M_PREFILL = np.array([MODELS[m].prefill_ms_per_1k for m in _MODEL_IDS])
_M_REASON = np.array([MODELS[m].reasoning_ratio for m in _MODEL_IDS])
_M_PIN = np.array([MODELS[m].list_input_usd_per_mtok for m in _MODEL_IDS])
_M_POUT = np.array([MODELS[m].list_output_usd_per_mtok for m in _MODEL_IDS])
_M_LONGCTX = np.array([m in LONG_CONTEXT_MODELS for m in _MODEL_IDS])
# implicit caching on Google: 2.5 family only
_M_GOOGLE_CACHE = np.array(
    [m.startswith("gemini-2.5") or m.startswith(("gemini-3", "gemini-4")) for m in _MODEL_IDS]
)
_M_MIN_CACHE = np.array(
    [2048 if ("haiku" in m or m == "gemini-2.5-pro") else 1024 for m in _MODEL_IDS]
)
_ALIASES_BY_MODEL: dict[str, tuple[str, ...]] = {}
for _a, _c in MODEL_ALIASES.items():
    _ALIASES_BY_MODEL[_c] = (*_ALIASES_BY_MODEL.get(_c, ()), _a)

_WF_TEAM = [w.team for w in WORKFLOWS]
_WF_TASK = [w.task_type for w in WORKFLOWS]
_TASKS = ("summarize", "classify", "extract", "chat", "code", "rag")
_TIDX = {t: i for i, t in enumerate(_TASKS)}
_W_TASK = np.array([_TIDX[w.task_type] for w in WORKFLOWS])
_T_IN_MED = np.log([TASK_TOKENS[t][0] for t in _TASKS])
_T_IN_SIG = np.array([TASK_TOKENS[t][1] for t in _TASKS])
_T_OUT_MED = np.log([TASK_TOKENS[t][2] for t in _TASKS])
_T_OUT_SIG = np.array([TASK_TOKENS[t][3] for t in _TASKS])
_W_CACHE = np.array([w.cache_rate for w in WORKFLOWS])
_W_LONGCTX_TASK = np.array([w.task_type in LONG_CONTEXT_TASKS for w in WORKFLOWS])
SPIKE_WORKFLOW_INDEX = [w.name for w in WORKFLOWS].index(SPIKE_WORKFLOW)
_COST_WIDX = [w.name for w in WORKFLOWS].index(REPORTED_COST_WORKFLOW)
_USER_WEIGHTS = {  # a few power users per team
    t: (lambda n: (w := 1.0 / np.arange(1, n + 1) ** 0.7) / w.sum())(len(us))
    for t, us in ORG.items()
}

_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8
)
_ID_PREFIX = ("chatcmpl-", "msg_01", "gen-")
_ID_LEN = (29, 22, 24)

# status codes: 0 success, 1 error 500, 2 error 503, 3 error 400, 4 timeout 504,
# 5 timeout (client side, no http status), 6 rate limited 429
_STATUS_CHUNK = (
    '"status":"success","error_type":null,"http_status":200',
    '"status":"error","error_type":"server_error","http_status":500',
    '"status":"error","error_type":"server_error","http_status":503',
    '"status":"error","error_type":"invalid_request","http_status":400',
    '"status":"timeout","error_type":"timeout","http_status":504',
    '"status":"timeout","error_type":"timeout","http_status":null',
    '"status":"rate_limited","error_type":"rate_limit_exceeded","http_status":429',
)
_TIERS = ("standard", "batch", "flex")
_SDK_META = (
    '{"sdk":"openai-python/1.54.3","region":"us-east-1"}',
    '{"sdk":"anthropic-python/0.40.0","region":"us-east-1"}',
    '{"sdk":"google-genai/1.2.0","region":"europe-west4"}',
)

_LINE = (
    '{"schema_version":1,"request_id":"%s","occurred_at":"%sZ",%s,'
    '"input_tokens":%d,"cache_read_tokens":%d,"cache_write_tokens":%d,'
    '"cache_write_1h_tokens":%d,"output_tokens":%d,"reasoning_tokens":%d,'
    '"service_tier":"%s","latency_ms":%d,"ttft_ms":%s,%s,%s,"reported_cost_usd":%s,'
    '"metadata":%s}'
)


def _rand_strings(rng: np.random.Generator, n: int, length: int) -> list[str]:
    if n == 0:
        return []
    idx = rng.integers(0, len(_ALPHABET), size=(n, length), dtype=np.uint8)
    raw = np.ascontiguousarray(_ALPHABET[idx]).view(f"S{length}").ravel()
    return raw.astype(f"U{length}").tolist()


def _choice_by_group(rng, groups: np.ndarray, n_groups: int, options, probs) -> np.ndarray:
    """For each element pick an option index from the per-group distribution."""
    out = np.zeros(len(groups), dtype=np.int64)
    for g in range(n_groups):
        sel = np.flatnonzero(groups == g)
        if sel.size:
            out[sel] = rng.choice(np.asarray(options[g]), size=sel.size, p=probs[g])
    return out


def day_lines(rng: np.random.Generator, day: date, n_regular: int, n_spike: int):
    """Format the events that occurred on ``day``: returns (lines, ms-of-day, the session
    ids of the spike's runaway loop)."""
    nw = len(WORKFLOWS)
    kinds, lens = sample_sessions(rng, n_regular)
    s_wf = kinds % nw
    s_batch = kinds >= nw
    s_spike = np.zeros(len(kinds), dtype=bool)

    # sessions: model, user, client, prompt version
    wf_models = [[_MIDX[resolve_model(m, day)] for m, _ in w.models] for w in WORKFLOWS]
    wf_mp = [np.array([p for _, p in w.models]) / sum(p for _, p in w.models) for w in WORKFLOWS]
    s_model = _choice_by_group(rng, s_wf, nw, wf_models, wf_mp)

    # spike sessions: a runaway loop of one user on the expensive model
    if n_spike > 0:
        k = int(min(6, max(1, n_spike // 150 + 2), n_spike))
        base = n_spike // k
        sl = np.full(k, base, dtype=np.int64)
        sl[: n_spike - base * k] += 1
        s_wf = np.concatenate([s_wf, np.full(k, SPIKE_WORKFLOW_INDEX)])
        s_batch = np.concatenate([s_batch, np.zeros(k, dtype=bool)])
        s_spike = np.concatenate([s_spike, np.ones(k, dtype=bool)])
        s_model = np.concatenate([s_model, np.full(k, _MIDX[resolve_model(SPIKE_MODEL, day)])])
        lens = np.concatenate([lens, sl])
    ns = len(s_wf)

    s_preview = (~s_batch) & (~s_spike) & (rng.random(ns) < UNPRICED_MODEL_SESSION_SHARE)
    s_model = np.where(s_preview, _MIDX["gemini-4-pro-preview"], s_model)

    team_users = [ORG[w.team] for w in WORKFLOWS]
    s_user_local = _choice_by_group(
        rng,
        s_wf,
        nw,
        [np.arange(len(u)) for u in team_users],
        [_USER_WEIGHTS[w.team] for w in WORKFLOWS],
    )
    s_user_local = np.where(s_spike, 0, s_user_local)
    s_client = _choice_by_group(
        rng,
        s_wf,
        nw,
        [np.arange(len(CLIENTS))] * nw,
        [np.array(w.client_weights) / sum(w.client_weights) for w in WORKFLOWS],
    )
    s_client = np.where(s_spike, CLIENTS.index("internal"), s_client)
    s_pv = _choice_by_group(
        rng,
        s_wf,
        nw,
        [np.arange(len(w.prompt_versions)) for w in WORKFLOWS],
        [np.array(w.prompt_weights) / sum(w.prompt_weights) for w in WORKFLOWS],
    )
    s_env_staging = (~s_batch) & (~s_spike) & (rng.random(ns) < STAGING_SHARE)
    s_provider = _M_PROVIDER[s_model]
    flex_share = np.array([w.flex_share for w in WORKFLOWS])[s_wf]
    s_tier = np.where(s_batch, 1, 0)
    s_flex = (
        (~s_batch)
        & (~s_spike)
        & (s_provider == 0)
        & (_M_REASON[s_model] > 0)
        & (rng.random(ns) < flex_share)
    )
    s_tier = np.where(s_flex, 2, s_tier)
    s_alias_u = rng.random(ns)
    s_alias_pick = rng.integers(0, 1 << 30, size=ns)
    s_meta_u = rng.random(ns)
    s_ids = _rand_strings(rng, ns, 20)

    # session start time and request spacing
    hours = rng.choice(24, size=ns, p=HOUR_P)
    bhours = rng.choice(BATCH_HOURS, size=ns, p=BATCH_HOUR_P)
    s_start = np.where(s_batch, bhours, hours) * 3_600_000 + rng.integers(0, 3_600_000, ns)
    gap = np.array([TASK_SESSIONS[t][1] * 1000.0 for t in _WF_TASK])[s_wf]
    gap = np.where(s_batch, BATCH_GAP_MS, gap)
    if n_spike > 0:
        # the loop starts mid-morning and runs for 3-8 hours
        loop_start = int(rng.integers(8, 13)) * 3_600_000 + int(rng.integers(0, 3_600_000))
        loop_len = float(rng.uniform(3, 8)) * 3_600_000
        s_start = np.where(s_spike, loop_start + rng.integers(0, 600_000, ns), s_start)
        gap = np.where(s_spike, loop_len / np.maximum(lens, 1), gap)

    # session-level JSON chunks
    chunks = []
    tier_s = []
    meta_s = []
    for i in range(ns):
        w = WORKFLOWS[int(s_wf[i])]
        mid = int(s_model[i])
        canon = _MODEL_IDS[mid]
        aliases = _ALIASES_BY_MODEL.get(canon, ())
        reported = canon
        if aliases and s_alias_u[i] < ALIAS_SESSION_SHARE:
            reported = aliases[int(s_alias_pick[i]) % len(aliases)]
        users = team_users[int(s_wf[i])]
        batch = bool(s_batch[i])
        sid = ("batch_" if batch else "sess_") + s_ids[i]
        chunks.append(
            f'"provider":"{_PROVIDERS[int(s_provider[i])]}","model":"{reported}",'
            f'"client":"{CLIENTS[int(s_client[i])]}","team":"{w.team}",'
            f'"user_id":"{users[int(s_user_local[i])]}","workflow":"{w.name}",'
            f'"feature":"{w.feature}","task_type":"{w.task_type}","session_id":"{sid}",'
            f'"prompt_version":"{w.prompt_versions[int(s_pv[i])]}",'
            f'"environment":"{"staging" if s_env_staging[i] else "production"}"'
        )
        tier_s.append(_TIERS[int(s_tier[i])])
        if batch:
            meta_s.append('{"batch_id":"batch_%s"}' % s_ids[i][:12])
        elif s_meta_u[i] < 0.45:
            meta_s.append(_SDK_META[int(s_provider[i])])
        else:
            meta_s.append("null")

    # ---- events
    n = int(lens.sum())
    spike_sessions = tuple(
        "sess_" + s_ids[i] for i in np.flatnonzero(s_spike).tolist() if lens[i] > 0
    )
    if n == 0:
        return [], np.zeros(0, dtype=np.int64), spike_sessions
    sess = np.repeat(np.arange(ns), lens)
    first = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    pos = np.arange(n) - first[sess]
    wf = s_wf[sess]
    model = s_model[sess]
    prov = s_provider[sess]
    batch = s_batch[sess]
    spike = s_spike[sess]
    task = _W_TASK[wf]

    # timestamps: consecutive requests of a session, kept inside the day
    g = rng.exponential(1.0, n) * gap[sess]
    g[first] = 0.0
    cs = np.cumsum(g)
    offs = cs - cs[first][sess]
    dur = offs[np.minimum(first + lens - 1, n - 1)] if n else np.zeros(0)
    scale = np.where(dur > DAY_MS - 1, (DAY_MS - 1) / np.maximum(dur, 1.0), 1.0)
    start = np.clip(s_start, 0, np.maximum(0, DAY_MS - 1 - dur * scale))
    ms = (start[sess] + offs * scale[sess]).astype(np.int64)
    ms = np.clip(ms, 0, DAY_MS - 1)

    # tokens
    inp = rng.lognormal(_T_IN_MED[task], _T_IN_SIG[task])
    chat = task == _TIDX["chat"]
    inp = np.where(chat, inp * (1.0 + 0.3 * pos), inp)  # conversations grow
    inp = np.where(spike, inp * (1.0 + 0.02 * np.minimum(pos, 200)), inp)  # loop context
    inp = np.clip(inp, 1, 150_000).astype(np.int64)
    longctx = _M_LONGCTX[model] & _W_LONGCTX_TASK[wf] & (rng.random(n) < LONG_CONTEXT_SHARE)
    inp = np.where(longctx, rng.integers(LONG_CONTEXT_THRESHOLD_TOKENS + 1, 480_000, n), inp)
    vis = np.clip(rng.lognormal(_T_OUT_MED[task], _T_OUT_SIG[task]), 1, 16_000)
    rratio = _M_REASON[model]
    reas = np.where(rratio > 0, vis * rratio * rng.lognormal(0.0, 0.5, n), 0.0)
    reas = np.minimum(reas, 60_000).astype(np.int64)
    vis = vis.astype(np.int64)
    out = vis + reas

    # status
    u = rng.random(n)
    rl_share = np.where(spike, SPIKE_RATE_LIMITED_SHARE, RATE_LIMITED_SHARE)
    to_share = np.where(rratio > 0, 2 * TIMEOUT_SHARE, TIMEOUT_SHARE)
    status = np.zeros(n, dtype=np.int64)
    rl = u < rl_share
    er = (~rl) & (u < rl_share + ERROR_SHARE)
    to = (~rl) & (~er) & (u < rl_share + ERROR_SHARE + to_share)
    v = rng.random(n)
    status[er] = np.where(v[er] < 0.6, 1, np.where(v[er] < 0.75, 2, 3))
    status[to] = np.where(v[to] < 0.6, 4, 5)
    status[rl] = 6
    ok = status == 0

    # prompt caching
    frac = rng.uniform(0.3, 0.9, n)
    cache_on = (rng.random(n) < _W_CACHE[wf]) & ok & (inp >= _M_MIN_CACHE[model])
    hit_u = rng.random(n)
    cr = np.zeros(n, dtype=np.int64)
    cw = np.zeros(n, dtype=np.int64)
    # OpenAI: automatic caching in 128-token blocks, reads only
    oa = cache_on & (prov == 0) & ((pos > 0) | (hit_u < 0.3))
    cr = np.where(oa, (np.floor(inp * frac / 128) * 128).astype(np.int64), cr)
    # Google: implicit caching (2.5 family), reads only
    go = cache_on & (prov == 2) & _M_GOOGLE_CACHE[model] & ((pos > 0) | (hit_u < 0.3))
    cr = np.where(go, np.floor(inp * frac).astype(np.int64), cr)
    # Anthropic: first request of a session writes, later ones read (and sometimes write more)
    an = cache_on & (prov == 1)
    an_read = an & (pos > 0) & (hit_u < 0.85)
    an_write = an & ~an_read
    cr = np.where(an_read, np.floor(inp * frac).astype(np.int64), cr)
    extra_w = an_read & (rng.random(n) < 0.3)
    wfrac = rng.uniform(0.1, 0.5, n)
    cw = np.where(an_write, np.floor(inp * frac).astype(np.int64), cw)
    cw = np.where(extra_w, np.floor((inp - cr) * wfrac).astype(np.int64), cw)
    # Every noise write has the 5-minute TTL: their sessions rarely pause 5 to 60 minutes, so
    # a 1-hour TTL would be an unplanted cause of the savings list (the planted workflow
    # with the TTL cause writes 1-hour caches). The two draws the TTL choice once took stay,
    # so the rest of the random stream, and the data, are what they were.
    rng.random(n)
    rng.random(n)
    cw1 = np.zeros(n, dtype=np.int64)

    # failures: nothing generated; rate-limited requests never reached the model
    inp = np.where(status == 6, 0, inp)
    out = np.where(ok, out, 0)
    reas = np.where(ok, reas, 0)

    # latency / ttft
    jit = rng.lognormal(0.0, 0.3, n)
    ttft = (_M_TTFT[model] + _M_PREFILL[model] * inp / 1000.0) * jit + reas * _M_MSTOK[model]
    lat = ttft + (out - reas) * _M_MSTOK[model] * rng.lognormal(0.0, 0.2, n)
    batch_lat = np.minimum(rng.lognormal(np.log(1_200_000), 0.8, n), 86_000_000)
    lat = np.where(batch, batch_lat, lat)
    fail_lat = np.select(
        [status == 6, (status >= 1) & (status <= 3), status >= 4],
        [
            rng.lognormal(np.log(120), 0.5, n),
            rng.lognormal(np.log(700), 0.6, n),
            np.array([30_000.0, 60_000.0, 120_000.0, 600_000.0])[rng.integers(0, 4, n)]
            + rng.integers(0, 250, n),
        ],
        default=lat,
    )
    lat = np.where(ok, lat, fail_lat)
    lat = np.maximum(lat, 1).astype(np.int64)
    ttft = np.minimum(ttft.astype(np.int64), lat)
    has_ttft = ok & ~batch

    # quality
    qmean = np.zeros(n)
    for wi, w in enumerate(WORKFLOWS):
        table = QUALITY_GROUND_TRUTH[w.name]
        best = max(table.values())
        arr = np.array([table.get(m, best + PREVIEW_QUALITY_BONUS) for m in _MODEL_IDS])
        sel = wf == wi
        qmean[sel] = arr[model[sel]]
    scored = ok & (rng.random(n) < QUALITY_SCORED_SHARE)
    q = np.round(np.clip(rng.normal(qmean, QUALITY_SD), 0.0, 1.0), 3)

    # ids
    bodies = _rand_strings(rng, n, 29)

    # ---- format
    pl = prov.tolist()
    rid = [_ID_PREFIX[p] + b[: _ID_LEN[p]] for p, b in zip(pl, bodies, strict=True)]
    day64 = np.datetime64(day.isoformat(), "ms")
    ts = np.datetime_as_string(day64 + ms.astype("timedelta64[ms]"), unit="ms").tolist()
    chunk_arr = np.array(chunks, dtype=object)
    tier_arr = np.array(tier_s, dtype=object)
    meta_arr = np.array(meta_s, dtype=object)

    ttft_s = np.full(n, "null", dtype=object)
    idx = np.flatnonzero(has_ttft)
    ttft_s[idx] = [str(x) for x in ttft[idx].tolist()]
    q_s = np.full(n, '"quality_score":null,"passed_quality":null', dtype=object)
    idx = np.flatnonzero(scored)
    q_s[idx] = [
        '"quality_score":%.3f,"passed_quality":%s'
        % (x, "true" if x >= QUALITY_PASS_THRESHOLD else "false")
        for x in q[idx].tolist()
    ]
    cost_s = np.full(n, "null", dtype=object)
    idx = np.flatnonzero((wf == _COST_WIDX) & ok)
    cost = (inp[idx] * _M_PIN[model[idx]] + out[idx] * _M_POUT[model[idx]]) / 1e6
    cost_s[idx] = ["%.6f" % c for c in cost.tolist()]
    status_arr = np.array(_STATUS_CHUNK, dtype=object)[status]

    lines = [
        _LINE % row
        for row in zip(
            rid,
            ts,
            chunk_arr[sess].tolist(),
            inp.tolist(),
            cr.tolist(),
            cw.tolist(),
            cw1.tolist(),
            out.tolist(),
            reas.tolist(),
            tier_arr[sess].tolist(),
            lat.tolist(),
            ttft_s.tolist(),
            status_arr.tolist(),
            q_s.tolist(),
            cost_s.tolist(),
            meta_arr[sess].tolist(),
            strict=True,
        )
    ]
    return lines, ms, spike_sessions
