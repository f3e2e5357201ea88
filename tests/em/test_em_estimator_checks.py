"""scikit-learn's estimator checks, on the numpy backend and (for a quick subset) on torch.

The full check suite runs on the numpy backend; on the torch backend it runs too, with the same
estimators, because the kernels are shared and the checks are small (about a second each class).
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from pipeline.em import PLSA, GaussianMixture, KMeans, SoftKMeans

ESTIMATORS = [
    KMeans(3, random_state=0),
    SoftKMeans(3, stiffness=1.0, random_state=0),
    GaussianMixture(2, random_state=0),
    GaussianMixture(2, covariance_type="diag", random_state=0),
    GaussianMixture(2, covariance_type="spherical", random_state=0),
    PLSA(2, max_iter=50, random_state=0),
]
ESTIMATORS += [
    e.set_params(backend="torch") for e in (e.__class__(**e.get_params()) for e in ESTIMATORS)
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
