"""The service's story, told through the Python client openapi-python-client
generates from /openapi.json, as a loan-origination system would tell it.

    python story.py BASE_URL API_KEY OLD_RECORD_ID

Run by scripts/check-clients (which generates `credit_decisions_client`
beside this file, type-checks both with `mypy --strict`, and logs
OLD_RECORD_ID under other rules than today's). Any surprise is an
AssertionError.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from credit_decisions_client import AuthenticatedClient
from credit_decisions_client.api.decisions import (
    decide_application,
    decide_batch,
    get_decision,
    list_decisions,
)
from credit_decisions_client.api.model import get_model_card, get_monitoring_report
from credit_decisions_client.models import (
    Application,
    BatchRequest,
    BatchResponse,
    CheckingAccount,
    ServedDecision,
    DecisionPage,
    DecisionRecord,
    Field,
    ModelCard,
    MonitoringReport,
    Outcome,
    Problem,
    Savings,
    Source,
)
from credit_decisions_client.types import Response

REPOSITORY = Path(__file__).resolve().parents[3]
T = TypeVar("T")


def application(name: str) -> Application:
    """One of the repository's example applications, as the typed model."""
    body = json.loads((REPOSITORY / "domain" / "testdata" / name).read_text())
    return Application.from_dict(body)


def parsed(response: Response[T | Problem], status: int, kind: type[T]) -> T:
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(response.parsed, kind), response.parsed
    return response.parsed


def problem(response: Response[T | Problem], status: int) -> Problem:
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(response.parsed, Problem), response.parsed
    return response.parsed


def main(base_url: str, api_key: str, old_record_id: str) -> None:
    client = AuthenticatedClient(base_url=base_url, token=api_key)

    # A miss, then the same application again: a hit, the same verdict.
    example = application("example-application.json")
    example.credit_amount = 1234.0
    assert example.checking_account is CheckingAccount.BELOW_0
    first = decide_application.sync_detailed(client=client, body=example)
    miss = parsed(first, 200, ServedDecision)
    assert first.headers["cache-status"] == "credit-decisions; fwd=miss", first.headers
    second = decide_application.sync_detailed(client=client, body=example)
    hit = parsed(second, 200, ServedDecision)
    assert second.headers["cache-status"] == "credit-decisions; hit", second.headers
    assert (hit.decision, hit.probability_of_default) == (miss.decision, miss.probability_of_default)
    assert hit.decision_id != miss.decision_id

    # A decline says why, in typed reasons naming typed fields.
    declined = parsed(
        decide_application.sync_detailed(
            client=client, body=application("declined-application.json")
        ),
        200,
        ServedDecision,
    )
    assert declined.decision is Outcome.DECLINE
    assert 1 <= len(declined.reasons) <= 4
    assert all(isinstance(reason.feature, Field) for reason in declined.reasons)

    # The record of the hit, and a page of the log that holds a record
    # logged under other rules (`savings: lots`): read whole, as logged.
    record = get_decision.sync(client=client, decision_id=hit.decision_id)
    assert isinstance(record, DecisionRecord), record
    assert record.source is Source.CACHE
    assert record.response.decision_id == hit.decision_id
    assert record.request.credit_amount == 1234.0
    page = list_decisions.sync(client=client, limit=1000)
    assert isinstance(page, DecisionPage), page
    old = [item for item in page.items if item.decision_id == UUID(old_record_id)]
    assert len(old) == 1, [item.decision_id for item in page.items]
    assert old[0].request.savings == "lots"
    assert Savings.UNKNOWN.value == "unknown"

    # A batch with one invalid item: refused whole, the item's index a number.
    too_young = application("example-application.json")
    too_young.age_years = 12
    refusal = problem(
        decide_batch.sync_detailed(
            client=client, body=BatchRequest(applications=[example, too_young])
        ),
        422,
    )
    assert refusal.errors, refusal
    assert [(error.field, error.index) for error in refusal.errors] == [
        ("applications[1].age_years", 1)
    ]
    batch = parsed(
        decide_batch.sync_detailed(client=client, body=BatchRequest(applications=[example])),
        200,
        BatchResponse,
    )
    assert batch.decisions[0].decision == miss.decision

    # The card: the reasons a decline can give are typed.
    card = get_model_card.sync(client=client)
    assert isinstance(card, ModelCard), card
    assert card.version == miss.model_version
    codes = {feature.reason.code for feature in card.features}
    assert {reason.code for reason in declined.reasons} <= codes

    # Monitoring of the last hour.
    now = datetime.datetime.now(datetime.timezone.utc)
    report = get_monitoring_report.sync(
        client=client, since=now - datetime.timedelta(hours=1), until=now + datetime.timedelta(minutes=1)
    )
    assert isinstance(report, MonitoringReport), report
    assert report.decisions >= 4, report.decisions

    # A 422 parsed as a typed problem.
    invalid = problem(decide_application.sync_detailed(client=client, body=too_young), 422)
    assert invalid.errors and invalid.errors[0].field == "age_years", invalid

    # No key at all: 401, parsed as a problem.
    keyless = AuthenticatedClient(base_url=base_url, token="", prefix="", auth_header_name="X-No-Key")
    unauthorized = problem(decide_application.sync_detailed(client=keyless, body=example), 401)
    assert unauthorized.status == 401

    print("python client: the story ran: miss, hit, decline with reasons, record, page with an "
          "old record, batch 422 with index, card, monitoring, 422, 401")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
