"""Topic names: `<producer>.<aggregate plural>.v<major>`. A deployment may prefix them (see servicekit)."""

APPLICATIONS = "intake.applications.v1"
CALLS = "intake.calls.v1"
SCORES = "evaluation.scores.v1"
ROUNDS = "evaluation.rounds.v1"
ALLOCATIONS = "allocation.allocations.v1"
UTILIZATION = "telemetry.utilization.v1"
INVOICES = "billing.invoices.v1"

ALL = (APPLICATIONS, CALLS, SCORES, ROUNDS, ALLOCATIONS, UTILIZATION, INVOICES)


def dead_letter(topic: str) -> str:
    return f"{topic}.dlq"
