//! Result folders written atomically: nothing half-written is left behind.
//!
//! An [`OutDir`] writes into a hidden staging folder beside the target; only
//! [`OutDir::commit`] moves it into place (replacing an older result). If the
//! run fails or panics first, the staging folder is removed on drop and the
//! target is untouched.

use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A result folder under construction.
#[derive(Debug)]
pub struct OutDir {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

impl OutDir {
    /// Starts a result folder that will become `target` on [`OutDir::commit`].
    pub fn create(target: &Path) -> Result<Self> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create folder `{}`", parent.display()))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        // If a plugin kills this (supervised) process, the parent removes it.
        crate::plugins::supervisor::note_staging(&staging);
        if staging.exists() {
            std::fs::remove_dir_all(&staging).ok();
        }
        std::fs::create_dir_all(&staging)
            .with_context(|| format!("cannot create folder `{}`", staging.display()))?;
        Ok(OutDir {
            target: target.to_path_buf(),
            staging,
            committed: false,
        })
    }

    /// The path of `name` inside the staging folder (write files here).
    pub fn path(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }

    /// Writes `value` as pretty JSON to `name`.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        self.write_text(name, &text)
    }

    /// Writes text to `name`.
    pub fn write_text(&self, name: &str, text: &str) -> Result<()> {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, text).with_context(|| format!("cannot write `{}`", p.display()))
    }

    /// Moves the finished folder into place, replacing an older one.
    pub fn commit(mut self) -> Result<PathBuf> {
        if self.target.exists() {
            std::fs::remove_dir_all(&self.target)
                .with_context(|| format!("cannot replace `{}`", self.target.display()))?;
        }
        std::fs::rename(&self.staging, &self.target)
            .with_context(|| format!("cannot move results into `{}`", self.target.display()))?;
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.committed {
            std::fs::remove_dir_all(&self.staging).ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_left_without_commit() {
        let base = std::env::temp_dir().join(format!("brg-out-{}", std::process::id()));
        let target = base.join("res");
        {
            let o = OutDir::create(&target).unwrap();
            o.write_text("a.txt", "x").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(&base).unwrap().count(), 0);
        let o = OutDir::create(&target).unwrap();
        o.write_text("a.txt", "y").unwrap();
        o.commit().unwrap();
        assert_eq!(std::fs::read_to_string(target.join("a.txt")).unwrap(), "y");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
