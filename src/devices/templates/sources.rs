//! Where template text comes from: the folders shipped in the binary, then the operator's
//! override folder (`<dir>/<vendor>/<file>`), which replaces shipped files of the same name
//! and may add new ones. Also the folder's fingerprint (names, sizes, modification times) the
//! poller compares to notice a change.

use super::catalog::{Source, Sources};
use super::shipped::SHIPPED;
use crate::types::vendor::VENDORS;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Largest template or manifest file read from the override folder.
const MAX_FILE_BYTES: u64 = 256 * 1024;

/// Every file of the override folder with its size and modification time, sorted.
pub type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// The shipped sources overlaid by `dir`'s.
pub fn collect(dir: Option<&Path>) -> Result<Sources, String> {
    let mut sources: Sources = SHIPPED
        .iter()
        .map(|(name, text)| {
            (
                name.to_string(),
                Source {
                    text: text.to_string(),
                    origin: format!("shipped {name}"),
                },
            )
        })
        .collect();
    if let Some(dir) = dir {
        for (name, path) in override_files(dir)? {
            let text = read_text(&path)?;
            sources.insert(
                name,
                Source {
                    text,
                    origin: path.display().to_string(),
                },
            );
        }
    }
    Ok(sources)
}

fn read_text(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{}: larger than {MAX_FILE_BYTES} bytes",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))
}

fn hidden(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~')
}

/// `(vendor/file, path)` for each file of the override folder. Vendor folders must be named
/// after a vendor; files at the top level (a README) are ignored.
fn override_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("provisioning.templates_dir {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if hidden(&name) || !path.is_dir() {
            continue;
        }
        if !VENDORS.contains(&name.as_str()) {
            return Err(format!(
                "{}: not a vendor folder (expected one of {})",
                path.display(),
                VENDORS.join(", ")
            ));
        }
        let inner = std::fs::read_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for file in inner {
            let file = file.map_err(|e| format!("{}: {e}", path.display()))?;
            let file_name = file.file_name().to_string_lossy().into_owned();
            if hidden(&file_name) || !file.path().is_file() {
                continue;
            }
            files.push((format!("{name}/{file_name}"), file.path()));
        }
    }
    files.sort();
    Ok(files)
}

/// The override folder's current state; empty when there is none or it cannot be read (the
/// reload then reports why).
pub fn fingerprint(dir: Option<&Path>) -> Fingerprint {
    let Some(dir) = dir else {
        return Vec::new();
    };
    let mut seen = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return seen;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(inner) = std::fs::read_dir(&path) else {
            continue;
        };
        for file in inner.flatten() {
            if let Ok(meta) = file.metadata() {
                seen.push((file.path(), meta.len(), meta.modified().ok()));
            }
        }
    }
    seen.sort();
    seen
}
