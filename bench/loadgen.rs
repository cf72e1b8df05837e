//! Load generator for `bench/run`: drives a running inspect-desk on 127.0.0.1 from a
//! separate process and prints throughput, latency percentiles, errors and CPU use.
//!
//! ```text
//! loadgen run --url http://127.0.0.1:PORT --target api --mode closed --concurrency 16 --duration 20
//! loadgen run --url http://127.0.0.1:PORT --target form --mode open --rate 200 --duration 20
//! loadgen run --url http://127.0.0.1:P1,http://127.0.0.1:P2 --server-pid A,B --target api
//! loadgen wait-ready --url http://127.0.0.1:PORT --started-at-ns $(date +%s%N)
//! loadgen incident-latency --url http://127.0.0.1:PORT --token TOKEN
//! loadgen run --url http://127.0.0.1:PORT --target inbound-mail --token TOKEN --seed-tickets N
//! loadgen pipe-mail --desk target/release/inspect-desk --seed-tickets N --duration 20
//! ```
//! Build: `cargo build --release --example loadgen`. See bench/README.md.

#[path = "loadgen/bodies.rs"]
mod bodies;
#[path = "loadgen/drive.rs"]
mod drive;
#[path = "loadgen/incident.rs"]
mod incident;
#[path = "loadgen/mail.rs"]
mod mail;
#[path = "loadgen/stats.rs"]
mod stats;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bodies::SeedShape;
use drive::{Shot, Target, Window};
use stats::{Summary, TSV_HEADER, cpu_seconds, cpu_seconds_sum, machine_busy_seconds};

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Load generator for inspect-desk benchmarks (loopback only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply load and print the results.
    Run(Box<RunArgs>),
    /// Poll GET /readyz until it answers 200; print milliseconds since --started-at-ns.
    WaitReady {
        #[arg(long)]
        url: String,
        /// When the server process was started (Unix time in ns, e.g. `date +%s%N`).
        #[arg(long)]
        started_at_ns: u128,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
        /// Give up as soon as this process (the server) has exited.
        #[arg(long)]
        server_pid: Option<String>,
    },
    /// Time from the run that crosses a threshold rule to its incident being listed.
    IncidentLatency {
        #[arg(long)]
        url: String,
        /// A token with the `ingest` and `read` scopes.
        #[arg(long)]
        token: String,
        /// Rounds, one warehouse type each (at most 6).
        #[arg(long, default_value_t = 6)]
        rounds: usize,
        #[arg(long, default_value = "incident-latency")]
        label: String,
        /// Append the result row (see `loadgen header`) to this file.
        #[arg(long)]
        tsv: Option<std::path::PathBuf>,
    },
    /// Pipe generated email into `DESK mail receive`, one process after the other, as an
    /// MTA delivering through an alias does; the desk's settings come from this process's
    /// environment.
    PipeMail(PipeMailArgs),
    /// Print a free TCP port on 127.0.0.1 (for the server to bind next).
    FreePort,
    /// Print the TSV header that `run --tsv` rows follow.
    Header,
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    Closed,
    Open,
}

#[derive(Clone, Copy, ValueEnum)]
enum TargetName {
    Api,
    Form,
    Get,
    /// `POST /api/v1/runs`, one JSON run per request.
    Run,
    /// `POST /api/v1/runs`, `--batch` runs per request as NDJSON.
    Runs,
    /// `POST /api/v1/inbound-mail`, one email per request (`--seed-tickets` for replies).
    InboundMail,
}

#[derive(clap::Args)]
struct PipeMailArgs {
    /// The inspect-desk binary.
    #[arg(long)]
    desk: std::path::PathBuf,
    /// Tickets in the seeded database, for replies (0: new reports only).
    #[arg(long, default_value_t = 0)]
    seed_tickets: u64,
    #[arg(long, default_value_t = 1001)]
    first_ticket: u64,
    /// Measured seconds.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Stop after this many messages.
    #[arg(long, default_value_t = 1_000_000)]
    max_requests: u64,
    #[arg(long, default_value = "mail-receive")]
    label: String,
    /// Append the result row (see `loadgen header`) to this file.
    #[arg(long)]
    tsv: Option<std::path::PathBuf>,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Server base URL; must be http://127.0.0.1:PORT. Several (repeated or comma
    /// separated): desks sharing one database, each getting an equal share of the load
    /// (closed loop: worker w sends to URL w mod N; open loop: request i to URL i mod N).
    #[arg(
        long = "url",
        value_name = "URL",
        value_delimiter = ',',
        required = true
    )]
    urls: Vec<String>,
    #[arg(long, value_enum)]
    target: TargetName,
    /// Path for `--target get`; `{ticket}` in it becomes a random ticket number
    /// of the seed (from --first-ticket, --seed-tickets of them) per request.
    #[arg(long, default_value = "/healthz")]
    path: String,
    /// Sign in first as EMAIL:PASSWORD (the form flow a browser follows) and send the
    /// session cookie with every request: for the agent pages.
    #[arg(long)]
    sign_in: Option<String>,
    /// Bearer token for the API (`--target run|runs` need one with the ingest scope).
    #[arg(long)]
    token: Option<String>,
    /// Runs per NDJSON request for `--target runs`.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Tickets in the seeded database, for `{ticket}` in --path.
    #[arg(long, default_value_t = 0)]
    seed_tickets: u64,
    /// The first ticket number (the desk numbers tickets from INS-1001).
    #[arg(long, default_value_t = 1001)]
    first_ticket: u64,
    #[arg(long, value_enum, default_value = "closed")]
    mode: Mode,
    /// Closed loop: workers sending back to back.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Open loop: requests per second on a fixed schedule.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Measured seconds.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Unmeasured seconds of the same load first (then its answers are awaited).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Stop after this many measured requests.
    #[arg(long, default_value_t = 1_000_000)]
    max_requests: u64,
    /// Open loop: outstanding requests allowed before a due one counts as an error.
    #[arg(long, default_value_t = 2_000)]
    max_in_flight: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Runs in the seeded database, so reports may name real run ids (0: none).
    #[arg(long, default_value_t = 0)]
    seed_runs: usize,
    /// Server processes (repeated or comma separated), to report the CPU they used during
    /// the window, summed.
    #[arg(long = "server-pid", value_name = "PID", value_delimiter = ',')]
    server_pids: Vec<String>,
    /// Database server processes, by name (`postgres`: the server and its backends), to
    /// report their CPU too; listed when the measured window starts.
    #[arg(long = "db-process", value_name = "NAME")]
    db_process: Option<String>,
    /// Load generator threads (leave the cores to the server).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Scenario name in the output.
    #[arg(long, default_value = "run")]
    label: String,
    /// Append one result row (see `loadgen header`) to this file.
    #[arg(long)]
    tsv: Option<std::path::PathBuf>,
    /// Write every measured request as CSV (start ms, latency ms, ok) to this file:
    /// shows when stalls happen.
    #[arg(long)]
    trace: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run(args) => run(*args),
        Command::WaitReady {
            url,
            started_at_ns,
            timeout,
            server_pid,
        } => runtime(1).and_then(|rt| {
            rt.block_on(wait_ready(
                &url,
                started_at_ns,
                timeout,
                server_pid.as_deref(),
            ))
        }),
        Command::IncidentLatency {
            url,
            token,
            rounds,
            label,
            tsv,
        } => incident_latency(&url, &token, rounds, label, tsv.as_deref()),
        Command::PipeMail(args) => pipe_mail(&args),
        Command::FreePort => std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| println!("{}", a.port()))
            .map_err(|e| format!("no free port on 127.0.0.1: {e}")),
        Command::Header => {
            println!("{TSV_HEADER}");
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("loadgen: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `loadgen incident-latency`: one row, a sample per warehouse type.
fn incident_latency(
    url: &str,
    token: &str,
    rounds: usize,
    label: String,
    tsv: Option<&std::path::Path>,
) -> Result<(), String> {
    let base = loopback_base(url)?;
    let client = client(Duration::from_secs(10), 4)?;
    let started = std::time::Instant::now();
    let tally = runtime(1)?.block_on(incident::measure(&client, &base, token, rounds))?;
    let summary = Summary {
        label,
        load: format!("{} rounds", rounds.min(6)),
        window: started.elapsed(),
        tally,
        server_cpu: None,
        loadgen_cpu: None,
        database_cpu: None,
        machine_cpu: None,
    };
    if let Some(path) = tsv {
        append_row(path, &summary)?;
    }
    eprintln!("{}", summary.human());
    Ok(())
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Load only ever goes to this machine's loopback address.
fn loopback_base(url: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad --url '{url}': {e}"))?;
    if parsed.scheme() != "http" || parsed.host_str() != Some("127.0.0.1") {
        return Err(format!("--url must be http://127.0.0.1:PORT, not '{url}'"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

fn client(timeout: Duration, pool: usize) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .pool_max_idle_per_host(pool)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

fn run(args: RunArgs) -> Result<(), String> {
    let bases = args
        .urls
        .iter()
        .map(|url| loopback_base(url))
        .collect::<Result<Vec<_>, _>>()?;
    let target = target(&args)?;
    let window = Window {
        duration: Duration::from_secs_f64(args.duration),
        max_requests: args.max_requests,
    };
    let pool = match args.mode {
        Mode::Closed => args.concurrency,
        Mode::Open => args.max_in_flight,
    };
    let client = client(Duration::from_secs_f64(args.timeout), pool)?;
    let rt = runtime(args.threads)?;
    let shot = rt.block_on(shot(&args, client, bases, target))?;
    let summary = rt.block_on(measure(&args, shot, window));
    if let Some(path) = &args.trace {
        write_trace(path, &summary.tally)?;
    }
    println!("{}", summary.human());
    if let Some(path) = &args.tsv {
        append_row(path, &summary)?;
    }
    Ok(())
}

/// What `--target` asks for, with the options it needs present.
fn target(args: &RunArgs) -> Result<Target, String> {
    let target = match args.target {
        TargetName::Api => Target::ApiReport,
        TargetName::Form => Target::FormReport,
        TargetName::Get => Target::Get(args.path.clone()),
        TargetName::Run => Target::Runs(1),
        TargetName::Runs => Target::Runs(args.batch.max(1)),
        TargetName::InboundMail => Target::InboundMail,
    };
    if matches!(target, Target::Runs(_) | Target::InboundMail) && args.token.is_none() {
        return Err(
            "--target run|runs|inbound-mail needs --token (a token with the ingest scope)".into(),
        );
    }
    if args.path.contains("{ticket}") && args.seed_tickets == 0 {
        return Err("--path with {ticket} needs --seed-tickets N".into());
    }
    Ok(target)
}

/// Everything each request needs, signed in and with a form token first when the target
/// asks for them. Desks sharing a database share their signing key and sessions, so the
/// first one hands out the session and the form token for all of them.
async fn shot(
    args: &RunArgs,
    client: reqwest::Client,
    bases: Vec<String>,
    target: Target,
) -> Result<Arc<Shot>, String> {
    let first = &bases[0];
    let session = match &args.sign_in {
        Some(credentials) => Some(drive::sign_in(&client, first, credentials).await?),
        None => None,
    };
    let csrf = match target {
        Target::FormReport => drive::form_csrf_token(&client, first).await?,
        _ => None,
    };
    Ok(Arc::new(Shot {
        client,
        bases,
        target,
        shape: SeedShape {
            runs: args.seed_runs,
        },
        sequence: AtomicU64::new(0),
        csrf,
        session,
        tickets: args.seed_tickets,
        first_ticket: args.first_ticket,
        token: args.token.clone(),
        nonce: run_nonce(),
    }))
}

/// A number of this run's own, for Message-IDs no earlier run used.
fn run_nonce() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `loadgen pipe-mail`: `DESK mail receive` once per message, back to back, for the
/// window. Each process's time from spawn to exit is one sample; exit 0 is success.
fn pipe_mail(args: &PipeMailArgs) -> Result<(), String> {
    use rand::SeedableRng;
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let shape = mail::MailShape {
        tickets: args.seed_tickets,
        first_ticket: args.first_ticket,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x3a11);
    let nonce = run_nonce();
    let mut tally = stats::Tally::default();
    let children_before = stats::children_cpu_seconds();
    let (self_before, machine_before) = (cpu_seconds("self"), machine_busy_seconds());
    let start = std::time::Instant::now();
    let deadline = start + Duration::from_secs_f64(args.duration);
    let mut sequence = 0;
    while std::time::Instant::now() < deadline && sequence < args.max_requests {
        let message = mail::message(&mut rng, shape, sequence, nonce);
        sequence += 1;
        let sent = std::time::Instant::now();
        let mut child = Command::new(&args.desk)
            .args(["mail", "receive"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", args.desk.display()))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(&message);
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("waiting for {}: {e}", args.desk.display()))?;
        let outcome = match out.status.code() {
            Some(0) => stats::Outcome::Ok,
            code => stats::Outcome::Status(
                code.map_or(0, |c| c as u16),
                String::from_utf8_lossy(&out.stderr)
                    .chars()
                    .take(300)
                    .collect(),
            ),
        };
        tally.record(sent - start, sent.elapsed(), outcome);
    }
    let elapsed = start.elapsed();
    let percent = |before: Option<f64>, after: Option<f64>| {
        Some((after? - before?) / elapsed.as_secs_f64() * 100.0)
    };
    let summary = Summary {
        label: args.label.clone(),
        load: "one process a message".into(),
        window: elapsed,
        tally,
        server_cpu: percent(children_before, stats::children_cpu_seconds()),
        loadgen_cpu: percent(self_before, cpu_seconds("self")),
        database_cpu: None,
        machine_cpu: percent(machine_before, machine_busy_seconds()),
    };
    if let Some(path) = &args.tsv {
        append_row(path, &summary)?;
    }
    println!("{}", summary.human());
    Ok(())
}

/// Apply the load of `--mode` for one window; returns what came back and how long it took.
async fn apply(args: &RunArgs, shot: Arc<Shot>, window: Window) -> (stats::Tally, Duration) {
    match args.mode {
        Mode::Closed => drive::closed_loop(shot, args.concurrency, window).await,
        Mode::Open => drive::open_loop(shot, args.rate, window, args.max_in_flight).await,
    }
}

/// Warm up, then apply the measured window and the CPU each process used during it.
async fn measure(args: &RunArgs, shot: Arc<Shot>, window: Window) -> Summary {
    // Warm up with the same load, unmeasured, and let every answer come back first: a
    // backlog from a slow first second must not leak into the measured window.
    if args.warmup > 0.0 {
        let warmup = Window {
            duration: Duration::from_secs_f64(args.warmup),
            max_requests: u64::MAX,
        };
        apply(args, shot.clone(), warmup).await;
    }
    let server_before = cpu_seconds_sum(&args.server_pids);
    let (self_before, machine_before) = (cpu_seconds("self"), machine_busy_seconds());
    let db_pids = args
        .db_process
        .as_deref()
        .map(stats::pids_named)
        .unwrap_or_default();
    let database_before = cpu_seconds_sum(&db_pids);
    let since = std::time::Instant::now();
    let (tally, measured) = apply(args, shot, window).await;
    let elapsed = since.elapsed().as_secs_f64();
    let percent =
        |before: Option<f64>, after: Option<f64>| Some((after? - before?) / elapsed * 100.0);
    let server_after = cpu_seconds_sum(&args.server_pids);
    // Fields are read in the order written: the CPU counters first, right after the window.
    Summary {
        server_cpu: percent(server_before, server_after),
        loadgen_cpu: percent(self_before, cpu_seconds("self")),
        database_cpu: percent(database_before, cpu_seconds_sum(&db_pids)),
        machine_cpu: percent(machine_before, machine_busy_seconds()),
        window: measured,
        tally,
        label: args.label.clone(),
        load: match args.mode {
            Mode::Closed => format!("closed c={}", args.concurrency),
            Mode::Open => format!("open {}/s", args.rate),
        },
    }
}

/// Append the result row to the `--tsv` file.
fn append_row(path: &std::path::Path, summary: &Summary) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    writeln!(file, "{}", summary.tsv_row())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn write_trace(path: &std::path::Path, tally: &stats::Tally) -> Result<(), String> {
    let mut rows = tally.trace.clone();
    rows.sort_by_key(|(at, _, _)| *at);
    let mut text = String::from("start_ms,latency_ms,ok\n");
    for (at, latency, ok) in rows {
        text.push_str(&format!(
            "{:.3},{:.3},{}\n",
            at.as_secs_f64() * 1000.0,
            latency.as_secs_f64() * 1000.0,
            u8::from(ok)
        ));
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Is the process running (not gone, not a zombie waiting for its parent)?
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

async fn wait_ready(
    url: &str,
    started_at_ns: u128,
    timeout: u64,
    server_pid: Option<&str>,
) -> Result<(), String> {
    let base = loopback_base(url)?;
    let client = client(Duration::from_secs(2), 1)?;
    let since_start = || {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        now.saturating_sub(started_at_ns) as f64 / 1e6
    };
    // What the server said before it was ready, for a start that takes unusually long.
    let mut seen: std::collections::BTreeMap<String, (u32, f64)> = Default::default();
    loop {
        let answer = client.get(format!("{base}/readyz")).send().await;
        let what = match &answer {
            Ok(r) if r.status() == reqwest::StatusCode::OK => {
                let ms = since_start();
                let before: Vec<String> = seen
                    .iter()
                    .map(|(what, (n, first))| format!("{n}× {what} (first at {first:.1} ms)"))
                    .collect();
                eprintln!("readyz 200 at {ms:.1} ms after: {}", before.join(", "));
                println!("{ms:.1}");
                return Ok(());
            }
            Ok(r) => format!("HTTP {}", r.status().as_u16()),
            Err(e) if e.is_connect() => "refused".into(),
            Err(e) => format!("error {e}"),
        };
        let at = since_start();
        seen.entry(what).or_insert((0, at)).0 += 1;
        if at > timeout as f64 * 1000.0 {
            return Err(format!(
                "{base}/readyz did not answer 200 within {timeout} s"
            ));
        }
        if let Some(pid) = server_pid
            && !alive(pid)
        {
            return Err(format!(
                "the server (pid {pid}) exited before {base}/readyz answered"
            ));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
