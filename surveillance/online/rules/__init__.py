"""The alert rules, one module per kind of alert: each takes a patient's state, the new score,
lab or time, and the patient's open alerts, and returns decisions (`_decisions`) for the
scorer to apply to the alert desk.

- `score`: score alerts (one per episode: raise, upgrade, note; hysteresis, device
  persistence, quiet after acknowledgement);
- `overdue`: the next full set late, then missed;
- `feed`: a continuous device silent;
- `sepsis`: a new think-sepsis prompt;
- `aki`: an adult's creatinine at an AKI warning stage (one per patient, upgraded by stage);
- `model`: the learned risk at or above the trust's threshold (only when model alerts are on);
- `plans`: escalation plans, which shape the ladders of the others.
"""
