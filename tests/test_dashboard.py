"""The teaching dashboard: the page builds, its numbers are simulate's, and it works in a browser."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

solara = pytest.importorskip("solara", reason="the dashboard extra is not installed")

from analysis import dashboard_views as views  # noqa: E402


def test_app_page_builds_without_a_server():
    sys.path.insert(0, str(ROOT))
    import app

    assert app.page is not None
    assert isinstance(app.model, views.DashboardModel)
    assert set(app.MODEL_PARAMS["scenario_file"]["values"]) == {p.name for p in (ROOT / "scenarios").glob("*.toml")}


def test_dashboard_model_gives_simulate_numbers_for_the_same_scenario_and_seed():
    model = views.DashboardModel("brewery_farms.toml", seed=7, buffer_days="3")
    model.run()
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run_experiments.py"),
            "simulate",
            "scenarios/brewery_farms.toml",
            "--seed",
            "7",
            "--set",
            "policy.buffer_days=3",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    cli = json.loads(out.stdout)
    mine = model.result().metrics
    assert set(cli) == set(mine)
    for name, value in cli.items():
        if value is None:
            assert not math.isfinite(mine[name]), name
        else:
            assert mine[name] == pytest.approx(value, rel=1e-12, abs=1e-9), name


@pytest.mark.parametrize("scenario", ["brewery_farms.toml", "contracts_market.toml"])  # the second has a [market]
def test_net_benefit_to_date_ends_at_the_run_metrics_net_benefit(scenario):
    model = views.DashboardModel(scenario, seed=3)
    model.run()
    last = views.net_benefit_series(model).iloc[-1]
    table = model.result().facilities.set_index("facility")["net_benefit"]
    for fid, value in table.items():
        assert last[fid] == pytest.approx(value, rel=1e-9, abs=1e-6), fid


def test_failed_plant_shows_down_from_the_next_day():
    model = views.DashboardModel("brewery_farms.toml", seed=1)
    model.step()
    model.fail_now("farm_east", 3.0)
    model.step()
    table = views.facility_table(model).set_index("facility")
    assert table.at["farm_east", "state"] == "down"
    assert table.at["farm_east", "down_cause"] != "" and table.at["brewery", "down_cause"] == ""


def test_a_common_cause_outage_is_named_in_the_table_and_the_tooltip():
    """A fixed-law shock takes s1 and s2 down on days 10-12 (tests/test_common_causes.py):
    on day 11 the dashboard's table and node tooltip say it was the shock."""
    from test_common_causes import FIXED, two_suppliers

    from sim.model import SymbiosisModel
    from sim.scenario import parse_scenario

    model = SymbiosisModel(parse_scenario(two_suppliers([FIXED], own=False)), rng=7)
    for _ in range(12):
        model.step()
    fac = {f.fid: f for f in model.facilities}
    assert views.down_cause(fac["s1"]) == "common:flood" == views.down_cause(fac["s2"])
    assert views.down_cause(fac["buy"]) == ""
    row = pd.Series({"state": "down", "down_cause": views.down_cause(fac["s1"]), "operating": 0.0,
                     "buffer_t": 0.0, "buffer_cap_t": 0.0, "source_stock_t": 0.0, "virgin_stock_t": 0.0,
                     "received": 0.0, "paid": 0.0, "penalties_paid": 0.0, "net_benefit": 0.0})
    assert views.node_tooltip("s1", row, "EUR").startswith("s1: down, common:flood (operating 0%)")


def test_intermediary_toggle_is_left_off_with_a_note_for_scenarios_without_one():
    model = views.DashboardModel("two_firms.toml", seed=1, intermediary=True)
    assert not views.intermediary_on(model)
    assert "policy.intermediary" not in model.overrides
    assert model.notes and "[intermediary]" in model.notes[0]


def test_a_seed_that_is_not_a_whole_number_is_refused_with_a_sentence():
    with pytest.raises(ValueError, match="whole number"):
        views.DashboardModel("two_firms.toml", seed="forty-two")


@pytest.mark.parametrize("seed", ["forty-two", "-3", ""])
def test_the_page_runs_the_default_seed_for_a_bad_one_and_says_so(seed):
    # What Mesa does on Reset: the page's model class built again from the boxes.
    sys.path.insert(0, str(ROOT))
    import app

    model = app.TeachingModel("two_firms.toml", seed=seed, buffer_days="3")
    assert model.seed.entropy == int(app.DEFAULT_SEED)
    assert model.notes[0].startswith("The seed must be a whole number >= 0") and "running seed 42" in model.notes[0]
    assert model.overrides == {"policy.buffer_days": 3.0}
    good = app.TeachingModel("two_firms.toml", seed="7")
    assert good.seed.entropy == 7 and good.notes == []


@pytest.mark.parametrize("name", ["../tests/data/tiny.toml", str(ROOT / "tests" / "data" / "tiny.toml"), "nope.toml"])
def test_a_scenario_name_outside_the_list_is_refused(name):
    # The name comes from the browser: a path that leaves scenarios/ must not be loaded.
    with pytest.raises(ValueError, match="in the dashboard's list"):
        views.DashboardModel(name, seed=1)


def test_the_page_runs_the_default_scenario_for_a_name_outside_the_list():
    sys.path.insert(0, str(ROOT))
    import app

    model = app.TeachingModel("../tests/data/tiny.toml", seed="7")
    assert model.scenario_file == views.DEFAULT_SCENARIO
    assert model.notes[0].startswith("No such scenario in the list")


# --- the real browser test ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_served(url: str, server: subprocess.Popen, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"solara exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"solara did not serve {url} within {timeout_s} s")


@pytest.fixture
def dashboard_url(tmp_path):
    port = _free_port()
    log = (tmp_path / "solara.log").open("w")
    solara_bin = Path(sys.executable).with_name("solara")
    server = subprocess.Popen(
        [str(solara_bin), "run", "app.py", "--production", "--host", "127.0.0.1", "--port", str(port), "--no-open"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_served(url, server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _image(page, selector: str) -> str:
    """What a panel shows now: its image's data, or its inline SVG (the map)."""
    svg = page.locator(f"{selector} svg")
    if svg.count():
        return svg.first.inner_html()
    return page.locator(f"{selector} img").first.get_attribute("src") or ""


def _wait_for_change(page, selector: str, before: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = _image(page, selector)
        if now and now != before:
            return now
        page.wait_for_timeout(200)
    raise AssertionError(f"{selector} did not change within {timeout_s} s")


@pytest.mark.slow
def test_dashboard_in_a_real_browser(dashboard_url, tmp_path):
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: .ci/run installs Debian's chromium"
    profile = tmp_path / "chromium-profile"
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1600, "height": 1350},
        )
        try:
            page = browser.new_page()
            page.goto(dashboard_url, timeout=90_000)
            page.wait_for_selector(".network-panel svg", timeout=90_000)
            page.wait_for_selector(".stocks-panel img", timeout=30_000)
            page.wait_for_selector(".money-panel img", timeout=30_000)
            assert "day 0" in page.locator(".facility-details").inner_text()
            net0, stocks0 = _image(page, ".network-panel"), _image(page, ".stocks-panel")

            page.get_by_role("button", name="Step").click()
            net1 = _wait_for_change(page, ".network-panel", net0)
            _wait_for_change(page, ".stocks-panel", stocks0)
            page.wait_for_function(
                "() => document.querySelector('.facility-details').innerText.includes('day 1')", timeout=30_000
            )

            play = page.get_by_role("button", name="▶")
            play.click()
            money0 = _image(page, ".money-panel")
            page.wait_for_function(
                "() => /day (\\d+)/.exec(document.querySelector('.facility-details').innerText)[1] >= 6",
                timeout=60_000,
            )
            page.get_by_role("button", name="❚❚").click()
            _wait_for_change(page, ".network-panel", net1)
            _wait_for_change(page, ".money-panel", money0)

            page.get_by_role("button", name="Fail this plant now").click()  # the first plant: the brewery
            page.wait_for_selector("text=goes down at the start of day", timeout=30_000)
            page.get_by_role("button", name="Step").click()
            row = page.locator(".facility-table tr", has_text="brewery").first
            page.wait_for_function(
                "() => [...document.querySelectorAll('.facility-table tr')].some("
                "r => r.cells[0] && r.cells[0].innerText === 'brewery' && r.cells[1].innerText === 'down')",
                timeout=30_000,
            )
            assert "down" in row.inner_text()

            # Hovering a plant on the map shows its stocks and money (an SVG <title> tooltip).
            node = page.locator(".network-panel svg #node-brewery")
            node.hover()
            tooltip = node.locator("title").first.text_content() or ""
            assert "brewery: down" in tooltip and "net benefit so far" in tooltip

            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, ROOT / "docs" / "img" / "dashboard.png")
        finally:
            browser.close()
