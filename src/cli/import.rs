//! `inspect-desk import-runs FILE`: the terminal side of `services::import_runs` (a
//! progress bar on stderr, per-line errors, a summary, a failing exit when a batch was
//! rejected).

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use crate::clock::Clock;
use crate::config::Settings;
use crate::services::import_runs::{self, Format};
use crate::startup::build_desk;

/// Bad lines printed before the rest are only counted.
const MAX_PRINTED_ERRORS: usize = 50;

/// Import the file; Err when it cannot be read or a batch was rejected.
pub(super) fn run(
    settings: &Settings,
    file: &Path,
    format: Option<&str>,
    batch_size: usize,
) -> Result<(), String> {
    if batch_size == 0 {
        return Err("--batch-size must be at least 1".into());
    }
    let (input, size, format) = open(file, format)?;
    let desk = build_desk(settings, Clock::system(), None)?;
    let mut conn = desk.pool.get().map_err(|e| e.to_string())?;
    // Drawn only when stderr is a terminal.
    let bar = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {elapsed} {msg}")
            .map_err(|e| e.to_string())?,
    );
    bar.set_message(format!("importing {}", file.display()));
    let report = import_runs::import(
        &mut conn,
        input,
        format,
        batch_size,
        desk.clock.now(),
        &mut |read| bar.set_position(read),
    );
    bar.finish_and_clear();
    let report = report.map_err(|e| format!("import stopped: {e:#}"))?;
    print_errors(&report.errors);
    super::say!(
        "imported {} runs ({} new, {} replaced) in {} batch(es) from {}",
        report.created + report.updated,
        report.created,
        report.updated,
        report.batches_stored,
        file.display()
    );
    if report.batches_rejected > 0 {
        return Err(format!(
            "{} batch(es) of up to {batch_size} lines were not imported: {} bad line(s); \
             fix them and run the import again (imported runs are replaced, not doubled)",
            report.batches_rejected,
            report.errors.len()
        ));
    }
    Ok(())
}

/// The file, its size in bytes, and its format: the one given, else detected from the
/// file's name or its first bytes.
fn open(file: &Path, format: Option<&str>) -> Result<(std::fs::File, u64, Format), String> {
    let mut input =
        std::fs::File::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    let format = match format {
        Some(f) => Format::parse(f)?,
        None => {
            let mut head = [0u8; 64];
            let n = std::io::Read::read(&mut input, &mut head).unwrap_or(0);
            std::io::Seek::rewind(&mut input).map_err(|e| e.to_string())?;
            Format::detect(file, &head[..n])
        }
    };
    Ok((input, size, format))
}

/// The bad lines on stderr, up to `MAX_PRINTED_ERRORS`, then how many more there were.
fn print_errors(errors: &[String]) {
    for line in errors.iter().take(MAX_PRINTED_ERRORS) {
        crate::complain!("{line}");
    }
    if errors.len() > MAX_PRINTED_ERRORS {
        crate::complain!("… and {} more bad lines", errors.len() - MAX_PRINTED_ERRORS);
    }
}
