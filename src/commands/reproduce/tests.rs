//! Tests of `bayesrg reproduce`'s stage runner.
use super::*;
use crate::commands::Check;

fn good(ctx: &StageCtx) -> Result<Vec<Summary>> {
    std::fs::write(ctx.dir.join("a.csv"), "x,y\n1,2\n")?;
    crate::plot::line_chart(
        &ctx.dir.join("a.png"),
        &crate::plot::Axes::default(),
        &[crate::plot::Series::line("s", vec![(0.0, 1.0), (1.0, 2.0)])],
    )?;
    Ok(vec![Summary::new(
        "good",
        None,
        vec![Check::at_most("c", 1.0, 2.0, "o")],
        serde_json::Value::Null,
    )])
}
fn bad(_: &StageCtx) -> Result<Vec<Summary>> {
    anyhow::bail!("this stage breaks")
}
fn panicky(_: &StageCtx) -> Result<Vec<Summary>> {
    panic!("boom")
}

const GOOD: Stage = Stage {
    name: "good",
    title: "g",
    description: "d",
    run: good,
};
const BAD: Stage = Stage {
    name: "bad",
    title: "b",
    description: "d",
    run: bad,
};
const PANICKY: Stage = Stage {
    name: "panicky",
    title: "p",
    description: "d",
    run: panicky,
};

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("brg-repro-{name}-{}", std::process::id()))
}

#[test]
fn failing_stages_do_not_stop_the_others() {
    let out = tmp("mix");
    let opts = Options {
        out: out.clone(),
        quick: true,
        only: vec![],
        quiet: true,
    };
    let (reps, dir) = run_stages(&[BAD, PANICKY, GOOD], &opts).unwrap();
    assert_eq!(reps.len(), 3);
    assert!(!reps[0].pass() && !reps[1].pass() && reps[2].pass());
    assert!(reps[1].error.as_deref().unwrap().contains("boom"));
    assert_eq!(reps[2].figures, vec!["good/a.png".to_string()]);
    assert_eq!(
        reps[2].files,
        vec!["good/a.csv".to_string(), "good/a.svg".to_string()]
    );
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("<img alt=\"good/a.png\" src=\"good/a.png\">"));
    assert!(html.contains("this stage breaks"));
    let js: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(js["pass"], false);
    assert_eq!(js["stages"].as_array().unwrap().len(), 3);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn unknown_stage_is_an_error_naming_the_stages() {
    let opts = Options {
        out: tmp("unknown"),
        quick: true,
        only: vec!["nope".into()],
        quiet: true,
    };
    let e = run_stages(&[GOOD], &opts).unwrap_err().to_string();
    assert!(e.contains("nope") && e.contains("good"), "{e}");
    assert!(!opts.out.exists());
}
