r"""Each customer's best set of options under multipliers: an exact dynamic programme.

Under multipliers lambda >= 0 on the coupling limits (all written as ``a x <= b``), option j
is worth its *adjusted value* ``n_j - lambda . a_j`` and every customer chooses alone:

    maximise  sum_{j in S} (n_j - lambda . a_j)   over sets S of the customer's options with
              min_c <= |S| <= max_c                                        (CONTACTS)
              at most one option per offer                                 (ONE-PER-OFFER)
              never both offers of an excluded pair                        (EXCLUSION)
              at most cap_ch options through channel h (a window: per customer) (CHANNEL-POLICY)

The programme walks the customer's offers in order; its state is (contacts so far, contacts
so far on each capped channel, "offer a already used" for the first offer of each excluded
pair). At each offer a customer takes none of its options or exactly one (one per offer), so
the walk enumerates every feasible set once and the best state at the end, among those with
``min_c <= count <= max_c``, is the exact optimum.

The same walk keeps the second-best value over *distinct* sets (state paths are disjoint, so
the top two values per state merge exactly); best minus second best is the customer's
*margin*, what primal recovery needs to decide who is settled.

Several waves tied together (optimizer.waves: a window spanning two waves' dates) make a
customer's choice one over all its waves. Each wave is walked as above; the end states of a
wave with the same counts of what the linked rows count (its *signature*: contacts, contacts
on a channel, "offer a used") are interchangeable for those rows, so a search over one
signature per wave, pruned as soon as a row's running count passes the customer's room,
finds the best mix and the second best (another mix, or the best mix with one wave at its
second set of the same signature). The customer stays independent of the others under the
prices, so the Lagrangian bound holds as for one wave.

Why compiled: a dual step evaluates every customer of the base (10M customers, 90M options),
and the walk is a short, branchy loop per customer; as one numpy operation per (offer,
channel, state) over all customers it spent 2 s per step at 1M customers, compiled it needs a
few nanoseconds per (option, transition). Customers are cut into fixed blocks of
:data:`BLOCK` that run in parallel threads; every sum is taken per block, then over blocks
in block order, so the result does not depend on how many threads ran it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numba
import numpy as np

__all__ = ["BLOCK", "Coupling", "PatternDP", "PatternSolution", "WaveLinks"]

NEG = -np.inf
BLOCK = 4096  # customers per parallel block: the unit of every partial sum
PARALLEL_BLOCKS = 16  # fewer blocks than this run in one thread
#: Blocks a thread takes at a time. One: threads take blocks as they finish them (dynamic
#: scheduling), so a thread slowed by another process on its core takes fewer blocks, instead
#: of the whole step waiting for its fixed half. Results do not depend on it (sums by block).
CHUNK = 1
ADJUST_CHUNK = 1 << 16  # options a thread takes at a time in ``_adjust`` (one pass over all options)


@dataclass(frozen=True)
class PatternSolution:
    """Per customer: best and second-best value; per option: chosen; per block: partial sums."""

    best: np.ndarray  # (n_customers,) float64, -inf when the customer has no feasible set
    second: np.ndarray  # (n_customers,) float64, -inf when at most one feasible set exists
    chosen: np.ndarray  # (n_options,) int8: 1 for the options of the best sets
    value: float  # sum of the finite best values, over blocks in order
    objective: float  # sum of the chosen options' net values
    usage: np.ndarray  # (n_limits,) sum of the chosen options' coefficients
    # (n_options,) with ``second``: what forcing an unchosen option into its customer's set, or
    # a chosen one out of it, costs at these multipliers (inf where it cannot be done); else empty
    regret: np.ndarray

    @property
    def stuck(self) -> np.ndarray:
        """Customers with no feasible set (min_contacts they cannot reach)."""
        return ~np.isfinite(self.best)


class PatternDP:
    """The state machine of the walk, shared by every shard of a problem.

    ``max_contacts`` is the largest cap of any customer (states count contacts up to it);
    ``channel_caps[h]`` is the per-customer cap of channel h or None; ``exclusions`` are
    pairs of offer positions. The transitions are flat arrays (CSR by (offer, channel)) so the
    compiled walk can read them.
    """

    MAX_STATES = 4096

    def __init__(
        self,
        n_offers: int,
        n_channels: int,
        max_contacts: int,
        channel_caps: tuple[int | None, ...],
        exclusions: tuple[tuple[int, int], ...],
        per_customer: tuple[int, ...] = (),
        counted: tuple[tuple[int, int], ...] = (),
    ) -> None:
        self.n_offers, self.n_channels = n_offers, n_channels
        if max(n_offers, n_channels) > np.iinfo(np.int16).max:
            raise ValueError(f"the walk numbers offers and channels in 16 bits: {n_offers} offers, {n_channels} channels")
        self.K = K = max(0, min(int(max_contacts), n_offers))
        # a channel cap at or above K can never bind: no state needed for it, unless some
        # customers have a lower cap of their own (``per_customer``: a contact window's room)
        # ``counted``: (offer, channel) filters (-1: any) whose count a multi-wave walk reads off
        # the state (:meth:`solve` with ``links``): a channel gets a counter, an offer a "used" flag
        self.counted = tuple(counted)
        counted_channels = {h for o, h in counted if o < 0 and h >= 0}
        self.capped = [h for h, cap in enumerate(channel_caps)
                       if (cap is not None and cap < K) or h in per_customer or h in counted_channels]
        caps = [min(K, K if channel_caps[h] is None else int(channel_caps[h])) for h in self.capped]  # type: ignore[arg-type]
        pairs = {(min(a, b), max(a, b)) for a, b in exclusions if a != b}
        # first offer of a pair, in walk order, and the offers a multi-wave walk counts
        self.tracked = sorted({a for a, _ in pairs} | {o for o, _ in counted if o >= 0})
        partners: dict[int, list[int]] = {}
        for a, b in pairs:
            partners.setdefault(b, []).append(a)
        radix = [K + 1] + [c + 1 for c in caps] + [2] * len(self.tracked)
        states = list(itertools.product(*[range(r) for r in radix]))
        if len(states) > self.MAX_STATES:
            raise ValueError(
                f"the per-customer walk needs {len(states)} states (> {self.MAX_STATES}): max_contacts={K}, "
                f"{len(caps)} capped channel(s), {len(self.tracked)} offer(s) in exclusions; "
                "lower max_contacts or use exact mode"
            )
        self.n_states = S = len(states)
        self.states = np.array(states, np.int64).reshape(S, len(radix))
        index = {s: i for i, s in enumerate(states)}
        self.count = np.array([s[0] for s in states], dtype=np.int64)
        # contacts on each per-customer capped channel, per state: checked against the customer's caps
        self.per_customer = tuple(per_customer)
        self.channel_count = np.array([[s[1 + self.capped.index(h)] for h in per_customer] for s in states], np.int64).reshape(S, len(per_customer))
        ptr, src, dst = [0], [], []
        self.back = np.full((n_offers * n_channels, S), -1, np.int64)  # back[o*H+h, dst] = src
        for o in range(n_offers):
            for h in range(n_channels):
                for s in states:
                    t = list(s)
                    if t[0] >= K:
                        continue
                    t[0] += 1
                    if h in self.capped:
                        pos = 1 + self.capped.index(h)
                        if t[pos] >= caps[self.capped.index(h)]:
                            continue
                        t[pos] += 1
                    base = 1 + len(caps)
                    if any(s[base + self.tracked.index(a)] for a in partners.get(o, [])):
                        continue
                    if o in self.tracked:
                        if s[base + self.tracked.index(o)]:
                            continue  # unreachable: offer o is only decided here
                        t[base + self.tracked.index(o)] = 1
                    src.append(index[s])
                    dst.append(index[tuple(t)])
                    self.back[o * n_channels + h, index[tuple(t)]] = index[s]
                ptr.append(len(src))
        self.trans_ptr = np.array(ptr, np.int64)
        self.trans_src = np.array(src, np.int64)
        self.trans_dst = np.array(dst, np.int64)
        self._signatures: dict[tuple, tuple[np.ndarray, ...]] = {}

    def solve(
        self,
        net: np.ndarray,
        starts: np.ndarray,
        offer: np.ndarray,
        channel: np.ndarray,
        min_contacts: np.ndarray,
        max_contacts: np.ndarray,
        *,
        coupling: Coupling | None = None,
        multipliers: np.ndarray | None = None,
        second: bool = False,
        channel_caps: np.ndarray | None = None,
        links: WaveLinks | None = None,
    ) -> PatternSolution:
        """Best set per customer for adjusted values ``net - A @ multipliers``; with ``second``
        also the second-best value and every option's regret.

        Options are sorted by (customer, offer, channel); customer c owns options
        ``starts[c] .. starts[c+1]-1``. ``coupling`` holds A, the options' coupling
        coefficients; omitted, the options are valued at ``net``. ``channel_caps`` (customers x
        the walk's ``per_customer`` channels) holds each customer's own cap on those channels.

        With ``links`` (a multi-wave problem whose waves are tied by linked rows), a "customer"
        above is a *unit*, customer r in wave k at ``r * links.n_waves + k``; ``best`` and
        ``second`` are then per customer, the best and second-best mix of sets over its waves,
        and ``regret`` is within a wave with the other waves held (a ranking, as recovery uses it).
        """
        n = starts.size - 1
        if channel_caps is None:
            assert not self.per_customer, "the walk tracks per-customer channel caps: pass channel_caps"
            channel_caps = np.zeros((n, 0), np.int16)
        if coupling is None:
            coupling, multipliers = Coupling.none(net.size), np.zeros(0)
        assert multipliers is not None
        c = _read_only
        lam = c(multipliers, np.float64)
        # the problem's own columns as they are (a view, never a copy unless of another type),
        # as a tuple (not a typed list, whose items cost a reference count on every read)
        dense = _padded(tuple(c(col, np.float64) for col in coupling.dense))
        threads = numba.get_num_threads()
        # blocks of units: a customer's waves stay in one block
        block = BLOCK if links is None else max(1, BLOCK // links.n_waves)
        # a few blocks are done before a second thread has started (and, on a busy machine, wait for it)
        numba.set_num_threads(threads if n >= PARALLEL_BLOCKS * BLOCK else 1)
        try:
            # 32-bit offsets while they fit (every base below 2**31 coupling coefficients)
            offsets = np.int32 if coupling.indptr[-1] <= np.iinfo(np.int32).max else np.int64
            cptr, cidx, cval = c(coupling.indptr, offsets), c(coupling.indices, np.int32), c(coupling.data, np.float64)
            dlim, dsign = c(coupling.dense_limits, np.int64), c(coupling.dense_sign, np.float64)
            with numba.parallel_chunksize(ADJUST_CHUNK):
                adjusted = c(_adjust(c(net, np.float64), cptr, cidx, cval, dense, dlim, dsign, lam))
            shared = (c(starts, np.int64), c(offer, np.int16), c(channel, np.int16), c(net, np.float64), adjusted,
                      cptr, cidx, cval, dense, dlim, dsign, lam.size, _counts(min_contacts), _counts(max_contacts),
                      c(self.count), c(self.channel_count), _counts(channel_caps), c(self.trans_ptr), c(self.trans_src),
                      c(self.trans_dst), c(self.back), self.n_channels, self.n_offers, bool(second), block)
            if links is None:
                with numba.parallel_chunksize(CHUNK):
                    best, sec, chosen, values, objectives, usage, regret = _walk(*shared)
            else:
                assert n == links.room.shape[0] * links.n_waves, "one unit per customer and wave"
                sig_of, sig_counts, n_sigs = self._signatures_of(links)
                with numba.parallel_chunksize(CHUNK):
                    best, sec, chosen, values, objectives, usage, regret = _walk_waves(
                        *shared, links.n_waves, c(sig_of), c(sig_counts), c(n_sigs), c(links.room, np.int64))
        finally:
            numba.set_num_threads(threads)
        return PatternSolution(
            best=best, second=sec, chosen=chosen, value=float(np.sum(values)), objective=float(np.sum(objectives)),
            usage=usage.sum(axis=0) if n else np.zeros(lam.size), regret=regret,
        )

    def counted_in(self, offer: int, channel: int) -> np.ndarray:
        """Per state: how many of the set's options match (offer, channel), -1 meaning any (see ``counted``)."""
        if offer < 0 and channel < 0:
            return self.count
        if offer < 0:
            return self.states[:, 1 + self.capped.index(channel)]
        assert channel < 0, "an offer through one channel is not counted by the walk"
        return self.states[:, 1 + len(self.capped) + self.tracked.index(offer)]

    def _signatures_of(self, links: WaveLinks) -> tuple[np.ndarray, ...]:
        """Per wave, each state's *signature*: the counts of what each kind of linked row counts in that wave.

        Returns ``sig_of`` (waves x states), ``sig_counts`` (waves x signatures x kinds) and
        the number of signatures per wave. States with one signature are interchangeable for
        the rows that tie the waves, so the search across waves needs only the best of them.
        """
        key = (links.terms, links.n_waves)
        if key in self._signatures:
            return self._signatures[key]
        terms, n_waves = links.terms, links.n_waves
        counts = np.zeros((n_waves, self.n_states, len(terms)), np.int64)
        for ell, kind in enumerate(terms):
            for wave, offer, channel in kind:
                counts[wave, :, ell] += self.counted_in(offer, channel)
        sig_of = np.zeros((n_waves, self.n_states), np.int64)
        per_wave = []
        for k in range(n_waves):
            unique, sig_of[k] = np.unique(counts[k], axis=0, return_inverse=True)
            per_wave.append(unique)
        widest = max(u.shape[0] for u in per_wave)
        sig_counts = np.zeros((n_waves, widest, len(terms)), np.int64)
        for k, unique in enumerate(per_wave):
            sig_counts[k, : unique.shape[0]] = unique
        self._signatures[key] = sig_of, sig_counts, np.array([u.shape[0] for u in per_wave], np.int64)
        return self._signatures[key]


@dataclass(frozen=True, eq=False)
class WaveLinks:
    """What ties a customer's waves together, for the walk: the linked rows (optimizer.waves) by kind."""

    n_waves: int
    # per kind of linked row: the (wave, offer, channel) filters it counts (-1: any)
    terms: tuple[tuple[tuple[int, int, int], ...], ...]
    room: np.ndarray  # (customers x kinds) each customer's right-hand side (UNLIMITED: no row)


@dataclass(frozen=True)
class Coupling:
    """The options' coupling coefficients A in "<=" form: a sparse part and dense columns.

    A limit over every option (budget, ROI, a share rule) is one full column; kept as the
    problem's own array (a view, with its sign apart) it costs nothing, where the sparse
    matrix would hold 12 bytes per option for it (2.2 GB of 5 at 10M customers). The sparse
    part (``indptr``, ``indices``, ``data``: options x limits CSR, already signed) holds the rest.
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    dense: tuple[np.ndarray, ...] = ()
    dense_limits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # limit of each dense column
    dense_sign: np.ndarray = field(default_factory=lambda: np.zeros(0))  # +1 "<=", -1 ">="

    @classmethod
    def none(cls, n_options: int) -> "Coupling":
        return cls(np.zeros(n_options + 1, np.int32), np.zeros(0, np.int32), np.zeros(0))


def _read_only(values: np.ndarray, dtype: type | None = None) -> np.ndarray:
    """``values`` as a C-contiguous, read-only view of ``dtype`` (a copy only if of another layout or type).

    Numba compiles a function once per combination of its arguments' types, and an array's
    type includes its width and whether it is writable: a shard's Parquet-backed column is
    read-only, a computed one is not. Passing every input in one flavour keeps the walk at one
    compilation (8 s each, on every fresh install and in every test run) instead of one per mix.
    """
    view = np.ascontiguousarray(values, dtype).view()
    view.flags.writeable = False
    return view


def _counts(values: np.ndarray) -> np.ndarray:
    """Per-customer contact counts (limits, caps) as the walk's 16-bit read-only view; a wider
    count is first held at 32,767, which no walk reaches (its states stop at the offers' number)."""
    if values.dtype != np.int16:
        values = np.minimum(values, np.iinfo(np.int16).max)
    return _read_only(values, np.int16)


_NO_COLUMN = _read_only(np.zeros(0))
DENSE_SLOTS = 4  # dense columns are passed in tuples of a multiple of this length


def _padded(dense: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """The dense columns padded with empty arrays to a multiple of :data:`DENSE_SLOTS`: a tuple's
    length is part of its type, and one length for the usual 0 to 4 full-column limits (budget,
    ROI, shares) is one compilation of the walk; the walk reads only the first ``dlim.size``."""
    slots = DENSE_SLOTS * max(1, -(-len(dense) // DENSE_SLOTS))
    return dense + (_NO_COLUMN,) * (slots - len(dense))


@numba.njit(parallel=True, cache=True, nogil=True)
def _adjust(net, cptr, cidx, cval, dense, dlim, dsign, lam):  # pragma: no cover - compiled
    """net - A @ lambda, option by option (dense columns first, then the sparse row, in limit order)."""
    out = net.copy()
    for d in range(dlim.size):
        column = dense[d]
        weight = dsign[d] * lam[dlim[d]]
        for j in numba.prange(net.size):
            out[j] -= column[j] * weight
    for j in numba.prange(net.size):
        v = out[j]
        for k in range(cptr[j], cptr[j + 1]):
            v -= cval[k] * lam[cidx[k]]
        out[j] = v
    return out


@numba.njit(parallel=True, cache=True, nogil=True)
def _walk(starts, offer, channel, net, adjusted, cptr, cidx, cval, dense, dlim, dsign, m, min_c, max_c, count,
          channel_count, channel_caps, tptr, tsrc, tdst, back, H, O, second, block):  # pragma: no cover - compiled; tested through PatternDP.solve
    n = starts.size - 1
    S = count.size
    n_blocks = (n + block - 1) // block
    best, sec, chosen, values, objectives, usage, regret = _outputs(n, net.size, n_blocks, m, second)
    for b in numba.prange(n_blocks):
        d1 = np.empty(S)
        d2 = np.empty(S)
        n1 = np.empty(S)
        n2 = np.empty(S)
        choice = np.empty((O, S), np.int64)
        forward = np.empty((O + 1, S))  # forward[g]: the walk's values before group g
        group_start = np.empty(O + 1, np.int64)
        after = np.empty(S)
        nxt = np.empty(S)
        allowed = np.empty(S, np.bool_)
        value = 0.0
        objective = 0.0
        for c in range(b * block, min(n, (b + 1) * block)):
            top = max_c[c]
            for s in range(S):  # the states within this customer's caps
                ok = count[s] <= top
                for k in range(channel_caps.shape[1]):
                    if channel_count[s, k] > channel_caps[c, k]:
                        ok = False
                allowed[s] = ok
            g, d1, d2, n1, n2 = _forward(starts[c], starts[c + 1], offer, channel, adjusted, tptr, tsrc, tdst, H, allowed,
                                         d1, d2, n1, n2, choice, forward, group_start, second)
            state = -1
            top_value = -np.inf
            for s in range(S):
                if min_c[c] <= count[s] and allowed[s] and d1[s] > top_value:
                    top_value = d1[s]
                    state = s
            if state < 0:
                continue  # no feasible set: best stays -inf
            best[c] = top_value
            value += top_value
            if second:
                runner = -np.inf
                for s in range(S):
                    if min_c[c] <= count[s] and allowed[s]:
                        if s != state and d1[s] > runner:
                            runner = d1[s]
                        if d2[s] > runner:
                            runner = d2[s]
                sec[c] = runner
            objective += _take(state, g, choice, back, offer, channel, H, net, chosen, usage[b], dense, dlim, dsign, cptr, cidx, cval)
            if second:
                group_start[g] = starts[c + 1]
                _regrets(forward, group_start, g, after, nxt, top_value, chosen, regret, adjusted, offer, channel,
                         min_c[c], allowed, count, tptr, tsrc, tdst, H)
        values[b] = value
        objectives[b] = objective
    return best, sec, chosen, values, objectives, usage, regret


@numba.njit(cache=True, nogil=True)
def _outputs(n, n_options, n_blocks, m, second):  # pragma: no cover - compiled
    """A walk's results: best, second per customer; chosen, regret per option; sums per block."""
    return (np.full(n, -np.inf), np.full(n, -np.inf), np.zeros(n_options, np.int8), np.zeros(n_blocks), np.zeros(n_blocks),
            np.zeros((n_blocks, m)), np.full(n_options if second else 0, np.inf))


@numba.njit(cache=True, nogil=True, inline="always")  # inlined: as a call per customer a step took 43% longer (1M)
def _take(state, n_groups, choice, back, offer, channel, H, net, chosen, usage, dense, dlim, dsign, cptr, cidx, cval):  # pragma: no cover - compiled
    """Mark the set that ends in ``state`` (back through the choices), add its coefficients to
    ``usage``; returns its net value."""
    objective = 0.0
    s = state
    for gg in range(n_groups - 1, -1, -1):
        jj = choice[gg, s]
        if jj >= 0:
            chosen[jj] = 1
            objective += net[jj]
            for d in range(dlim.size):
                usage[dlim[d]] += dsign[d] * dense[d][jj]
            for k in range(cptr[jj], cptr[jj + 1]):
                usage[cidx[k]] += cval[k]
            s = back[offer[jj] * H + channel[jj], s]
    return objective


@numba.njit(cache=True, nogil=True, inline="always")  # inlined: as a call per customer a step took 43% longer (1M)
def _forward(j, end, offer, channel, adjusted, tptr, tsrc, tdst, H, allowed, d1, d2, n1, n2, choice, forward, group_start,
             second):  # pragma: no cover - compiled
    """The walk over one customer's options ``j .. end-1``: the best and second-best value per end
    state (``d1``, ``d2``), the choice per (group, state), and with ``second`` the values before
    each group (``forward``). Returns the number of groups and the four buffers (swapped)."""
    d1[:] = -np.inf
    d2[:] = -np.inf
    d1[0] = 0.0
    g = 0
    while j < end:
        o = offer[j]
        if second:
            forward[g, :] = d1
            group_start[g] = j
        n1[:] = d1
        n2[:] = d2
        choice[g, :] = -1
        while j < end and offer[j] == o:
            v = adjusted[j]
            t = o * H + channel[j]
            for k in range(tptr[t], tptr[t + 1]):
                s = tsrc[k]
                d = tdst[k]
                if not allowed[d] or (d1[s] == -np.inf and d2[s] == -np.inf):
                    continue  # over the customer's cap, or a state no set reaches
                c1 = d1[s] + v
                b1 = n1[d]
                if c1 > b1:
                    if second:
                        n2[d] = max(b1, d2[s] + v)
                    n1[d] = c1
                    choice[g, d] = j
                elif second:
                    n2[d] = max(n2[d], c1)
            j += 1
        d1, n1 = n1, d1
        d2, n2 = n2, d2
        g += 1
    return g, d1, d2, n1, n2


@numba.njit(cache=True, nogil=True)
def _regrets(forward, group_start, n_groups, after, nxt, best, chosen, regret, adjusted, offer, channel, low, allowed,
             count, tptr, tsrc, tdst, H):  # pragma: no cover - compiled
    """One customer's regret per option: what forcing an unchosen option in, or a chosen one out, costs.

    A backward walk gives ``after[d]``, the best value of the groups still to come from state d;
    the best set through option j (group g, move s -> d) is forward[g, s] + v_j + after[d], and
    the best set without a chosen j takes another option of its group or none.
    """
    for s in range(count.size):
        after[s] = 0.0 if low <= count[s] and allowed[s] else -np.inf
    for g in range(n_groups - 1, -1, -1):
        nxt[:] = after  # taking no option of this group
        skip = -np.inf
        for s in range(count.size):
            skip = max(skip, forward[g, s] + after[s])
        lo, hi = group_start[g], group_start[g + 1]
        for j in range(lo, hi):
            v = adjusted[j]
            t = offer[j] * H + channel[j]
            through = -np.inf
            for k in range(tptr[t], tptr[t + 1]):
                s = tsrc[k]
                d = tdst[k]
                if not allowed[d]:
                    continue
                through = max(through, forward[g, s] + v + after[d])
                nxt[s] = max(nxt[s], v + after[d])
            regret[j] = through  # the best set through j, turned into a regret below
        without = skip  # the best set that takes no *chosen* option of this group
        for j in range(lo, hi):
            if chosen[j] == 0:
                without = max(without, regret[j])
        for j in range(lo, hi):
            regret[j] = max(0.0, best - (without if chosen[j] else regret[j]))
        after[:] = nxt


@numba.njit(parallel=True, cache=True, nogil=True)
def _walk_waves(starts, offer, channel, net, adjusted, cptr, cidx, cval, dense, dlim, dsign, m, min_c, max_c, count,
                channel_count, channel_caps, tptr, tsrc, tdst, back, H, O, second, block, W, sig_of, sig_counts, n_sigs,
                room):  # pragma: no cover - compiled; tested through PatternDP.solve(links=...)
    """The walk of every wave of a customer (units ``r*W .. r*W+W-1``), then the best mix of the waves' sets.

    Each wave's walk gives the best and second-best set per end state; states with the same
    counts of what the linked rows count (the wave's *signature*) are merged (their sets are
    distinct), and a search over one signature per wave, pruned as soon as a linked row's
    running count passes the customer's room, finds the best mix and the second-best one.
    """
    n = room.shape[0]
    S = count.size
    G = sig_counts.shape[1]
    L = room.shape[1]
    n_blocks = (n + block - 1) // block
    best, sec, chosen, values, objectives, usage, regret = _outputs(n, net.size, n_blocks, m, second)
    for b in numba.prange(n_blocks):
        d1 = np.empty(S)
        d2 = np.empty(S)
        n1 = np.empty(S)
        n2 = np.empty(S)
        choice = np.empty((W, O, S), np.int64)
        forward = np.empty((W, O + 1, S))
        group_start = np.empty((W, O + 1), np.int64)
        groups = np.empty(W, np.int64)
        allowed = np.empty((W, S), np.bool_)
        top1 = np.empty((W, G))
        top2 = np.empty((W, G))
        arg = np.empty((W, G), np.int64)
        pick = np.zeros(W, np.int64)  # the search's current signature per wave
        best_pick = np.zeros(W, np.int64)
        running = np.zeros((W + 1, L), np.int64)
        partial = np.zeros(W + 1)
        after = np.empty(S)
        nxt = np.empty(S)
        value = 0.0
        objective = 0.0
        for r in range(b * block, min(n, (b + 1) * block)):
            for k in range(W):
                u = r * W + k
                for s in range(S):
                    ok = count[s] <= max_c[u]
                    for q in range(channel_caps.shape[1]):
                        if channel_count[s, q] > channel_caps[u, q]:
                            ok = False
                    allowed[k, s] = ok
                g, d1, d2, n1, n2 = _forward(starts[u], starts[u + 1], offer, channel, adjusted, tptr, tsrc, tdst, H,
                                             allowed[k], d1, d2, n1, n2, choice[k], forward[k], group_start[k], second)
                groups[k] = g
                group_start[k, g] = starts[u + 1]
                top1[k, :] = -np.inf
                top2[k, :] = -np.inf
                for s in range(S):
                    if min_c[u] <= count[s] and allowed[k, s]:
                        q = sig_of[k, s]
                        if d1[s] > top1[k, q]:
                            top2[k, q] = max(top1[k, q], d2[s])
                            top1[k, q] = d1[s]
                            arg[k, q] = s
                        else:
                            top2[k, q] = max(top2[k, q], d1[s])
            # depth-first over one signature per wave; pick[k] is the next signature to try at wave k
            first_value = -np.inf
            second_value = -np.inf
            k = 0
            pick[0] = 0
            while k >= 0:
                if pick[k] >= n_sigs[k]:
                    k -= 1
                    if k >= 0:
                        pick[k] += 1
                    continue
                q = pick[k]
                ok = top1[k, q] > -np.inf
                if ok:
                    for ell in range(L):
                        running[k + 1, ell] = running[k, ell] + sig_counts[k, q, ell]
                        if running[k + 1, ell] > room[r, ell]:
                            ok = False
                if not ok:
                    pick[k] += 1
                    continue
                partial[k + 1] = partial[k] + top1[k, q]
                if k + 1 < W:
                    k += 1
                    pick[k] = 0
                    continue
                total = partial[W]
                if total > first_value:
                    second_value = first_value
                    first_value = total
                    best_pick[:] = pick
                elif total > second_value:
                    second_value = total
                pick[k] += 1
            if first_value == -np.inf:
                continue  # no feasible mix: best stays -inf
            best[r] = first_value
            value += first_value
            if second:  # the best mix with one wave at its second-best set of the same signature
                closest = np.inf
                for k in range(W):
                    q = best_pick[k]
                    if top2[k, q] > -np.inf:
                        closest = min(closest, top1[k, q] - top2[k, q])
                sec[r] = max(second_value, first_value - closest)
            for k in range(W):
                q = best_pick[k]
                objective += _take(arg[k, q], groups[k], choice[k], back, offer, channel, H, net, chosen, usage[b], dense, dlim,
                                   dsign, cptr, cidx, cval)
                if second:
                    # within the wave, the other waves held: a ranking for recovery, not a proof
                    u = r * W + k
                    _regrets(forward[k], group_start[k], groups[k], after, nxt, top1[k, q], chosen, regret, adjusted, offer,
                             channel, min_c[u], allowed[k], count, tptr, tsrc, tdst, H)
        values[b] = value
        objectives[b] = objective
    return best, sec, chosen, values, objectives, usage, regret
