//! Email as it reaches the desk's support address: replies to seeded tickets (from the
//! ticket's reporter, or from the demo agent), and new reports from many senders, some
//! with a small CSV attached. Replies are multipart (text and HTML, quoted history), as
//! mail clients send them; every message has a Message-ID of its own.

use rand::Rng;
use rand::rngs::StdRng;

/// What the seeded database holds, so replies name real tickets.
#[derive(Debug, Clone, Copy)]
pub struct MailShape {
    /// Tickets seeded (INS-`first_ticket` … ); 0: every message is a new report.
    pub tickets: u64,
    pub first_ticket: u64,
}

/// The address `inspect-desk seed` leaves as the support address (that of the default
/// `mail_from`).
const SUPPORT: &str = "desk@inspect.example";

const TABLES: &[(&str, &str)] = &[
    ("Snowflake", "ANALYTICS.SALES.ORDERS"),
    ("BigQuery", "proj.core.users"),
    ("Redshift", "dw.finance.invoices"),
    ("Postgres", "public.customers"),
    ("Databricks", "main.ops.shipments"),
    ("DuckDB", "local.main.trips"),
];

/// One message; `sequence` is unique per request in this process, `nonce` per run.
pub fn message(rng: &mut StdRng, shape: MailShape, sequence: u64, nonce: u64) -> Vec<u8> {
    let id = format!("<bench-{nonce}-{sequence}@mail.example>");
    let date = chrono::Utc::now().to_rfc2822();
    match rng.random_range(0..100) {
        0..55 if shape.tickets > 0 => reply(rng, shape, &id, &date, false),
        55..70 if shape.tickets > 0 => reply(rng, shape, &id, &date, true),
        _ => new_report(rng, sequence, &id, &date),
    }
}

/// A reply to a random seeded ticket: found by the `[INS-…]` tag its subject keeps.
/// From the ticket's reporter (the seed's `analyst{i % 17 + 1}`), or from the agent.
fn reply(rng: &mut StdRng, shape: MailShape, id: &str, date: &str, agent: bool) -> Vec<u8> {
    let index = rng.random_range(0..shape.tickets);
    let number = shape.first_ticket + index;
    let (from, name) = if agent {
        ("agent@inspect.example".to_string(), "Alex Rivera")
    } else {
        (
            format!("analyst{}@example.com", index % 17 + 1),
            "Demo Analyst",
        )
    };
    let (warehouse, table) = TABLES[rng.random_range(0..TABLES.len())];
    let said = if agent {
        format!(
            "Hi,\r\n\r\nWe re-ran the profile for {table} after the schema change; the\r\n\
             row counts should match now. Could you check the dashboard again?\r\n\r\nAlex"
        )
    } else {
        format!(
            "Thanks for looking into it. It happened again this morning: the {warehouse}\r\n\
             profile of {table} stopped at 06:00 UTC and the null rates are from last week.\r\n\r\n\
             Best,\r\n{name}"
        )
    };
    let quoted = "> We are looking into the stale profile and will get back to you within the\r\n\
                  > day. You can follow the ticket on its tracking page.\r\n> \r\n> inspect-desk";
    let boundary = format!("=_reply_{}", rng.random::<u32>());
    let html = said.replace("\r\n", "<br>\r\n");
    format!(
        "From: {name} <{from}>\r\nTo: inspect-desk <{SUPPORT}>\r\n\
         Subject: Re: [INS-{number}] Stale profile on {table}\r\nDate: {date}\r\n\
         Message-ID: {id}\r\nIn-Reply-To: <ins-{number}-ack@inspect.example>\r\n\
         References: <ins-{number}-ack@inspect.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         {said}\r\n\r\nOn Mon, 7 Dec 2026 at 09:12, inspect-desk <{SUPPORT}> wrote:\r\n{quoted}\r\n\
         --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <div dir=\"ltr\">{html}</div><div class=\"gmail_quote\"><blockquote>We are looking \
         into the stale profile and will get back to you within the day.</blockquote></div>\r\n\
         --{boundary}--\r\n"
    )
    .into_bytes()
}

/// A new report to the support address from one of thousands of senders (the
/// per-sender limit stays out of the way, as with real traffic); one in five carries a
/// small CSV of the column it is about.
fn new_report(rng: &mut StdRng, sequence: u64, id: &str, date: &str) -> Vec<u8> {
    let (warehouse, table) = TABLES[rng.random_range(0..TABLES.len())];
    let from = format!(
        "analyst{}@customer{}.example",
        sequence % 4000,
        sequence % 40
    );
    let text = match rng.random_range(0..3) {
        0 => format!(
            "Hello,\r\n\r\nThe profile of our {warehouse} table {table} has not refreshed since\r\n\
             yesterday morning; the dashboard still shows last week's row count.\r\n\r\nThanks"
        ),
        1 => format!(
            "Hi team,\r\n\r\nIn {table} ({warehouse}) the column zip is detected as integer, but it\r\n\
             holds postal codes with leading zeros. Could you look at the type?\r\n\r\nRegards"
        ),
        _ => format!(
            "Generating the inspector report for {table} on {warehouse} fails after a\r\n\
             minute with 'Report generation failed (code R-502)'. It blocks our audit.\r\n"
        ),
    };
    let head = format!(
        "From: {from}\r\nTo: {SUPPORT}\r\nSubject: Problem with {table}\r\nDate: {date}\r\n\
         Message-ID: {id}\r\nMIME-Version: 1.0\r\n"
    );
    if !rng.random_ratio(1, 5) {
        return format!("{head}Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n")
            .into_bytes();
    }
    let csv: String = (0..120)
        .map(|i| {
            format!(
                "{i},{:05},2026-12-0{}\n",
                rng.random_range(0..99_999),
                i % 9 + 1
            )
        })
        .collect();
    let boundary = format!("=_report_{}", rng.random::<u32>());
    format!(
        "{head}Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\
         --{boundary}\r\nContent-Type: text/csv; name=\"sample.csv\"\r\n\
         Content-Disposition: attachment; filename=\"sample.csv\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--{boundary}--\r\n",
        base64_lines(format!("id,zip,loaded\n{csv}").as_bytes())
    )
    .into_bytes()
}

/// Base64 in 76-character lines, as mail clients wrap it.
fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    encoded
        .as_bytes()
        .chunks(76)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}
