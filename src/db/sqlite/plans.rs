//! One SQLite setting diesel cannot reach: the query planner stability guarantee
//! (`SQLITE_DBCONFIG_ENABLE_QPSG`), switched on for every SQLite connection the process
//! opens.
//!
//! Since SQLite 3.48 the planner reads the bound value of `LIMIT ?` and marks the
//! statement to be compiled again whenever that parameter is bound, even to the same
//! value. Diesel binds every `LIMIT` (`.first()`, `.limit(n)`), so each run of such a
//! cached statement was parsed and planned from scratch, a large share of the CPU report
//! intake spent linking runs. With the guarantee on, a statement keeps its plan whatever
//! is bound, as before 3.48; the desk collects no planner statistics (no `ANALYZE`), so
//! no plan depended on bound values otherwise.
//!
//! Diesel's `SqliteConnection` does not hand out its `sqlite3` handle, so the setting
//! goes in through SQLite's auto-extension hook, which SQLite calls with the handle of
//! each connection as it opens. This is the crate's only `unsafe` code.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int};
use std::sync::Once;

use libsqlite3_sys as ffi;

/// Register the hook once per process; connections opened afterwards get the setting.
pub fn enable_plan_stability() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: `on_open` has the signature SQLite's auto-extension entry points have,
        // and it is a plain function that lives as long as the process.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(on_open)) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(
                rc,
                "cannot register SQLite's planner setting: LIMIT statements recompile each run"
            );
        }
    });
}

unsafe extern "C" fn on_open(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: SQLite passes the handle of the connection being opened; the option takes
    // an int (1: on) and an optional int pointer for the resulting state (none here).
    unsafe {
        ffi::sqlite3_db_config(
            db,
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state of the guarantee on a connection opened the way SQLite's C API opens
    /// one (the hook must reach every connection, not just diesel's).
    fn qpsg_on_new_connection() -> c_int {
        let mut db: *mut ffi::sqlite3 = std::ptr::null_mut();
        let mut state: c_int = -1;
        // SAFETY: a private in-memory database, closed before returning; the out
        // pointers are valid locals.
        unsafe {
            assert_eq!(
                ffi::sqlite3_open(c":memory:".as_ptr(), &mut db),
                ffi::SQLITE_OK
            );
            ffi::sqlite3_db_config(
                db,
                ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                -1 as c_int,
                &mut state as *mut c_int,
            );
            ffi::sqlite3_close(db);
        }
        state
    }

    #[test]
    fn every_connection_opened_after_registering_keeps_its_plans() {
        enable_plan_stability();
        assert_eq!(qpsg_on_new_connection(), 1);
        // Registering twice is harmless.
        enable_plan_stability();
        assert_eq!(qpsg_on_new_connection(), 1);
    }
}
