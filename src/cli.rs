//! Command-line verbs. Each prints what it did and returns a readable error.

use clap::{Parser, Subcommand};

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::category::Category;
use crate::domain::role::{Role, Scope};
use crate::domain::routing::RouteQuery;
use crate::domain::severity::Severity;
use crate::domain::table::TableName;
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::services::accounts::{self, Actor};
use crate::services::tokens;
use crate::startup::{Application, build_desk};
use crate::{db, demo, telemetry};

/// `println!` for the verbs' output. Once stdout is a pipe whose reader has gone
/// (`inspect-desk sweep | head`), the process ends quietly with the status a Unix tool
/// killed by SIGPIPE has (141), instead of panicking with a backtrace: Rust ignores
/// SIGPIPE, and restoring it would take `unsafe` (a write in progress is a transaction
/// SQLite rolls back either way).
/// `say!(@write, …)` is the `print!` of it.
macro_rules! say {
    (@$write:ident, $($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = $write!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(141);
            }
            panic!("cannot write to stdout: {e}");
        }
    }};
    ($($arg:tt)*) => {
        $crate::cli::say!(@writeln, $($arg)*)
    };
}
pub(crate) use say;

/// `eprintln!` that cannot panic: with stderr closed there is no one left to tell, so a
/// failed write is dropped (`eprintln!` would panic and end with a backtrace instead).
#[macro_export]
macro_rules! complain {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "inspect-desk",
    version,
    about = "Support desk for the inspect profiler launch"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the web server (database from DESK_DATABASE_URL, default sqlite://data/desk.db).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (default from DESK_BIND).
        #[arg(long)]
        bind: Option<String>,
        /// Load demo data first when the database holds no tickets.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Validate the support model (DESK_SUPPORT_MODEL) and print it readably; exits
    /// non-zero naming every problem found.
    CheckConfig,
    /// Explain which team a report would be routed to, and why.
    Route {
        #[arg(long)]
        category: String,
        #[arg(long)]
        warehouse_type: Option<String>,
        #[arg(long)]
        table: Option<String>,
        #[arg(long)]
        severity: Option<String>,
    },
    /// Run one SLA/escalation pass as if at that instant and print what it did.
    Sweep {
        /// RFC 3339 instant, e.g. 2026-11-27T09:00:00Z; default now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Delete run records older than a retention period, with their lineage events; runs
    /// linked to a ticket and each table's latest run and latest success stay. The server
    /// does this hourly when DESK_RUN_RETENTION is set.
    PruneRuns {
        /// Keep runs started within this long, e.g. 90d (at least 8d); default
        /// DESK_RUN_RETENTION.
        #[arg(long)]
        older_than: Option<String>,
    },
    /// Rehearse a launch scenario on the desk's database, live instance or not: what
    /// it creates is tagged and kept out of metrics, its mail goes to the drill
    /// recipients. Prints the step-by-step report; exits 0 when every step passes.
    Drill {
        /// The scenario (see --list).
        #[arg(required_unless_present = "list")]
        name: Option<String>,
        /// List the scenarios.
        #[arg(long, conflicts_with = "name")]
        list: bool,
        /// Where the drill's mail goes (repeat for several); default: [drills]
        /// recipients of the support model.
        #[arg(long = "recipient")]
        recipients: Vec<String>,
    },
    /// The email outbox.
    Outbox {
        #[command(subcommand)]
        action: OutboxCommand,
    },
    /// Manage desk accounts.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Manage API bearer tokens.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Fill the database with generated runs and tickets (for benchmarks and demos).
    Seed {
        #[arg(long, default_value_t = 50)]
        tickets: usize,
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
    /// Load run records from an NDJSON or CSV file (columns run_id, warehouse_type, table,
    /// status, started_at, finished_at, error), in batches stored all or nothing.
    ImportRuns {
        file: std::path::PathBuf,
        /// ndjson or csv; default from the file name, else from its first character.
        #[arg(long)]
        format: Option<String>,
        /// Lines per batch (one transaction each).
        #[arg(long, default_value_t = 1000)]
        batch_size: usize,
    },
}

#[derive(Subcommand)]
pub enum OutboxCommand {
    /// Run one delivery pass over the messages due now.
    Deliver,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add an account; prints a one-time password to change at first sign-in.
    Add {
        #[arg(long)]
        email: String,
        /// analyst, agent, owner or admin.
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once.
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated: ingest, read, write, metrics.
        #[arg(long)]
        scopes: String,
    },
    /// Revoke a token by its id.
    Revoke { id: i64 },
}

pub fn run(cli: Cli) -> Result<(), String> {
    if matches!(cli.command, Command::Serve { .. }) {
        return run_command(cli);
    }
    // An SMTP mailer (DESK_SMTP_URL) spawns its pool's task when it is built and when it
    // is dropped: the other verbs run inside an entered runtime of their own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let _inside = runtime.enter();
    run_command(cli)
}

fn run_command(cli: Cli) -> Result<(), String> {
    let mut settings = Settings::load()?;
    telemetry::init(settings.log_format);
    match cli.command {
        Command::Serve { bind, demo } => {
            if let Some(bind) = bind {
                settings.bind = bind;
            }
            serve(&settings, demo)
        }
        Command::Migrate => {
            let url = settings.database()?;
            let pool = db::pool(&url, 1)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let applied = db::migrate::run_pending(&mut conn)?;
            say!(
                "{} migration(s) applied on {}; database is current",
                applied.len(),
                url.backend()
            );
            Ok(())
        }
        Command::CheckConfig => {
            let model = settings.load_support_model()?;
            let path = settings.support_model.display();
            let problems = crate::domain::model_check::problems(&model);
            if !problems.is_empty() {
                return Err(format!(
                    "support model {path}: {} problem(s):\n  {}",
                    problems.len(),
                    problems.join("\n  ")
                ));
            }
            say!(@write, "{}", crate::domain::model_check::describe(&model));
            say!("\nsupport model {path}: OK");
            Ok(())
        }
        Command::Route {
            category,
            warehouse_type,
            table,
            severity,
        } => {
            let desk_model = settings.load_support_model()?;
            let category = Category::parse(&category)?;
            let warehouse_type = warehouse_type
                .as_deref()
                .map(WarehouseType::parse)
                .transpose()?;
            let table = table
                .as_deref()
                .map(|t| TableName::parse(t, warehouse_type))
                .transpose()?;
            let severity = severity.as_deref().map(Severity::parse).transpose()?;
            let decision = desk_model.router.route(&RouteQuery {
                category,
                warehouse_type,
                table: table.as_ref().map(|t| t.as_str()),
                severity,
            });
            let team = desk_model
                .team(&decision.team)
                .map_or(decision.team.as_str(), |t| t.name.as_str());
            say!("team: {} ({team})", decision.team);
            say!("rule: {}", decision.rule);
            say!("why:  {}", decision.reason);
            Ok(())
        }
        Command::User {
            action: UserCommand::Add { email, role, name },
        } => {
            let role = Role::parse(&role)?;
            let desk = build_desk(&settings, Clock::system(), None)?;
            let mut conn = desk.pool.get().map_err(|e| e.to_string())?;
            let (user, one_time) = accounts::create_user(
                &mut conn,
                &CLI_ACTOR,
                &email,
                name.as_deref(),
                role,
                None,
                desk.clock.now(),
            )
            .map_err(describe)?;
            say!("user {} added as {role}", user.email);
            say!("one-time password: {}", one_time.unwrap_or_default());
            say!(
                "(shown once; it must be changed at first sign-in, at {}/login)",
                desk.mail.base_url
            );
            Ok(())
        }
        Command::Token { action } => {
            let desk = build_desk(&settings, Clock::system(), None)?;
            let mut conn = desk.pool.get().map_err(|e| e.to_string())?;
            match action {
                TokenCommand::Create { name, scopes } => {
                    let scopes = Scope::parse_list(&scopes)?;
                    let created =
                        tokens::create(&mut conn, &CLI_ACTOR, &name, &scopes, desk.clock.now())
                            .map_err(describe)?;
                    say!(
                        "token {} '{}' with scopes {}",
                        created.token.id,
                        created.token.name,
                        created.token.scopes
                    );
                    say!("{}", created.plain);
                    say!("(shown once; send it as: Authorization: Bearer <token>)");
                }
                TokenCommand::Revoke { id } => {
                    tokens::revoke(&mut conn, &CLI_ACTOR, id, desk.clock.now()).map_err(
                        |e| match e {
                            AppError::NotFound => format!("no live token with id {id}"),
                            other => describe(other),
                        },
                    )?;
                    say!("token {id} revoked");
                }
            }
            Ok(())
        }
        Command::Sweep { at } => {
            let desk = build_desk(&settings, Clock::system(), None)?;
            let at = match at {
                Some(text) => {
                    crate::domain::run_record::timestamp(&text).map_err(|e| format!("--at: {e}"))?
                }
                None => desk.clock.now(),
            };
            let started = std::time::Instant::now();
            let report = crate::services::escalation::sweep(&desk, at).map_err(describe)?;
            say!(
                "sweep at {}: {} ticket(s) due, {} step(s) fired, {} email(s) queued in {:.1} ms",
                crate::clock::rfc3339(at),
                report.tickets,
                report.steps,
                report.emails,
                started.elapsed().as_secs_f64() * 1000.0
            );
            for line in report.lines {
                say!("  {line}");
            }
            Ok(())
        }
        Command::PruneRuns { older_than } => {
            let retention = match older_than {
                Some(text) => {
                    crate::config::retention(&text).map_err(|e| format!("--older-than: {e}"))?
                }
                None => settings.run_retention()?.ok_or(
                    "no retention: pass --older-than (e.g. 90d) or set DESK_RUN_RETENTION",
                )?,
            };
            let desk = build_desk(&settings, Clock::system(), None)?;
            crate::services::retention::check(retention, &desk.model)?;
            let cutoff = desk.clock.now() - retention;
            let pruned = crate::services::retention::prune(&desk, cutoff).map_err(describe)?;
            say!(
                "pruned {} run(s) started before {} and {} lineage event(s); kept {} older \
                 run(s) linked to a ticket or a table's latest",
                pruned.runs,
                crate::clock::rfc3339(cutoff),
                pruned.lineage_events,
                pruned.kept
            );
            Ok(())
        }
        Command::Drill { list: true, .. } => {
            for s in crate::services::drills::SCENARIOS {
                say!(
                    "{:<30} {}",
                    s.name,
                    s.summary.split_whitespace().collect::<Vec<_>>().join(" ")
                );
            }
            Ok(())
        }
        Command::Drill {
            name, recipients, ..
        } => {
            let name = name.unwrap_or_default();
            let desk = build_desk(&settings, Clock::system(), None)?;
            let mut conn = desk.pool.get().map_err(|e| describe(e.into()))?;
            let id = crate::services::drills::start(
                &mut conn,
                &desk,
                &name,
                &recipients,
                &Actor {
                    name: "inspect-desk drill (command line)",
                    ip: None,
                },
            )
            .map_err(describe)?;
            drop(conn);
            let report = crate::services::drills::run(&desk, id, &desk.mailer).map_err(describe)?;
            say!(@write, "{}", report.to_text());
            if report.passed() {
                Ok(())
            } else {
                Err(format!("drill {id} ({name}) failed"))
            }
        }
        Command::Outbox {
            action: OutboxCommand::Deliver,
        } => {
            let desk = actix_web::web::Data::new(build_desk(&settings, Clock::system(), None)?);
            let system = actix_web::rt::System::new();
            let mailer = desk.mailer.clone();
            let report = system
                .block_on(crate::services::delivery::deliver_due(&desk, &mailer))
                .map_err(describe)?;
            say!(
                "outbox via {}: {} sent, {} failed (will retry), {} dead-lettered",
                mailer.describe(),
                report.sent,
                report.failed,
                report.dead
            );
            Ok(())
        }
        Command::Seed { tickets, runs } => {
            let desk = build_desk(&settings, Clock::system(), None)?;
            let summary = demo::seed(&desk, runs, tickets)?;
            say!("{summary}");
            Ok(())
        }
        Command::ImportRuns {
            file,
            format,
            batch_size,
        } => crate::cli_import::run(&settings, &file, format.as_deref(), batch_size),
    }
}

/// The command line as an audit actor.
const CLI_ACTOR: Actor<'static> = Actor {
    name: "cli",
    ip: None,
};

/// A service error as one line for the terminal.
fn describe(err: AppError) -> String {
    match err {
        AppError::Invalid(fields) => fields
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; "),
        other => format!("{other:#}"),
    }
}

fn serve(settings: &Settings, with_demo: bool) -> Result<(), String> {
    let system = actix_web::rt::System::new();
    system.block_on(async {
        let app = Application::build(settings, Clock::system())?;
        let desk = app.desk();
        let url = desk.mail.base_url.clone();
        if with_demo {
            let summary = actix_web::web::block(move || demo::seed_if_empty(&desk))
                .await
                .map_err(|e| e.to_string())??;
            say!("{summary}");
        }
        say!("inspect-desk is listening on {url}");
        say!("  report form:  {url}/report");
        say!("  API document: {url}/api/v1/openapi.json");
        if with_demo {
            say!("  demo sign-in: {url}/login");
            for (email, _, password) in demo::DEMO_USERS {
                say!("                {email} / {password}");
            }
        }
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}
