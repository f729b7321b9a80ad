"""The one statistics engine: designs (sample sizes), tests and their results, the
assertion kinds claims return, the sampler, and the runner that splits one budget.

``from proofs import stats; stats.n_for_z_test(...)`` keeps working: the design and
result functions are re-exported here.
"""
from .design import (DesignError, check_rate, dkwm_radius, hoeffding_radius, n_for_dkwm,
                     n_for_hoeffding, n_for_z_test, z_one_sided, z_two_sided)
from .results import TestResult, binomial_result, dkwm_result, exact_result, z_result

__all__ = [
                     "DesignError",
                     "TestResult",
                     "binomial_result",
                     "check_rate",
                     "dkwm_radius",
                     "dkwm_result",
                     "exact_result",
                     "hoeffding_radius",
                     "n_for_dkwm",
                     "n_for_hoeffding",
                     "n_for_z_test",
                     "z_one_sided",
                     "z_result",
                     "z_two_sided",
]
