//! inspect-desk command line: parse, set up logging, run.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = inspect_desk::cli::Cli::parse();
    match inspect_desk::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            inspect_desk::complain!("inspect-desk: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
