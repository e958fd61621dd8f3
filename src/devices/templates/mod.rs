//! Phone provisioning templates: the vendor folders shipped in the binary
//! (`provisioning-templates/<vendor>/`), overlaid per file by the operator's
//! `provisioning.templates_dir`, compiled once into a [`Catalog`] and swapped atomically when
//! they change (polled, on SIGHUP, or when another instance reloaded its own: see
//! [`Templates::watch`]). A broken template is reported (file and line) and the previous
//! catalog stays in force.
//!
//! The interface the provisioning server and NOTIFY use:
//!
//! ```text
//! let catalog = state.templates.current();              // Arc<Catalog>, lock-free
//! let file = catalog.resolve(Vendor::Yealink, "0015651234AB.cfg")?;  // FileRequest, None = 404
//! // file.mac: Some(mac) for per-device files, None for common ones
//! let passwords = devices::credentials::line_passwords(&state.secrets, &device)?;
//! let ctx = RenderContext {
//!     device: &device,
//!     lines: RenderContext::lines_of(&device, &passwords),
//!     variables: &devices::settings::effective_variables(&state.db, &device).await?,
//!     provisioning_url: "http://prov.example:8081",
//! };
//! let Rendered { body, content_type } = catalog.render(&file, &ctx)?;
//! let event = catalog.notify_event(Vendor::Yealink, NotifyAction::Reboot); // SIP Event header
//! catalog.generation();                                  // bumps on every successful reload
//! ```
//!
//! Templates see `device` (`id mac mac_upper mac_colon vendor model provisioning_username`),
//! `lines` (`number position username auth_user password display_name registrar registrar_host
//! registrar_port proxy proxy_host proxy_port transport`), `vars` (organization settings and
//! device variables merged: `timezone ntp_server language firmware_url registrar
//! outbound_proxy` and custom ones), `tz` (`name offset_s offset_h gmt dst`, when `timezone` is
//! set), `provisioning_url` and `file` (`name mac`). Every printed value is escaped for the
//! file's format (see `escape`).

mod catalog;
mod context;
mod escape;
mod manifest;
mod report;
mod shipped;
mod sources;
#[cfg(test)]
mod tests;

pub use catalog::Catalog;
pub use context::{RenderContext, RenderLine};
pub use manifest::Format;
pub use report::reload_outcome;

use crate::config::ProvisioningConfig;
use crate::system::changes::{Change, Changes, TemplatesChanged};
use crate::types::{Mac, Vendor};
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What a NOTIFY asks a phone to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyAction {
    /// Fetch the configuration again (and apply it without rebooting where the phone can).
    Resync,
    Reboot,
}

/// A file a phone asked for, resolved to a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRequest {
    pub vendor: Vendor,
    /// `vendor/template-file`, the catalog's name for it.
    pub template: String,
    /// The device the file name names (per-device files); None for common files.
    pub mac: Option<Mac>,
    /// The name as requested.
    pub file_name: String,
}

/// A rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub body: String,
    pub content_type: String,
}

/// The live template catalog: cheap to clone, lock-free to read.
#[derive(Clone)]
pub struct Templates {
    inner: Arc<Inner>,
}

struct Inner {
    /// The operator's override folder, if configured.
    dir: Option<PathBuf>,
    current: ArcSwap<Catalog>,
    generations: AtomicU64,
    /// Serializes reloads (poll and SIGHUP may coincide) and holds the override folder's last
    /// seen state.
    seen: Mutex<sources::Fingerprint>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("dir", &self.inner.dir)
            .field("generation", &self.current().generation())
            .finish()
    }
}

impl Templates {
    /// The shipped templates overlaid by `config.templates_dir` (if set). The error names the
    /// file (and line) at fault.
    pub fn load(config: &ProvisioningConfig) -> Result<Templates, String> {
        let dir =
            (!config.templates_dir.as_os_str().is_empty()).then(|| config.templates_dir.clone());
        let fingerprint = sources::fingerprint(dir.as_deref());
        let sources = sources::collect(dir.as_deref())?;
        let catalog = Catalog::build(&sources, 1)?;
        Ok(Templates {
            inner: Arc::new(Inner {
                dir,
                current: ArcSwap::from_pointee(catalog),
                generations: AtomicU64::new(1),
                seen: Mutex::new(fingerprint),
            }),
        })
    }

    /// The shipped templates only.
    pub fn shipped() -> Result<Templates, String> {
        Self::load(&ProvisioningConfig::default())
    }

    /// Re-reads the override folder and recompiles; on error the previous catalog stays.
    pub fn reload(&self) -> Result<(), String> {
        let mut seen = self.inner.seen.lock().unwrap_or_else(|e| e.into_inner());
        *seen = sources::fingerprint(self.inner.dir.as_deref());
        let result = sources::collect(self.inner.dir.as_deref()).and_then(|sources| {
            let next = self.inner.generations.load(Ordering::SeqCst) + 1;
            Catalog::build(&sources, next)
        });
        match result {
            Ok(catalog) => {
                self.inner
                    .generations
                    .store(catalog.generation(), Ordering::SeqCst);
                self.inner.current.store(Arc::new(catalog));
                metrics::counter!("provisioning_template_reloads_total", "result" => "ok")
                    .increment(1);
                Ok(())
            }
            Err(e) => {
                metrics::counter!("provisioning_template_reloads_total", "result" => "error")
                    .increment(1);
                Err(e)
            }
        }
    }

    /// Reloads when the override folder changed since the last (re)load; `None` if it did not.
    pub fn reload_if_changed(&self) -> Option<Result<(), String>> {
        let now = sources::fingerprint(self.inner.dir.as_deref());
        let changed = *self.inner.seen.lock().unwrap_or_else(|e| e.into_inner()) != now;
        changed.then(|| self.reload())
    }

    /// The catalog in force.
    pub fn current(&self) -> Arc<Catalog> {
        self.inner.current.load_full()
    }

    /// The override folder, if any.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.inner.dir.as_deref()
    }

    /// Until `shutdown`: polls the override folder every `every` (zero: never) and reloads
    /// when it changed, publishing `TemplatesChanged`; and when another instance publishes
    /// one, looks at this host's folder again. Templates are files on each host, so another
    /// instance's reload cannot carry them here; but operators deploy a template change to
    /// every host (or share the folder), and the first instance to notice tells the others to
    /// look now instead of at their next poll. A look that finds the folder unchanged does
    /// nothing (so this instance's own publish, heard back, costs one fingerprint).
    /// `on_reload` hears each reload's outcome (on failure the previous catalog stays).
    pub async fn watch(
        self,
        every: Duration,
        changes: Changes,
        shutdown: CancellationToken,
        on_reload: impl Fn(Result<(), String>) + Send + 'static,
    ) {
        if self.inner.dir.is_none() {
            return;
        }
        let mut feed = changes.subscribe();
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let polled = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick(), if !every.is_zero() => true,
                change = feed.recv() => match change {
                    Change::Templates(_) | Change::Everything => false,
                    _ => continue,
                },
            };
            let this = self.clone();
            match tokio::task::spawn_blocking(move || this.reload_if_changed()).await {
                Ok(Some(outcome)) => {
                    let reloaded = outcome.is_ok();
                    on_reload(outcome);
                    if reloaded && polled {
                        changes.publish(TemplatesChanged).await;
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "template reload task failed"),
            }
        }
    }
}
