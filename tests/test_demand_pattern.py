"""Seasonal demand on inputs (issue 23, deliverable 2): an input's `demand_pattern` scales its
daily requirement by the output patterns' factors (sim.streams.pattern_factors), and flat
deliveries against a low season overflow the buyer's buffer.

- a two-season profile on the tiny network, worked out by hand: the high season's shortfall
  after the buffer is spent, the low season's overflow after it is refilled, and their money;
- a pattern of all ones reproduces a run without one to the bit;
- mass balance (tests/test_invariants.py's checks) with seasonal demand on random networks,
  and the requirement is demand x the day's factor x the operating level, day by day;
- a profile of the wrong length is bad input naming the field (tests/data/bad/44_*.toml, run
  through the command line by tests/test_cli_validate.py for its exit 2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import random_scenario
from test_arrayday import assert_same_run
from test_invariants import check_all
from tiny_net import ASH_DISPOSAL, build, daily, run

from sim.model import SymbiosisModel
from sim.scenario import Pattern, Scenario, ScenarioError, load_scenario
from sim.streams import pattern_factors

ROOT = Path(__file__).resolve().parent.parent
STONE = "facilities.buy.inputs.stone"
TWO_SEASONS = {"kind": "seasonal", "monthly_factors": [1.5] * 6 + [0.5] * 6}
HIGH_DAYS = 31 + 28 + 31 + 30 + 31 + 30  # January-June: days 0-180
LOW_DAYS = 365 - HIGH_DAYS  # July-December: days 181-364


def two_seasons(buffer_t: float = 50.0, **more: object) -> Scenario:
    """The tiny network (10 t/day of ash, a flat 10 t/day contract with a one-day lag, the
    buyer's mean need 10 t/day, ash 1:1 up to all of it) with demand 1.5 x 10 = 15 t/day from
    January to June and 0.5 x 10 = 5 t/day from July to December, buffer B full on day 0,
    virgin "none" (what the buffer and deliveries do not cover is unmet), over one year."""
    over = {f"{STONE}.demand_pattern": TWO_SEASONS, f"{STONE}.buffer_t": buffer_t, f"{STONE}.virgin": "none",
            f"{STONE}.lost_margin_per_t": 3.0, **more}
    return build(over, horizon=365)


def test_two_season_overflow_and_shortfall_by_hand() -> None:
    """B = 50. High season (181 days at 15 t/day): deliveries bring 10 t/day from day 1 (none
    on day 0, the lag), so the need is 181 x 15 = 2,715 t against 180 x 10 + B = 1,850 t of ash:
    865 t unmet, 5 t/day from day 8 (the buffer covers 15 on day 0 and 5 on days 1-7). Low season
    (184 days at 5 t/day): 10 t/day arrive, 5 are used, 184 x 5 = 920 t surplus refills the empty
    buffer with B = 50 t in 10 days and overflows the other 870 t, 5 t/day from day 191,
    disposed of at the buyer's cost (10/t)."""
    m = run(two_seasons())
    f = m.inputs_flow
    required = f["required_t"][:, 0]
    assert np.array_equal(required, np.r_[np.full(HIGH_DAYS, 15.0), np.full(LOW_DAYS, 5.0)])
    unmet = f["unmet_t"][:, 0]
    assert unmet.sum() == pytest.approx(181 * 15 - (180 * 10 + 50))  # 865
    assert np.array_equal(unmet, np.r_[np.zeros(8), np.full(HIGH_DAYS - 8, 5.0), np.zeros(LOW_DAYS)])
    overflow = f["buffer_overflow_t"][:, 0]
    assert overflow.sum() == pytest.approx(LOW_DAYS * (10 - 5) - 50)  # 870
    assert np.array_equal(overflow, np.r_[np.zeros(HIGH_DAYS + 10), np.full(LOW_DAYS - 10, 5.0)])
    assert f["buffer_t"][HIGH_DAYS - 1, 0] == 0.0 and f["buffer_t"][-1, 0] == 50.0
    assert daily(m, "buffer_disposal", payer="buy").sum() == pytest.approx(870 * ASH_DISPOSAL)
    assert daily(m, "lost_margin", payer="buy").sum() == pytest.approx(865 * 3.0)


def test_a_bigger_buffer_moves_tonnes_between_the_seasons_one_for_one() -> None:
    """Each extra tonne of B (while B < the high season's 5 x 173 t deficit) covers one more
    tonne of the high season's shortfall, and, being refilled in the low season, overflows one
    tonne less: B = 200 gives 715 t unmet and 720 t overflow."""
    f = run(two_seasons(200.0)).inputs_flow
    assert f["unmet_t"].sum() == pytest.approx(181 * 15 - (180 * 10 + 200))
    assert f["buffer_overflow_t"].sum() == pytest.approx(LOW_DAYS * 5 - 200)


@pytest.mark.parametrize(
    "pattern",
    [
        {"kind": "seasonal", "monthly_factors": [2.0] * 12},
        {"kind": "seasonal", "amplitude": 0.0, "peak_day": 100.0},
        {"kind": "continuous"},
    ],
    ids=["monthly-all-equal", "amplitude-0", "continuous"],
)
def test_a_pattern_of_all_ones_reproduces_no_pattern_to_the_bit(pattern: dict) -> None:
    """Every input of a shipped network with outages, stockpiles, critical inputs and quality
    draws: the factors are exactly 1.0, and demand x 1.0 is demand."""
    path = ROOT / "scenarios" / "kalundborg.toml"
    plain = load_scenario(path)
    flat = load_scenario(path, {"facilities.*.inputs.*.demand_pattern": pattern})
    assert all(i.demand_pattern is not None for f in flat.facilities for i in f.inputs)
    for seed in (1, 2):
        a = SymbiosisModel(plain, rng=seed, horizon_days=400, collect_series=False)
        b = SymbiosisModel(flat, rng=seed, horizon_days=400, collect_series=False)
        a.run()
        b.run()
        assert_same_run(a, b)


def with_demand_patterns(sc: Scenario, seed: int) -> Scenario:
    """`sc` with a pattern on every input: seasonal profiles (monthly, some months at 0, or a
    sinusoid), batch and campaign, drawn from `seed`."""
    rng = np.random.default_rng(seed)
    def months() -> list[float]:
        factors = rng.uniform(0.1, 2.0, 12) * (rng.random(12) > 0.2)  # some months without demand
        factors[int(rng.integers(0, 12))] = 1.0  # a positive sum
        return [float(x) for x in factors]

    kinds = [
        lambda: Pattern(kind="seasonal", monthly_factors=months()),
        lambda: Pattern(kind="seasonal", amplitude=float(rng.uniform(0, 1)), peak_day=float(rng.uniform(0, 365))),
        lambda: Pattern(kind="batch", every_days=int(rng.integers(2, 8))),
        lambda: Pattern(kind="campaign", on_days=int(rng.integers(5, 40)), off_days=int(rng.integers(0, 30))),
    ]
    facilities = []
    for f in sc.facilities:
        inputs = [i.model_copy(update={"demand_pattern": kinds[int(rng.integers(0, 4))]()}) for i in f.inputs]
        facilities.append(f.model_copy(update={"inputs": inputs}))
    return sc.model_copy(update={"facilities": facilities})


@pytest.mark.parametrize("seed", range(8))
def test_mass_balance_and_the_days_requirement_under_demand_patterns(seed: int) -> None:
    """The invariants (mass, money, stocks, rates) hold, and each input's requirement is
    demand x its pattern's factor of the day x its facility's level (the up fraction for a
    critical input, which goes first; the operating level after line stops for the others)."""
    sc = with_demand_patterns(random_scenario(seed), seed)
    m = SymbiosisModel(sc, rng=seed, collect_series=False)
    m.run()
    check_all(m)
    f = m.inputs_flow
    for k, (fid, spec) in enumerate((fac.id, i) for fac in sc.facilities for i in fac.inputs):
        assert spec.demand_pattern is not None
        j = m.facility_index[fid]
        level = m.up_history[:, j] if spec.critical else m.operating_history[:, j]
        want = spec.demand_t_per_day * pattern_factors(spec.demand_pattern, m.horizon) * level
        assert np.array_equal(f["required_t"][:, k], want), (seed, fid, spec.material)


def test_the_shipped_case_overflows_in_winter_only_with_seasonal_demand() -> None:
    """scenarios/fly_ash_concrete.toml: flat 200 t/day of ash against a need capped at 25 % of
    a cement demand that follows the US construction season. Its buffer overflows, and only in
    the months whose factor puts the cap below 200 t/day (December-March); with the pattern
    removed, the same deliveries never overflow it (beyond float rounding, 1e-12 t)."""
    path = ROOT / "scenarios" / "fly_ash_concrete.toml"
    seasonal = run(load_scenario(path), seed=1).inputs_flow["buffer_overflow_t"][:, 0]
    flat = run(load_scenario(path, {"facilities.readymix.inputs.cement.demand_pattern": None}), seed=1)
    assert flat.inputs_flow["buffer_overflow_t"].sum() < 1e-9  # rounding only
    assert seasonal.sum() > 1000.0
    doy = np.arange(len(seasonal)) % 365
    below = (doy < 90) | (doy >= 334)  # December-March: caps 176, 148, 139 and 198 t/day
    assert seasonal[~below].sum() < 1e-9


def test_a_short_profile_is_bad_input_naming_the_field() -> None:
    with pytest.raises(ScenarioError) as info:
        build({f"{STONE}.demand_pattern": {"kind": "seasonal", "monthly_factors": [1.0, 2.0]}})
    assert info.value.problems == [
        f"tiny: {STONE}.demand_pattern: monthly_factors needs 12 values with a positive "
        "sum (given 2 values)"
    ]


def test_production_loss_counts_the_days_demand() -> None:
    """`production_loss_t` (docs/metrics.md): a critical input with nothing to meet it (no
    contract, virgin "none") stops the line every day, so the loss is the year's requirement
    at full operation, day by day under the pattern: 181 x 15 + 184 x 5 = 3,635 t (a flat
    10 t/day would give 3,650)."""
    sc = build({f"{STONE}.demand_pattern": TWO_SEASONS, f"{STONE}.virgin": "none", f"{STONE}.critical": True},
               horizon=365, contracts=[])
    m = run(sc)
    assert m.operating_history[:, m.facility_index["buy"]].max() == 0.0
    assert m.result().metrics["production_loss_t"] == pytest.approx(HIGH_DAYS * 15 + LOW_DAYS * 5)
