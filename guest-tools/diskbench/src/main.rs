//! `diskbench PATH WORKLOAD [options]`: see the library's documentation.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", diskbench::USAGE);
        return ExitCode::SUCCESS;
    }
    let result = diskbench::Config::parse(&args).and_then(|cfg| diskbench::run(&cfg));
    match result {
        Ok(report) => {
            println!("{}", report.line());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("diskbench: {e}");
            ExitCode::from(2)
        }
    }
}
