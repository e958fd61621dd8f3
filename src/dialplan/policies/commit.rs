//! How every dial plan write ends: the plan compiled as the write's transaction left it (the
//! write refused if it does not), the commit, the swap of the live plan and the published change.

use super::store;
use crate::db::Tx;
use crate::error::Result;
use crate::state::AppState;

/// Compiles the plan as `tx` left it (refusing the write if it does not compile), commits,
/// then swaps the compiled plan in and publishes the change (other instances recompile on it).
/// The trunk snapshot is refreshed too, so a route to a trunk created a moment ago resolves at
/// once, even if this instance has not yet heard of that trunk's change.
pub(super) async fn commit_and_swap(state: &AppState, mut tx: Tx) -> Result<()> {
    store::revision::bump_revision(&mut tx).await?;
    let prepared = state.dialplan.prepare_in_tx(&mut tx).await?;
    tx.commit().await?;
    state.dialplan.install(prepared);
    state
        .changes
        .publish(crate::system::changes::PolicyChanged)
        .await;
    if let Err(e) = state.dialplan.refresh_trunks(&state.db).await {
        tracing::warn!(error = %e, "trunk snapshot refresh failed; the next trunk change retries");
    }
    Ok(())
}
