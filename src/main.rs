//! The `dialtone` command: parses the CLI and config, then calls into the library.

use clap::{Parser, Subcommand};
use dialtone::config::Config;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "dialtone", version, about = "Control plane of a VoIP service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (embedded SQLite in ./dialtone-data when nothing is configured).
    Serve {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Validate a config and print the effective one (file, then environment, then defaults).
    CheckConfig {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Create the platform organization and its first administrator (once).
    Bootstrap {
        #[arg(long)]
        username: String,
        /// Read the password from standard input (required: never pass it as an argument).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Database URL (overrides config and DIALTONE_DATABASE_URL).
        #[arg(long)]
        database: Option<String>,
        /// Name of the platform organization.
        #[arg(long, default_value = "Platform")]
        organization_name: String,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn load(path: Option<&PathBuf>) -> Result<Config, ExitCode> {
    Config::load(path.map(|p| p.as_path())).map_err(|e| {
        eprintln!("dialtone: configuration error: {e}");
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dialtone: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match run(cli.command).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(code) => code,
        }
    })
}

async fn run(command: Command) -> Result<(), ExitCode> {
    match command {
        Command::Serve { config } => {
            let config = load(config.as_ref())?;
            dialtone::system::logging::init(&config.log);
            dialtone::daemon::run(config).await.map_err(|e| {
                tracing::error!("{e}");
                eprintln!("dialtone: {e}");
                ExitCode::FAILURE
            })
        }
        Command::Migrate { config } => {
            let config = load(config.as_ref())?;
            dialtone::daemon::open_database(&config)
                .await
                .map_err(|e| {
                    eprintln!("dialtone: {e}");
                    ExitCode::FAILURE
                })?;
            println!(
                "migrations applied to {}",
                dialtone::daemon::redact(&config.database_url())
            );
            Ok(())
        }
        Command::CheckConfig { config } => {
            let config = load(config.as_ref())?;
            println!("# effective configuration (valid)\n{}", config.to_toml());
            Ok(())
        }
        Command::Bootstrap {
            username,
            password_stdin: _,
            database,
            organization_name,
            config,
        } => {
            let mut config = load(config.as_ref())?;
            if let Some(url) = database {
                config.database.url = url;
            }
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| {
                    eprintln!("dialtone: cannot read password from stdin: {e}");
                    ExitCode::FAILURE
                })?;
            let password = password.trim_end_matches(['\r', '\n']);
            let db = dialtone::daemon::open_database(&config)
                .await
                .map_err(|e| {
                    eprintln!("dialtone: {e}");
                    ExitCode::FAILURE
                })?;
            match dialtone::orgs::bootstrap(&db, &organization_name, &username, password).await {
                Ok(done) => {
                    println!(
                        "created platform organization {} and administrator {:?} (user {})",
                        done.organization_id,
                        username.trim().to_lowercase(),
                        done.user_id
                    );
                    Ok(())
                }
                Err(e) => {
                    eprintln!("dialtone: bootstrap refused: {e}");
                    Err(ExitCode::FAILURE)
                }
            }
        }
    }
}
