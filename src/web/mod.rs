//! HTTP: pages for people, a JSON API for programs, health checks and static files.

pub mod api;
pub mod assets;
pub mod attachments;
pub mod auth;
pub mod body;
pub mod flash;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod pages;
pub mod routes;
