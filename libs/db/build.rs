//! `sqlx::migrate!` embeds `migrations/` at compile time, but cargo does not know the macro reads
//! that folder: without this, a new migration file leaves a stale migrator in the build (tests
//! then run against a schema without it).
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
