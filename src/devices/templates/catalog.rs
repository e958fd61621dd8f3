//! One parsed, checked set of templates (shipped ones overlaid per file by the operator's): the
//! vendors' manifests and a minijinja environment holding every template, compiled once. A
//! catalog is immutable; a reload builds a new one and swaps it in. Pure: sources come in as
//! text.

use super::context::{self, RenderContext};
use super::escape;
use super::manifest::{Format, Manifest};
use super::{FileRequest, NotifyAction, Rendered};
use crate::devices::{Device, Line, Variables};
use crate::error::Error;
use crate::types::Vendor;
use crate::types::vendor::VENDORS;
use minijinja::{Environment, UndefinedBehavior};
use std::collections::{BTreeMap, HashMap};

/// Name of the manifest in each vendor folder.
pub const MANIFEST: &str = "manifest.toml";

/// The text of one file of a template folder and where it came from (for error messages).
#[derive(Debug, Clone)]
pub struct Source {
    pub text: String,
    /// `shipped yealink/device.cfg.j2` or the override file's path.
    pub origin: String,
}

/// Template files by `vendor/file` name.
pub type Sources = BTreeMap<String, Source>;

/// A compiled set of templates.
pub struct Catalog {
    env: Environment<'static>,
    manifests: HashMap<Vendor, Manifest>,
    generation: u64,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// Parses every manifest and template and renders each file once with a sample device, so
    /// a broken template is reported now (naming its file and line), not when a phone asks.
    pub fn build(sources: &Sources, generation: u64) -> Result<Self, String> {
        let mut manifests = HashMap::new();
        let mut formats: HashMap<String, Format> = HashMap::new();
        for vendor_name in VENDORS {
            let vendor = Vendor::parse(vendor_name)
                .ok_or_else(|| format!("unknown vendor {vendor_name}"))?;
            let key = format!("{vendor_name}/{MANIFEST}");
            let source = sources
                .get(&key)
                .ok_or_else(|| format!("{key}: missing (every vendor folder needs one)"))?;
            let manifest =
                Manifest::parse(&source.text).map_err(|e| format!("{}: {e}", source.origin))?;
            for name in sources.keys() {
                if let Some(file) = name.strip_prefix(&format!("{vendor_name}/"))
                    && file != MANIFEST
                {
                    formats.insert(name.clone(), manifest.format);
                }
            }
            for entry in &manifest.files {
                let name = format!("{vendor_name}/{}", entry.template);
                if !sources.contains_key(&name) {
                    return Err(format!(
                        "{}: file {:?} names template {:?}, which does not exist",
                        source.origin,
                        entry.pattern.as_str(),
                        entry.template
                    ));
                }
                formats.insert(name, entry.format);
            }
            manifests.insert(vendor, manifest);
        }
        let mut env = Environment::new();
        env.set_keep_trailing_newline(true);
        // A variable one organization does not set prints as nothing, even nested
        // (`vars.brand.name`), rather than failing the phone's request.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_formatter(escape::formatter);
        env.set_auto_escape_callback(move |name| {
            escape::auto_escape(formats.get(name).copied().unwrap_or(Format::Xml))
        });
        // Guards against a runaway loop in an operator's template.
        env.set_fuel(Some(2_000_000));
        for (name, source) in sources {
            if name.ends_with(&format!("/{MANIFEST}")) {
                continue;
            }
            env.add_template_owned(name.clone(), source.text.clone())
                .map_err(|e| describe(&source.origin, &e))?;
        }
        let catalog = Self {
            env,
            manifests,
            generation,
        };
        catalog.check(sources)?;
        Ok(catalog)
    }

    /// Renders every file of every vendor with a sample device.
    fn check(&self, sources: &Sources) -> Result<(), String> {
        let device = sample_device();
        let variables = sample_variables();
        let passwords = vec!["sample-password".to_string(); device.lines.len()];
        let ctx = RenderContext {
            device: &device,
            lines: RenderContext::lines_of(&device, &passwords),
            variables: &variables,
            provisioning_url: "http://provisioning.invalid:8081",
        };
        for (vendor, manifest) in &self.manifests {
            for entry in &manifest.files {
                let template = format!("{}/{}", vendor.as_str(), entry.template);
                let file = FileRequest {
                    vendor: *vendor,
                    template: template.clone(),
                    mac: entry.pattern.is_per_device().then(sample_mac),
                    file_name: entry.pattern.as_str().to_string(),
                };
                let origin = sources
                    .get(&template)
                    .map_or(template.as_str(), |s| &s.origin);
                self.render_inner(&file, &ctx)
                    .map_err(|e| describe(origin, &e))?;
            }
        }
        Ok(())
    }

    /// The file `file_name` (last path segment as requested, any case) means for a phone of
    /// `vendor`: which template, and the MAC it names (per-device files) or None (common
    /// files). None when the vendor does not serve that name.
    pub fn resolve(&self, vendor: Vendor, file_name: &str) -> Option<FileRequest> {
        let manifest = self.manifests.get(&vendor)?;
        manifest.files.iter().find_map(|entry| {
            let matched = entry.pattern.matches(file_name)?;
            Some(FileRequest {
                vendor,
                template: format!("{}/{}", vendor.as_str(), entry.template),
                mac: matched.mac,
                file_name: file_name.to_string(),
            })
        })
    }

    /// Renders a resolved file for a device. A failure is an internal error (the template
    /// rendered at load, so it is a value the sample did not have).
    pub fn render(&self, file: &FileRequest, ctx: &RenderContext<'_>) -> Result<Rendered, Error> {
        let body = self
            .render_inner(file, ctx)
            .map_err(|e| Error::Internal(format!("template {}: {e:#}", file.template)))?;
        let content_type = self
            .entry(file)
            .map_or("text/plain; charset=utf-8", |e| e.content_type.as_str())
            .to_string();
        Ok(Rendered { body, content_type })
    }

    fn render_inner(
        &self,
        file: &FileRequest,
        ctx: &RenderContext<'_>,
    ) -> Result<String, minijinja::Error> {
        let template = self.env.get_template(&file.template)?;
        template.render(context::build(ctx, file))
    }

    /// The manifest entry `file` was resolved through (the one whose pattern matches the name
    /// and names its template), for its content type.
    fn entry(&self, file: &FileRequest) -> Option<&super::manifest::FileEntry> {
        let name = file.template.split_once('/')?.1;
        let files = &self.manifests.get(&file.vendor)?.files;
        files
            .iter()
            .find(|e| e.template == name && e.pattern.matches(&file.file_name).is_some())
            .or_else(|| files.iter().find(|e| e.template == name))
    }

    /// The SIP Event header value for a NOTIFY of this vendor (from its manifest).
    pub fn notify_event(&self, vendor: Vendor, action: NotifyAction) -> &str {
        match self.manifests.get(&vendor) {
            Some(m) => match action {
                NotifyAction::Resync => &m.notify_resync,
                NotifyAction::Reboot => &m.notify_reboot,
            },
            // Unreachable: `build` requires every vendor's manifest.
            None => "check-sync",
        }
    }

    /// Bumps on every successful (re)load; render caches key on it.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The file name patterns a vendor serves, in match order (for docs and diagnostics).
    pub fn patterns(&self, vendor: Vendor) -> Vec<&str> {
        self.manifests
            .get(&vendor)
            .map(|m| m.files.iter().map(|e| e.pattern.as_str()).collect())
            .unwrap_or_default()
    }
}

/// `origin line N: what` for a minijinja error.
fn describe(origin: &str, e: &minijinja::Error) -> String {
    let mut text = match e.line() {
        Some(line) => format!("{origin} line {line}: {}", e.kind()),
        None => format!("{origin}: {}", e.kind()),
    };
    if let Some(detail) = e.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    if let Some(name) = e.name()
        && !origin.ends_with(name)
    {
        text.push_str(&format!(" (in {name})"));
    }
    text
}

fn sample_mac() -> crate::types::Mac {
    crate::types::Mac::parse("0015651234ab").unwrap_or_else(|_| unreachable!())
}

/// The device every template is test-rendered with at load.
fn sample_device() -> Device {
    let epoch = chrono::DateTime::UNIX_EPOCH;
    let line = |position: i64| Line {
        position,
        username: format!("20{position}"),
        auth_user: format!("20{position}"),
        password: String::new(),
        display_name: format!("Sample {position}"),
        registrar: "pbx.invalid:5060".into(),
        proxy: None,
        transport: crate::devices::model::LineTransport::Udp,
    };
    Device {
        id: 0,
        organization_id: 0,
        organization_path: "/0/".into(),
        user_id: None,
        mac: sample_mac(),
        vendor: crate::types::Vendor::Yealink,
        model: "T54W".into(),
        variables: Variables::new(),
        contact: None,
        status: crate::devices::model::DeviceStatus::Active,
        provisioning_username: "0015651234ab".into(),
        provisioning_password: String::new(),
        previous_provisioning_password: None,
        previous_password_valid_until: None,
        last_provisioned_at: None,
        last_provisioned_ip: None,
        last_user_agent: None,
        firmware: None,
        created_at: epoch,
        updated_at: epoch,
        lines: vec![line(0), line(1)],
    }
}

fn sample_variables() -> Variables {
    [
        ("timezone", "Europe/Berlin"),
        ("ntp_server", "ntp.invalid"),
        ("language", "en"),
        ("firmware_url", "http://firmware.invalid/fw.rom"),
        ("registrar", "pbx.invalid"),
        ("outbound_proxy", "sip:proxy.invalid"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.into())))
    .collect()
}
