"""Pure statistics for "did it change?": data in, frozen result dataclasses out.

No I/O, no plotting, no sentences. Caveats are codes with parameters (``("short_series",
{"n_pre": 6, ...})``), errors are ``AnalysisError`` with a ``code`` and ``params``; the pages
word them through the catalog (``dashboard/locale/*/LC_MESSAGES/analysis.po``). Series are
pandas Series indexed by period-start Timestamps, with a ``frequency`` from
etl/vocabulary.toml: "monthly", "half_yearly", "annual", or "monthly_12m_ending" (CDC rolling
sums, guarded: see ``guards``).

The Impact page's chain: ``fit_its`` (the step on the chosen windows), ``placebo_test``
(the same step at every ordinary date), ``synthetic_control`` (state-level series: the state
against its donor pool), ``decide`` (the verdict rule).
"""

from dashboard.analysis.changepoints import MAX_DISTANCE_MONTHS, Break, ChangePointResult, detect_changepoints
from dashboard.analysis.discrepancy import DiscrepancyResult, source_discrepancy
from dashboard.analysis.guards import AnalysisError, Note, OverlappingWindowsError, PreparedSeries, prepare
from dashboard.analysis.its import Change, Effect, ITSResult, fit_its
from dashboard.analysis.placebo import PlaceboResult, placebo_test
from dashboard.analysis.synth import SynthResult, synthetic_control
from dashboard.analysis.verdict import Verdict, decide
from dashboard.analysis.windows import WindowComparison, before_after
from dashboard.analysis.xcorr import SIGN_CONVENTION, XCorrResult, lagged_xcorr

__all__ = [
    "AnalysisError", "Break", "Change", "ChangePointResult", "DiscrepancyResult", "Effect", "ITSResult",
    "MAX_DISTANCE_MONTHS", "Note", "OverlappingWindowsError", "PlaceboResult", "PreparedSeries", "SIGN_CONVENTION",
    "SynthResult", "Verdict", "WindowComparison", "XCorrResult", "before_after", "decide", "detect_changepoints",
    "fit_its", "lagged_xcorr", "placebo_test", "prepare", "source_discrepancy", "synthetic_control",
]
