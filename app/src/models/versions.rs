//! The model versions a service can route to: the configured model (built
//! in, or `CREDIT_DECISIONS_MODEL`) and every valid model of
//! `CREDIT_DECISIONS_MODELS_DIR`, and the files of that directory it refused.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use domain::{ModelInfo, Scorer};
use onnx_scorer::{Refused, load_directory};
use serde::Serialize;

/// The most models one directory may hold: each is kept in memory.
pub const MOST_VERSIONS: usize = 64;

/// Where a version was loaded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The model built into the binary.
    BuiltIn,
    /// `CREDIT_DECISIONS_MODEL`.
    File,
    /// `CREDIT_DECISIONS_MODELS_DIR`.
    Directory,
}

/// A version ready to decide.
#[derive(Clone)]
pub struct Version {
    pub scorer: Arc<dyn Scorer>,
    pub origin: Origin,
}

impl Version {
    pub fn model(&self) -> &ModelInfo {
        self.scorer.model()
    }

    /// The SHA-256 of the ONNX file, as the card states it (checked at load).
    fn digest(&self) -> Option<&str> {
        self.model().card["model"]["sha256"].as_str()
    }
}

/// Every available version by its id, and the refused files.
#[derive(Clone)]
pub struct Versions {
    available: BTreeMap<String, Version>,
    refused: Vec<Refused>,
}

impl Versions {
    /// The configured model alone.
    pub fn configured(version: Version) -> Self {
        let mut available = BTreeMap::new();
        available.insert(version.model().version.clone(), version);
        Self {
            available,
            refused: Vec::new(),
        }
    }

    /// The configured model and every model of `dir` that loads and passes
    /// the start-up checks, each wrapped by `wrap` (the metrics). A file
    /// that fails is refused with its error; so is a second model claiming
    /// a version already taken by a different model. The same model twice
    /// (the configured one copied into the directory) is one version.
    /// Blocking: it reads and optimises every model.
    pub fn scan(
        configured: Version,
        dir: &Path,
        wrap: &dyn Fn(Arc<dyn Scorer>) -> Arc<dyn Scorer>,
    ) -> Self {
        let mut versions = Self::configured(configured);
        let (loaded, refused) = load_directory(dir, MOST_VERSIONS);
        versions.refused = refused;
        for (file, scorer) in loaded {
            let candidate = Version {
                scorer: wrap(Arc::new(scorer)),
                origin: Origin::Directory,
            };
            let id = candidate.model().version.clone();
            match versions.available.get(&id) {
                None => {
                    versions.available.insert(id, candidate);
                }
                Some(taken) if taken.digest() == candidate.digest() => {}
                Some(_) => versions.refused.push(Refused {
                    file,
                    error: format!(
                        "its card names version {id}, which another model already is; a version \
                         names one model"
                    ),
                }),
            }
        }
        versions
    }

    /// These versions, and those of `routed` that a scan no longer found:
    /// a version in use stays until the routing leaves it.
    pub fn keeping(mut self, in_use: &Versions, routed: &[&str]) -> Self {
        for id in routed {
            if !self.available.contains_key(*id)
                && let Some(version) = in_use.available.get(*id)
            {
                self.available.insert((*id).to_owned(), version.clone());
            }
        }
        self
    }

    pub fn get(&self, id: &str) -> Option<&Version> {
        self.available.get(id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.available.contains_key(id)
    }

    /// In the order of their ids.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Version)> {
        self.available.iter()
    }

    pub fn refused(&self) -> &[Refused] {
        &self.refused
    }
}
