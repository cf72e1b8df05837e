//! Command-line verbs. Each prints what it did and returns a readable error; the verbs
//! live in one file per group: `serve` (serve, migrate, seed), `support_model`
//! (check-config, route), `accounts` (user, token), `jobs` (sweep, outbox, prune-runs),
//! `mail` (mail receive, mail poll), `classify` (classify eval), `drill` and `import`
//! (import-runs).

mod accounts;
mod classify;
mod drill;
mod import;
mod jobs;
mod mail;
mod serve;
mod support_model;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::error::AppError;
use crate::services::accounts::Actor;
use crate::telemetry;

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
    /// The report classifier: how well it does on labelled reports.
    Classify {
        #[command(subcommand)]
        action: ClassifyCommand,
    },
    /// Mail in: take a message an MTA pipes in, or read the IMAP mailbox once.
    Mail {
        #[command(subcommand)]
        action: MailCommand,
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
pub enum MailCommand {
    /// Take one RFC 5322 message from standard input: a reply lands on its ticket, a new
    /// message to the support address opens a report. Exit status 0 taken, 75 try again
    /// later (the database is unavailable), 65 the input is not a message.
    Receive,
    /// Read the mailbox of DESK_IMAP_URL once: take every waiting message, move each to
    /// DESK_IMAP_DONE_FOLDER, and print what became of it. Exit status 75 when a message
    /// was left for the next pass (the database, or the connection broke).
    Poll,
}

#[derive(Subcommand)]
pub enum ClassifyCommand {
    /// Classify labelled reports (JSON Lines, the corpus's format) and print accuracy,
    /// each category's precision and recall, the confusion matrix and every miss with its
    /// reasons. The model is the one trained on the repository's corpus.
    Eval {
        file: std::path::PathBuf,
        /// Cross-validate on FILE instead: split it into K folds and classify each fold
        /// with a model trained on the others.
        #[arg(long, value_name = "K")]
        cross_validate: Option<usize>,
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
    // Needs no settings or database: it reads a file and the built-in corpus.
    if let Command::Classify { action } = cli.command {
        return classify::run(action);
    }
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
    // An MTA reads any status outside sysexits.h as a permanent failure and bounces the
    // message: a receive that fails before it starts (settings) asks for a retry instead.
    let receiving = matches!(
        cli.command,
        Command::Mail {
            action: MailCommand::Receive
        }
    );
    match run_command(cli) {
        Err(message) if receiving => {
            complain!("inspect-desk: {message}; try again later");
            std::process::exit(mail::EX_TEMPFAIL);
        }
        other => other,
    }
}

fn run_command(cli: Cli) -> Result<(), String> {
    let mut settings = match Settings::load() {
        Ok(settings) => settings,
        // An MTA bounces the message on any status but 75: settings that do not load are
        // the operator's to fix, and the message waits in the MTA's queue meanwhile.
        Err(e)
            if matches!(
                cli.command,
                Command::Mail {
                    action: MailCommand::Receive
                }
            ) =>
        {
            crate::complain!("inspect-desk: {e}; the message was not taken, try again later");
            std::process::exit(mail::EX_TEMPFAIL);
        }
        Err(e) => return Err(e),
    };
    telemetry::init(settings.log_format);
    match cli.command {
        Command::Serve { bind, demo } => {
            if let Some(bind) = bind {
                settings.bind = bind;
            }
            serve::serve(&settings, demo)
        }
        Command::Migrate => serve::migrate(&settings),
        Command::CheckConfig => support_model::check_config(&settings),
        Command::Route {
            category,
            warehouse_type,
            table,
            severity,
        } => support_model::route(
            &settings,
            &category,
            warehouse_type.as_deref(),
            table.as_deref(),
            severity.as_deref(),
        ),
        Command::User { action } => accounts::user(&settings, action),
        Command::Token { action } => accounts::token(&settings, action),
        Command::Sweep { at } => jobs::sweep(&settings, at.as_deref()),
        Command::PruneRuns { older_than } => jobs::prune_runs(&settings, older_than.as_deref()),
        Command::Drill { list: true, .. } => drill::list(),
        Command::Drill {
            name, recipients, ..
        } => drill::run(&settings, &name.unwrap_or_default(), &recipients),
        Command::Classify { action } => classify::run(action),
        Command::Mail {
            action: MailCommand::Receive,
        } => mail::receive(&settings),
        Command::Mail {
            action: MailCommand::Poll,
        } => mail::poll(&settings),
        Command::Outbox {
            action: OutboxCommand::Deliver,
        } => jobs::deliver_outbox(&settings),
        Command::Seed { tickets, runs } => serve::seed(&settings, tickets, runs),
        Command::ImportRuns {
            file,
            format,
            batch_size,
        } => import::run(&settings, &file, format.as_deref(), batch_size),
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
