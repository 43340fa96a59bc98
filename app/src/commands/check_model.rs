//! `credit-decisions check-model PATH.onnx`: every check the service makes
//! when it loads a model, one a line, before the model is dropped into the
//! models directory. Exit 0 when all pass, 1 at the first that fails (the
//! rest depend on it and are not run).

use std::path::Path;
use std::process::ExitCode;

use domain::Scorer;
use onnx_scorer::{CHECKS, OnnxScorer};

pub fn run(path: &Path) -> ExitCode {
    let mut passed = 0;
    let outcome = OnnxScorer::inspect(path, &mut |check| {
        println!("ok      {check}");
        passed += 1;
    });
    match outcome {
        Ok(scorer) => {
            let model = scorer.model();
            println!(
                "{}: version {}, threshold {}: every check passed",
                path.display(),
                model.version,
                model.threshold
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("FAILED  {}: {error}", CHECKS[passed]);
            for check in &CHECKS[passed + 1..] {
                println!("-       {check} (not checked)");
            }
            ExitCode::FAILURE
        }
    }
}
