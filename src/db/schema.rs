// Hand-kept for both backends: only SQL types the diesel MultiConnection supports.

diesel::table! {
    tickets (id) {
        id -> BigInt,
        tracking_token -> Text,
        submission_key -> Nullable<Text>,
        status -> Text,
        kind -> Text,
        category -> Text,
        confidence -> Double,
        classification_reasons -> Text,
        severity -> Text,
        severity_reasons -> Text,
        team -> Text,
        routing_rule -> Text,
        routing_reason -> Text,
        reporter_name -> Nullable<Text>,
        reporter_email -> Text,
        warehouse_type -> Nullable<Text>,
        table_name -> Nullable<Text>,
        column_name -> Nullable<Text>,
        detected_type -> Nullable<Text>,
        expected_type -> Nullable<Text>,
        run_ref -> Nullable<Text>,
        impact -> Nullable<Text>,
        description -> Text,
        first_response_due -> Timestamp,
        resolution_due -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        assignee_id -> Nullable<BigInt>,
        parent_id -> Nullable<BigInt>,
        is_incident -> Bool,
        merged_into -> Nullable<BigInt>,
        type_verdict -> Nullable<Text>,
        reclassified -> Bool,
        first_responded_at -> Nullable<Timestamp>,
        sla_due_at -> Timestamp,
        sla_warn_at -> Timestamp,
        next_escalation_at -> Nullable<Timestamp>,
        acknowledged_at -> Nullable<Timestamp>,
        paused_at -> Nullable<Timestamp>,
        drill -> BigInt,
        submission_fingerprint -> Nullable<Text>,
    }
}

diesel::table! {
    ticket_events (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        kind -> Text,
        actor -> Text,
        detail -> Text,
        public -> Bool,
        created_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    runs (run_id) {
        run_id -> Text,
        warehouse_type -> Text,
        table_name -> Text,
        status -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        duration_ms -> Nullable<BigInt>,
        error -> Nullable<Text>,
        received_at -> Timestamp,
        row_count -> Nullable<BigInt>,
        drill -> BigInt,
        profiled_columns -> Nullable<Text>,
    }
}

diesel::table! {
    ticket_runs (ticket_id, run_id) {
        ticket_id -> BigInt,
        run_id -> Text,
        reason -> Text,
        position -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        ticket_id -> Nullable<BigInt>,
        template -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        message_id -> Text,
        in_reply_to -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        locked_until -> Nullable<Timestamp>,
        dedupe_key -> Nullable<Text>,
        drill -> BigInt,
        bounced_at -> Nullable<Timestamp>,
        bounce_detail -> Nullable<Text>,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        event_id -> Nullable<BigInt>,
        filename -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        public -> Bool,
        added_by -> Text,
        created_at -> Timestamp,
        content -> Binary,
    }
}

diesel::table! {
    inbound_mail (id) {
        id -> BigInt,
        message_key -> Text,
        sender -> Text,
        subject -> Text,
        ticket_id -> Nullable<BigInt>,
        event_id -> Nullable<BigInt>,
        outcome -> Text,
        detail -> Text,
        received_at -> Timestamp,
        raw -> Binary,
    }
}

diesel::table! {
    classifier_corrections (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        kind -> Text,
        description -> Text,
        column_name -> Nullable<Text>,
        detected_type -> Nullable<Text>,
        expected_type -> Nullable<Text>,
        from_category -> Text,
        label -> Text,
        reason -> Text,
        corrected_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    classifier_models (id) {
        id -> BigInt,
        digest -> Text,
        trained_at -> Timestamp,
        corpus_examples -> Integer,
        corrections -> Integer,
        last_correction_id -> BigInt,
        slice_accuracy -> Nullable<Double>,
        previous_slice_accuracy -> Nullable<Double>,
        cross_validation -> Nullable<Text>,
        outcome -> Text,
    }
}

diesel::table! {
    mail_suppressions (address) {
        address -> Text,
        reason -> Text,
        outbox_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    drills (id) {
        id -> BigInt,
        scenario -> Text,
        status -> Text,
        started_by -> Text,
        recipients -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    drill_steps (id) {
        id -> BigInt,
        drill_id -> BigInt,
        position -> Integer,
        name -> Text,
        passed -> Bool,
        detail -> Text,
        duration_ms -> BigInt,
    }
}

diesel::table! {
    ticket_escalations (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        step -> Text,
        at -> Timestamp,
        recipients -> Text,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<Text>,
    }
}

diesel::table! {
    signal_incidents (id) {
        id -> BigInt,
        signal_key -> Text,
        rule -> Text,
        signal -> Text,
        warehouse_type -> Text,
        ticket_id -> BigInt,
        opened_at -> Timestamp,
        last_breach_at -> Timestamp,
        measurement -> Text,
        clear_since -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Nullable<Text>,
        role -> Text,
        password_hash -> Nullable<Text>,
        must_change_password -> Bool,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        time_zone -> Nullable<Text>,
        deactivated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (key_hash) {
        key_hash -> Text,
        user_id -> Nullable<BigInt>,
        state -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sign_in_throttle (email, client) {
        email -> Text,
        client -> Text,
        failures -> Integer,
        last_failure_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        name -> Text,
        prefix -> Text,
        token_hash -> Text,
        scopes -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        subject -> Text,
        detail -> Text,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    saved_views (id) {
        id -> BigInt,
        name -> Text,
        query -> Text,
        user_id -> Nullable<BigInt>,
        team -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    lineage_events (run_id, event_type, event_time) {
        run_id -> Text,
        event_type -> Text,
        event_time -> Timestamp,
        warehouse_type -> Nullable<Text>,
        table_name -> Nullable<Text>,
        error -> Nullable<Text>,
        schema_fields -> Nullable<Text>,
        semantic_types -> Nullable<Text>,
        received_at -> Timestamp,
        row_count -> Nullable<BigInt>,
    }
}

diesel::table! {
    run_hours (warehouse_type, hour) {
        warehouse_type -> Text,
        hour -> Timestamp,
        runs -> BigInt,
        running -> BigInt,
        failed -> BigInt,
        timed_out -> BigInt,
        max_ms -> Nullable<BigInt>,
        durations -> Text,
    }
}

diesel::table! {
    table_health (warehouse_type, table_name) {
        warehouse_type -> Text,
        table_name -> Text,
        last_run_at -> Timestamp,
        last_success_started_at -> Nullable<Timestamp>,
        last_success_finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    typed_columns (warehouse_type, table_name, column_name, semantic_type) {
        warehouse_type -> Text,
        table_name -> Text,
        column_name -> Text,
        semantic_type -> Text,
        last_typed_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(ticket_escalations -> tickets (ticket_id));
diesel::joinable!(ticket_events -> tickets (ticket_id));
diesel::joinable!(ticket_runs -> tickets (ticket_id));
diesel::joinable!(outbox -> tickets (ticket_id));
diesel::joinable!(attachments -> tickets (ticket_id));
diesel::joinable!(inbound_mail -> tickets (ticket_id));
diesel::joinable!(signal_incidents -> tickets (ticket_id));
diesel::joinable!(drill_steps -> drills (drill_id));

diesel::allow_tables_to_appear_in_same_query!(
    tickets,
    ticket_events,
    runs,
    ticket_runs,
    outbox,
    attachments,
    inbound_mail,
    mail_suppressions,
    classifier_corrections,
    classifier_models,
    users,
    sessions,
    sign_in_throttle,
    api_tokens,
    audit_log,
    saved_views,
    lineage_events,
    ticket_escalations,
    signal_incidents,
    drills,
    drill_steps,
    run_hours,
    table_health,
    typed_columns,
);
