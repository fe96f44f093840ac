"""Ward safety surveillance: orchestration, command line and (later) the live services."""

__all__: list[str] = []
