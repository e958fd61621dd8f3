//! The shared application state every listener and handler holds: cheap to clone.

use crate::auth::login_limit::LoginLimiter;
use crate::config::Config;
use crate::db::Db;
use crate::http::rate_limit::RateLimiter;
use crate::sip::Endpoint;
use crate::system::metrics::Metrics;
use std::ops::Deref;
use std::sync::Arc;

/// One handle to everything the daemon shares (`AppState(Arc<App>)`).
#[derive(Clone)]
pub struct AppState(Arc<App>);

pub struct App {
    pub db: Db,
    pub config: Config,
    pub rate_limiter: RateLimiter,
    pub login_limiter: LoginLimiter,
    pub metrics: Metrics,
    pub sip: Endpoint,
    /// Live health of every pinged gateway (written by the pinger, read by the API).
    pub gateway_health: Arc<crate::gateways::health::Registry>,
    /// The change feed: services publish after commit, in-memory copies subscribe.
    pub changes: crate::system::changes::Changes,
    /// RFC 3263 resolution of SIP URIs (system DNS, cached by TTL).
    pub resolver: Arc<crate::sip::resolver::Resolver>,
    /// The compiled dial plan, the trunk snapshot and channel counts evaluation reads.
    pub dialplan: Arc<crate::dialplan::live::DialPlans>,
    /// The key that encrypts recoverable secrets (line and provisioning passwords), loaded once.
    pub secrets: Arc<crate::system::secrets::Secrets>,
    /// Phone provisioning templates, compiled; reloaded in place on change or SIGHUP.
    pub templates: crate::devices::templates::Templates,
    /// What the provisioning server keeps in memory per device; kept fresh by the change feed.
    pub provisioning_cache: Arc<crate::devices::provisioning::Cache>,
    /// The supervised background jobs and the queue's worker (`system::jobs`).
    pub jobs: crate::system::jobs::Jobs,
    /// API keys' last uses since the last flush to the database (`system::apikeys`).
    pub apikey_usage: Arc<crate::system::apikeys::Usage>,
}

impl AppState {
    pub fn new(
        db: Db,
        config: Config,
        sip: Endpoint,
        resolver: Arc<crate::sip::resolver::Resolver>,
        secrets: Arc<crate::system::secrets::Secrets>,
        templates: crate::devices::templates::Templates,
    ) -> Self {
        let rate_limiter = RateLimiter::new(config.rate_limit.requests, config.rate_limit.window_s);
        let login_limiter = LoginLimiter::new(&config.auth);
        Self(Arc::new(App {
            changes: crate::system::changes::Changes::new(db.clone()),
            db,
            rate_limiter,
            login_limiter,
            metrics: Metrics::global(),
            sip,
            gateway_health: Arc::default(),
            resolver,
            dialplan: Arc::new(crate::dialplan::live::DialPlans::new(
                std::time::Duration::from_secs(config.dialplan.channel_report_ttl_s),
            )),
            secrets,
            templates,
            provisioning_cache: Arc::default(),
            jobs: crate::system::jobs::Jobs::new(),
            apikey_usage: Arc::default(),
            config,
        }))
    }
}

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
