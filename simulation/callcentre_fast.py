"""The call centre's month as one compiled event loop: the SimPy model's events, replayed.

Why: a month of the SimPy call centre (simulation.callcentre) costs a few SimPy events per
call, at SimPy's few hundred thousand events a second, and was 80% of a simulation's run.
This is the same queue, seats, shifts and processes, written as a state machine over one
event heap and compiled: an outbound call costs one heap step of a few tens of nanoseconds.

Why a replay rather than a simpler queue model: to give the SimPy path's answers, not just
its distribution. The heap is ordered as SimPy's (time, then URGENT before NORMAL, then the
order of scheduling), every event SimPy schedules that changes something is scheduled here
at the same point (process starts, grants, releases, the caller's any-of condition), and
every time is computed with SimPy's float operations (``now + delay``). The resource is
SimPy's ``PriorityResource``: hotline requests (priority 0) then agents' (priority 1), each
first come first served, and a release or a new request grants only the head of that queue
(``BaseResource._trigger_put`` stops after one). Ties at one instant, such as agents started
together dialling 30-second unanswered calls, therefore resolve as in SimPy. The random
numbers are drawn by the caller in SimPy's order from the same generators and passed in.

Not modelled: events with no effect (a process's end, a patience timer of a caller already
served), and the engine's clock: this runs one month to its last event, as ``env.run()``
would for the call centre alone. In a simulation that is the SimPy path's month too, unless
the shifts reach the month's end (24-hour shifts on 30 days): there SimPy's month ends with
calls still running, whose seat time is then booked nowhere and whose seats stay taken into
the next month's first hours; here each month books all its calls and starts with free
seats (the only known difference; tests/simulation/test_sim_fast_callcentre.py).
Single-threaded, so a seed gives one result everywhere.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types

__all__ = ["month_events"]

URGENT, NORMAL = 0, 1
# Event kinds (the payload's low 4 bits; the rest is the process index).
M_WAKE, SOURCE, CALLER_INIT, AGENT_INIT, GRANT_CALLER, GRANT_AGENT = 0, 1, 2, 3, 4, 5
PATIENCE, CONDITION, CALL_END, SERVICE_END, RELEASE = 6, 7, 8, 9, 10


@numba.njit(cache=True, nogil=True)
def _earlier(t1, k1, t2, k2):  # type: ignore[no-untyped-def]
    # SimPy's order: time, then the key (priority, then the order of scheduling).
    return t1 < t2 or (t1 == t2 and k1 < k2)


# (times, keys, payloads, [size, next id], time, priority, kind, index). Declared: month_events
# passes priority and kind as constants, and undeclared each distinct constant pair was a
# compilation of its own (13 of them, 1.8 s on every fresh install).
_HEAP_ENTRY = types.void(types.float64[::1], types.int64[::1], types.int64[::1], types.int64[::1], types.float64,
                         types.int64, types.int64, types.int64)


@numba.njit(_HEAP_ENTRY, cache=True, nogil=True)
def _push(ht, hk, hp, st, t, priority, kind, index):  # type: ignore[no-untyped-def]
    # st = [heap size, next event id]. Parents move down into the hole until the new
    # event's place is found.
    k = (priority << 56) | st[1]
    i = st[0]
    st[0] = i + 1
    st[1] += 1
    while i > 0:
        parent = (i - 1) >> 1
        if not _earlier(t, k, ht[parent], hk[parent]):
            break
        ht[i], hk[i], hp[i] = ht[parent], hk[parent], hp[parent]
        i = parent
    ht[i], hk[i], hp[i] = t, k, (index << 4) | kind


@numba.njit(cache=True, nogil=True)
def _sift_down(ht, hk, hp, n, t, k, p):  # type: ignore[no-untyped-def]
    # Place (t, k, p) from the root of a heap of n entries: earlier children move up.
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _earlier(ht[child + 1], hk[child + 1], ht[child], hk[child]):
            child += 1
        if not _earlier(ht[child], hk[child], t, k):
            break
        ht[i], hk[i], hp[i] = ht[child], hk[child], hp[child]
        i = child
    ht[i], hk[i], hp[i] = t, k, p


@numba.njit(cache=True, nogil=True)
def _pop(ht, hk, hp, st):  # type: ignore[no-untyped-def]
    n = st[0] - 1
    st[0] = n
    _sift_down(ht, hk, hp, n, ht[n], hk[n], hp[n])


@numba.njit(_HEAP_ENTRY, cache=True, nogil=True)
def _replace_top(ht, hk, hp, st, t, priority, kind, index):  # type: ignore[no-untyped-def]
    # Pop the next event and push this one in one sift: the same heap order as _pop + _push.
    k = (priority << 56) | st[1]
    st[1] += 1
    _sift_down(ht, hk, hp, st[0], t, k, (index << 4) | kind)


@numba.njit(cache=True, nogil=True)
def month_events(  # type: ignore[no-untyped-def]
    now0,
    seats,
    capacity,
    starts,
    ends,
    lo,
    hi,
    drop,
    handle,
    arrive,
    service,
    patience,
    impatient,
    counted,
    shift_first,
    busy0,
):
    """One month of ``CallCentre._month`` from clock ``now0``.

    Shift d runs [starts[d], ends[d]) and its agents dial positions below hi[d] (from lo[d]
    under ``drop``); ``handle`` is the dial list's handle times; the hotline callers of
    shift d are ``shift_first[d]:shift_first[d + 1]`` of ``arrive`` (sorted), ``service``,
    ``patience`` (read if ``impatient``) and ``counted`` (after warm-up). ``busy0`` is where
    the busy seat-seconds start, so they add up in SimPy's order. Returns the positions
    placed and their start times (up to the month process's end, as SimPy records them),
    the busy seat-seconds, and the waits of served and of abandoning counted callers.
    """
    days = starts.size
    callers = arrive.size
    agents = seats * days
    # At most two pending events per caller and per agent, one per source and the month's.
    cap = 2 * callers + 2 * agents + days + 1
    ht = np.empty(cap, np.float64)
    hk = np.empty(cap, np.int64)
    hp = np.empty(cap, np.int64)
    st = np.zeros(2, np.int64)

    placed = np.empty(handle.size, np.int64)
    placed_at = np.empty(handle.size, np.float64)
    n_placed = 0
    n_recorded = -1  # calls placed when the month process ended
    waits = np.empty(callers, np.float64)
    n_waits = 0
    gone = np.empty(callers, np.float64)
    n_gone = 0
    busy = busy0

    # The resource: seats in use, the hotline queue (FIFO; a caller who hangs up is marked
    # out of it and skipped) and the agents' queue (a ring: one request per agent at most).
    users = 0
    cq = np.empty(callers, np.int64)
    cq_head = 0
    cq_tail = 0
    queued = np.zeros(callers, np.bool_)
    granted = np.zeros(callers, np.bool_)
    decided = np.zeros(callers, np.bool_)  # the caller's any-of condition has triggered
    ring = agents + 1
    aq = np.empty(ring, np.int64)
    aq_head = 0
    aq_len = 0
    waiting = 0  # callers started and not yet resumed from their request (CallCentre._inbound_waiting)

    began = np.zeros(agents, np.float64)
    src_next = shift_first[:days].copy()
    src_due = np.zeros(days, np.bool_)
    nxt = 0
    m_day = 0
    m_phase = 0  # 0: before day m_day, 1: at its shift start, 2: at its shift end

    now = now0
    _push(ht, hk, hp, st, now, URGENT, M_WAKE, 0)
    while st[0] > 0:
        now, payload = ht[0], hp[0]
        kind = payload & 15
        idx = payload >> 4
        if kind == CALL_END:
            # The common event: an agent ends a call and dials the next one.
            d = idx // seats
            if nxt < hi[d] and now < ends[d] and waiting == 0:
                placed[n_placed] = nxt
                placed_at[n_placed] = now
                n_placed += 1
                _replace_top(ht, hk, hp, st, now + handle[nxt], NORMAL, CALL_END, idx)
                nxt += 1
                continue
        _pop(ht, hk, hp, st)
        grant = False  # a request was made or a seat freed: grant the head of the queue
        if kind == CALL_END or kind == GRANT_AGENT:
            a = idx
            d = a // seats
            if kind == GRANT_AGENT:
                began[a] = now
            if nxt < hi[d] and now < ends[d] and waiting == 0:
                placed[n_placed] = nxt
                placed_at[n_placed] = now
                n_placed += 1
                _push(ht, hk, hp, st, now + handle[nxt], NORMAL, CALL_END, a)
                nxt += 1
            else:
                # Give the seat back; the release event follows, then perhaps a new request.
                busy += now - began[a]
                users -= 1
                _push(ht, hk, hp, st, now, NORMAL, RELEASE, 0)
                if nxt < hi[d] and now < ends[d]:
                    aq[(aq_head + aq_len) % ring] = a
                    aq_len += 1
                    grant = True
        elif kind == AGENT_INIT:
            d = idx // seats
            if nxt < hi[d] and now < ends[d]:
                aq[(aq_head + aq_len) % ring] = idx
                aq_len += 1
                grant = True
        elif kind == RELEASE:
            grant = True
        elif kind == SERVICE_END:
            busy += service[idx]
            users -= 1
            _push(ht, hk, hp, st, now, NORMAL, RELEASE, 0)
        elif kind == CALLER_INIT:
            waiting += 1
            cq[cq_tail] = idx
            cq_tail += 1
            queued[idx] = True
            # The request is granted (if it is) before the patience timer is scheduled.
            if users < capacity:
                while not queued[cq[cq_head]]:
                    cq_head += 1
                c = cq[cq_head]
                cq_head += 1
                queued[c] = False
                granted[c] = True
                users += 1
                _push(ht, hk, hp, st, now, NORMAL, GRANT_CALLER, c)
            if impatient:
                _push(ht, hk, hp, st, now + patience[idx], NORMAL, PATIENCE, idx)
        elif kind == GRANT_CALLER or kind == PATIENCE or kind == CONDITION:
            c = idx
            if impatient and kind != CONDITION:
                # Either event triggers the any-of condition; the caller resumes when it is processed.
                if not decided[c]:
                    decided[c] = True
                    _push(ht, hk, hp, st, now, NORMAL, CONDITION, c)
            else:
                waiting -= 1
                if granted[c]:
                    if counted[c]:
                        waits[n_waits] = now - arrive[c]
                        n_waits += 1
                    _push(ht, hk, hp, st, now + service[c], NORMAL, SERVICE_END, c)
                else:
                    # Hung up: the request leaves the queue, and releasing it schedules a release event.
                    if counted[c]:
                        gone[n_gone] = now - arrive[c]
                        n_gone += 1
                    queued[c] = False
                    _push(ht, hk, hp, st, now, NORMAL, RELEASE, 0)
        elif kind == SOURCE:
            d = idx
            if src_due[d]:
                _push(ht, hk, hp, st, now, URGENT, CALLER_INIT, src_next[d])
                src_next[d] += 1
                src_due[d] = False
            while src_next[d] < shift_first[d + 1]:
                t = arrive[src_next[d]]
                if t > now:
                    _push(ht, hk, hp, st, now + (t - now), NORMAL, SOURCE, d)
                    src_due[d] = True
                    break
                _push(ht, hk, hp, st, now, URGENT, CALLER_INIT, src_next[d])
                src_next[d] += 1
        else:  # M_WAKE: the month process
            while True:
                if m_phase == 2:
                    m_day += 1
                    m_phase = 0
                if m_phase == 0:
                    if m_day == days:
                        n_recorded = n_placed
                        break
                    m_phase = 1
                    if now < starts[m_day]:
                        _push(ht, hk, hp, st, now + (starts[m_day] - now), NORMAL, M_WAKE, 0)
                        break
                # At the shift start: the hotline source first (one without callers does
                # nothing, so it is not started), then the day's agents.
                if shift_first[m_day + 1] > shift_first[m_day]:
                    _push(ht, hk, hp, st, now, URGENT, SOURCE, m_day)
                if drop:
                    nxt = lo[m_day]
                if nxt < hi[m_day]:
                    for j in range(seats):
                        _push(ht, hk, hp, st, now, URGENT, AGENT_INIT, m_day * seats + j)
                m_phase = 2
                _push(ht, hk, hp, st, now + (ends[m_day] - now), NORMAL, M_WAKE, 0)
                break
        if grant and users < capacity:
            # SimPy's _trigger_put: only the head of the queue, a hotline caller before any agent.
            while cq_head < cq_tail and not queued[cq[cq_head]]:
                cq_head += 1
            if cq_head < cq_tail:
                c = cq[cq_head]
                cq_head += 1
                queued[c] = False
                granted[c] = True
                users += 1
                _push(ht, hk, hp, st, now, NORMAL, GRANT_CALLER, c)
            elif aq_len > 0:
                a = aq[aq_head]
                aq_head = (aq_head + 1) % ring
                aq_len -= 1
                users += 1
                _push(ht, hk, hp, st, now, NORMAL, GRANT_AGENT, a)
    return placed[:n_recorded], placed_at[:n_recorded], busy, waits[:n_waits], gone[:n_gone]
