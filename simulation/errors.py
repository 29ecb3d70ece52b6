"""The one error type a simulation user can act on.

Every bad-input check in the package raises :class:`SimulationConfigError` with the dotted
key, the offending value and the rule (``lifecycle.exit_hazard.growth (=-0.1) must be in
[0, 1]``), so that the message alone is enough to fix a scenario file. It subclasses
``ValueError`` so generic callers still catch it; the CLI maps it to exit code 2.
"""

from __future__ import annotations

__all__ = ["SimulationConfigError"]


class SimulationConfigError(ValueError):
    """A scenario, strategy spec or argument breaks a documented rule.

    ``key`` is the dotted path of the offending setting (kept for tests and callers).
    """

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.rule = message
        # args stay (key, message) so that copies (SimPy re-raises a copy made from args)
        # and pickles (errors from worker processes) rebuild the same error.
        super().__init__(key, message)

    def __str__(self) -> str:
        return f"{self.key}: {self.rule}"
