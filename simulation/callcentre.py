"""The outbound call centre (10088) as SimPy processes sharing a ``PriorityResource``.

Seats are the contended resource, so this is where discrete events earn their cost. Inbound
hotline calls arrive as a Poisson stream in working hours and take a seat with priority 0;
outbound retention calls come from the month's dial list with priority 1. An agent process
holds a seat and works through the dial list call after call (one timeout event per call,
not three: requesting and releasing a seat per call would triple the event count), and gives
the seat back whenever an inbound caller is waiting, so the hotline is served first.
Calls start only inside working hours (``days_per_month`` shifts of ``hours_per_day``); a call
running at the end of a shift finishes, and whatever the dial list still holds at month end
is not called: a call not made before the customer leaves is a retention lost. With
``unplaced_calls="drop"`` each day instead owns a fixed share of the list and loses what it
cannot place, as a campaign planned day by day does; carrying over hides a short day.

Hotline callers may hang up (``patience_s``): without abandonment an overloaded hotline
shows waits that grow without bound, where a real one loses callers and keeps waits short
(Erlang A, simulation.erlang.erlang_a). Patience is drawn with the shift's arrivals so the
hotline stream stays the same whatever the queue did.

Whether a dialled customer is connected comes from the engine's per-customer ``response``
uniform (common random numbers); outbound handle times come from the ``callcentre`` stream
and the hotline's arrivals and handle times from the ``inbound`` stream.

Two engines run these processes (``call_centre.engine``). "events" runs them in SimPy, one
event per call, a few hundred thousand events a second: the reference, for calibration runs
and the queueing theory tests. "fast" (the default) draws the same random numbers in the same
order and replays the same events in compiled code (simulation.callcentre_fast), giving the
same month without scheduling a SimPy event per call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import simpy

from .callcentre_fast import month_events
from .config import CallCentreConfig

__all__ = ["DAY_SECONDS", "MONTH_DAYS", "MONTH_SECONDS", "CallCentre", "MonthCalls"]

DAY_SECONDS = 86_400.0
#: SimPy time is in seconds; a simulated month is 30 days (its shifts are its first
#: ``days_per_month`` days), which is also what dates the simulated contact history.
MONTH_DAYS = 30
MONTH_SECONDS = MONTH_DAYS * DAY_SECONDS


@dataclass
class MonthCalls:
    """What the call centre did in one month."""

    dialled: np.ndarray  # customer slots dialled, in dial order
    connected: np.ndarray  # bool per dialled call
    busy_seconds: float = 0.0  # seat-seconds spent on calls (outbound + inbound)
    staffed_seconds: float = 0.0  # seat-seconds of working hours
    inbound_waits: list[float] = field(default_factory=list)  # served callers (after warm-up)
    inbound_abandoned: int = 0  # callers (after warm-up) who hung up before a seat was free
    # Time until each of those hung up: with inbound_waits, the wait over all callers.
    inbound_abandon_waits: list[float] = field(default_factory=list)
    # Positions in the month's dial list of the calls placed (``dialled`` is the customers):
    # a prefix of the list under "carry", a prefix of each day's share under "drop".
    placed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Day of the month (0 = its first) each placed call was dialled on, for the contact history.
    placed_day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))

    @property
    def utilisation(self) -> float:
        return self.busy_seconds / self.staffed_seconds if self.staffed_seconds else 0.0


class CallCentre:
    """Seats, shifts and queue of the call centre in the simulation's SimPy environment.

    ``warmup_seconds`` excludes inbound calls arriving in the first seconds of each shift
    from the wait statistics (the queue starts empty each morning).
    """

    def __init__(
        self,
        env: simpy.Environment,
        cfg: CallCentreConfig,
        rng: np.random.Generator,
        warmup_seconds: float = 0.0,
        inbound_rng: np.random.Generator | None = None,
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.rng = rng
        # A separate stream for the hotline keeps its arrivals identical across strategies,
        # whatever number of outbound handle times a strategy's dial list consumes.
        self.inbound_rng = rng if inbound_rng is None else inbound_rng
        self.warmup_seconds = warmup_seconds
        self.seats = simpy.PriorityResource(env, capacity=max(cfg.seats, 1))
        self._inbound_waiting = 0
        self._shift_hours = min(cfg.hours_per_day, 24.0)
        self._shift_start = 0.0 if self._shift_hours > 15 else 9 * 3600.0

    def capacity_per_month(self, connect_rate: float | None = None) -> int:
        """Expected outbound dials a month if no inbound call took a seat."""
        c = self.cfg
        r = c.connect_rate if connect_rate is None else connect_rate
        mean_handle = r * c.handle_time_s + (1 - r) * c.no_answer_time_s
        return int(c.seats * c.days_per_month * self._shift_hours * 3600.0 / mean_handle)

    def run_month(
        self, month: int, dial_list: np.ndarray, connects: np.ndarray, result: MonthCalls
    ) -> simpy.events.Event:
        """Run the month's shifts; the returned event fires when the month process ends.

        ``connects[i]`` says whether the i-th customer of ``dial_list`` answers. The "events"
        engine starts the shifts as a SimPy process and fills ``result`` as calls complete;
        the "fast" engine fills ``result`` with the whole month at once and returns an event
        firing now.
        """
        if self.cfg.engine == "fast":
            self._month_fast(month, dial_list, connects, result)
            return self.env.timeout(0)
        return self.env.process(self._month(month, dial_list, connects, result))

    # ------------------------------------------------------------------ both engines
    def _handle_times(self, dial_list: np.ndarray, connects: np.ndarray) -> np.ndarray:
        # One batch of handle times for the month: vectorised, and the number drawn does not
        # depend on how far the list gets.
        talk = self.rng.exponential(self.cfg.handle_time_s, size=int(dial_list.size))
        return np.where(connects, talk, self.cfg.no_answer_time_s)

    def _shift(self, month: int, day: int) -> tuple[float, float]:
        start = month * MONTH_SECONDS + day * DAY_SECONDS + self._shift_start
        return start, start + self._shift_hours * 3600.0

    def _inbound_draws(self, start: float, end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """A shift's hotline callers: arrival times (sorted), handle times, patience or None."""
        c = self.cfg
        rate = c.inbound_calls_per_hour / 3600.0
        # Arrival times of the shift drawn at once: a Poisson count, then sorted uniforms.
        k = self.inbound_rng.poisson(rate * (end - start))
        times = np.sort(self.inbound_rng.uniform(start, end, size=k))
        services = self.inbound_rng.exponential(c.inbound_handle_time_s, size=k)
        # Drawn after the services, and only with patience on: without it the stream (and so
        # every wait) is exactly what it was before callers could hang up.
        patience = None if c.patience_s is None else self.inbound_rng.exponential(c.patience_s, size=k)
        return times, services, patience

    @staticmethod
    def _record(
        result: MonthCalls, month: int, dial_list: np.ndarray, connects: np.ndarray,
        placed: np.ndarray, placed_at: np.ndarray,
    ) -> None:
        result.placed = placed
        result.dialled = dial_list[placed] if placed.size else np.zeros(0, dtype=np.int64)
        result.connected = connects[placed] if placed.size else np.zeros(0, dtype=bool)
        # More than 30 shift days would run into the next month; its calls are dated on the month's last day.
        day = (placed_at - month * MONTH_SECONDS) // DAY_SECONDS
        result.placed_day = np.minimum(day, MONTH_DAYS - 1).astype(np.int16)

    # ------------------------------------------------------------------ fast engine
    def _month_fast(self, month: int, dial_list: np.ndarray, connects: np.ndarray, result: MonthCalls) -> None:
        """``_month``'s processes replayed by :func:`~simulation.callcentre_fast.month_events`.

        The random numbers are drawn here in the SimPy path's order: the month's handle
        times, then each shift's hotline callers, shift by shift.
        """
        c = self.cfg
        handle = self._handle_times(dial_list, connects)
        n = int(dial_list.size) if c.seats > 0 else 0
        days = c.days_per_month
        shift_len = self._shift_hours * 3600.0
        shifts = np.array([self._shift(month, day) for day in range(days)], dtype=np.float64).reshape(days, 2)
        # Day d's share of the list under "drop"; under "carry" every day may reach its end.
        share = np.arange(days + 1, dtype=np.int64) * n // days
        hi = share[1:] if c.unplaced_calls == "drop" else np.full(days, n, np.int64)
        callers: list[tuple[np.ndarray, ...]] = []
        first = np.zeros(days + 1, np.int64)
        for day in range(days):
            result.staffed_seconds += c.seats * shift_len
            k = 0
            if c.inbound_calls_per_hour > 0 and c.seats > 0:
                start, end = shifts[day]
                times, services, patience = self._inbound_draws(float(start), float(end))
                counted = times - start >= self.warmup_seconds
                callers.append((times, services, np.zeros(times.size) if patience is None else patience, counted))
                k = times.size
            first[day + 1] = first[day] + k
        arrive, service, patience, counted = (
            (np.concatenate(part) for part in zip(*callers)) if callers
            else (np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, bool))
        )
        placed, placed_at, busy, waits, gone = month_events(
            float(self.env.now), c.seats, max(c.seats, 1), shifts[:, 0].copy(), shifts[:, 1].copy(),
            share[:-1], hi, c.unplaced_calls == "drop", handle, arrive, service, patience,
            c.patience_s is not None, counted, first, float(result.busy_seconds),
        )
        result.busy_seconds = float(busy)
        result.inbound_waits.extend(waits.tolist())
        result.inbound_abandon_waits.extend(gone.tolist())
        result.inbound_abandoned += int(gone.size)
        self._record(result, month, dial_list, connects, placed, placed_at)

    # ------------------------------------------------------------------ SimPy processes
    def _month(self, month: int, dial_list: np.ndarray, connects: np.ndarray, result: MonthCalls):  # type: ignore[no-untyped-def]
        c = self.cfg
        n = int(dial_list.size)
        handle = self._handle_times(dial_list, connects).tolist()
        state = {"next": 0}
        shift_len = self._shift_hours * 3600.0
        done: list[int] = []
        dialled_at: list[float] = []
        if c.seats == 0:
            n = 0
        days = c.days_per_month
        for day in range(days):
            start, end = self._shift(month, day)
            if self.env.now < start:
                yield self.env.timeout(start - self.env.now)
            result.staffed_seconds += c.seats * shift_len
            if c.inbound_calls_per_hour > 0 and c.seats > 0:
                self.env.process(self._inbound_source(start, end, result))
            if c.unplaced_calls == "drop":
                # Today's share [day * n // days, (day + 1) * n // days); yesterday's rest is gone.
                state["next"] = day * n // days
                limit = (day + 1) * n // days
            else:
                limit = n
            if state["next"] < limit:
                for _ in range(c.seats):
                    self.env.process(self._agent(end, limit, handle, state, done, dialled_at, result))
            yield self.env.timeout(end - self.env.now)
        # Calls running at the last shift's end finish after this (their agents still run).
        self._record(result, month, dial_list, connects, np.asarray(done, dtype=np.int64),
                     np.asarray(dialled_at, dtype=np.float64))

    def _agent(
        self,
        shift_end: float,
        n: int,
        handle: list[float],
        state: dict[str, int],
        done: list[int],
        dialled_at: list[float],
        result: MonthCalls,
    ):  # type: ignore[no-untyped-def]
        env = self.env
        while state["next"] < n and env.now < shift_end:
            with self.seats.request(priority=1) as req:
                yield req
                began = env.now
                while state["next"] < n and env.now < shift_end and self._inbound_waiting == 0:
                    i = state["next"]
                    state["next"] = i + 1
                    done.append(i)
                    dialled_at.append(env.now)
                    yield env.timeout(handle[i])
                result.busy_seconds += env.now - began
            # Leaving the with-block gave the seat back: a waiting hotline caller (priority 0)
            # gets it first, and this agent queues behind for the next one.

    def _inbound_source(self, start: float, end: float, result: MonthCalls):  # type: ignore[no-untyped-def]
        times, services, drawn = self._inbound_draws(start, end)
        patience: list[float | None] = [None] * times.size if drawn is None else drawn.tolist()
        for t, s, p in zip(times.tolist(), services.tolist(), patience):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            self.env.process(self._caller(t, s, p, t - start >= self.warmup_seconds, result))

    def _caller(  # type: ignore[no-untyped-def]
        self, arrived: float, service: float, patience: float | None, counted: bool, result: MonthCalls
    ):
        env = self.env
        self._inbound_waiting += 1
        with self.seats.request(priority=0) as req:
            yield req if patience is None else req | env.timeout(patience)
            self._inbound_waiting -= 1
            if not req.triggered:
                # Hung up; leaving the with-block withdraws the request from the queue.
                if counted:
                    result.inbound_abandoned += 1
                    result.inbound_abandon_waits.append(env.now - arrived)
                return
            # A seat granted at the very instant patience ran out still counts as served.
            if counted:
                result.inbound_waits.append(env.now - arrived)
            yield env.timeout(service)
            result.busy_seconds += service
