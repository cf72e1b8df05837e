//! A PostgreSQL cluster of the test's own (initdb into a temp folder, a free loopback
//! port), so a test can stop and start it without touching the machine's shared cluster.
//! Stopped when dropped, also when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::smtp::free_port;

pub struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    /// Holds the data folder and the socket; removed after the server stops.
    dir: tempfile::TempDir,
    pub port: u16,
    /// Root cannot run PostgreSQL: commands then go through `runuser -u postgres`.
    as_postgres: bool,
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate"]);
    }
}

/// The newest installed server's bin folder (Debian: /usr/lib/postgresql/N/bin).
fn server_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PrivatePostgres {
    /// initdb and start, or say loudly why not (CI must not skip).
    pub fn start() -> Option<PrivatePostgres> {
        let Some(bin) = server_bin() else {
            let why = "no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)";
            if std::env::var_os("CI").is_some() {
                panic!("CI is set but PostgreSQL's server binaries are missing: {why}");
            }
            eprintln!("SKIPPED (private PostgreSQL): {why}");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("desk-pg-")
            .tempdir()
            .expect("temp dir");
        let as_postgres = is_root();
        if as_postgres {
            // PostgreSQL refuses to run as root: the folder belongs to its own user.
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown postgres {}", dir.path().display());
        }
        let data = dir.path().join("data");
        let pg = PrivatePostgres {
            bin,
            data,
            dir,
            port: free_port(),
            as_postgres,
        };
        let initdb = pg.bin.join("initdb");
        let out = pg
            .command(&initdb)
            .arg("-D")
            .arg(&pg.data)
            .args(["-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.start_server();
        Some(pg)
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command.stdin(Stdio::null());
        command
    }

    fn pg_ctl(&self, args: &[&str]) -> std::io::Result<std::process::Output> {
        self.command(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "30"])
            .args(args)
            .output()
    }

    /// Start (again), waiting until it accepts connections.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c full_page_writes=off -c shared_buffers=32MB -c max_connections=40",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let out = self
            .pg_ctl(&["-l", &log.to_string_lossy(), "-o", &options, "start"])
            .expect("run pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stop at once, as a crash would (`-m immediate`: no checkpoint, clients cut off).
    pub fn stop_immediately(&self) {
        let out = self
            .pg_ctl(&["stop", "-m", "immediate"])
            .expect("run pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The admin URL (database `postgres`), over TCP on loopback.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}
