//! The provisioning server's memory: per device (keyed by MAC) its row with lines, decrypted
//! provisioning and line passwords, effective template variables and its organization's IP
//! allow-list, plus the files already rendered for it; and which MACs a provisioning user name
//! names. A fetch served from here touches no database.
//!
//! Freshness: the services that change devices, provisioning settings, orgips, client access
//! or the tree publish a change after their transaction commits (`system::changes`), on this
//! instance at once and on the others through the revision table; [`Cache::apply`] drops what
//! it touches (the named MACs, or everything). A load that raced an invalidation is not kept
//! (epoch check), and nothing is kept longer than [`MAX_AGE`] in any case (a write made behind
//! dialtone's back, in SQL, is seen by then).

use crate::db::Db;
use crate::devices::model::{Device, DeviceStatus, Variables};
use crate::devices::store;
use crate::error::Result;
use crate::system::changes::Change;
use crate::system::secrets::Secrets;
use crate::types::Mac;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Longest an entry is trusted even if no change was noticed.
pub const MAX_AGE: Duration = Duration::from_secs(3600);
/// User names remembered (also those naming no device) before the map is cleared, so a scanner
/// cycling names cannot grow it without bound.
const MAX_USERNAMES: usize = 200_000;

/// A file rendered for a device with the templates of `generation`.
#[derive(Debug)]
pub struct RenderedFile {
    pub generation: u64,
    pub body: Bytes,
    pub content_type: String,
}

/// Everything a fetch needs about one device.
pub struct Entry {
    pub device: Device,
    pub mac: Mac,
    current_password: String,
    previous_password: Option<(String, DateTime<Utc>)>,
    /// SIP passwords of the lines in clear, in position order.
    pub line_passwords: Vec<String>,
    /// `devices::settings::effective_variables` of the device.
    pub variables: Variables,
    /// Where fetches must come from, if its organization restricts to its orgips.
    networks: Option<Vec<IpNet>>,
    rendered: Mutex<HashMap<String, Arc<RenderedFile>>>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("mac", &self.mac)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// The provisioning passwords accepted at `now`: current, then previous within its grace.
    pub fn passwords(&self, now: DateTime<Utc>) -> impl Iterator<Item = &str> {
        std::iter::once(self.current_password.as_str()).chain(
            self.previous_password
                .as_ref()
                .filter(|(_, until)| now < *until)
                .map(|(p, _)| p.as_str()),
        )
    }

    /// Whether a fetch from `ip` is allowed by the organization's orgips restriction.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match &self.networks {
            None => true,
            Some(nets) => nets.iter().any(|net| net.contains(&ip)),
        }
    }

    pub fn is_active(&self) -> bool {
        self.device.status == DeviceStatus::Active
    }

    /// The file `name` as rendered with templates of `generation`, if it was.
    pub fn rendered(&self, name: &str, generation: u64) -> Option<Arc<RenderedFile>> {
        let files = self.rendered.lock().unwrap_or_else(|p| p.into_inner());
        files
            .get(name)
            .filter(|f| f.generation == generation)
            .cloned()
    }

    pub fn keep_rendered(&self, name: &str, file: Arc<RenderedFile>) {
        let mut files = self.rendered.lock().unwrap_or_else(|p| p.into_inner());
        files.insert(name.to_string(), file);
    }
}

struct Maps {
    devices: HashMap<Mac, (Instant, Arc<Entry>)>,
    usernames: HashMap<String, (Instant, Vec<Mac>)>,
}

pub struct Cache {
    maps: RwLock<Maps>,
    epoch: AtomicU64,
}

impl Default for Cache {
    fn default() -> Self {
        Self::new()
    }
}

impl Cache {
    pub fn new() -> Self {
        Self {
            maps: RwLock::new(Maps {
                devices: HashMap::new(),
                usernames: HashMap::new(),
            }),
            epoch: AtomicU64::new(0),
        }
    }

    /// Forgets what `change` may have made stale: the devices it names (and user names naming
    /// them, or naming no device), or everything for changes reaching many devices (settings,
    /// orgips, client access, the tree). Returns whether it dropped anything.
    pub fn apply(&self, change: &Change) -> bool {
        match change {
            Change::Device(device) if !device.macs.is_empty() => {
                for mac in &device.macs {
                    self.invalidate(mac);
                }
            }
            Change::Device(_)
            | Change::OrgAccess(_)
            | Change::Organization(_)
            | Change::Everything => self.invalidate_all(),
            Change::Trunk(_) | Change::Policy(_) | Change::Templates(_) => return false,
        }
        true
    }

    /// Forgets device `mac` (stored under its old or new MAC) and the user names remembered
    /// as naming it or naming no device.
    pub fn invalidate(&self, mac: &Mac) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let mut maps = self.maps.write().unwrap_or_else(|p| p.into_inner());
        maps.devices.remove(mac);
        maps.usernames
            .retain(|_, (_, macs)| !macs.is_empty() && !macs.contains(mac));
    }

    /// Forgets everything (settings, orgips and client-access changes reach many devices).
    pub fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let mut maps = self.maps.write().unwrap_or_else(|p| p.into_inner());
        maps.devices.clear();
        maps.usernames.clear();
    }

    /// Entries of the devices whose provisioning user name is `username` (usually one, none
    /// for an unknown name), loading them if they are not here.
    pub async fn by_username(
        &self,
        db: &Db,
        secrets: &Secrets,
        username: &str,
        now: Instant,
    ) -> Result<Vec<Arc<Entry>>> {
        if let Some(found) = self.cached(username, now) {
            metrics::counter!("provisioning_cache_total", "result" => "hit").increment(1);
            return Ok(found);
        }
        metrics::counter!("provisioning_cache_total", "result" => "miss").increment(1);
        let epoch = self.epoch.load(Ordering::SeqCst);
        let devices = store::by_provisioning_username(db, username).await?;
        let mut entries = Vec::with_capacity(devices.len());
        for device in devices {
            entries.push(Arc::new(load(db, secrets, device).await?));
        }
        let mut maps = self.maps.write().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(Ordering::SeqCst) == epoch {
            if maps.usernames.len() >= MAX_USERNAMES {
                maps.usernames.clear();
            }
            let macs = entries.iter().map(|e| e.mac).collect();
            maps.usernames.insert(username.to_string(), (now, macs));
            for entry in &entries {
                maps.devices.insert(entry.mac, (now, entry.clone()));
            }
        }
        Ok(entries)
    }

    fn cached(&self, username: &str, now: Instant) -> Option<Vec<Arc<Entry>>> {
        let maps = self.maps.read().unwrap_or_else(|p| p.into_inner());
        let fresh = |at: &Instant| now.saturating_duration_since(*at) < MAX_AGE;
        let (_, macs) = maps.usernames.get(username).filter(|(at, _)| fresh(at))?;
        macs.iter()
            .map(|mac| {
                maps.devices
                    .get(mac)
                    .filter(|(at, _)| fresh(at))
                    .map(|(_, e)| e.clone())
            })
            .collect()
    }
}

/// Builds a device's entry: passwords decrypted, variables merged, allow-list read.
async fn load(db: &Db, secrets: &Secrets, device: Device) -> Result<Entry> {
    let mac = device.mac;
    // Every password the device may still use, with the previous one's end of grace.
    let far_past = DateTime::<Utc>::MIN_UTC;
    let mut passwords =
        crate::devices::credentials::accepted_passwords(secrets, &device, far_past)?.into_iter();
    let current_password = passwords.next().ok_or_else(|| {
        crate::error::Error::Internal(format!("device {}: no provisioning password", device.id))
    })?;
    let previous_password = passwords.next().zip(device.previous_password_valid_until);
    let line_passwords = crate::devices::credentials::line_passwords(secrets, &device)?;
    let variables = crate::devices::settings::effective_variables(db, &device).await?;
    let networks = crate::orgs::restricted_networks(db, device.organization_id).await?;
    Ok(Entry {
        device,
        mac,
        current_password,
        previous_password,
        line_passwords,
        variables,
        networks,
        rendered: Mutex::new(HashMap::new()),
    })
}
