//! The people an agent picks from: who a ticket can be assigned to, by name.

use crate::db::DbConnection;
use crate::db::models::user::User;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::state::Desk;

/// Someone a ticket can go to, as the pickers show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: i64,
    /// Their name, else their email: what the picker shows.
    pub name: String,
    pub email: String,
    /// Whether they work in the team the list was asked for (listed first).
    pub in_team: bool,
}

/// Every active account that can work tickets (agents, owners and admins), those of `team`
/// first, each group by name; deactivated accounts are offered to nobody. A team's people are its members and lead in the support model.
pub fn assignable(
    conn: &mut DbConnection,
    desk: &Desk,
    team: Option<&str>,
) -> Result<Vec<Person>, AppError> {
    let mut people: Vec<Person> = User::all(conn)?
        .into_iter()
        .filter(|u| matches!(u.role, Role::Agent | Role::Owner | Role::Admin))
        .filter(User::is_active)
        .map(|u| {
            let in_team = team.is_some_and(|key| {
                desk.model
                    .teams_of(&u.email)
                    .iter()
                    .any(|t| t.as_str() == key)
            });
            Person {
                id: u.id,
                name: u.name.clone().unwrap_or_else(|| u.email.clone()),
                email: u.email,
                in_team,
            }
        })
        .collect();
    people.sort_by(|a, b| {
        b.in_team
            .cmp(&a.in_team)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(people)
}
