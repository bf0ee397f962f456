"""NumericalWarning lines go to the log; warnings a user can act on are shown as before."""

import warnings

from linear_operator.utils.warnings import NumericalWarning

from studies.numerical_warnings import log_numerical_warnings


def test_numerical_warnings_are_logged_and_others_shown(monkeypatch, caplog):
    shown = []
    monkeypatch.setattr(warnings, "showwarning",
                        lambda message, category, *args: shown.append((category, str(message))))
    log_numerical_warnings()
    log_numerical_warnings()  # once only: not wrapped twice
    with warnings.catch_warnings(), caplog.at_level("INFO", logger="mixopt.numerics"):
        warnings.simplefilter("always")
        warnings.warn("A not p.d., added jitter of 1.0e-08 to the diagonal", NumericalWarning,
                      stacklevel=1)
        warnings.warn("domain 'x' oversampled", UserWarning, stacklevel=1)
    assert shown == [(UserWarning, "domain 'x' oversampled")]
    assert [r.getMessage().count("added jitter") for r in caplog.records] == [1]
