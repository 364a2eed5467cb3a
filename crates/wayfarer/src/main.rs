//! `wayfarer`: parse the command line, wire the crates together.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use wayfarer::config::{ServeArgs, ServeConfig, StoreArgs, store_location};
use wayfarer::operator::{AccountsCommand, KeysCommand};
use wayfarer::{bench, operator, server};

/// A self-hosted, WebRun-compatible AI browser-agent server.
#[derive(Parser, Debug)]
#[command(name = "wayfarer", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Starts the server.
    Serve(Box<ServeArgs>),
    /// Manages accounts.
    Accounts {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Manages API keys.
    Keys {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Loads a URL and prints the page state exactly as a planner receives it.
    Perceive(wayfarer::perceive::PerceiveArgs),
    /// Runs a benchmark and prints its numbers.
    Bench {
        #[command(subcommand)]
        which: bench::BenchCommand,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WAYFARER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

async fn serve(args: &ServeArgs) -> ExitCode {
    let config = match ServeConfig::resolve(args) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Err(e) = std::fs::create_dir_all(&config.data_dir) {
        return fail(format!(
            "cannot create data dir {}: {e}",
            config.data_dir.display()
        ));
    }
    let store = match server::open_store(&config.database_url).await {
        Ok(s) => s,
        Err(e) => return fail(format!("store: {e}")),
    };
    let first_key = match server::bootstrap(&*store, config.bootstrap_key.as_deref()).await {
        Ok(k) => k,
        Err(e) => return fail(format!("bootstrap: {e}")),
    };
    let pool = match server::launch_pool(&config).await {
        Ok(p) => p,
        Err(e) => {
            return fail(format!(
                "{e} (install Debian's chromium package or set WAYFARER_CHROMIUM)"
            ));
        }
    };
    let running = match server::start(&config, store, pool.clone()).await {
        Ok(r) => r,
        Err(e) => {
            pool.shutdown().await;
            return fail(e);
        }
    };
    println!("wayfarer listening on {}", running.url);
    if let Some(key) = first_key {
        println!("API key: {}", key.reveal());
    }
    tracing::info!(url = %running.url, browsers = config.browsers, contexts_per_browser = config.contexts_per_browser, "ready");
    wait_for_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    pool.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn with_store<F, Fut>(args: &StoreArgs, run: F) -> ExitCode
where
    F: FnOnce(std::sync::Arc<dyn wayfarer_store::Store>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<String>, operator::OperatorError>>,
{
    let (_, url, _) = match store_location(args) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let store = match server::open_store(&url).await {
        Ok(s) => s,
        Err(e) => return fail(format!("store: {e}")),
    };
    match run(store).await {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("tokio runtime: {e}")),
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve(&args).await,
            Command::Accounts { store, command } => {
                with_store(
                    &store,
                    |s| async move { operator::accounts(&*s, command).await },
                )
                .await
            }
            Command::Keys { store, command } => {
                with_store(
                    &store,
                    |s| async move { operator::keys(&*s, command).await },
                )
                .await
            }
            Command::Perceive(args) => match wayfarer::perceive::run(&args).await {
                Ok((out, note)) => {
                    print!("{out}");
                    if let Some(note) = note {
                        eprintln!("{note}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            },
            Command::Bench { which } => match bench::run(which).await {
                Ok(report) => {
                    println!("{report}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            },
        }
    })
}
