//! `madoguchi lottery …`: the facility lottery at the command line. `verify` re-runs a
//! published draw from its audit record, so that anyone (a resident, an auditor, a journalist)
//! can check it without trusting the city: it needs no database and no configuration.

use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum LotteryCommand {
    /// Re-runs a draw from its audit record (the JSON file the city publishes): checks that the
    /// seed matches the commitment published before the draw, that the draw redone from the
    /// record's rules, slots and applications gives exactly its outcome, and that the file is
    /// in canonical form. Prints the record's SHA-256 and counts as JSON and exits 0, or says
    /// what differs and exits 2.
    Verify {
        /// The audit record.
        record: PathBuf,
    },
}

pub fn run(command: LotteryCommand) -> anyhow::Result<()> {
    match command {
        LotteryCommand::Verify { record } => verify(&record),
    }
}

fn verify(path: &std::path::Path) -> anyhow::Result<()> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("{}: cannot read the record: {error}", path.display());
            std::process::exit(2);
        }
    };
    match madoguchi_facilities::verify(&bytes) {
        Ok(()) => {
            // verify() read it, so it reads.
            let record = madoguchi_facilities::AuditRecord::from_bytes(&bytes)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}",
                serde_json::json!({
                    "verified": true,
                    "sha256": record.sha256_hex(),
                    "commitment": record.commitment.to_hex(),
                    "slots": record.slots.len(),
                    "applications": record.applications.len(),
                    "won": record.outcome.winners.len(),
                })
            );
            Ok(())
        }
        Err(mismatch) => {
            eprintln!(
                "{}: the draw does not check ({}): {mismatch}",
                path.display(),
                mismatch.code()
            );
            eprintln!("抽選の記録を検証できませんでした。 The draw could not be verified.");
            std::process::exit(2);
        }
    }
}
