"""Policy search (issue 24): the cheapest levers that meet reliability targets, raced on
common random numbers. See docs/search.md.

- :mod:`.spec`: the search file (levers, uncertainties, objective, constraints, budget);
- :mod:`.levers`: the contract designer's levers as scenario overrides, and the candidate grid;
- :mod:`.runner`: the race's `evaluate` on the study machinery (store, resume, executors).
"""

from sim.experiment.search.runner import SearchRun, run_search
from sim.experiment.search.spec import Search, SearchError, load_search

__all__ = ["Search", "SearchError", "SearchRun", "load_search", "run_search"]
