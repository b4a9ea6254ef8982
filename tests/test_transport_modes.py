"""Transport modes per contract (issue 19 item 2): road (trucks) and pipe.

A pipe pays `pipe_cost_per_t` per unit moved and nothing per trip or t-km, carries at most
`pipe_capacity_t_per_day` per day (the rest stays in the supplier's source storage and is its
shortfall), and lands at the next day boundary whatever the distance. A road contract at 0 km
still pays loading: trips x cost_per_trip. Every figure below is a hand calculation on a
two-plant network with a constant stream (no variability, no outages), so that what ships
each day is known: 10 t/day made, 10 t/day due.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sim.logistics import Margin, move_cost, move_lag_days, pipe_break_even_km, shipment_cap_t
from sim.matching import candidate_exchanges, form_network
from sim.matching_tables import candidates_table
from sim.model import SymbiosisModel
from sim.network import resolve_network
from sim.scenario import Contract, Transport, parse_scenario

REPO = Path(__file__).resolve().parents[1]
DAYS = 20

BASE = f"""
[scenario]
name = "two plants and a line"
horizon_days = {DAYS}

[transport]
cost_per_tkm = 0.10
cost_per_trip = 50.0
truck_capacity_t = 25.0
speed_km_per_day = 20.0

[[materials]]
id = "steam"
disposal_cost_per_t = 3.0

[[materials]]
id = "fuel"
virgin_price_per_t = 40.0

[[facilities]]
id = "plant"
location = {{ x_km = 0.0, y_km = 0.0 }}
outputs = [ {{ material = "steam", rate_t_per_day = 10.0, storage_t = 1000.0 }} ]

[[facilities]]
id = "user"
location = {{ x_km = 50.0, y_km = 0.0 }}

[[facilities.inputs]]
material = "fuel"
demand_t_per_day = 20.0
buffer_t = 0.0
substitutes = [ {{ material = "steam", ratio = 1.0, max_share = 1.0 }} ]

[[contracts]]
id = "line"
supplier = "plant"
buyer = "user"
material = "steam"
volume_t_per_day = 10.0
transport_paid_by = "supplier"
"""

PIPE = 'mode = "pipe"\npipe_cost_per_t = 2.0\n'


def scenario(extra: str = "", tail: str = ""):
    """The network, with `extra` lines added to the contract and `tail` sections after it."""
    return parse_scenario(tomllib.loads(BASE + extra + tail), "<transport modes>")


def run(extra: str = "", engine: str = "objects"):
    sc = scenario(extra)
    sc = sc.model_copy(update={"policy": sc.policy.model_copy(update={"engine": engine})})
    m = SymbiosisModel(sc, rng=1)
    m.run()
    return m, m.result()


def transport_paid(result, facility: str) -> float:
    row = result.facilities.set_index("facility").loc[facility]
    value = row.get("cost_transport", 0.0)
    return 0.0 if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


# --- the rules, as functions -------------------------------------------------------------


def test_move_cost_by_mode() -> None:
    tr = Transport(cost_per_tkm=0.1, cost_per_trip=50.0, truck_capacity_t=25.0)
    road = Contract(id="r", supplier="a", buyer="b", material="m", volume_t_per_day=1.0)
    pipe = Contract(id="p", supplier="a", buyer="b", material="m", volume_t_per_day=1.0, mode="pipe",
                    pipe_cost_per_t=2.0)
    assert move_cost(30.0, 0.0, tr, road) == 2 * 50.0  # 0 km: two trucks' loading
    assert move_cost(30.0, 10.0, tr, road) == 30.0 * 10.0 * 0.1 + 2 * 50.0
    assert move_cost(30.0, 10.0, tr, pipe) == 30.0 * 2.0  # no trips, no t-km
    assert move_lag_days(65.0, tr, road) == math.ceil(65.0 / tr.speed_km_per_day)
    assert move_lag_days(65.0, tr, pipe) == 1
    assert shipment_cap_t(road) == math.inf and shipment_cap_t(pipe) == math.inf
    capped = pipe.model_copy(update={"pipe_capacity_t_per_day": 6.0, "delivery_interval_days": 3})
    assert shipment_cap_t(capped) == 18.0


# --- runs: hand calculations --------------------------------------------------------------


@pytest.mark.parametrize("engine", ["objects", "arrays"])
def test_a_pipe_pays_its_cost_per_unit_and_lands_the_next_day(engine: str) -> None:
    """10 t/day for 20 days at 2.0 per t = 400, paid by the supplier (transport_paid_by), no
    trips although cost_per_trip = 50; at 50 km x circuity 1.3 = 65 km a truck would take
    ceil(65 / 20) = 4 days, the pipe 1; and it moves no truck t-km."""
    m, r = run(PIPE, engine)
    row = r.contracts.iloc[0]
    assert row["mode"] == "pipe"
    assert row["shipped_t"] == 10.0 * DAYS
    assert row["delivery_lag_days"] == 1
    assert r.metrics["transport_cost"] == pytest.approx(10.0 * DAYS * 2.0, rel=1e-12)
    assert transport_paid(r, "plant") == pytest.approx(10.0 * DAYS * 2.0, rel=1e-12)
    assert transport_paid(r, "user") == 0.0
    assert r.metrics["tkm"] == 0.0
    # landed the day after dispatch: the user's first secondary use is on day 1
    used = m.inputs_flow["from_secondary_t"][:, 0]
    assert used[0] == 0.0 and used[1] == 10.0


@pytest.mark.parametrize("engine", ["objects", "arrays"])
def test_a_road_contract_at_zero_km_pays_loading_only(engine: str) -> None:
    """Every 3 days 30 t = 2 trucks of 25 t; days 2, 5, ..., 17 ship: 6 shipments x 2 trips x
    50 = 600, and no t-km cost (0 km); t-km = 0."""
    _, r = run("distance_km = 0.0\ndelivery_interval_days = 3\n", engine)
    shipments = len(range(2, DAYS, 3))
    assert shipments == 6
    assert r.contracts.iloc[0]["mode"] == "road"
    assert r.contracts.iloc[0]["shipped_t"] == 30.0 * shipments
    assert r.metrics["transport_cost"] == shipments * 2 * 50.0
    assert transport_paid(r, "plant") == shipments * 2 * 50.0  # transport_paid_by = "supplier"
    assert r.metrics["tkm"] == 0.0


def test_tkm_counts_road_contracts_only() -> None:
    """The same line by road: 10 t x 65 km x 20 days of t-km; as a pipe: none."""
    _, road = run()
    _, pipe = run(PIPE)
    assert road.metrics["tkm"] == pytest.approx(10.0 * 65.0 * DAYS, rel=1e-12)
    assert pipe.metrics["tkm"] == 0.0


@pytest.mark.parametrize("engine", ["objects", "arrays"])
def test_a_binding_pipe_capacity_leaves_the_rest_short_at_the_source(engine: str) -> None:
    """Capacity 6 t/day against 10 due: 6 shipped a day, 4 short a day (the supplier's
    shortfall, not excused: it has no outages), 4 a day piling up in its source storage."""
    m, r = run(PIPE + "pipe_capacity_t_per_day = 6.0\n", engine)
    row = r.contracts.iloc[0]
    assert row["due_t"] == 10.0 * DAYS
    assert row["shipped_t"] == 6.0 * DAYS
    assert row["short_t"] == 4.0 * DAYS
    assert row["excused_t"] == 0.0
    assert r.metrics["supplier_shortfall_t"] == 4.0 * DAYS
    assert r.metrics["transport_cost"] == pytest.approx(6.0 * DAYS * 2.0, rel=1e-12)
    assert m.stream_states[0].storage.total == pytest.approx(4.0 * DAYS, rel=1e-12)
    assert r.metrics["waste_disposed_t"] == 0.0  # 80 t fit in the 1,000 t store


def test_capacity_counts_per_delivery_interval() -> None:
    """Every 4 days 40 t are due; the pipe carries 6 t/day x 4 days = 24 of them."""
    _, r = run(PIPE + "pipe_capacity_t_per_day = 6.0\ndelivery_interval_days = 4\n")
    shipments = len(range(3, DAYS, 4))
    row = r.contracts.iloc[0]
    assert row["shipped_t"] == 24.0 * shipments
    assert row["short_t"] == 16.0 * shipments


def test_capacity_is_shared_out_before_a_short_stock() -> None:
    """Two contracts on a 10 t/day stream, pro rata: a pipe of capacity 2 t/day due 10 and a
    truck due 10. The stock is split over what each can carry (2 and 10 of 10 t made):
    the pipe 10 x 2 / 12, the truck 10 x 10 / 12."""
    road = """
[[contracts]]
id = "truck"
supplier = "plant"
buyer = "user"
material = "steam"
volume_t_per_day = 10.0
"""
    sc = scenario(PIPE + "pipe_capacity_t_per_day = 2.0\n", road)
    m = SymbiosisModel(sc, rng=1)
    m.run()
    shipped = m.contracts_flow["shipped_t"]
    assert shipped[0, 0] == pytest.approx(10.0 * 2.0 / 12.0, rel=1e-12)
    assert shipped[0, 1] == pytest.approx(10.0 * 10.0 / 12.0, rel=1e-12)


# --- validation ---------------------------------------------------------------------------


def validate(tmp_path: Path, extra: str, tail: str = "") -> subprocess.CompletedProcess[str]:
    path = tmp_path / "pipe.toml"
    path.write_text(BASE + extra + tail, encoding="utf-8")
    return subprocess.run([sys.executable, "run_experiments.py", "validate", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


HUB = """
[intermediary]
location = { x_km = 25.0, y_km = 0.0 }
storage_t = 100.0
"""


@pytest.mark.parametrize(
    ("extra", "tail", "field"),
    [
        ("pipe_cost_per_t = 2.0\n", "", "pipe_cost_per_t applies only to mode = 'pipe'"),
        ("pipe_capacity_t_per_day = 5.0\n", "", "pipe_capacity_t_per_day applies only to mode = 'pipe'"),
        (PIPE + "via_intermediary = true\n", HUB, "via_intermediary cannot be true for mode = 'pipe'"),
        (PIPE + "pipe_capacity_t_per_day = 0.0\n", "", "contracts.line.pipe_capacity_t_per_day"),
        ('mode = "ship"\n', "", "contracts.line.mode"),
    ],
)
def test_bad_modes_exit_2_naming_the_field(tmp_path: Path, extra: str, tail: str, field: str) -> None:
    proc = validate(tmp_path, extra, tail)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and field in lines[0] and lines[0].startswith(str(tmp_path / "pipe.toml")), proc.stderr
    assert "Traceback" not in proc.stderr


def test_validate_flags_a_pipe_smaller_than_its_contract(tmp_path: Path) -> None:
    proc = validate(tmp_path, PIPE + "pipe_capacity_t_per_day = 6.0\n")
    assert proc.returncode == 0, proc.stderr
    assert "pipe too small: line: 10.0 t/d contracted, pipe carries 6.0 t/d: 4.0 t/d fall short" in proc.stdout


def test_policy_intermediary_leaves_pipes_direct() -> None:
    """policy.intermediary = true routes every road contract through the hub, not a pipe."""
    truck = '\n[[contracts]]\nid = "truck"\nsupplier = "plant"\nbuyer = "user"\nmaterial = "steam"\n'
    truck += "volume_t_per_day = 1.0\n"
    sc = scenario(PIPE, truck + HUB + "\n[policy]\nintermediary = true\n")
    routed = {c.id: c.via_intermediary for c in resolve_network(sc).contracts}
    assert routed == {"line": False, "truck": True}
    m = SymbiosisModel(sc, rng=1, horizon_days=5)
    assert {c.terms.id: c.routed for c in m.contracts} == {"line": False, "truck": True}


# --- matching and break-even --------------------------------------------------------------


def test_matching_uses_a_listed_pipe() -> None:
    """margin = avoided disposal 3 + avoided procurement 40 x 1 = 43 per t; by road at 65 km:
    transport 0.1 x 65 + 50 / 25 = 8.5, break-even (43 - 2) / 0.1 = 410 km; by the pipe:
    transport 2.0, net 41, and no break-even distance (inf: any length pays)."""
    (road,) = candidate_exchanges(scenario())
    assert road.mode == "road"
    assert road.transport_per_t == pytest.approx(0.1 * 65.0 + 50.0 / 25.0, rel=1e-12)
    assert road.break_even_km == pytest.approx((43.0 - 2.0) / 0.1, rel=1e-12)
    (pipe,) = candidate_exchanges(scenario(PIPE))
    assert pipe.mode == "pipe"
    assert pipe.transport_per_t == 2.0
    assert pipe.net_value_per_t == pytest.approx(43.0 - 2.0, rel=1e-12)
    assert pipe.break_even_km == math.inf
    table = candidates_table([pipe])
    assert table.splitlines()[2].rstrip().endswith("pipe")
    assert "pipe = carried by a listed pipe" in table
    assert "pipe" not in candidates_table([road]).split("\n")[2]


def test_pipe_break_even_is_all_or_nothing() -> None:
    m = Margin(avoided_disposal_per_t=3.0, avoided_procurement_per_t=0.0, processing_per_t=0.0)
    assert pipe_break_even_km(m, 2.0) == math.inf
    assert pipe_break_even_km(m, 5.0) == 0.0


def test_match_command_prints_pipe(tmp_path: Path) -> None:
    path = tmp_path / "pipe.toml"
    path.write_text(BASE + PIPE, encoding="utf-8")
    proc = subprocess.run([sys.executable, "run_experiments.py", "match", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("plant"))
    assert row.split()[-2:] == ["41.00", "pipe"]  # net = margin 43 - pipe 2


def test_formation_keeps_the_pipe_and_its_capacity() -> None:
    """The LP forms the exchange on its pipe: at most the capacity (6 t/day, below the 10 t/day
    of supply), at the pipe's cost."""
    sc = scenario(PIPE + "pipe_capacity_t_per_day = 6.0\n", '\n[formation]\nrule = "system_optimal"\n')
    for rule in ("system_optimal", "greedy"):
        (c,) = form_network(sc, rule).contracts
        assert (c.mode, c.pipe_cost_per_t, c.pipe_capacity_t_per_day) == ("pipe", 2.0, 6.0)
        assert c.volume_t_per_day == pytest.approx(6.0, rel=1e-9)


def test_agents_weigh_the_cost_they_pay() -> None:
    """The agents' accept/exit decisions read model.haul_per_t: by road one day's 10 t over
    65 km, (10 x 65 x 0.1 + 1 trip x 50) / 10 = 11.5 per t; by the pipe 2.0 per t."""
    road = SymbiosisModel(scenario(), rng=1, horizon_days=5)
    pipe = SymbiosisModel(scenario(PIPE), rng=1, horizon_days=5)
    assert road.haul_per_t(road.contracts[0]) == pytest.approx((10 * 65 * 0.1 + 50.0) / 10, rel=1e-12)
    assert pipe.haul_per_t(pipe.contracts[0]) == 2.0
