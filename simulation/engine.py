"""The simulation: one object holding the state, the clock and the injected strategy.

Why a hybrid of SimPy and numpy: one SimPy process per customer with monthly events runs at
SimPy's event rate (a few hundred thousand events a second here), far below the target of a
million customer-months a second. Monthly lifecycle, usage and arrears updates have no
contention, so they are passes over the base (numpy, or compiled loops over the slots where
numpy's temporaries cost: lifecycle, arrears, usage, billing); SimPy events are used where there is
contention or a decision in time: the call centre's seats, its shifts and its queue. A
single SimPy process steps the months, so the clock, the call centre and the base share one
``Environment``, and all state is on the :class:`Simulation` instance (no globals), with its
random generators passed in through :class:`~simulation.streams.Streams`.

Order of a month t: gross adds join; handset changes are drawn; the strategy plans from the
operator's view; SMS/app/store contacts happen at once and calls through the month's shifts;
then accepted offers take effect, the month's revenue is billed, arrears and lifecycle
transitions are drawn (exits happen at month end), and usage moves on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import simpy

from .arrears import step_arrears, suspended
from optimizer.contact_history import outcome_codes

from .callcentre import MONTH_DAYS, MONTH_SECONDS, CallCentre, MonthCalls
from .config import SimConfig, build_config
from .contact_log import ContactLog
from .contacts import CALL, ContactPlan, channel_names, enforce_policy, row_outcomes
from .errors import SimulationConfigError
from .kpis import Recorder, RunResult
from .lifecycle import HazardTables, step_lifecycle
from .base import CustomerBase
from .lifecycle import exit_hazard
from .population import Population, join, new_population
from .stages import ACQUISITION, DECLINE, MATURITY, STAGE_NAMES, TIER_NAMES
from .strategies.base import Strategy
from .streams import Streams
from .usage import arpu_now, billed_arpu, step_usage
from .view import MonthView

__all__ = ["Simulation", "simulate"]

F32 = np.float32


class Simulation:
    """One replication of one strategy on one scenario.

    ``seed`` is an int, a ``numpy.random.SeedSequence`` or ready :class:`Streams` (one
    generator per purpose); running two strategies with the same seed gives them common
    random numbers.
    """

    def __init__(
        self,
        config: SimConfig,
        strategy: Strategy,
        seed: int | np.random.SeedSequence | Streams,
        base: CustomerBase | None = None,
    ) -> None:
        if not isinstance(config, SimConfig):
            raise SimulationConfigError(
                "config",
                f"(={type(config).__name__}) must be a SimConfig; build one with build_config(mapping)",
            )
        if not isinstance(strategy, Strategy):
            raise SimulationConfigError("strategy", f"(={strategy!r}) must have name, uses_calls and plan(view, rng)")
        validate = getattr(strategy, "validate", None)
        if validate is not None:
            validate(config)
        if strategy.uses_calls and config.call_centre.seats == 0:
            raise SimulationConfigError(
                "call_centre.seats", f"(=0) must be > 0: strategy {strategy.name!r} places calls"
            )
        self.config = config
        self.strategy = strategy
        self.streams = seed if isinstance(seed, Streams) else Streams.from_seed(seed)
        self.env = simpy.Environment()
        # The planner's own base (simulation.base) or the configured synthetic population.
        self.population: Population = (
            new_population(config, self.streams) if base is None else base.population(config, self.streams)
        )
        self.tables = HazardTables.from_config(config)
        self.call_centre = CallCentre(
            self.env,
            config.call_centre,
            self.streams["callcentre"],
            inbound_rng=self.streams["inbound"],
        )
        self.recorder = Recorder(config)
        self.last_arpu = arpu_now(config, self.population)
        self._result: RunResult | None = None

    def run(self) -> RunResult:
        """Run the horizon once (a second call returns the same result)."""
        if self._result is None:
            self.env.process(self._months())
            self.env.run()
            self._result = self.recorder.finish(self.strategy.name, self._final_totals())
        return self._result

    # ------------------------------------------------------------------ the month
    def _months(self):  # type: ignore[no-untyped-def]
        for t in range(self.config.horizon_months):
            yield from self._month(t)

    def _month(self, t: int):  # type: ignore[no-untyped-def]
        cfg, pop, st = self.config, self.population, self.streams
        S = pop.slots
        adds = join(pop, t)
        # Fixed-size draws from every stream, whatever the strategy does (CRN).
        u_store = st["store"].random(S, dtype=F32)
        u_reach = st["response"].random(S, dtype=F32)
        u_accept = st["response"].random(S, dtype=F32)
        u_hand = st["usage"].random(S, dtype=F32)
        z = st["usage"].standard_normal((2, S), dtype=F32)
        u_arr = st["arrears"].random(S, dtype=F32)
        u_life = st["lifecycle"].random(S, dtype=F32)

        live = pop.stage < 4
        pop.handset_change = live & (u_hand < F32(cfg.usage.handset_change_prob))
        W = cfg.fatigue.window_months
        pop.contacts[t % W] = 0
        view = MonthView(cfg, pop, t, cfg.budget_per_month, self.call_centre.capacity_per_month(), self.last_arpu,
                         past_contacts=self.recorder.contact_logs)
        raw = self.strategy.plan(view, st["strategy"])
        if not isinstance(raw, ContactPlan):
            raise SimulationConfigError(
                f"strategies.{self.strategy.name}",
                f"plan() returned {type(raw).__name__}, expected ContactPlan",
            )
        uniforms = (u_reach, u_accept, u_store)
        plan = enforce_policy(cfg, pop, raw, cfg.budget_per_month, self.strategy.name, uniforms=uniforms)
        flagged, truly, both = view.detection_counts()
        out = row_outcomes(cfg, plan, *uniforms)

        # Calls through the month's shifts (SimPy); the other channels at once.
        is_call = plan.channel == CALL
        call_rows = np.flatnonzero(is_call)
        dial = plan.customer[call_rows]
        calls = MonthCalls(np.zeros(0, np.int64), np.zeros(0, bool))
        yield self.call_centre.run_month(t, dial, out.reached[call_rows], calls)
        if self.env.now < (t + 1) * MONTH_SECONDS:
            yield self.env.timeout((t + 1) * MONTH_SECONDS - self.env.now)

        # Rows executed: every non-call row, and the calls the seats dialled (positions in
        # the dial list: its first rows, or each day's share of it under "drop").
        executed = ~is_call
        executed[call_rows[calls.placed]] = True
        reached = executed & out.reached
        accepted = executed & out.accepted
        r_cust = plan.customer[reached]
        a_rows = np.flatnonzero(accepted)
        a_cust, a_offer = plan.customer[a_rows], plan.offer[a_rows]
        recover_u = u_accept[a_cust] / np.maximum(out.accept_prob[a_rows], F32(1e-12))
        self._apply_offers(t, a_cust, a_offer, recover_u)
        # Counting the month's contacts per customer: np.add.at's per-index updates were slower.
        pop.contacts[t % W] += np.bincount(r_cust, minlength=S).astype(np.int8)
        self.recorder.contacts(self._executed(t, plan, executed, out.reached, accepted, call_rows, calls))
        pop.ever_dialed[calls.dialled] = True
        pop.ever_connected[calls.dialled[calls.connected]] = True
        pop.ever_accepted[a_cust] = True
        offer_cost = float(out.offer_cost[accepted].sum())
        contact_cost = float(out.cost[executed].sum()) - offer_cost
        value_credited = float(plan.value[accepted].sum()) if plan.has_terms else 0.0

        # Billing for the month (lines in arrears pay nothing this month).
        live = pop.stage < 4
        paying = live & (pop.arrears == 0)
        self.last_arpu = billed_arpu(cfg, pop, t)
        revenue = float(self.last_arpu[paying].sum(dtype=np.float64))
        n_suspended = int(np.count_nonzero(suspended(cfg, pop)))
        stage_counts = _counts(pop.stage, 6)
        tier_counts = _counts(pop.tier, len(TIER_NAMES), live)

        # Month-end transitions: arrears first (cancellation), then the lifecycle.
        accepted_mask = np.zeros(S, bool)
        accepted_mask[a_cust] = True
        stage_at_month_end = pop.stage.copy()  # the stage an exit is counted in
        arr = step_arrears(cfg, pop, u_arr, accepted_mask)
        tr = step_lifecycle(cfg, self.tables, pop, t, u_life)
        exited = tr.true_churn | tr.reentry | arr.cancelled_churn | arr.cancelled_reentry
        true_churn = tr.true_churn | arr.cancelled_churn
        reentry = tr.reentry | arr.cancelled_reentry
        first = exited & (pop.first_exit_month < 0)
        pop.first_exit_month[first] = t
        pop.true_churned[true_churn] = True
        in_decline = (tr.stage_before == DECLINE) & (pop.stage == DECLINE)
        recovered = (tr.stage_before == DECLINE) & (pop.stage == MATURITY)
        step_usage(cfg, pop, t, z, in_decline, recovered)
        self._reenter(reentry)
        pop.tenure += pop.stage < 4  # adding the mask: no gather and scatter over the base

        exit_stage = np.bincount(stage_at_month_end[exited], minlength=6)
        exit_tier = np.bincount(pop.tier[exited], minlength=len(TIER_NAMES))
        row: dict[str, Any] = {
            "month": t,
            "gross_adds": adds,
            "active": int(np.count_nonzero(live)),
            "initial_retained": int(np.count_nonzero(pop.stage[: pop.n_initial] < 4)),
            "paying": int(np.count_nonzero(paying)),
            "suspended": n_suspended,
            "exits_true_churn": int(np.count_nonzero(true_churn)),
            "exits_reentry": int(np.count_nonzero(reentry)),
            "cancellations": int(np.count_nonzero(arr.cancelled_churn | arr.cancelled_reentry)),
            "arrears_entered": int(np.count_nonzero(arr.entered)),
            "revenue": revenue,
            "contact_cost": contact_cost,
            "offer_cost": offer_cost,
            "cost": contact_cost + offer_cost,
            "value_credited": value_credited,
            "planned": len(raw),
            "contacts_planned": len(plan),
            "contacts_reached": int(r_cust.size),
            "offers_accepted": int(a_cust.size),
            "calls_planned": int(dial.size),
            "calls_dialled": int(calls.dialled.size),
            "calls_connected": int(np.count_nonzero(calls.connected)),
            "calls_accepted": int(np.count_nonzero(accepted & is_call)),
            "cc_busy_s": calls.busy_seconds,
            "cc_staffed_s": calls.staffed_seconds,
            "cc_utilisation": calls.utilisation,
            "inbound_calls": len(calls.inbound_waits),
            "inbound_abandoned": calls.inbound_abandoned,
            "inbound_mean_wait_s": float(np.mean(calls.inbound_waits)) if calls.inbound_waits else float("nan"),
            "detect_flagged": flagged,
            "detect_true": truly,
            "detect_both": both,
        }
        for s, name in enumerate(STAGE_NAMES):
            row[f"active_{name}"] = int(stage_counts[s])
            row[f"exits_{name}"] = int(exit_stage[s])
        for k, name in enumerate(TIER_NAMES):
            row[f"active_{name}"] = int(tier_counts[k])
            row[f"exits_{name}"] = int(exit_tier[k])
        for ci, ch_name in enumerate(channel_names(cfg)):
            row[f"contacts_{ch_name}"] = int(np.count_nonzero(plan.channel == ci))
        self.recorder.month(row)
        if calls.inbound_waits:
            self.recorder.inbound_waits.append(np.asarray(calls.inbound_waits))
        if calls.inbound_abandon_waits:
            self.recorder.inbound_abandon_waits.append(np.asarray(calls.inbound_abandon_waits))

    @staticmethod
    def _executed(t: int, plan: ContactPlan, executed: np.ndarray, reached: np.ndarray, accepted: np.ndarray,
                  call_rows: np.ndarray, calls: MonthCalls) -> ContactLog:
        """The month's executed rows in plan order: calls dated on the day a seat dialled them,
        the other channels on the month's first day (they go out at once)."""
        day = np.full(len(plan), t * MONTH_DAYS, np.int32)
        day[call_rows[calls.placed]] += calls.placed_day
        rows = np.flatnonzero(executed)
        return ContactLog(plan.customer[rows], plan.offer[rows], plan.channel[rows], day[rows],
                          outcome_codes(reached[rows], accepted[rows]))

    # ------------------------------------------------------------------ effects
    def _apply_offers(self, t: int, cust: np.ndarray, offer: np.ndarray, recover_u: np.ndarray) -> None:
        """Accepted offers: lower hazard and shifted usage for the term; contract lock-in."""
        if cust.size == 0:
            return
        pop, offers = self.population, list(self.config.offers.values())
        term = np.array([o.term_months for o in offers])[offer]
        # The offer runs `term` months from this one (optimizer.value_model's convention).
        pop.offer_end[cust] = t + term
        pop.arpu_uplift[cust] = np.array([o.arpu_uplift for o in offers], F32)[offer]
        pop.offer_churn_mult[cust] = np.array([o.churn_multiplier for o in offers], F32)[offer]
        pop.shift_arpu[cust] = 1.0 + np.array([o.arpu_shift for o in offers], F32)[offer]
        pop.shift_mou[cust] = 1.0 + np.array([o.mou_shift for o in offers], F32)[offer]
        pop.shift_data[cust] = 1.0 + np.array([o.data_shift for o in offers], F32)[offer]
        locks = np.array([o.contract for o in offers])[offer]
        pop.contract_end[cust[locks]] = np.maximum(pop.contract_end[cust[locks]], t + 1 + term[locks])
        rec_p = np.array([o.recovery_prob for o in offers], F32)[offer]
        rec = cust[(pop.stage[cust] == DECLINE) & (recover_u < rec_p)]
        pop.stage[rec] = MATURITY
        pop.months_in_stage[rec] = 0
        pop.level_voice[rec] = 1.0
        pop.level_data[rec] = 1.0

    def _residual_value(self) -> float:
        """Expected margin after the horizon of the initial customers alive at its end.

        ``residual_months`` months, from the hazard each has now (fatigue aside: it fades
        within its window) and what remains of a running offer, by the one value model.
        """
        cfg, pop = self.config, self.population
        if cfg.residual_months == 0:
            return 0.0
        from optimizer.value_model import expected_margin

        H = cfg.horizon_months
        alive = np.flatnonzero(pop.stage[: pop.n_initial] < 4)
        base_h = exit_hazard(cfg, self.tables, pop, H, offers=False)[alive].astype(np.float64)
        running = pop.offer_end[alive] > H
        mult = np.where(running, pop.offer_churn_mult[alive], 1.0).astype(np.float64)
        left = np.where(running, pop.offer_end[alive] - H, 0)
        uplift = np.where(running, pop.arpu_uplift[alive], 0.0)
        arpu = arpu_now(cfg, pop)[alive].astype(np.float64)
        first = cfg.margin * (arpu + uplift)  # month H: billed for sure
        later = expected_margin(
            arpu, base_h, cfg.residual_months - 1, margin=cfg.margin,
            churn_multiplier=mult, term_months=left, arpu_uplift=uplift,
        )
        return float(first.sum() + later.sum())

    def _reenter(self, mask: np.ndarray) -> None:
        """A re-entry is the same person on a new number: the slot restarts in acquisition."""
        pop = self.population
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return
        pop.stage[idx] = ACQUISITION
        pop.tenure[idx] = -1  # incremented to 0 by the month-end tenure step
        pop.months_in_stage[idx] = 0
        pop.contract_end[idx] = -1
        pop.offer_end[idx] = -1
        for arr in (
            pop.offer_churn_mult,
            pop.shift_arpu,
            pop.shift_mou,
            pop.shift_data,
            pop.level_voice,
            pop.level_data,
        ):
            arr[idx] = 1.0
        pop.arrears[idx] = 0
        pop.reentries[idx] += 1

    def _final_totals(self) -> dict[str, float]:
        pop, cfg = self.population, self.config
        n0 = pop.n_initial
        initial_live = pop.stage[:n0] < 4
        tot = {
            "retention_rate": float(initial_live.mean()),
            "number_retention_rate": float((pop.first_exit_month[:n0] < 0).mean()),
        }
        tiers = np.array([TIER_NAMES.index(k) for k in cfg.mid_high_tiers])
        mh = np.isin(pop.tier[:n0], tiers)
        churned = pop.true_churned[:n0]
        called = mh & pop.ever_dialed[:n0]
        all_rate = float(churned[mh].mean()) if mh.any() else float("nan")
        called_rate = float(churned[called].mean()) if called.any() else float("nan")
        tot["mid_high_churn_all"] = all_rate
        tot["mid_high_churn_called"] = called_rate
        tot["mid_high_churn_reduction"] = 1.0 - called_rate / all_rate if all_rate and called.any() else float("nan")
        tot["initial_customers"] = float(n0)
        tot["customers_retained"] = float(initial_live.sum())
        tot["residual_value"] = self._residual_value()
        tot["lifetime_sum_initial"] = float(
            np.where(pop.first_exit_month[:n0] >= 0, pop.first_exit_month[:n0] + 1, 0).sum()
        )
        tot["censored_initial"] = float((pop.first_exit_month[:n0] < 0).sum())
        return tot


def _counts(codes: np.ndarray, n: int, where: np.ndarray | None = None) -> list[int]:
    """``np.bincount(codes[where], minlength=n)``, one comparison per code: on the whole base a few
    times faster than bincount's conversion of the codes to intp."""
    return [int(np.count_nonzero(codes == k if where is None else (codes == k) & where)) for k in range(n)]


def simulate(
    config: SimConfig | dict[str, Any], strategy: Strategy, seed: int | np.random.SeedSequence = 0
) -> RunResult:
    """Run one replication: ``simulate(build_config({...}), DoNothing(), seed=1)``."""
    cfg = config if isinstance(config, SimConfig) else build_config(config)
    return Simulation(cfg, strategy, seed).run()
