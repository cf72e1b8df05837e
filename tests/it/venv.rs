//! Python virtualenvs for tests that drive real Python tools (openlineage-python,
//! schemathesis): made once under the target folder with `python3 -m venv` and pip.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::helpers::manifest_dir;

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
    Err(format!("{what} failed: {}", tail.join(" | ")))
}

/// Does `python` exist and run `probe` without error?
fn works(python: &Path, probe: &str) -> bool {
    python.is_file()
        && Command::new(python)
            .args(["-c", probe])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// `<target>/<name>` with `requirement` installed, made unless one that passes `probe`
/// (Python code) is there already; returns the folder. Without python, venv or PyPI the
/// error says why.
pub fn python_venv(name: &str, requirement: &str, probe: &str) -> Result<PathBuf, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target"));
    let dir = target.join(name);
    let python = dir.join("bin/python");
    if works(&python, probe) {
        return Ok(dir);
    }
    let system_python = std::env::var("DESK_PYTHON").unwrap_or_else(|_| "python3".into());
    // Built beside the final place and renamed, so a half-made venv is never reused.
    let partial = target.join(format!("{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    run(
        Command::new(&system_python)
            .args(["-m", "venv"])
            .arg(&partial),
        "python3 -m venv",
    )?;
    run(
        Command::new(partial.join("bin/python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ]),
        &format!("pip install {requirement}"),
    )?;
    // Leftovers of a broken venv go; a working one another test process made meanwhile
    // stays, and the rename below then fails harmlessly.
    if dir.exists() && !works(&python, probe) {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if std::fs::rename(&partial, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    if works(&python, probe) {
        Ok(dir)
    } else {
        Err(format!("{} cannot run: {probe}", python.display()))
    }
}
