"""Teaching dashboard: watch a symbiosis network cope with a failing plant, in the browser.

Start it with ``make dashboard`` (``solara run app.py --host 127.0.0.1 --port 8765 --no-open``)
and open http://127.0.0.1:8765. The page is Mesa's SolaraViz around
:class:`analysis.dashboard_views.DashboardModel`; everything shown is read off the model by
:mod:`analysis.dashboard_views`. This file only lays the page out.
"""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from analysis import dashboard_views as views

EXPLANATION = """
### What you see
Each **dot** is a plant at its place on the map: **green** running, **red** down (a breakdown,
maintenance or a failure you caused), **grey** closed for good. A bigger dot handles more
tonnes a day. Each **arrow** is a contract carrying one plant's waste to another plant that
uses it instead of a bought (*virgin*) material; a thicker arrow carries more.
A **purple** arrow is a backup supplier that has been called in; a **dashed** one is idle.

The buyers keep a **buffer** (a stock of the waste material). When a supplier stops, the buffer
drains; once it is empty, the buyer must buy virgin material, and a contract with a
**penalty** makes the supplier pay for the shortfall. *Net benefit* is what each plant gains
against a world without the exchange (paying for disposal, buying everything new, or going
without where nothing can be bought).

### What to try
1. Press **Step** a few times, then **▶** (play). Watch the buffers and the money.
2. Pick a plant under *Fail this plant now* and press the button. Which buyers run short,
   after how many days, and who pays?
3. Change the **buffer days** or the **penalty per t short** in the sidebar and press
   **Reset**. Does a bigger buffer always help? (Some wastes spoil.)
4. Switch the **intermediary** on (scenarios with an intermediary only) and **Reset**: a broker
   pools the waste and reroutes it when a supplier fails.

Settings in the sidebar take effect when you press **Reset**.
"""

DEFAULT_SEED = "42"

FACILITY_COLUMNS = {
    "facility": "facility",
    "state": "state",
    "down_cause": "down because",
    "operating": "operating",
    "throughput_t": "throughput t/day",
    "buffer_t": "buffer t",
    "buffer_cap_t": "buffer cap t",
    "virgin_stock_t": "virgin stock t",
    "source_stock_t": "waste stock t",
    "received": "received",
    "paid": "paid",
    "penalties_paid": "penalties paid",
    "net_benefit": "net benefit",
}

MODEL_PARAMS = {
    "scenario_file": {
        "type": "Select",
        "value": views.DEFAULT_SCENARIO,
        "values": views.scenario_files(),
        "label": "Scenario",
    },
    "seed": {"type": "InputText", "value": DEFAULT_SEED, "label": "Seed"},
    "buffer_days": {
        "type": "Select",
        "value": views.AS_IN_FILE,
        "values": [views.AS_IN_FILE, *[str(d) for d in range(15)]],
        "label": "Buffer days",
    },
    "redundancy": {
        "type": "Select",
        "value": views.AS_IN_FILE,
        "values": [views.AS_IN_FILE, "1", "2", "3"],
        "label": "Redundancy (sources per input)",
    },
    "penalty_per_t_short": {
        "type": "Select",
        "value": views.AS_IN_FILE,
        "values": [views.AS_IN_FILE, "0", "10", "20", "30", "50", "100", "200"],
        "label": "Penalty per t short",
    },
    "intermediary": {"type": "Checkbox", "value": False, "label": "Intermediary on (if the scenario has one)"},
}


def NetworkPanel(model: views.DashboardModel):
    """The map: facilities at their coordinates, contracts as arrows; hover a plant for its
    stocks and money."""
    with solara.Column(classes=["network-panel"]) as panel:
        solara.HTML(tag="div", unsafe_innerHTML=views.network_svg(model), style="max-width: 100%")
        solara.Markdown("_Hover over a plant to see its stocks and money._")
    return panel


def FacilityDetails(model: views.DashboardModel):
    """Every facility's state, stocks and money so far (the details of the map's nodes)."""
    table = views.facility_table(model)[list(FACILITY_COLUMNS)].rename(columns=FACILITY_COLUMNS)
    html = table.to_html(index=False, float_format=lambda v: f"{v:,.1f}", classes="facility-table", border=0)
    with solara.Column(classes=["facility-details"]) as panel:
        solara.Markdown(f"**Facilities on day {views.days_done(model)}** (money in {model.spec.scenario.currency})")
        solara.HTML(tag="div", unsafe_innerHTML=html, style="font-size: 12px; overflow-x: auto")
    return panel


def StocksPanel(model: views.DashboardModel):
    """Buffers against capacity, daily shortfall and disposal."""
    with solara.Column(classes=["stocks-panel"]) as panel:
        solara.FigureMatplotlib(views.stocks_figure(model), format="png")
    return panel


def MoneyPanel(model: views.DashboardModel):
    """Cumulative penalties and net benefit per facility."""
    with solara.Column(classes=["money-panel"]) as panel:
        solara.FigureMatplotlib(views.money_figure(model), format="png")
    return panel


@solara.component
def LiveDemo(model: views.DashboardModel):
    """The "fail this plant now" button and what this run's settings are."""
    update_counter.get()  # redraw after every step, like Mesa's own components
    fids = [f.fid for f in model.facilities]
    chosen, set_chosen = solara.use_state(fids[0])
    duration, set_duration = solara.use_state(5)
    message, set_message = solara.use_state("")
    fid = chosen if chosen in fids else fids[0]

    def fail() -> None:
        model.fail_now(fid, float(duration))
        day = views.days_done(model)
        set_message(f"{fid} goes down at the start of day {day} for {duration} days: press Step or play.")
        force_update()

    with solara.Card("Fail this plant now", classes=["live-demo"]) as card:
        solara.Select("Plant", values=fids, value=fid, on_value=set_chosen)
        solara.SliderInt("Outage (days)", value=duration, on_value=set_duration, min=1, max=30)
        solara.Button("Fail this plant now", color="error", on_click=fail, classes=["fail-button"])
        if message:
            solara.Info(message)
        solara.Markdown(
            f"**Scenario:** {model.spec.scenario.name} (`{model.scenario_file}`), seed {model.seed.entropy}"
        )
        levers = ", ".join(f"`{k} = {v}`" for k, v in model.overrides.items()) or "as in the scenario file"
        solara.Markdown(f"**Levers:** {levers}")
        available = views.intermediary_available(model.spec)
        solara.Switch(label="Intermediary", value=views.intermediary_on(model), disabled=True)
        if not available:
            solara.Text("This scenario has no [intermediary] section, so the intermediary cannot be switched on.")
        for note in model.notes:
            solara.Warning(note)
    return card


def Explanation(model: views.DashboardModel):
    """What students see and what to try."""
    return solara.Markdown(EXPLANATION)


class TeachingModel(views.DashboardModel):
    """What the page runs: a DashboardModel whose seed box cannot break the page. Mesa builds
    the model again from the boxes on Reset, and a seed that is not a whole number >= 0 would
    replace the page with a traceback; here it runs the default seed and says so above."""

    def __init__(self, scenario_file: str = views.DEFAULT_SCENARIO, seed: str | int = DEFAULT_SEED, **levers):
        if scenario_file not in views.scenario_files():  # only a hand-made request sends another name
            super().__init__(views.DEFAULT_SCENARIO, DEFAULT_SEED, **levers)
            self.notes.insert(0, f"No such scenario in the list: running {views.DEFAULT_SCENARIO} instead.")
            return
        try:
            views.parse_seed(seed)
        except ValueError as err:
            super().__init__(scenario_file, DEFAULT_SEED, **levers)
            said = str(err)
            self.notes.insert(0, f"{said[:1].upper()}{said[1:]}: running seed {DEFAULT_SEED} instead.")
            return
        super().__init__(scenario_file, seed, **levers)


model = TeachingModel()

page = SolaraViz(
    model,
    components=[NetworkPanel, StocksPanel, FacilityDetails, MoneyPanel, LiveDemo, Explanation],
    model_params=MODEL_PARAMS,
    name="Industrial symbiosis: teaching dashboard",
    play_interval=150,
)
