//! Rebuild when a migration is added. `diesel_migrations::embed_migrations!` reads the
//! migrations folder while the crate compiles, and cargo then tracks the files it read,
//! not the folder: a new migration alone left the binary without it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
