"""Bad input fails early with a message naming the key, the value and the rule.

The broken scenarios are kept as fixtures (fixtures/wrong_*.yaml), one rule each.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation import (
    DoNothing,
    RuleTargeting,
    Simulation,
    SimulationConfigError,
    build_config,
    load_scenario,
    run_experiment,
)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        (
            "wrong_negative_rate.yaml",
            r"lifecycle\.exit_hazard\.growth: \(=-0\.1\) must be a probability",
        ),
        ("wrong_probability.yaml", r"call_centre\.connect_rate: \(=1\.3\) must be a probability"),
        ("wrong_nan.yaml", r"population\.arpu_mean\.premium: \(=nan\) must be finite"),
        ("wrong_horizon.yaml", r"horizon_months: \(=0\) must be > 0"),
        ("wrong_zero_seats.yaml", r"call_centre\.seats: \(=0\) must be > 0: strategy 'calls'"),
        ("wrong_strategy.yaml", r"strategies\.mine\.type: \(='magic'\) is not a strategy"),
        ("wrong_unknown_key.yaml", r"population\.custmers: unknown key \(did you mean 'customers'\?\)"),
        ("wrong_rule_tag.yaml", r"strategies\.r\.rule: .*uses 'bogus_tag', which is not a tag"),
    ],
)
def test_broken_scenarios_name_the_key(fixture: str, message: str) -> None:
    with pytest.raises(SimulationConfigError, match=message):
        sc = load_scenario(FIXTURES / fixture)
        # Scenario-level checks that need the strategies run when the experiment starts.
        run_experiment(sc.config, sc.strategies, replications=1)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"population": {"tier_mix": {"premium": 0.5}}},
            r"population\.tier_mix: \(sum=1\.45\) must sum to 1",
        ),
        (
            {"population": {"customers": 2.5}},
            r"population\.customers: \(=2\.5\) must be an integer",
        ),
        ({"arrears": {"cure_prob": "high"}}, r"arrears\.cure_prob: \(='high'\) must be a number"),
        # numbers are numbers: no text read as one, no yes/no as 1
        ({"arrears": {"cure_prob": "0.5"}}, r"arrears\.cure_prob: \(='0\.5'\) must be a number"),
        ({"population": {"customers": "3"}}, r"population\.customers: \(='3'\) must be an integer"),
        ({"arrears": {"monthly_prob": {"growth": True}}}, r"arrears\.monthly_prob\.growth: \(=True\) a number is needed"),
        ({"population": {"customers": True}}, r"population\.customers: \(=True\) a number is needed"),
        ({"population": 5}, r"population: \(=5\) must be a mapping"),
        (
            {"offers": {"x": {"contrcat": False}}},
            r"offers\.x\.contrcat: unknown key \(did you mean 'contract'\?\); known keys: accept_prob, arpu_shift",
        ),
        ({"offers": {"x": {"contract": "yes"}}}, r"offers\.x\.contract: \(='yes'\) must be true"),
        ({"offers": {}}, r"offers: at least one offer"),
        ({"channels": {"call": {}}}, r"channels\.call: the call channel is configured"),
        (
            {"lifecycle": {"exit_hazard": {"decline": 0.7}, "decline_hazard": {"maturity": 0.5}}},
            None,
        ),
        (
            {"lifecycle": {"exit_hazard": {"exited": 0.1}}},
            r"lifecycle\.exit_hazard\.exited: unknown",
        ),
        ({"mid_high_tiers": ["gold"]}, r"mid_high_tiers: \(='gold'\) is not a value tier"),
        ({"budget_rule": "expected"}, r"budget_rule: \(='expected'\) must be one of"),
    ],
)
def test_mapping_errors(mapping: dict, message: str | None) -> None:
    if message is None:  # a valid corner: the checks must not over-reject
        build_config(mapping)
        return
    with pytest.raises(SimulationConfigError, match=message):
        build_config(mapping)


def test_zero_seats_with_a_calling_strategy_is_rejected_by_the_engine() -> None:
    cfg = build_config({"call_centre": {"seats": 0}, "population": {"customers": 10}})
    with pytest.raises(SimulationConfigError, match=r"call_centre\.seats"):
        Simulation(cfg, RuleTargeting("usage_drop", channel="call"), seed=1)
    Simulation(cfg, RuleTargeting("usage_drop", channel="sms"), seed=1)  # no calls: fine
    Simulation(cfg, DoNothing(), seed=1)


def test_error_is_a_value_error_with_the_key() -> None:
    with pytest.raises(ValueError) as info:
        build_config({"horizon_months": -3})
    assert isinstance(info.value, SimulationConfigError)
    assert info.value.key == "horizon_months"


def test_unknown_scenario_name_lists_the_bundled_ones() -> None:
    with pytest.raises(SimulationConfigError, match=r"bundled: \[.*calibration_10088"):
        load_scenario("no_such_scenario")


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"replications": 0}, "replications"),
        ({"workers": 0}, "workers"),
        ({"backend": "threads"}, "backend"),
    ],
)
def test_experiment_arguments(kwargs: dict, key: str) -> None:
    cfg = build_config({"population": {"customers": 10}, "horizon_months": 1})
    with pytest.raises(SimulationConfigError, match=key):
        run_experiment(cfg, {"none": DoNothing()}, **kwargs)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"type": "rule", "rule": "usage_drop", "offer": "gift"},
            r"strategies\.s\.offer: \(='gift'\)",
        ),
        ({"type": "score", "channel": "fax"}, r"strategies\.s\.channel: \(='fax'\)"),
        ({"type": "rule", "rule": "usage_drop", "order_by": "age"}, r"strategies\.s\.order_by"),
        ({"type": "key_moments", "triggers": [{"moment": "birthday"}]}, r"triggers\[0\]\.moment"),
        ({"type": "score", "threshold": 1500}, r"strategies\.s\.threshold: \(=1500\)"),
        ({"type": "call_wave", "fraction": 0.5, "offer": "gift"}, r"strategies\.s\.offer"),
    ],
)
def test_strategy_specs_fail_before_the_run(spec: dict, message: str) -> None:
    from simulation import build_strategy

    cfg = build_config({"population": {"customers": 10}, "horizon_months": 1})
    with pytest.raises(SimulationConfigError, match=message):
        run_experiment(cfg, {"s": build_strategy("s", spec)}, replications=1)


def test_replace_revalidates_and_keeps_the_rest() -> None:
    cfg = build_config({"population": {"customers": 100}})
    assert cfg.replace(horizon_months=3).population.customers == 100
    with pytest.raises(SimulationConfigError, match=r"horizon_months: \(=-1\)"):
        cfg.replace(horizon_months=-1)


def test_a_partial_map_keeps_the_other_defaults() -> None:
    default = build_config().lifecycle.exit_hazard
    cfg = build_config({"lifecycle": {"exit_hazard": {"growth": 0.03}}})
    assert cfg.lifecycle.exit_hazard == {**default, "growth": 0.03}
    assert list(cfg.lifecycle.exit_hazard) == list(default)


def test_settings_are_frozen_and_validated_when_built_directly() -> None:
    import pickle

    from pydantic import ValidationError

    from simulation.config import CallCentreConfig

    cfg = build_config({"population": {"customers": 10}})
    with pytest.raises(ValidationError, match="frozen"):
        cfg.population.customers = 5  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(cfg)) == cfg  # workers receive it pickled
    assert CallCentreConfig(seats=3, hours_per_day=8).hours_per_day == 8.0
    with pytest.raises(ValidationError, match=r"\(=1\.3\) must be a probability"):
        CallCentreConfig(connect_rate=1.3)
