"""Validation report: the model against closed forms and published findings -> VALIDATION.md.

    python -m analysis.validation            # full: more replications, writes VALIDATION.md
    python -m analysis.validation --fast     # CI: fewer replications, wider derived tolerances;
                                             # exit 1 when a counted check fails

Modules: :mod:`.oracles` (closed forms O1, O2d, O5, O10, O12 and the money rows, the simulator
run in-process), :mod:`.cases` (Kalundborg coal exit and hub removal, the NISP calibration),
:mod:`.findings` (published findings not reproduced or not testable, run on a few paired
replications), :mod:`.page` (the page), :mod:`.cli` (runs them all). The Check record, its
tolerance and its power are analysis/checks.py; the method is docs/validation-method.md.

Every check is |simulated - reference| <= 4 SE (SE from independent replications: sd / sqrt(R)),
or, for a direction, a paired difference more than 4 SE from zero. Fewer replications in --fast
mode give a larger SE and so a wider tolerance, derived the same way. Seeds are fixed. Only
closed forms and directions count towards "N of M pass"; calibrations and findings do not.
"""
