//! A models directory: every `NAME.onnx` with `NAME.card.json` beside it,
//! each loaded and checked as the start-up model is (card, features,
//! reasons, the age rule, the same size bounds). A file that fails is
//! refused with its reason and changes nothing else.

use std::path::{Path, PathBuf};

use crate::scorer::OnnxScorer;

/// A file of the directory that is not served, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The file's name in the directory.
    pub file: String,
    pub error: String,
}

/// Every model of `dir` that loads, by file name, in the order of their
/// names; and every `.onnx` file that does not, with its error. Past the
/// first `most` files the rest are refused unread.
pub fn load_directory(dir: &Path, most: usize) -> (Vec<(String, OnnxScorer)>, Vec<Refused>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            return (
                Vec::new(),
                vec![Refused {
                    file: dir.display().to_string(),
                    error: format!("the directory cannot be read: {error}"),
                }],
            );
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "onnx")
        })
        .collect();
    files.sort();
    let mut loaded = Vec::new();
    let mut refused = Vec::new();
    for (index, path) in files.iter().enumerate() {
        let file = path.file_name().map_or_else(
            || path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        if index >= most {
            refused.push(Refused {
                file,
                error: format!(
                    "the directory holds more than {most} models; the rest are not read"
                ),
            });
            continue;
        }
        match OnnxScorer::from_path(path) {
            Ok(scorer) => loaded.push((file, scorer)),
            Err(error) => refused.push(Refused {
                file,
                error: error.to_string(),
            }),
        }
    }
    (loaded, refused)
}
