"""Send profiling runs to inspect-desk with the official openlineage-python client.

Run by tests/it/openlineage_client.rs from a virtualenv holding `openlineage-python`:

    python openlineage_client.py DESK_URL TOKEN < plan.json

The plan is a JSON list of runs: run_id, namespace, name, start, end (RFC 3339), end_type
(COMPLETE, FAIL or ABORT), optional error, optional schema (column names), optional
semantic_types ({column: [type, confidence]}), optional end_first (send the end event
before START) and optional gzip (the transport's gzip compression). Each event goes
through OpenLineageClient.emit with an HttpTransport on the default endpoint
(api/v1/lineage); an HTTP error raises, so the script exits non-zero.
"""

import json
import sys

import attr
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import DatasetFacet, error_message_run, schema_dataset
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)

PRODUCER = "https://github.com/inspect/profiler"


@attr.define
class InspectSemanticTypesDatasetFacet(DatasetFacet):
    """The desk's custom facet: column -> {"type", "confidence"}."""

    columns: dict = attr.field(factory=dict)

    @staticmethod
    def _get_schema() -> str:
        return "https://inspect-desk.dev/spec/facets/1-0-0/InspectSemanticTypesDatasetFacet.json"


def client(url: str, token: str, gzip: bool) -> OpenLineageClient:
    config = HttpConfig(
        url=url,
        auth=ApiKeyTokenProvider({"apiKey": token}),
        compression=HttpCompression.GZIP if gzip else None,
        timeout=10.0,
    )
    return OpenLineageClient(transport=HttpTransport(config))


def dataset(run: dict) -> InputDataset:
    facets = {}
    if "schema" in run:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type="VARCHAR") for n in run["schema"]]
        )
    if "semantic_types" in run:
        facets["inspect_semanticTypes"] = InspectSemanticTypesDatasetFacet(
            columns={c: {"type": t, "confidence": p} for c, (t, p) in run["semantic_types"].items()}
        )
    return InputDataset(namespace=run["namespace"], name=run["name"], facets=facets)


def events(run: dict) -> list:
    job = Job(namespace="inspect", name=f"profile.{run['name']}")
    start = RunEvent(
        eventType=RunState.START,
        eventTime=run["start"],
        run=Run(runId=run["run_id"]),
        job=job,
        inputs=[dataset(run)],
        producer=PRODUCER,
    )
    run_facets = {}
    if run.get("error"):
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=run["error"], programmingLanguage="PYTHON"
        )
    end = RunEvent(
        eventType=RunState[run["end_type"]],
        eventTime=run["end"],
        run=Run(runId=run["run_id"], facets=run_facets),
        job=job,
        inputs=[dataset(run)],
        producer=PRODUCER,
    )
    return [end, start] if run.get("end_first") else [start, end]


def main() -> int:
    url, token = sys.argv[1], sys.argv[2]
    plan = json.load(sys.stdin)
    sent = 0
    for run in plan:
        ol = client(url, token, bool(run.get("gzip")))
        for event in events(run):
            ol.emit(event)
            sent += 1
        ol.close()
    print(f"openlineage-python sent {sent} events for {len(plan)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
