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

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// A directory holding the repository's model under each of `names`,
    /// each with its card, and a file that is not a model.
    fn directory_of(names: &[&str]) -> tempfile::TempDir {
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../model");
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            std::fs::copy(
                model.join("credit-model.onnx"),
                dir.path().join(format!("{name}.onnx")),
            )
            .unwrap();
            std::fs::copy(
                model.join("credit-model.card.json"),
                dir.path().join(format!("{name}.card.json")),
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "not a model").unwrap();
        dir
    }

    fn names(loaded: &[(String, OnnxScorer)]) -> Vec<&str> {
        loaded.iter().map(|(file, _)| file.as_str()).collect()
    }

    #[test]
    fn every_model_loads_in_name_order_and_nothing_else_is_read() {
        let dir = directory_of(&["b", "a"]);
        let (loaded, refused) = load_directory(dir.path(), 8);
        assert_eq!(names(&loaded), ["a.onnx", "b.onnx"]);
        assert_eq!(refused, []);
    }

    #[test]
    fn past_the_bound_the_rest_are_refused_unread() {
        let dir = directory_of(&["a", "b", "c"]);
        let (loaded, refused) = load_directory(dir.path(), 2);
        assert_eq!(names(&loaded), ["a.onnx", "b.onnx"]);
        assert_eq!(
            refused,
            [Refused {
                file: "c.onnx".to_owned(),
                error: "the directory holds more than 2 models; the rest are not read".to_owned(),
            }]
        );
    }

    #[test]
    fn a_model_without_its_card_is_refused_and_the_others_load() {
        let dir = directory_of(&["a", "b"]);
        std::fs::remove_file(dir.path().join("a.card.json")).unwrap();
        let (loaded, refused) = load_directory(dir.path(), 8);
        assert_eq!(names(&loaded), ["b.onnx"]);
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].file, "a.onnx");
        assert!(
            refused[0].error.contains("a.card.json"),
            "{}",
            refused[0].error
        );
    }

    #[test]
    fn a_directory_that_cannot_be_read_is_one_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let (loaded, refused) = load_directory(&missing, 8);
        assert!(loaded.is_empty());
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].file, missing.display().to_string());
        assert!(
            refused[0]
                .error
                .starts_with("the directory cannot be read: "),
            "{}",
            refused[0].error
        );
    }
}
