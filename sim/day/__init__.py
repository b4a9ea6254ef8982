"""The day, one module per step, in the order of sim/model.py's docstring.

- :mod:`sim.day.landing`: shipments land and are inspected; accepted lots are paid and wait
  at the buyer's gate until its turn.
- :mod:`sim.day.consumption`: each input takes from its buffers, virgin stock or market,
  emergency purchase; the rest is unmet.
- :mod:`sim.day.production`: each stream puts out today's lot into source storage.
- :mod:`sim.day.dispatch`: each stream ships to the contracts due today.
- :mod:`sim.day.tidy_up`: spoilage, overflow, virgin reorders.
- :mod:`sim.day.settlement`: penalties, take-or-pay and standby fees of the periods that close.

Each module holds its step's rules as pure functions of numbers and the code that applies them
to the model's objects; the array day's column version of a step sits beside it (in the same
module, or in a sibling named for the step). None of them imports ``sim.model``: they see the
model through :class:`sim.day.world.World`.
"""
