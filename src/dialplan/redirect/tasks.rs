//! The redirect listener's own background tasks besides the receive loops: the one timer task
//! for every transaction timer, and the reload of the source table on every change to it.

use super::Listener;
use crate::sip::transaction::invite_server::{ServerTimer, Slot};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The receiving end of the armed timers, shared so a restarted loop carries on with it.
pub type TimerCommands =
    Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<(Slot, ServerTimer, Instant)>>>;

/// Fires the transaction timers armed through `commands` until shutdown. Timers armed before a
/// restart (after a panic, which is a bug) are lost with the old queue; the restart keeps the
/// listener's later transactions timed.
pub async fn timer_loop(listener: Listener, commands: TimerCommands, shutdown: CancellationToken) {
    use futures_util::StreamExt;
    let mut commands = commands.lock().await;
    let mut queue: tokio_util::time::DelayQueue<(Slot, ServerTimer)> =
        tokio_util::time::DelayQueue::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            command = commands.recv() => {
                let Some((slot, timer, at)) = command else { return };
                queue.insert_at((slot, timer), at);
            }
            Some(expired) = queue.next(), if !queue.is_empty() => {
                let (slot, timer) = expired.into_inner();
                let effects = listener.inner.table.on_timer(&slot, timer, Instant::now());
                listener.apply(effects).await;
            }
        }
    }
}

/// Reloads the source table whenever an org IP, a trunk IP or the tree changes (on any
/// instance: `system::changes`), until shutdown; a failed reload is retried after `every`.
pub async fn reload_loop(listener: Listener, every: Duration, shutdown: CancellationToken) {
    use crate::system::changes::Change;
    let mut changes = listener.inner.state.changes.subscribe();
    // What changed between the load in `start` and the subscription.
    let mut reload = true;
    let mut failing = false;
    loop {
        if reload {
            failing = match listener.reload_sources().await {
                Ok(()) => false,
                Err(e) => {
                    tracing::warn!(error = %e, "redirect listener: reloading org and trunk IPs failed");
                    true
                }
            };
        }
        reload = tokio::select! {
            _ = shutdown.cancelled() => return,
            change = changes.recv() => matches!(
                change,
                Change::OrgAccess(_) | Change::Trunk(_) | Change::Organization(_) | Change::Everything
            ),
            _ = tokio::time::sleep(every), if failing => true,
        };
    }
}
