//! Who is asking, and may they: sessions, bearer tokens, the trusted proxy header,
//! per-route access rules, CSRF protection and rate limits.

pub mod access;
pub mod client;
pub mod csrf;
pub mod limits;
pub mod session_store;
pub mod viewer;

pub use access::Access;
pub use csrf::CsrfToken;
pub use viewer::{SignedIn, TokenCaller, Viewer};
