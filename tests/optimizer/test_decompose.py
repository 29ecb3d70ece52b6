"""Decomposition mode against exact mode, the verifier, brute force and a Dask cluster."""

from __future__ import annotations

import itertools
from importlib import resources

import numpy as np
import pytest
import yaml

from optimizer import Problem, Scenario, Status, solve, verify_plan
from optimizer.decompose import lagrangian_bound, solve_decomposed
from optimizer.decompose.subproblem import PatternDP
from optimizer.demo import generate_base, scale_limits

TEMPLATE = yaml.safe_load((resources.files("scenarios") / "bundled" / "demo.yaml").read_text(encoding="utf-8"))


def random_problem(n: int, seed: int, *, tight_roi: bool = False, min_contacts: bool = False) -> Problem:
    """A generated base with the demo's limits, randomly tightened, plus rules and exclusions."""
    rng = np.random.default_rng(seed)
    options, customers = generate_base(n, seed=seed)
    spec = scale_limits(TEMPLATE, n) | {"name": f"random-{seed}", "do_not_contact": None}
    spec["budget"] = round(spec["budget"] * rng.uniform(0.3, 1.2), 2)
    spec["min_roi"] = float(rng.uniform(0.8, 1.6)) if tight_roi else float(rng.uniform(0.0, 0.5))
    spec["channels"]["sms"] = {"capacity": int(n * rng.uniform(0.05, 0.4))}
    spec["channels"]["app"] = {"max_per_customer": 1}
    spec["offers"]["data_pack"] = {"max_targets": int(n * rng.uniform(0.02, 0.2))}
    spec["offers"]["loyalty_points"] = {"min_targets": int(n * rng.uniform(0.0, 0.05)), "min_roi": 0.2}
    spec["rules"] = spec["rules"] + [
        {"name": "flea_spend", "where": {"value_tier": "flea"}, "sum": "spend", "max": float(n * rng.uniform(0.05, 0.5))},
        {"name": "store_share", "where": {"channel_id": "store"}, "max_share": 0.2},
    ]
    spec["exclusions"] = [["handset_contract", "bill_credit_contract"], ["family_plan", "data_pack"]]
    if min_contacts:
        reachable = options.groupby("customer_id").size().reindex(customers["customer_id"], fill_value=0).to_numpy()
        pick = (rng.random(n) < 0.1) & (reachable >= 2) & (customers["max_contacts"].to_numpy() >= 1)
        customers["min_contacts"] = pick.astype(int)
    return Problem.from_tables(Scenario.model_validate(spec), options, customers)


def check_against_exact(problem: Problem):  # type: ignore[no-untyped-def]
    exact = solve(problem)
    dec = solve_decomposed(problem, gap=1e-6)
    assert exact.status is Status.OPTIMAL, exact.message
    assert dec.has_plan, dec.message
    assert verify_plan(problem, dec.plan).ok, verify_plan(problem, dec.plan).violations
    tol = 1e-6 * max(1.0, abs(exact.objective))
    # the bound is an upper bound on the exact optimum, and the plan is within the reported gap of it
    assert dec.bound >= exact.objective - tol
    assert dec.objective <= exact.objective + tol
    assert exact.objective - dec.objective <= dec.gap * max(1.0, abs(dec.objective)) + tol
    # anyone can recompute the bound from the reported shadow prices
    prices = {lim.name: lim.shadow_price for lim in dec.limits}
    assert lagrangian_bound(problem, prices) == dec.bound
    return dec


@pytest.mark.parametrize("seed", range(20))
def test_small_random_instances_agree_with_exact(seed: int) -> None:
    check_against_exact(random_problem(40 + 10 * (seed % 8), seed, tight_roi=seed % 3 == 0, min_contacts=seed % 2 == 1))


@pytest.mark.parametrize("seed", [101, 102, 103, 104])
def test_medium_instances_agree_with_exact(seed: int) -> None:
    check_against_exact(random_problem(300 + 300 * (seed % 2), seed, tight_roi=seed % 2 == 0, min_contacts=seed < 103))


def test_unconstrained_problem_is_solved_exactly_by_the_walk() -> None:
    # no coupling limit at all: L(0) is the optimum and the best sets are the plan (gap 0)
    options, customers = generate_base(50, seed=3)
    spec = {"name": "free", "channels": {h: {} for h in ("call", "sms", "app", "store")},
            "offers": {o: {} for o in TEMPLATE["offers"]}}
    problem = Problem.from_tables(Scenario.model_validate(spec), options, customers)
    dec, exact = solve_decomposed(problem), solve(problem)
    assert dec.status is Status.OPTIMAL and dec.gap == 0.0
    assert dec.objective == pytest.approx(exact.objective, abs=1e-9)


def test_infeasible_limits_are_named() -> None:
    options, customers = generate_base(60, seed=5)
    spec = scale_limits(TEMPLATE, 60) | {"name": "impossible", "do_not_contact": None}
    spec["offers"]["loyalty_points"] = {"min_targets": 50}
    spec["channels"]["sms"] = {"capacity": 5}
    spec["channels"]["app"] = {"capacity": 5}
    problem = Problem.from_tables(Scenario.model_validate(spec), options, customers)
    result = solve_decomposed(problem)
    assert result.status is Status.INFEASIBLE
    assert not result.has_plan
    named = [name for name, _, _ in result.diagnosis.violated]
    assert "offer:loyalty_points:min_targets" in named, result.message


def test_customer_who_cannot_meet_min_contacts_is_reported() -> None:
    options, customers = generate_base(30, seed=2)
    customers.loc[0, "min_contacts"] = 5
    customers.loc[0, "max_contacts"] = 5
    spec = scale_limits(TEMPLATE, 30) | {"name": "short", "do_not_contact": None}
    result = solve_decomposed(Problem.from_tables(Scenario.model_validate(spec), options, customers))
    assert result.status is Status.INFEASIBLE
    assert "min_contacts" in result.message and customers.loc[0, "customer_id"] in result.message


def test_multipliers_are_checked() -> None:
    problem = random_problem(30, 1)
    with pytest.raises(ValueError, match=r"multipliers\(=.*must be finite and >= 0"):
        lagrangian_bound(problem, [-1.0] * len(problem.limits))
    with pytest.raises(ValueError, match="unknown limit 'budgett'"):
        lagrangian_bound(problem, {"budgett": 1.0})


def test_local_cluster_gives_the_same_plan_as_in_memory(tmp_path) -> None:
    problem = random_problem(240, 11, min_contacts=True)
    memory = solve_decomposed(problem, shard_customers=60)
    cluster = solve_decomposed(problem, shard_customers=60, scheduler="local", n_workers=2, shard_dir=str(tmp_path))
    assert cluster.extra["n_shards"] == 4
    assert np.array_equal(memory.chosen, cluster.chosen)
    assert cluster.bound == memory.bound
    assert [lim.shadow_price for lim in cluster.limits] == [lim.shadow_price for lim in memory.limits]
    assert verify_plan(problem, cluster.plan).ok


def _feasible_sets(opts, offer, channel, low, high, caps, exclusions):
    """Every set of one customer's options that the contact policy allows, by enumeration."""
    for r in range(len(opts) + 1):
        for chosen in itertools.combinations(opts, r):
            offers = [offer[j] for j in chosen]
            if not low <= r <= high or len(set(offers)) < r:
                continue
            if any(a in offers and b in offers for a, b in exclusions):
                continue
            if any(cap is not None and sum(channel[j] == h for j in chosen) > cap for h, cap in enumerate(caps)):
                continue
            yield set(chosen)


def test_walk_matches_brute_force() -> None:
    """Best set, second-best value and every option's regret against enumeration of every set."""
    rng = np.random.default_rng(1)
    O, H, n = 5, 3, 5
    for _ in range(150):
        K = int(rng.integers(0, 4))
        caps = tuple(int(rng.integers(0, 3)) if rng.random() < 0.5 else None for _ in range(H))
        exc = tuple({tuple(sorted(rng.choice(O, 2, replace=False).tolist())) for _ in range(int(rng.integers(0, 3)))})
        walk = PatternDP(O, H, K, caps, exc)
        triples = [(c, o, h) for c in range(n) for o in range(O) for h in range(H) if rng.random() < 0.5]
        customer, offer, channel = (np.array([t[k] for t in triples], dtype=np.int64) for k in range(3))
        starts = np.searchsorted(customer, np.arange(n + 1))
        vals = rng.normal(size=len(triples))
        minc, maxc = rng.integers(0, 2, n), rng.integers(0, K + 1, n)
        sol = walk.solve(vals, starts, offer, channel, minc, maxc, second=True)
        for c in range(n):
            opts = list(range(starts[c], starts[c + 1]))
            sets = list(_feasible_sets(opts, offer, channel, minc[c], maxc[c], caps, exc))
            values = sorted((sum(vals[j] for j in S) for S in sets), reverse=True)
            if not values:
                assert sol.best[c] == -np.inf and not sol.chosen[opts].any()
                continue
            assert sol.best[c] == pytest.approx(values[0])
            assert sol.second[c] == (pytest.approx(values[1]) if len(values) > 1 else -np.inf)
            assert sum(vals[j] for j in opts if sol.chosen[j]) == pytest.approx(values[0])
            for j in opts:
                # regret: forcing an unchosen option in, or a chosen one out
                alternatives = [sum(vals[i] for i in S) for S in sets if (j in S) != bool(sol.chosen[j])]
                expect = values[0] - max(alternatives) if alternatives else np.inf
                assert sol.regret[j] == (pytest.approx(expect, abs=1e-12) if alternatives else np.inf)


def test_the_walk_compiles_once_for_read_only_columns_any_width_and_up_to_four_dense_limits() -> None:
    """A shard's Parquet-backed columns are read-only, computed ones are not, tests pass int64,
    and a scenario has 0 to 4 full-column limits: all of it is one compilation of the walk
    (each more costs about 8 s on a fresh install), and the same values whichever the flavour
    (an int64 contact cap of 65,537 is the same as the walk's own cap of 2)."""
    from optimizer.decompose import subproblem

    rng = np.random.default_rng(3)
    n, O, H = 40, 4, 2
    triples = [(c, o, h) for c in range(n) for o in range(O) for h in range(H) if rng.random() < 0.6]
    customer, offer, channel = (np.array([t[k] for t in triples]) for k in range(3))
    starts = np.searchsorted(customer, np.arange(n + 1))
    net = rng.normal(size=len(triples))
    walk = PatternDP(O, H, 2, (1, None), ((0, 1),))
    answers = []
    for k_dense, width, writable in [(0, np.int64, True), (1, np.int16, False), (3, np.int32, True), (4, np.int64, False)]:
        columns = tuple(rng.random(len(triples)) for _ in range(k_dense))
        # an int64 cap of 65,537 (1 if wrapped to 16 bits) is held at 32,767: the same sets as a cap of 2
        cap = np.full(n, 65_537 if width == np.int64 else 2, width)
        args = [net, starts, offer.astype(width), channel.astype(width), np.zeros(n, width), cap]
        for a in args + list(columns):
            a.flags.writeable = writable
        coupling = subproblem.Coupling(np.zeros(len(triples) + 1, np.int64), np.zeros(0, np.int64), np.zeros(0), columns,
                                       np.arange(k_dense), np.ones(k_dense))
        lam = np.zeros(k_dense)  # at zero prices every flavour must find the same sets
        answers.append(walk.solve(*args, coupling=coupling, multipliers=lam, second=True))
    for other in answers[1:]:
        assert np.array_equal(other.chosen, answers[0].chosen) and np.array_equal(other.regret, answers[0].regret)
    assert len(subproblem._walk.signatures) == 1, subproblem._walk.signatures
    assert len(subproblem._adjust.signatures) == 1, subproblem._adjust.signatures


def test_plan_and_bound_do_not_depend_on_threads_or_a_busy_core(monkeypatch) -> None:
    """Partial sums are taken per fixed block of customers, so any thread count, any schedule and
    a core slowed by another process give the same bits: the same plan and the same bound."""
    import subprocess
    import sys

    import numba

    from optimizer.decompose import subproblem

    # three blocks run in parallel here (by default so few blocks run in one thread)
    monkeypatch.setattr(subproblem, "PARALLEL_BLOCKS", 1)
    problem = random_problem(3 * subproblem.BLOCK + 17, 4)
    multipliers = np.linspace(0.0, 0.5, len(problem.limits))
    threads = numba.config.NUMBA_NUM_THREADS
    bounds = []
    try:
        numba.set_num_threads(1)
        bounds.append(lagrangian_bound(problem, multipliers))
        alone = solve_decomposed(problem, gap=1e-3)
        numba.set_num_threads(threads)
        for chunk in (0, 1):  # static halves, then blocks taken as threads free up
            monkeypatch.setattr(subproblem, "CHUNK", chunk)
            bounds.append(lagrangian_bound(problem, multipliers))
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            busy = solve_decomposed(problem, gap=1e-3)
        finally:
            hog.kill()
            hog.wait()
    finally:
        numba.set_num_threads(threads)
    assert bounds[0] == bounds[1] == bounds[2]
    assert alone.bound == busy.bound and np.array_equal(alone.chosen, busy.chosen)
    assert alone.extra["dual_iterations"] == busy.extra["dual_iterations"]


def test_coupling_matrix_is_the_coo_matrix_of_the_limits() -> None:
    """The sparse matrix is filled by counting; it must equal the plain COO construction, entry for entry."""
    import scipy.sparse as sp

    from optimizer.decompose.shard import coupling_matrix, layout_of

    problem = random_problem(200, 9, min_contacts=True)
    sign = layout_of(problem).sign
    rows, cols, vals = [], [], []
    for i, lim in enumerate(problem.limits):
        if lim.index is None:
            continue  # a dense column: kept apart, as the problem's own array
        idx = lim.index
        keep = lim.coef != 0
        rows.append(idx[keep])
        cols.append(np.full(int(keep.sum()), i))
        vals.append(sign[i] * lim.coef[keep])
    coo = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(problem.n_options, len(sign)))
    mine = coupling_matrix(problem, sign)
    assert np.array_equal(mine.indptr, coo.indptr) and np.array_equal(mine.indices, coo.indices)
    assert np.array_equal(mine.data, coo.data)


def test_dual_started_from_a_sample_agrees_with_exact(monkeypatch) -> None:
    # every size warm-starts here: the start moves the multipliers' path, never the certificate
    from optimizer.decompose import solve as decomposition

    monkeypatch.setattr(decomposition, "WARM_FROM", 0)
    problem = random_problem(2000, 8)
    start = decomposition._sample_prices(problem, decomposition._row_scale(problem), np.full(len(problem.limits), 1e6), None)
    assert start.any(), "the sample priced no limit"
    first = check_against_exact(problem)
    again = solve_decomposed(problem, gap=1e-6)
    assert np.array_equal(first.chosen, again.chosen) and first.bound == again.bound


def test_sample_prices_are_near_the_whole_base_prices(monkeypatch) -> None:
    from optimizer.decompose import solve as decomposition

    monkeypatch.setattr(decomposition, "WARM_FROM", 10_000)
    problem = random_problem(10_000, 5)  # a sample of 500 customers
    m = len(problem.limits)
    top = float(np.max(np.abs(problem.net_value)))
    start = decomposition._sample_prices(problem, decomposition._row_scale(problem), np.full(m, top), None)
    result = solve_decomposed(problem, gap=1e-3)  # its bound: the dual to 1e-5, recovery cut short
    cold, warm = lagrangian_bound(problem, np.zeros(m)), lagrangian_bound(problem, start)
    # the sample's prices close almost all of the distance from L(0) to the certified bound
    assert warm - result.bound <= 0.02 * (cold - result.bound), (cold, warm, result.bound)
