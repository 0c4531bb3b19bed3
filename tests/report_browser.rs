//! The reproduction report, opened in a real browser.
//!
//! Runs `bayesrg reproduce --quick`, then loads `index.html` in headless
//! Chromium (Debian's `chromium`, installed by `.ci/run`): the DOM after load
//! must show every figure decoded and one table row per check in
//! `summary.json`, and a screenshot must not be blank.
//!
//! Without a browser the test fails with instructions; set
//! `BAYESRG_SKIP_BROWSER=1` to skip it knowingly on a machine without one.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("BAYESRG_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

fn browser(exe: &Path, profile: &Path, extra: &[String], page: &Path) -> std::process::Output {
    let mut cmd = Command::new(exe);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--virtual-time-budget=15000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(format!("file://{}", page.display()));
    cmd.output().expect("chromium starts")
}

fn attr(dom: &str, name: &str) -> Option<usize> {
    let key = format!("{name}=\"");
    let i = dom.find(&key)? + key.len();
    let j = dom[i..].find('"')? + i;
    dom[i..j].parse().ok()
}

#[test]
fn report_renders_figures_and_checks_in_chromium() {
    let Some(exe) = chromium() else {
        if std::env::var_os("BAYESRG_SKIP_BROWSER").is_some() {
            eprintln!("skipped: no browser and BAYESRG_SKIP_BROWSER is set");
            return;
        }
        panic!(
            "no headless browser found: install Debian's `chromium` (apt-get install chromium), \
             point BAYESRG_CHROMIUM at one, or set BAYESRG_SKIP_BROWSER=1 to skip"
        );
    };
    let tmp = std::env::temp_dir().join(format!("brg-browser-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let out = tmp.join("report");
    let run = Command::new(env!("CARGO_BIN_EXE_bayesrg"))
        .args(["reproduce", "--quick", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let page = out.join("index.html");
    assert!(
        page.is_file(),
        "no report written; stderr: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let checks: usize = summary["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["summaries"].as_array().unwrap())
        .map(|s| s["checks"].as_array().unwrap().len())
        .sum();
    // Issue 17: the page stays small (figures are files beside it, not
    // embedded), and every figure is labelled (alt text and a caption).
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.len() < 3_000_000,
        "index.html is {} bytes; figures belong beside it",
        html.len()
    );
    let imgs = html.matches("<img ").count();
    assert_eq!(
        imgs,
        html.matches("<figcaption>").count(),
        "a figure without a caption"
    );
    assert_eq!(
        imgs,
        html.matches("<img alt=\"").count() - html.matches("<img alt=\"\"").count()
    );
    // Line charts and histograms have an SVG beside the PNG, linked from the page.
    assert!(
        html.contains(".svg\">SVG</a>"),
        "no SVG linked from the report"
    );
    let page = page.canonicalize().unwrap();

    let dom = browser(&exe, &tmp.join("p1"), &["--dump-dom".into()], &page);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let figures = attr(&dom, "data-figures").expect("the page's load script ran");
    let rendered = attr(&dom, "data-figures-rendered").unwrap();
    let rows = attr(&dom, "data-check-rows").unwrap();
    assert!(figures > 0, "the report has no figures");
    assert_eq!(rendered, figures, "some figures did not decode");
    assert_eq!(rows, checks, "one table row per check in summary.json");

    let shot = tmp.join("shot.png");
    browser(
        &exe,
        &tmp.join("p2"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600".into(),
        ],
        &page,
    );
    let decoder = png::Decoder::new(std::fs::File::open(&shot).expect("screenshot written"));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = &buf[..info.buffer_size()];
    let distinct: std::collections::HashSet<&[u8]> = px.chunks(3).collect();
    assert!(
        distinct.len() > 50,
        "screenshot looks blank ({} colours)",
        distinct.len()
    );
    std::fs::remove_dir_all(&tmp).ok();
}
