//! Configuration: clap flags, `WAYFARER_*` environment variables (clap reads both) and an
//! optional TOML file, in that order of precedence, over the defaults of spec §8.

use clap::Args;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use wayfarer_browser::Upstream;
use wayfarer_core::{Micros, Prices};

/// Flags every command shares: where the store is.
#[derive(Args, Clone, Debug, Default)]
pub struct StoreArgs {
    /// Data directory (SQLite file, browser profiles, downloads).
    #[arg(long, global = true, env = "WAYFARER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://PATH` (default: DATA_DIR/wayfarer.db). PostgreSQL comes with multi-node mode.
    #[arg(long, global = true, env = "WAYFARER_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Optional TOML file with the same settings (snake_case keys).
    #[arg(long, global = true, env = "WAYFARER_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Flags of `wayfarer serve`.
#[derive(Args, Clone, Debug, Default)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "WAYFARER_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Public base URL for pollUrl and friends (default: derived from the listen address).
    #[arg(long, env = "WAYFARER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Planner: `offline` (default). `openai` and `anthropic` are not in this build yet.
    #[arg(long, env = "WAYFARER_PLANNER")]
    pub planner: Option<String>,
    /// Registers this key (8–128 printable characters) for the `default` account on every start.
    #[arg(long, env = "WAYFARER_BOOTSTRAP_KEY")]
    pub bootstrap_key: Option<String>,
    /// Chromium processes (default 2).
    #[arg(long, env = "WAYFARER_BROWSERS")]
    pub browsers: Option<usize>,
    /// Browser contexts (live sessions) per process (default 60).
    #[arg(long, env = "WAYFARER_CONTEXTS_PER_BROWSER")]
    pub contexts_per_browser: Option<usize>,
    /// Refuse loopback and private ranges too (link-local and cloud metadata always are).
    #[arg(long, env = "WAYFARER_BLOCK_PRIVATE_NETWORK")]
    pub block_private_network: bool,
    /// Chromium binary (default: `chromium` on PATH).
    #[arg(long, env = "WAYFARER_CHROMIUM")]
    pub chromium: Option<PathBuf>,
    /// DevTools WebSocket of a browser run elsewhere (e.g. a Browserless or Steel grid)
    /// to use instead of launching Chromium; `--browsers` is then 1.
    #[arg(long, env = "WAYFARER_BROWSER_WS")]
    pub browser_ws: Option<String>,
    /// Fresh contexts kept ready so a new session starts without waiting (default 2).
    #[arg(long, env = "WAYFARER_PREWARM")]
    pub prewarm: Option<usize>,
    /// Session inactivity timeout, e.g. `300s`, `5m` (default 300s).
    #[arg(long, env = "WAYFARER_SESSION_TIMEOUT", value_parser = humantime::parse_duration)]
    pub session_timeout: Option<Duration>,
    /// How long run-task waits inline before answering pending (default 50s).
    #[arg(long, env = "WAYFARER_INLINE_WINDOW", value_parser = humantime::parse_duration)]
    pub inline_window: Option<Duration>,
    /// How long ended sessions stay readable (default 7d).
    #[arg(long, env = "WAYFARER_RETENTION", value_parser = humantime::parse_duration)]
    pub retention: Option<Duration>,
    /// Longest single navigation (default 30s).
    #[arg(long, env = "WAYFARER_NAVIGATION_TIMEOUT", value_parser = humantime::parse_duration)]
    pub navigation_timeout: Option<Duration>,
    /// USD per active browser minute (default 0).
    #[arg(long, env = "WAYFARER_PRICE_PER_MINUTE")]
    pub price_per_minute: Option<f64>,
    /// Largest JSON request body in bytes (default 1 MiB).
    #[arg(long, env = "WAYFARER_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    /// The operator's proxies for sessions asking `proxy.source:"WebRun"`, comma-separated
    /// (`http://user:pass@host:port`, `socks5://host:port`), used in turn. Without it that
    /// source is refused.
    #[arg(long, env = "WAYFARER_PROXY_POOL", value_delimiter = ',')]
    pub proxy_pool: Vec<String>,
}

/// The TOML file's shape. Durations are humantime strings (`"300s"`).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub planner: Option<String>,
    pub bootstrap_key: Option<String>,
    pub browsers: Option<usize>,
    pub contexts_per_browser: Option<usize>,
    pub block_private_network: Option<bool>,
    pub chromium: Option<PathBuf>,
    pub browser_ws: Option<String>,
    pub prewarm: Option<usize>,
    pub session_timeout: Option<String>,
    pub inline_window: Option<String>,
    pub retention: Option<String>,
    pub navigation_timeout: Option<String>,
    pub price_per_minute: Option<f64>,
    pub body_limit: Option<usize>,
    pub proxy_pool: Option<Vec<String>>,
    /// Token prices of the model in use: USD per million tokens.
    pub input_price_per_million_tokens: Option<f64>,
    pub output_price_per_million_tokens: Option<f64>,
}

/// Resolved settings of `serve`.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub listen: SocketAddr,
    pub public_url: Option<String>,
    pub planner: String,
    pub bootstrap_key: Option<String>,
    pub browsers: usize,
    pub contexts_per_browser: usize,
    pub block_private_network: bool,
    pub chromium: Option<PathBuf>,
    pub browser_ws: Option<String>,
    pub prewarm: usize,
    pub session_timeout: Duration,
    pub inline_window: Duration,
    pub retention: Duration,
    pub navigation_timeout: Duration,
    pub prices: Prices,
    pub body_limit: usize,
    /// The operator's proxy pool (trusted: they may sit on private addresses).
    pub proxy_pool: Vec<Upstream>,
}

/// A configuration mistake, reported before anything starts.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn read_file(path: Option<&Path>) -> Result<FileConfig, ConfigError> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config {}: {e}", path.display())))?;
    toml::from_str(&text)
        .map_err(|e| ConfigError(format!("invalid config {}: {e}", path.display())))
}

fn duration(
    name: &str,
    flag: Option<Duration>,
    file: Option<&str>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match (flag, file) {
        (Some(d), _) => Ok(d),
        (None, Some(s)) => {
            humantime::parse_duration(s).map_err(|e| ConfigError(format!("{name}: {e}")))
        }
        (None, None) => Ok(default),
    }
}

/// The operator's proxy pool from its URLs; a bad one stops start-up (naming it by position,
/// since the URL may carry a password).
fn proxy_pool(urls: &[String]) -> Result<Vec<Upstream>, ConfigError> {
    urls.iter()
        .map(|u| u.trim())
        .filter(|u| !u.is_empty())
        .enumerate()
        .map(|(i, url)| {
            let upstream = Upstream {
                url: url.to_string(),
                username: None,
                password: None,
                trusted: true,
            };
            upstream
                .validate()
                .map(|()| upstream)
                .map_err(|e| ConfigError(format!("proxy_pool entry {}: {e}", i + 1)))
        })
        .collect()
}

/// Where the data lives, from the shared store flags.
pub fn store_location(args: &StoreArgs) -> Result<(PathBuf, String, FileConfig), ConfigError> {
    let file = read_file(args.config.as_deref())?;
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("./wayfarer-data"));
    let database_url = args
        .database_url
        .clone()
        .or_else(|| file.database_url.clone())
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("wayfarer.db").display()));
    if !database_url.starts_with("sqlite:") {
        return Err(ConfigError(format!(
            "unsupported database URL '{database_url}': this build supports sqlite:// only (PostgreSQL arrives with multi-node mode)"
        )));
    }
    Ok((data_dir, database_url, file))
}

impl ServeConfig {
    /// Resolves flags/env over the TOML file over the defaults.
    pub fn resolve(args: &ServeArgs) -> Result<ServeConfig, ConfigError> {
        let (data_dir, database_url, file) = store_location(&args.store)?;
        let positive = |name: &str, v: usize| {
            if v == 0 {
                Err(ConfigError(format!("{name} must be at least 1")))
            } else {
                Ok(v)
            }
        };
        let money = |name: &str, v: Option<f64>| -> Result<Micros, ConfigError> {
            match v {
                None => Ok(Micros::ZERO),
                Some(x) if x.is_finite() && x >= 0.0 => Ok(Micros::from_dollars(x)),
                Some(x) => Err(ConfigError(format!(
                    "{name} must be a non-negative number, got {x}"
                ))),
            }
        };
        let config = ServeConfig {
            data_dir,
            database_url,
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            public_url: args
                .public_url
                .clone()
                .or(file.public_url.clone())
                .map(|u| u.trim_end_matches('/').to_string()),
            planner: args
                .planner
                .clone()
                .or(file.planner.clone())
                .unwrap_or_else(|| "offline".into()),
            bootstrap_key: args.bootstrap_key.clone().or(file.bootstrap_key.clone()),
            browsers: positive("browsers", args.browsers.or(file.browsers).unwrap_or(2))?,
            contexts_per_browser: positive(
                "contexts-per-browser",
                args.contexts_per_browser
                    .or(file.contexts_per_browser)
                    .unwrap_or(60),
            )?,
            block_private_network: args.block_private_network
                || file.block_private_network.unwrap_or(false),
            chromium: args.chromium.clone().or(file.chromium.clone()),
            browser_ws: args.browser_ws.clone().or(file.browser_ws.clone()),
            prewarm: args.prewarm.or(file.prewarm).unwrap_or(2),
            session_timeout: duration(
                "session_timeout",
                args.session_timeout,
                file.session_timeout.as_deref(),
                Duration::from_secs(300),
            )?,
            inline_window: duration(
                "inline_window",
                args.inline_window,
                file.inline_window.as_deref(),
                Duration::from_secs(50),
            )?,
            retention: duration(
                "retention",
                args.retention,
                file.retention.as_deref(),
                Duration::from_secs(7 * 24 * 3600),
            )?,
            navigation_timeout: duration(
                "navigation_timeout",
                args.navigation_timeout,
                file.navigation_timeout.as_deref(),
                Duration::from_secs(30),
            )?,
            prices: Prices {
                input_per_million_tokens: money(
                    "input_price_per_million_tokens",
                    file.input_price_per_million_tokens,
                )?,
                output_per_million_tokens: money(
                    "output_price_per_million_tokens",
                    file.output_price_per_million_tokens,
                )?,
                per_browser_minute: money(
                    "price_per_minute",
                    args.price_per_minute.or(file.price_per_minute),
                )?,
            },
            body_limit: args
                .body_limit
                .or(file.body_limit)
                .unwrap_or(wayfarer_api::DEFAULT_BODY_LIMIT),
            proxy_pool: proxy_pool(if args.proxy_pool.is_empty() {
                file.proxy_pool.as_deref().unwrap_or_default()
            } else {
                &args.proxy_pool
            })?,
        };
        if config.planner != "offline" {
            return Err(ConfigError(format!(
                "planner '{}' is not available in this build yet; use --planner offline",
                config.planner
            )));
        }
        if let Some(ws) = &config.browser_ws
            && !(ws.starts_with("ws://") || ws.starts_with("wss://"))
        {
            return Err(ConfigError(format!(
                "--browser-ws must be a ws:// or wss:// URL, got '{ws}'"
            )));
        }
        if let Some(key) = &config.bootstrap_key
            && !wayfarer_core::ApiKey::valid_bootstrap(key)
        {
            return Err(ConfigError(
                "--bootstrap-key must be 8-128 printable ASCII characters without spaces".into(),
            ));
        }
        if config.session_timeout.is_zero() || config.navigation_timeout.is_zero() {
            return Err(ConfigError(
                "session and navigation timeouts must be above zero".into(),
            ));
        }
        Ok(config)
    }

    /// The public URL: as configured, else from the bound address (unspecified → 127.0.0.1).
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let ip = if bound.ip().is_unspecified() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            bound.ip()
        };
        format!("http://{}", SocketAddr::new(ip, bound.port()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_pool_entries_are_validated_without_quoting_secrets() {
        let args = ServeArgs {
            proxy_pool: vec![
                "http://user:hunter2@127.0.0.1:3128".into(),
                "socks5://127.0.0.1:1080".into(),
            ],
            ..ServeArgs::default()
        };
        let config = ServeConfig::resolve(&args).expect("valid pool");
        assert_eq!(config.proxy_pool.len(), 2);
        assert!(config.proxy_pool.iter().all(|p| p.trusted));

        let args = ServeArgs {
            proxy_pool: vec!["ftp://user:hunter2@127.0.0.1:21".into()],
            ..ServeArgs::default()
        };
        let err = ServeConfig::resolve(&args)
            .expect_err("bad scheme")
            .to_string();
        assert!(err.starts_with("proxy_pool entry 1:"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}
