//! The redirect listener's own background tasks besides the receive loops: the one timer task
//! for every transaction timer, and the periodic reload of the source table.

use super::Listener;
use crate::sip::transaction::invite_server::{ServerTimer, Slot};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Fires the transaction timers armed through `commands` until shutdown.
pub async fn timer_loop(
    listener: Listener,
    mut commands: mpsc::UnboundedReceiver<(Slot, ServerTimer, Instant)>,
    shutdown: CancellationToken,
) {
    use futures_util::StreamExt;
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

/// Reloads the source table every `every`, until shutdown.
pub async fn reload_loop(listener: Listener, every: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = listener.reload_sources().await {
                    tracing::warn!(error = %e, "redirect listener: reloading org and trunk IPs failed");
                }
            }
        }
    }
}
