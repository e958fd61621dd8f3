//! `[secrets]`: the key file that encrypts recoverable secrets.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// File holding the 32-byte key that encrypts recoverable secrets (SIP line and
    /// provisioning passwords). Empty means `secrets.key` in the state directory, created with
    /// mode 0600 on first start. Instances sharing one PostgreSQL must share this file.
    pub key_file: PathBuf,
}
