"""The one statistics engine: designs (sample sizes), tests and their results, the
assertion kinds claims return, the sampler, and the runner that splits one budget; the
executor (chunked streams on threads, local processes or Dask, same bits on each), the
paired and control-variate kinds (paired.py) and the progress line (progress.py).

``from proofs import stats; stats.n_for_z_test(...)`` keeps working: the design and
result functions are re-exported here. The design entry point is
:func:`stats.sample_size` (proofs/stats/design.py, which also states the error
accounting); :class:`stats.CannotSize` is the "cannot be sized at this budget" outcome.
"""
from .design import (INFLATE, MAX_SAMPLES, PILOT, CannotSize, Design, DesignError,
                     check_rate, check_se, design_seed, dkwm_radius, hoeffding_radius,
                     n_for_dkwm, n_for_hoeffding, n_for_z_test, pilot_sd, required_se,
                     sample_size, sd_from_moments, z_one_sided, z_two_sided)
from .results import (TestResult, behaviour_result, binomial_result, dkwm_result,
                      exact_result, relative_distance, z_result)

__all__ = [
    "INFLATE",
    "MAX_SAMPLES",
    "PILOT",
    "CannotSize",
    "Design",
    "DesignError",
    "TestResult",
    "behaviour_result",
    "binomial_result",
    "check_rate",
    "check_se",
    "design_seed",
    "dkwm_radius",
    "dkwm_result",
    "exact_result",
    "hoeffding_radius",
    "n_for_dkwm",
    "n_for_hoeffding",
    "n_for_z_test",
    "pilot_sd",
    "relative_distance",
    "required_se",
    "sample_size",
    "sd_from_moments",
    "z_one_sided",
    "z_result",
    "z_two_sided",
]
