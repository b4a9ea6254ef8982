"""The data reference's validation cases. The NISP exchange distance (a calibration) is here;
Kalundborg's coal exit and hub removal are re-examined in analysis/real_cases.py, whose
``coal_exit_checks`` and ``hub_removal_checks`` give the page's rows (checks that can fail:
a stock-cycle renewal formula, a price identity, per-unit mass balances)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.checks import Check, mean_se

REPO = Path(__file__).resolve().parents[2]


def nisp_distance(seeds: int) -> list[Check]:
    from analysis.nisp_distance import region_median_km

    med = np.asarray([region_median_km(seed=s) for s in range(seeds)])
    m, se = mean_se(med)
    return [Check("NISP", "median exchange distance of a 200-facility synthetic region (km)", m, se, 33.0,
                  abs(m - 33.0) <= 4 * se + 5.0,
                  "Jensen et al. 2011 [S]; the region's size was tuned to hit 33 km, so agreement is not "
                  "evidence", kind="calibration", slack=5.0, n=len(med),
                  compares="the median contract distance of synthetic regions against NISP's 20.4 miles",
                  tolerance_source="4 SE between regions + 5 km, underived (the 20.4-mile figure's rounding "
                                   "and the calibration) [E]")]
