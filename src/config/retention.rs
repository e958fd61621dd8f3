//! `[retention]`: the platform's default retention of the data kinds that `[events]` and
//! `[webhooks]` do not already set, and how the purge runs. Organizations override these down
//! the tree over `/v1/retention`.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days the audit log keeps a record (default about seven years). The event log's default
    /// is `[events] retention_days`, the webhook delivery log's `[webhooks] log_retention_days`.
    pub audit_days: u32,
    /// Days a finished queued job (done, failed or cancelled) stays readable at `/v1/jobs`.
    pub jobs_days: u32,
    /// Days call detail records are kept (for the billing rooms).
    pub cdrs_days: u32,
    /// Days SMS messages are kept (for the messaging rooms).
    pub sms_days: u32,
    /// Days voicemail messages are kept.
    pub voicemail_days: u32,
    /// Days stored files (sound files, archives) are kept.
    pub files_days: u32,
    /// Days a call queue's reported samples (its time series) are kept.
    pub queue_stats_days: u32,
    /// Hours between two scheduled purges (a `retention.purge` job queued by housekeeping);
    /// 0 purges only on demand (`POST /v1/retention/purge`).
    pub purge_every_h: u32,
    /// Rows one statement of the purge removes at most, so no purge holds long locks.
    pub batch: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            audit_days: 2555,
            jobs_days: 30,
            cdrs_days: 365,
            sms_days: 365,
            voicemail_days: 90,
            files_days: 365,
            queue_stats_days: 30,
            purge_every_h: 24,
            batch: 1000,
        }
    }
}

impl RetentionConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (key, days) in [
            ("retention.audit_days", self.audit_days),
            ("retention.jobs_days", self.jobs_days),
            ("retention.cdrs_days", self.cdrs_days),
            ("retention.sms_days", self.sms_days),
            ("retention.voicemail_days", self.voicemail_days),
            ("retention.files_days", self.files_days),
            ("retention.queue_stats_days", self.queue_stats_days),
        ] {
            positive(key, days.into())?;
        }
        positive("retention.batch", self.batch.into())
    }
}
