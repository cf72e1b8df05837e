use serde_json::{Value, json};

use super::*;

const RUN: &str = "0176a8c2-fe01-7439-87e6-56a1a1b4029f";

fn event(kind: &str, time: &str) -> Value {
    json!({
        "eventType": kind,
        "eventTime": time,
        "producer": "https://github.com/inspect/profiler",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": RUN, "facets": {}},
        "job": {"namespace": "inspect", "name": "profile.orders"},
        "inputs": [{
            "namespace": "snowflake://acme-prod",
            "name": "ANALYTICS.SALES.ORDERS",
            "facets": {
                "schema": {"fields": [{"name": "ID", "type": "NUMBER"}, {"name": "EMAIL"}]},
                "someVendor_unknownFacet": {"anything": [1, 2, 3]}
            }
        }],
        "outputs": []
    })
}

/// When the tests' events arrive: after all of them.
fn now() -> chrono::NaiveDateTime {
    crate::domain::run_record::timestamp("2026-11-27T12:00:00Z").unwrap()
}

fn parse(value: &Value) -> LineageEvent {
    LineageEvent::parse(value, now()).unwrap()
}

#[test]
fn namespaces_name_warehouses() {
    for (namespace, expected) in [
        ("snowflake://acme-prod", Some(WarehouseType::Snowflake)),
        ("bigquery", Some(WarehouseType::Bigquery)),
        (
            "redshift://cluster.eu-west-1:5439",
            Some(WarehouseType::Redshift),
        ),
        ("postgres://db.internal:5432", Some(WarehouseType::Postgres)),
        (
            "postgresql://db.internal:5432",
            Some(WarehouseType::Postgres),
        ),
        (
            "databricks://adb-123.azuredatabricks.net",
            Some(WarehouseType::Databricks),
        ),
        ("duckdb:///data/local.duckdb", Some(WarehouseType::Duckdb)),
        ("s3://bucket", None),
        ("mysql://host", None),
    ] {
        assert_eq!(parse::warehouse_of(namespace), expected, "{namespace}");
    }
}

#[test]
fn a_start_event_parses_and_ignores_unknown_facets() {
    let e = parse(&event("START", "2026-11-20T10:00:00.123456+01:00"));
    assert_eq!(e.run_id, RUN);
    assert_eq!(e.event_type, EventType::Start);
    assert_eq!(e.event_time.to_string(), "2026-11-20 09:00:00.123456");
    let dataset = e.dataset.unwrap();
    assert_eq!(dataset.warehouse_type, WarehouseType::Snowflake);
    assert_eq!(dataset.table.as_str(), "ANALYTICS.SALES.ORDERS");
    assert_eq!(e.schema.unwrap(), ["ID", "EMAIL"]);
    assert_eq!(e.semantic_types, None);
}

#[test]
fn malformed_events_name_the_field() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!([]), "body", "JSON object"),
        (
            json!({"eventTime": "2026-11-20T10:00:00Z", "run": {"runId": RUN}}),
            "eventType",
            "required",
        ),
        (
            {
                let mut e = event("EXPLODE", "2026-11-20T10:00:00Z");
                e["eventType"] = json!("EXPLODE");
                e
            },
            "eventType",
            "EXPLODE",
        ),
        (event("START", "yesterday"), "eventTime", "yesterday"),
        (
            {
                let mut e = event("START", "2026-11-20T10:00:00Z");
                e["run"] = json!({});
                e
            },
            "run.runId",
            "required",
        ),
        (
            {
                let mut e = event("START", "2026-11-20T10:00:00Z");
                e["run"]["runId"] = json!("a b");
                e
            },
            "run.runId",
            "not a run id",
        ),
        (
            {
                let mut e = event("START", "2026-11-20T10:00:00Z");
                e["inputs"][0]["namespace"] = json!("s3://x");
                e
            },
            "inputs",
            "inputs[0].namespace",
        ),
        (
            {
                let mut e = event("START", "2026-11-20T10:00:00Z");
                e["inputs"][0]["name"] = json!("PROD.SALES..ORDERS");
                e
            },
            "inputs",
            "inputs[0].name",
        ),
        (
            {
                let mut e = event("START", "2026-11-20T10:00:00Z");
                e["inputs"][0]["facets"]["schema"]["fields"] = json!([{"type": "x"}]);
                e
            },
            "inputs",
            "inputs[0].facets.schema.fields[0].name",
        ),
        (
            {
                let mut e = event("FAIL", "2026-11-20T10:00:00Z");
                e["run"]["facets"]["errorMessage"] = json!({"programmingLanguage": "python"});
                e
            },
            "run.facets",
            "errorMessage.message",
        ),
        (
            {
                let mut e = event("START", "2026-11-20T10:00:00Z");
                e["inputs"][0]["facets"]["inspect_semanticTypes"] =
                    json!({"columns": {"EMAIL": {"type": "email", "confidence": 3}}});
                e
            },
            "inputs",
            "columns.EMAIL.confidence",
        ),
    ];
    for (value, field, words) in cases {
        let errors = LineageEvent::parse(&value, now()).expect_err(&value.to_string());
        let message = errors
            .get(field)
            .unwrap_or_else(|| panic!("{field} not named: {errors:?}"));
        assert!(message.contains(words), "{field}: {message}");
    }
}

#[test]
fn inputs_on_no_warehouse_are_skipped_when_another_names_one() {
    let mut e = event("START", "2026-11-20T10:00:00Z");
    e["inputs"] = json!([
        {"namespace": "s3://lookups", "name": "countries.csv"},
        {"namespace": "bigquery", "name": "proj.core.users"}
    ]);
    let dataset = parse(&e).dataset.unwrap();
    assert_eq!(dataset.warehouse_type, WarehouseType::Bigquery);
    let mut only_outputs = event("COMPLETE", "2026-11-20T10:00:00Z");
    only_outputs["inputs"] = json!([]);
    only_outputs["outputs"] = json!([{"namespace": "s3://reports", "name": "r.html"}]);
    assert_eq!(parse(&only_outputs).dataset, None);
}

fn with_error(mut e: Value, message: &str) -> Value {
    e["run"]["facets"]["errorMessage"] =
        json!({"message": message, "programmingLanguage": "python"});
    e
}

fn with_semantic(mut e: Value) -> Value {
    e["inputs"][0]["facets"]["inspect_semanticTypes"] = json!({"columns": {
        "EMAIL": {"type": "email", "confidence": 0.97},
        "EXTRA": "categorical"
    }});
    e
}

#[test]
fn events_fold_the_same_in_any_order() {
    let start = parse(&event("START", "2026-11-20T10:00:00Z"));
    let running = parse(&event("RUNNING", "2026-11-20T10:01:00Z"));
    let complete = parse(&with_semantic(event("COMPLETE", "2026-11-20T10:02:30Z")));
    let in_order = fold(&[start.clone(), running.clone(), complete.clone()]).unwrap();
    let reversed = fold(&[complete.clone(), running.clone(), start.clone()]).unwrap();
    let repeated = fold(&[complete.clone(), start.clone(), complete, start]).unwrap();
    assert_eq!(in_order, reversed);
    assert_eq!(in_order, repeated);
    assert_eq!(in_order.status, RunStatus::Succeeded);
    assert_eq!(in_order.duration_ms(), Some(150_000));
    let names: Vec<_> = in_order.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ID", "EMAIL", "EXTRA"]);
    assert_eq!(in_order.columns[1].semantic_type.as_deref(), Some("email"));
    assert_eq!(in_order.columns[1].confidence, Some(0.97));
    assert_eq!(
        in_order.columns[2].semantic_type.as_deref(),
        Some("categorical")
    );
}

#[test]
fn a_terminal_event_alone_makes_a_provisional_record() {
    let fail = parse(&with_error(
        event("FAIL", "2026-11-20T10:05:00Z"),
        "Access denied",
    ));
    let alone = fold(std::slice::from_ref(&fail)).unwrap();
    assert_eq!(alone.status, RunStatus::Failed);
    assert_eq!(alone.started_at, alone.finished_at.unwrap());
    assert_eq!(alone.error.as_deref(), Some("Access denied"));
    let start = parse(&event("START", "2026-11-20T10:00:00Z"));
    let both = fold(&[fail, start]).unwrap();
    assert_eq!(both.duration_ms(), Some(300_000));
}

#[test]
fn timeouts_and_aborts_get_their_own_status() {
    let start = parse(&event("START", "2026-11-20T10:00:00Z"));
    let status = |kind: &str, message: Option<&str>| {
        let mut e = event(kind, "2026-11-20T11:00:00Z");
        if let Some(m) = message {
            e = with_error(e, m);
        }
        fold(&[start.clone(), parse(&e)]).unwrap().status
    };
    let snowflake =
        "Statement reached its statement or warehouse timeout of 3,600 second(s) and was canceled.";
    assert_eq!(status("FAIL", Some(snowflake)), RunStatus::TimedOut);
    assert_eq!(
        status("FAIL", Some("canceling statement due to statement timeout")),
        RunStatus::TimedOut
    );
    assert_eq!(
        status("FAIL", Some("Job timed out after 6h")),
        RunStatus::TimedOut
    );
    assert_eq!(
        status("FAIL", Some("Permission denied on table")),
        RunStatus::Failed
    );
    assert_eq!(status("ABORT", None), RunStatus::Cancelled);
    assert_eq!(status("ABORT", Some(snowflake)), RunStatus::TimedOut);
    assert_eq!(status("RUNNING", None), RunStatus::Running);
}

#[test]
fn no_dataset_yet_means_no_record() {
    let mut e = event("COMPLETE", "2026-11-20T10:00:00Z");
    e["inputs"] = json!([]);
    assert_eq!(fold(&[parse(&e)]), None);
}

#[test]
fn event_times_outside_what_a_run_can_be_are_refused() {
    for time in [
        "0001-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "9999-12-30T00:00:00Z",
    ] {
        let errors = LineageEvent::parse(&event("START", time), now()).expect_err(time);
        assert!(errors.contains_key("eventTime"), "{time}: {errors:?}");
    }
    let leap = parse(&event("START", "2016-12-31T23:59:60Z"));
    assert_eq!(leap.event_time.to_string(), "2016-12-31 23:59:59.999999");
}
