//! The template folders shipped inside the binary, so an installed daemon needs no files.
//! Keep this table in step with `provisioning-templates/` (a test checks it).

macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/provisioning-templates/", $name)))),*]
    };
}

/// `(vendor/file, text)` of every shipped file.
pub const SHIPPED: &[(&str, &str)] = shipped![
    "yealink/manifest.toml",
    "yealink/common.cfg.j2",
    "yealink/device.cfg.j2",
    "polycom/manifest.toml",
    "polycom/master.cfg.j2",
    "polycom/phone.cfg.j2",
    "grandstream/manifest.toml",
    "grandstream/common.xml.j2",
    "grandstream/device.xml.j2",
    "cisco/manifest.toml",
    "cisco/common.xml.j2",
    "cisco/device.xml.j2",
    "snom/manifest.toml",
    "snom/common.xml.j2",
    "snom/device.xml.j2",
    "fanvil/manifest.toml",
    "fanvil/common.xml.j2",
    "fanvil/device.xml.j2",
];
