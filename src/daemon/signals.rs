//! Signals: SIGHUP reloads the phone templates; SIGTERM or Ctrl-C stops the daemon.

use crate::state::AppState;
use tokio::task::JoinHandle;

/// SIGHUP reloads the provisioning templates; a broken set is logged and the previous one kept.
/// The handler is installed before this returns.
pub(super) fn reload_on_sighup(state: AppState) -> Option<JoinHandle<()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; templates reload only when polled");
            return None;
        };
        Some(tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                let templates = state.templates.clone();
                match tokio::task::spawn_blocking(move || templates.reload()).await {
                    Ok(outcome) => {
                        if outcome.is_ok() {
                            state
                                .changes
                                .publish(crate::system::changes::TemplatesChanged)
                                .await;
                        }
                        let (db, templates) = (&state.db, &state.templates);
                        crate::devices::templates::reload_outcome(db, templates, "SIGHUP", outcome)
                            .await;
                    }
                    Err(e) => tracing::warn!(error = %e, "SIGHUP: template reload task failed"),
                }
            }
        }))
    }
    #[cfg(not(unix))]
    {
        let _ = state;
        None
    }
}

pub(super) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
