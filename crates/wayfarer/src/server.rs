//! Start-up and shutdown of a server: store, bootstrap key, browser pool, engine, HTTP.

use crate::config::ServeConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wayfarer_agent::OfflinePlanner;
use wayfarer_browser::{BrowserConfig, BrowserPool, GuardSettings, SystemResolver};
use wayfarer_core::ApiKey;
use wayfarer_engine::{Engine, EngineConfig, now_ms};
use wayfarer_store::{NewAccount, NewApiKey, SqliteStore, Store, StoreError};

/// The operator's account, created on first start.
pub const DEFAULT_ACCOUNT: &str = "default";

/// Opens the store at `database_url`, creating its directory.
pub async fn open_store(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = database_url.strip_prefix("sqlite://")
        && let Some(dir) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(Arc::new(SqliteStore::open(database_url).await?))
}

/// Stores a key's hash for `account`; an existing identical key is left as is (idempotent).
pub async fn register_key(
    store: &dyn Store,
    account: &wayfarer_store::Account,
    key: &ApiKey,
    expires_at: Option<i64>,
) -> Result<(), StoreError> {
    let result = store
        .insert_key(&NewApiKey {
            id: format!("key_{}", &wayfarer_core::TaskId::generate().as_str()[..12]),
            account_id: account.id.clone(),
            key_hash: key.hash(),
            prefix: key.display_prefix(),
            now_ms: now_ms(),
            expires_at,
        })
        .await;
    match result {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// On an empty store, creates the `default` account (unlimited) and returns its new key, to be
/// printed once. Registers `bootstrap_key` for `default` on every start.
pub async fn bootstrap(
    store: &dyn Store,
    bootstrap_key: Option<&str>,
) -> Result<Option<ApiKey>, StoreError> {
    let empty = store.is_empty().await?;
    let account = match store.account_by_name(DEFAULT_ACCOUNT).await? {
        Some(a) => a,
        None if empty || bootstrap_key.is_some() => {
            store
                .create_account(&NewAccount {
                    name: DEFAULT_ACCOUNT.into(),
                    balance: None,
                    session_limit: None,
                    rate_limit: None,
                    now_ms: now_ms(),
                })
                .await?
        }
        None => return Ok(None),
    };
    if let Some(key) = bootstrap_key {
        register_key(store, &account, &ApiKey::from_plaintext(key), None).await?;
    }
    if empty && bootstrap_key.is_none() {
        let key = ApiKey::generate();
        register_key(store, &account, &key, None).await?;
        return Ok(Some(key));
    }
    Ok(None)
}

/// Launches the Chromium pool described by `config`.
pub async fn launch_pool(
    config: &ServeConfig,
) -> Result<Arc<BrowserPool>, wayfarer_browser::BrowserError> {
    BrowserPool::launch(BrowserConfig {
        executable: config.chromium.clone(),
        browsers: config.browsers,
        contexts_per_browser: config.contexts_per_browser,
        profile_root: config.data_dir.join("chromium"),
        viewport: (1024, 600),
        prewarm: config.prewarm,
        remote_ws: config.browser_ws.clone(),
        downloads_root: Some(config.data_dir.join("downloads")),
        network_guard: Some(GuardSettings {
            block_private: config.block_private_network,
            resolver: Arc::new(SystemResolver),
        }),
    })
    .await
}

/// A server accepting requests.
pub struct RunningServer {
    /// The engine behind it.
    pub engine: Engine,
    /// The address it is bound to.
    pub addr: SocketAddr,
    /// Its public base URL.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    http: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting requests, then ends every live session. The pool stays up.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.http).await;
        self.engine.end_all_sessions().await;
    }
}

/// Binds `config.listen` and serves the API with `store` and `pool`, planning with the
/// offline planner.
pub async fn start(
    config: &ServeConfig,
    store: Arc<dyn Store>,
    pool: Arc<BrowserPool>,
) -> Result<RunningServer, StartError> {
    start_with_planner(config, store, pool, Arc::new(OfflinePlanner)).await
}

/// [`start`] with a planner of the caller's choice.
pub async fn start_with_planner(
    config: &ServeConfig,
    store: Arc<dyn Store>,
    pool: Arc<BrowserPool>,
    planner: Arc<dyn wayfarer_agent::Planner>,
) -> Result<RunningServer, StartError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError(e.to_string()))?;
    let url = config.public_url_for(addr);
    let engine_config = EngineConfig {
        node: "local".into(),
        public_url: url.clone(),
        inline_window: config.inline_window,
        session_timeout: config.session_timeout,
        retention: config.retention,
        navigation_timeout: config.navigation_timeout,
        prices: config.prices,
        viewport: (1024, 600),
        files_dir: config.data_dir.join("files"),
        proxy_pool: config.proxy_pool.clone(),
    };
    let engine = Engine::start(engine_config, store, pool, planner)
        .await
        .map_err(|e| StartError(format!("engine start: {e}")))?;
    let app = wayfarer_api::router(wayfarer_api::AppState {
        engine: engine.clone(),
        body_limit: config.body_limit,
    });
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let http = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "http server failed");
        }
    });
    Ok(RunningServer {
        engine,
        addr,
        url,
        stop: Some(stop_tx),
        http,
    })
}

/// A start-up failure, reported to the operator; fatal.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);
