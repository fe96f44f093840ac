"""The learned deterioration risk (issue 15): a river model beside the chart scores, in shadow
unless a trust turns its alerts on."""

from surveillance.risk._api import LearnedRisk, ModelError, Risk, load

__all__ = ["LearnedRisk", "ModelError", "Risk", "load"]
