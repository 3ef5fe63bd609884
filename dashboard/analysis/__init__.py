"""Pure statistics for "did it change?": data in, frozen result dataclasses out.

No I/O, no plotting, no global state. Every result carries plain-language ``warnings``.
Series are pandas Series indexed by month-start Timestamps, with a ``frequency`` of
"monthly", "monthly_12m_ending" (CDC rolling sums, guarded: see ``guards``) or "annual".
"""

from dashboard.analysis.changepoints import Break, ChangePointResult, detect_changepoints
from dashboard.analysis.discrepancy import DiscrepancyResult, source_discrepancy
from dashboard.analysis.guards import OverlappingWindowsError, PreparedSeries, prepare
from dashboard.analysis.its import Effect, ITSResult, fit_its
from dashboard.analysis.placebo import PlaceboResult, placebo_test
from dashboard.analysis.windows import WindowComparison, before_after
from dashboard.analysis.xcorr import SIGN_CONVENTION, XCorrResult, lagged_xcorr

__all__ = [
    "Break", "ChangePointResult", "DiscrepancyResult", "Effect", "ITSResult",
    "OverlappingWindowsError", "PlaceboResult", "PreparedSeries", "SIGN_CONVENTION",
    "WindowComparison", "XCorrResult", "before_after", "detect_changepoints", "fit_its",
    "lagged_xcorr", "placebo_test", "prepare", "source_discrepancy",
]
