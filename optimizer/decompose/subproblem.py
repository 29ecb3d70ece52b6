r"""Each customer's best set of options under multipliers: an exact dynamic programme in numpy.

Under multipliers lambda >= 0 on the coupling limits (all written as ``a x <= b``), option j
is worth its *adjusted value* ``n_j - lambda . a_j`` and every customer chooses alone:

    maximise  sum_{j in S} (n_j - lambda . a_j)   over sets S of the customer's options with
              min_c <= |S| <= max_c                                        (CONTACTS)
              at most one option per offer                                 (ONE-PER-OFFER)
              never both offers of an excluded pair                        (EXCLUSION)
              at most cap_h options through channel h                      (CHANNEL-POLICY)

The programme walks the offers in order; its state is (contacts so far, contacts so far on
each capped channel, "offer a already used" for the first offer of each excluded pair). At
each offer a customer takes none of its options or exactly one (one per offer), so the walk
enumerates every feasible set once and the best state at the end, among those with
``min_c <= count <= max_c``, is the exact optimum. The walk is vectorised over all customers
of a shard at once: per (offer, channel) one numpy operation over (customers x states).

The same walk also keeps the second-best value over *distinct* sets (state paths are
disjoint, so the top two values per state merge exactly); best minus second best is the
customer's *margin*, what primal recovery needs to decide who is settled.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = ["PatternDP", "PatternSolution"]

NEG = -np.inf


@dataclass(frozen=True)
class PatternSolution:
    """Per customer of a shard: best value, its chosen options (local option indices), second best."""

    best: np.ndarray  # (n_customers,) float64, -inf when the customer has no feasible set
    chosen: np.ndarray  # local option indices of the chosen sets, ascending
    second: np.ndarray | None  # (n_customers,) float64, -inf when only one feasible set exists


class PatternDP:
    """The state machine of the walk, shared by every shard of a problem.

    ``max_contacts`` is the largest cap of any customer (states count contacts up to it);
    ``channel_caps[h]`` is the per-customer cap of channel h or None; ``exclusions`` are
    pairs of offer positions.
    """

    MAX_STATES = 4096

    def __init__(
        self,
        n_offers: int,
        n_channels: int,
        max_contacts: int,
        channel_caps: tuple[int | None, ...],
        exclusions: tuple[tuple[int, int], ...],
    ) -> None:
        self.n_offers, self.n_channels = n_offers, n_channels
        self.K = K = max(0, min(int(max_contacts), n_offers))
        # a channel cap at or above K can never bind: no state needed for it
        self.capped = [h for h, cap in enumerate(channel_caps) if cap is not None and cap < K]
        caps = [int(channel_caps[h]) for h in self.capped]  # type: ignore[arg-type]
        pairs = {(min(a, b), max(a, b)) for a, b in exclusions if a != b}
        self.tracked = sorted({a for a, _ in pairs})  # first offer of a pair, in walk order
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
        self.n_states = len(states)
        index = {s: i for i, s in enumerate(states)}
        self.count = np.array([s[0] for s in states], dtype=np.int64)
        # transitions[o][h] = (src, dst) state index arrays; prev[o][h][dst] = src
        self.transitions: list[list[tuple[np.ndarray, np.ndarray] | None]] = []
        for o in range(n_offers):
            row: list[tuple[np.ndarray, np.ndarray] | None] = []
            for h in range(n_channels):
                src, dst = [], []
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
                assert len(set(dst)) == len(dst)
                row.append((np.array(src, np.int64), np.array(dst, np.int64)) if src else None)
            self.transitions.append(row)

    def solve(
        self,
        adjusted: np.ndarray,
        grid_index: np.ndarray,
        n_customers: int,
        min_contacts: np.ndarray,
        max_contacts: np.ndarray,
        present: np.ndarray,
        *,
        second: bool = False,
    ) -> PatternSolution:
        """Best set per customer for the options' ``adjusted`` values.

        ``grid_index[j] = customer*O*H + offer*H + channel`` of local option j; ``present[o, h]``
        says whether any customer of the shard has an option (o, h).
        """
        O, H, S = self.n_offers, self.n_channels, self.n_states
        n = n_customers
        grid = np.full(n * O * H, NEG)
        grid[grid_index] = adjusted
        grid = grid.reshape(n, O, H)
        d1 = np.full((n, S), NEG)
        d1[:, 0] = 0.0
        d2 = np.full((n, S), NEG) if second else None
        choices: list[np.ndarray] = []
        for o in range(O):
            n1 = d1.copy()
            n2 = d2.copy() if d2 is not None else None
            choice = np.full((n, S), -1, np.int8)
            for h in range(H):
                move = self.transitions[o][h]
                if move is None or not present[o, h]:
                    continue
                src, dst = move
                v = grid[:, o, h][:, None]
                c1 = d1[:, src] + v
                b1 = n1[:, dst]
                better = c1 > b1
                if n2 is not None and d2 is not None:
                    c2 = d2[:, src] + v
                    b2 = n2[:, dst]
                    n2[:, dst] = np.where(better, np.maximum(b1, c2), np.maximum(b2, c1))
                n1[:, dst] = np.where(better, c1, b1)
                ch = choice[:, dst]
                ch[better] = h
                choice[:, dst] = ch
            d1, d2 = n1, n2
            choices.append(choice)
        allowed = (self.count[None, :] >= min_contacts[:, None]) & (self.count[None, :] <= max_contacts[:, None])
        d1 = np.where(allowed, d1, NEG)
        state = np.argmax(d1, axis=1)
        rows = np.arange(n)
        best = d1[rows, state]
        sec = None
        if d2 is not None:
            d2 = np.where(allowed, d2, NEG)
            # second best over all states: the best of other states' firsts and every second
            masked = d1.copy()
            masked[rows, state] = NEG
            sec = np.maximum(masked.max(axis=1) if S > 1 else np.full(n, NEG), d2.max(axis=1))
        # walk back from the best state
        picked: list[np.ndarray] = []
        ok = np.isfinite(best)
        s = np.where(ok, state, 0)
        for o in range(O - 1, -1, -1):
            h = choices[o][rows, s].astype(np.int64)
            took = (h >= 0) & ok
            if took.any():
                who = rows[took]
                picked.append(who * O * H + o * H + h[took])
                prev = s.copy()
                for hh in np.unique(h[took]):
                    src, dst = self.transitions[o][int(hh)]  # type: ignore[misc]
                    back = np.full(S, -1, np.int64)
                    back[dst] = src
                    sel = took & (h == hh)
                    prev[sel] = back[s[sel]]
                s = prev
        cells = np.sort(np.concatenate(picked)) if picked else np.zeros(0, np.int64)
        # grid cell -> local option: grid_index is sorted within the shard (options ordered by cell)
        chosen = np.searchsorted(grid_index, cells)
        return PatternSolution(best, chosen, sec)
