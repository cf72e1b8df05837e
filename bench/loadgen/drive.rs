//! The two ways of applying load, and what one request does.
//!
//! Closed loop: `concurrency` workers each send the next request when the last one
//! answered, so throughput is what the server sustains at that concurrency.
//! Open loop: request `i` is due at `start + i / rate` whatever happened before; its
//! latency counts from that due time, so a server (or client) that falls behind shows
//! the queueing instead of hiding it (no coordinated omission).
//! With several desks sharing one database, closed-loop worker `w` sends to desk
//! `w mod N` (each desk gets an equal share of the workers) and open-loop request `i` to
//! desk `i mod N`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

use crate::bodies::{self, SeedShape};
use crate::mail::{self, MailShape};
use crate::stats::{Outcome, Tally};

/// What each request does.
#[derive(Debug, Clone)]
pub enum Target {
    /// `POST /api/v1/reports` with a JSON report → 201.
    ApiReport,
    /// `POST /report` form-encoded, with a fresh `submission_key` as the browser sends → 303.
    FormReport,
    /// `GET PATH` → 200 (pages, health checks; a baseline for the HTTP stack).
    Get(String),
    /// `POST /api/v1/runs` with N run records: one JSON object (N = 1) or N NDJSON lines.
    Runs(usize),
    /// `POST /api/v1/inbound-mail`: one email (`message/rfc822`), a reply to a seeded
    /// ticket or a new report.
    InboundMail,
}

/// Shared by every worker or scheduled request.
pub struct Shot {
    pub client: reqwest::Client,
    /// Base URLs of the desks sharing the load (one unless several share a database).
    pub bases: Vec<String>,
    pub target: Target,
    pub shape: SeedShape,
    pub sequence: AtomicU64,
    /// The form's CSRF cookie and token, when the desk hands them out. One per run, as
    /// one browser keeps its cookie.
    pub csrf: Option<FormCsrf>,
    /// `Cookie` header of a signed-in session (`--sign-in`), sent with `Get` requests.
    pub session: Option<String>,
    /// Tickets in the seed: `{ticket}` in a `Get` path becomes a random one of them.
    pub tickets: u64,
    pub first_ticket: u64,
    /// Bearer token for the API targets.
    pub token: Option<String>,
    /// Makes this run's Message-IDs its own (a database may have taken an earlier run's).
    pub nonce: u64,
}

impl Shot {
    /// Build and send one request to desk `desk` (modulo their number); the latency clock
    /// is the caller's.
    async fn fire(&self, rng: &mut StdRng, desk: usize) -> Outcome {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let base = &self.bases[desk % self.bases.len()];
        let request = match &self.target {
            Target::ApiReport => {
                let fields = bodies::report(rng, self.shape, sequence);
                let json: serde_json::Map<String, serde_json::Value> = fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.into()))
                    .collect();
                self.client
                    .post(format!("{base}/api/v1/reports"))
                    .json(&json)
            }
            Target::FormReport => {
                let mut fields = bodies::report(rng, self.shape, sequence);
                // A fresh key per request, made as the form makes the one it hands out.
                fields.push(("submission_key", uuid::Uuid::now_v7().to_string()));
                let mut request = self.client.post(format!("{base}/report"));
                if let Some(csrf) = &self.csrf {
                    fields.push(("csrf_token", csrf.token.clone()));
                    request = request.header("Cookie", csrf.cookie.clone());
                }
                request.form(&fields)
            }
            Target::Runs(n) => {
                let url = format!("{base}/api/v1/runs");
                let request = self
                    .client
                    .post(url)
                    .bearer_auth(self.token.as_deref().unwrap_or_default());
                if *n == 1 {
                    request
                        .header("content-type", "application/json")
                        .body(bodies::run(rng, sequence).to_string())
                } else {
                    let mut body = String::with_capacity(n * 300);
                    for i in 0..*n as u64 {
                        body.push_str(&bodies::run(rng, sequence * *n as u64 + i).to_string());
                        body.push('\n');
                    }
                    request
                        .header("content-type", "application/x-ndjson")
                        .body(body)
                }
            }
            Target::InboundMail => {
                let shape = MailShape {
                    tickets: self.tickets,
                    first_ticket: self.first_ticket,
                };
                self.client
                    .post(format!("{base}/api/v1/inbound-mail"))
                    .bearer_auth(self.token.as_deref().unwrap_or_default())
                    .header("content-type", "message/rfc822")
                    .body(mail::message(rng, shape, sequence, self.nonce))
            }
            Target::Get(path) => {
                let path = if path.contains("{ticket}") {
                    let number = self.first_ticket + rng.random_range(0..self.tickets.max(1));
                    path.replace("{ticket}", &format!("INS-{number}"))
                } else {
                    path.clone()
                };
                let request = self.client.get(format!("{base}{path}"));
                match &self.session {
                    Some(cookie) => request.header("Cookie", cookie),
                    None => request,
                }
            }
        };
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                // Read the whole body: it is part of the answer, and frees the connection.
                let body = response.bytes().await;
                match body {
                    Err(e) => Outcome::Transport(transport_kind(&e)),
                    Ok(_) if status.is_success() || status.is_redirection() => Outcome::Ok,
                    Ok(bytes) => {
                        let text = String::from_utf8_lossy(&bytes);
                        Outcome::Status(status.as_u16(), text.chars().take(300).collect())
                    }
                }
            }
            Err(e) => Outcome::Transport(transport_kind(&e)),
        }
    }
}

/// The CSRF cookie (`desk_csrf`, or `__Host-desk_csrf` behind https) as `name=value`,
/// and the token the page's forms carry (signed with the desk's key, so read from the page).
#[derive(Debug, Clone)]
pub struct FormCsrf {
    pub cookie: String,
    pub token: String,
}

/// Load the form once, as a browser would before submitting, and keep its CSRF cookie and
/// token.
pub async fn form_csrf_token(
    client: &reqwest::Client,
    base: &str,
) -> Result<Option<FormCsrf>, String> {
    let response = client
        .get(format!("{base}/report"))
        .send()
        .await
        .map_err(|e| format!("GET /report: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("GET /report answered {}", response.status()));
    }
    let cookie = csrf_cookie(&set_cookies(&response));
    let page = response
        .text()
        .await
        .map_err(|e| format!("GET /report: {e}"))?;
    Ok(cookie
        .zip(hidden_csrf_token(&page))
        .map(|(cookie, token)| FormCsrf { cookie, token }))
}

fn csrf_cookie(cookies: &[String]) -> Option<String> {
    cookies
        .iter()
        .find(|c| {
            c.split('=')
                .next()
                .is_some_and(|name| name.ends_with("desk_csrf"))
        })
        .cloned()
}

/// The value of the page's hidden `csrf_token` field.
fn hidden_csrf_token(page: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_string())
}

/// Sign in through the form as a browser does (load it for the CSRF cookie, post the
/// credentials with the token) and return the `Cookie` header the session needs.
pub async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    credentials: &str,
) -> Result<String, String> {
    let (email, password) = credentials
        .split_once(':')
        .ok_or("--sign-in must be EMAIL:PASSWORD")?;
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await
        .map_err(|e| format!("GET /login: {e}"))?;
    let mut cookies = set_cookies(&page);
    csrf_cookie(&cookies).ok_or("GET /login handed out no CSRF cookie")?;
    let html = page.text().await.map_err(|e| format!("GET /login: {e}"))?;
    let csrf = hidden_csrf_token(&html).ok_or("the sign-in page has no CSRF token")?;
    let answer = client
        .post(format!("{base}/login"))
        .header("Cookie", cookies.join("; "))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .map_err(|e| format!("POST /login: {e}"))?;
    if !answer.status().is_redirection() {
        return Err(format!(
            "signing in as {email}: POST /login answered {}",
            answer.status()
        ));
    }
    // The session cookie replaces any earlier cookie of the same name.
    for cookie in set_cookies(&answer) {
        let name = cookie.split('=').next().unwrap_or_default().to_string();
        cookies.retain(|c| !c.starts_with(&format!("{name}=")));
        cookies.push(cookie);
    }
    Ok(cookies.join("; "))
}

/// The `name=value` part of each `Set-Cookie` header.
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(|v| v.trim().to_string())
        .collect()
}

fn transport_kind(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "client timeout".into()
    } else if e.is_connect() {
        "connect error".into()
    } else {
        format!("transport error: {e}")
    }
}

/// How long to apply load, and when to stop early.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub duration: Duration,
    /// Stop after this many requests even if time remains.
    pub max_requests: u64,
}

/// `concurrency` workers back to back until the window's deadline or `max_requests` were
/// started. Returns the outcomes and the time from start to the last answer.
pub async fn closed_loop(shot: Arc<Shot>, concurrency: usize, window: Window) -> (Tally, Duration) {
    let start = Instant::now();
    let deadline = start + window.duration;
    let started = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let shot = shot.clone();
            let started = started.clone();
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(0xbe0c_u64 + worker as u64);
                let mut tally = Tally::default();
                let mut last_end = start;
                loop {
                    let sent = Instant::now();
                    if sent >= deadline
                        || started.fetch_add(1, Ordering::Relaxed) >= window.max_requests
                    {
                        break;
                    }
                    let outcome = shot.fire(&mut rng, worker).await;
                    last_end = Instant::now();
                    tally.record(sent - start, last_end - sent, outcome);
                }
                (tally, last_end)
            })
        })
        .collect();
    let mut tally = Tally::default();
    let mut end = start;
    for worker in workers {
        let (worker_tally, worker_end) = worker.await.expect("worker panicked");
        tally.merge(worker_tally);
        end = end.max(worker_end);
    }
    (tally, end - start)
}

/// `rate` requests per second on a fixed schedule; latency from each request's due time.
/// At most `max_in_flight` outstanding: beyond that a due request counts as an error.
/// Returns the outcomes and the schedule's span, or longer when answers came late (so the
/// rate is the achieved one, not the offered one).
pub async fn open_loop(
    shot: Arc<Shot>,
    rate: f64,
    window: Window,
    max_in_flight: usize,
) -> (Tally, Duration) {
    let start = Instant::now();
    let total = ((window.duration.as_secs_f64() * rate) as u64).min(window.max_requests);
    // The schedule is kept by a thread of its own sleeping on the OS's high-resolution
    // timer: tokio's timer wheel ticks in whole milliseconds and wakes a sleeper up to
    // ~1 ms late, which an open loop would charge to the server (GET /healthz measured
    // p50 1.8 ms that way).
    let (ticks, mut due_now) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let ticker = std::thread::spawn(move || {
        for i in 0..total {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if ticks.send((i, due)).is_err() {
                return;
            }
        }
    });
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut tally = Tally::default();
    let mut handles = Vec::new();
    while let Some((i, due)) = due_now.recv().await {
        if in_flight.load(Ordering::Relaxed) >= max_in_flight {
            let cap = Outcome::Transport("client in-flight cap".into());
            tally.record(due - start, Duration::ZERO, cap);
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let shot = shot.clone();
        let in_flight = in_flight.clone();
        handles.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(0x09e4_u64 + i);
            let outcome = shot.fire(&mut rng, i as usize).await;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            (due, Instant::now(), outcome)
        }));
    }
    ticker.join().expect("schedule thread panicked");
    let mut last_done = start;
    for handle in handles {
        let (due, done, outcome) = handle.await.expect("request task panicked");
        tally.record(due - start, done - due, outcome);
        last_done = last_done.max(done);
    }
    let span = Duration::from_secs_f64(total as f64 / rate);
    (tally, span.max(last_done - start))
}
