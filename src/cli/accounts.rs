//! `user` and `token`: desk accounts and API bearer tokens.

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::role::{Role, Scope};
use crate::error::AppError;
use crate::services::{accounts, tokens};
use crate::startup::build_desk;

use super::{CLI_ACTOR, TokenCommand, UserCommand, describe, say};

/// `user add --email … --role … [--name …]`: prints the one-time password.
pub(super) fn user(settings: &Settings, action: UserCommand) -> Result<(), String> {
    let UserCommand::Add { email, role, name } = action;
    let role = Role::parse(&role)?;
    // The name by the same rules as on /admin/users.
    let name = crate::domain::text::name(name.as_deref().unwrap_or(""))
        .map_err(|e| format!("--name: {e}"))?;
    let desk = build_desk(settings, Clock::system(), None)?;
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

/// `token create --name … --scopes …` (prints the token once) or `token revoke ID`.
pub(super) fn token(settings: &Settings, action: TokenCommand) -> Result<(), String> {
    let desk = build_desk(settings, Clock::system(), None)?;
    let mut conn = desk.pool.get().map_err(|e| e.to_string())?;
    match action {
        TokenCommand::Create { name, scopes } => {
            let scopes = Scope::parse_list(&scopes)?;
            let created = tokens::create(&mut conn, &CLI_ACTOR, &name, &scopes, desk.clock.now())
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
            tokens::revoke(&mut conn, &CLI_ACTOR, id, desk.clock.now()).map_err(|e| match e {
                AppError::NotFound => format!("no live token with id {id}"),
                other => describe(other),
            })?;
            say!("token {id} revoked");
        }
    }
    Ok(())
}
