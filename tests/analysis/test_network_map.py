"""The report's network map and the dashboard's live map are drawn by one function with one
palette: the same contract in the same state looks the same in both."""

from __future__ import annotations

import matplotlib.colors as mcolors
import pytest

import analysis.network_map as network_map
from analysis import dashboard_views as views
from sim import load_scenario


def _arrows(ax) -> dict[tuple[tuple[float, float], tuple[float, float]], str]:
    """(from, to) -> colour of every arrow on the axes."""
    out = {}
    for text in ax.texts:
        patch = getattr(text, "arrow_patch", None)
        if patch is not None:
            start, end = tuple(map(float, text.xyann)), tuple(map(float, text.xy))
            out[(start, end)] = mcolors.to_hex(patch.get_edgecolor())
    return out


@pytest.fixture
def report_axes(monkeypatch, tmp_path):
    drawn = []
    real = network_map.draw_network

    def spy(ax, *args, **kwargs):
        drawn.append(ax)
        return real(ax, *args, **kwargs)

    monkeypatch.setattr(network_map, "draw_network", spy)

    def draw(scenario):
        network_map.plot_network_map(scenario, tmp_path / "map.png")
        assert (tmp_path / "map.png").stat().st_size > 0
        return drawn[-1]

    return draw


def test_report_and_dashboard_draw_each_contract_alike(report_axes):
    model = views.DashboardModel("brewery_farms.toml", seed=1)
    model.step()  # contracts start on day 0
    dashboard = _arrows(views.network_figure(model).axes[0])
    report = _arrows(report_axes(load_scenario(views.SCENARIO_DIR / "brewery_farms.toml")))
    assert report == dashboard  # same ends, same colour, contract by contract
    colours = set(report.values())
    assert colours == {network_map.CONTRACT_COLOURS["active"], network_map.CONTRACT_COLOURS["backup"]}


def test_both_maps_give_every_facility_its_own_node(report_axes):
    scenario = load_scenario(views.SCENARIO_DIR / "brewery_farms.toml")
    ids = {f"node-{f.id}" for f in scenario.facilities}
    report = report_axes(scenario)
    dashboard = views.network_figure(views.DashboardModel("brewery_farms.toml", seed=1)).axes[0]
    for ax in (report, dashboard):
        assert {c.get_gid() for c in ax.collections if c.get_gid()} == ids
    svg = views.network_svg(views.DashboardModel("brewery_farms.toml", seed=1))
    assert all(f'<g id="{gid}"><title>' in svg for gid in ids)


def test_a_routed_contract_is_drawn_through_the_intermediary():
    model = views.DashboardModel("brewery_farms.toml", seed=1, intermediary=True)
    model.step()
    hub = network_map.xy(model.spec.intermediary.location)
    arrows = _arrows(views.network_figure(model).axes[0])
    routed = [c for c in views.contract_table(model).itertuples() if c.routed]
    assert routed
    ends = {(start, end) for start, end in arrows}
    assert all(any(end == hub for _, end in ends) for _ in routed)
    assert any(start == hub for start, _ in ends)
