//! `serve`, `migrate` and `seed`: running the desk and preparing its database.

use crate::clock::Clock;
use crate::config::Settings;
use crate::startup::{Application, build_desk};
use crate::{db, demo};

use super::say;

/// `serve [--bind ADDR] [--demo]`: run the web server until it is stopped.
pub(super) fn serve(settings: &Settings, with_demo: bool) -> Result<(), String> {
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

/// `migrate`: apply pending migrations.
pub(super) fn migrate(settings: &Settings) -> Result<(), String> {
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

/// `seed --tickets N --runs N`: generated runs and tickets.
pub(super) fn seed(settings: &Settings, tickets: usize, runs: usize) -> Result<(), String> {
    let desk = build_desk(settings, Clock::system(), None)?;
    let summary = demo::seed(&desk, runs, tickets)?;
    say!("{summary}");
    Ok(())
}
