//! Starting orchestratord from a configuration file or text, and its refusal to start.

use cucumber::gherkin::Step;
use cucumber::{then, when};

use super::world::{Orch, Setup};

#[when(expr = "orchestratord starts with the configuration file {string}")]
async fn start_file(w: &mut Orch, path: String) {
    let text = std::fs::read_to_string(::steps::workspace_root().join(&path))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    w.document();
    w.setup = Setup::Text(text);
    w.start().await;
}

#[when(expr = "orchestratord starts with the configuration:")]
async fn start_text(w: &mut Orch, step: &Step) {
    let text = step
        .docstring
        .clone()
        .unwrap_or_else(|| panic!("the step needs the configuration as a doc string"));
    w.document();
    w.setup = Setup::Text(text);
    w.start().await;
}

#[when(expr = "orchestratord starts")]
async fn start(w: &mut Orch) {
    w.start().await;
}

#[then(expr = "orchestratord refuses to start")]
fn refuses(w: &mut Orch) {
    assert!(w.server.is_none(), "orchestratord started");
    assert!(w.refusal.is_some(), "orchestratord was not started");
}

#[then(expr = "the refusal names {string}")]
fn names(w: &mut Orch, text: String) {
    let refusal = w.refusal.as_deref().unwrap_or_default();
    assert!(
        refusal.contains(&text),
        "{refusal:?} does not name {text:?}"
    );
}
