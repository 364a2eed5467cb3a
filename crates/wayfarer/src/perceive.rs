//! `wayfarer perceive URL [--json] [--full-page] [--all-elements]`: loads a URL in a fresh
//! context of a locally launched Chromium and prints the page state exactly
//! as a planner receives it, with its token count.
//!
//! Used by the perception benchmark (`bench/perception/`) and by people
//! debugging what the agent sees. Tokens are counted with OpenAI's
//! `o200k_base` encoding from `tiktoken-rs`, which bundles its BPE ranks in
//! the crate (no download at run time).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use std::sync::Arc;
use wayfarer_browser::{
    BrowserConfig, BrowserPool, GuardSettings, PageState, PerceiveOptions, SystemResolver,
};

/// Command-line arguments of `wayfarer perceive`.
#[derive(clap::Args, Debug, Clone)]
pub struct PerceiveArgs {
    /// The page to load.
    pub url: String,
    /// Print `{"url","title","text","tokens","elements":[…]}` instead of the text.
    #[arg(long)]
    pub json: bool,
    /// Also describe informative content outside the viewport (the text
    /// digest covers the whole page).
    #[arg(long)]
    pub full_page: bool,
    /// List every actionable element one by one; by default those farther
    /// than 1000 px from the viewport are summarised (counts and headings).
    /// `elements` in `--json` always holds every element.
    #[arg(long)]
    pub all_elements: bool,
    /// Navigation timeout, e.g. `30s`.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Viewport as WIDTHxHEIGHT in CSS pixels.
    #[arg(long, default_value = "1024x600", value_parser = parse_viewport)]
    pub viewport: (u32, u32),
    /// Chromium binary (default: `$WAYFARER_CHROMIUM`, then `chromium` on PATH).
    #[arg(long, env = "WAYFARER_CHROMIUM")]
    pub chromium: Option<PathBuf>,
}

/// Why `perceive` failed.
#[derive(Debug, thiserror::Error)]
pub enum PerceiveError {
    /// Chromium could not be started or driven.
    #[error("browser: {0}")]
    Browser(#[from] wayfarer_browser::BrowserError),
    /// Anything else (temp dir, tokenizer, JSON).
    #[error("{0}")]
    Other(String),
}

fn parse_viewport(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WIDTHxHEIGHT, got '{s}'"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (100..=10_000).contains(n))
            .ok_or_else(|| format!("viewport sizes must be 100–10000 pixels, got '{s}'"))
    };
    Ok((parse(w)?, parse(h)?))
}

/// Number of `o200k_base` tokens in `text`.
pub fn count_tokens(text: &str) -> usize {
    tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len()
}

/// What `perceive` prints: the planner's text, or the JSON document.
pub fn render(state: &PageState, as_json: bool) -> Result<String, PerceiveError> {
    let text = state.to_prompt_text();
    let tokens = count_tokens(&text);
    if !as_json {
        return Ok(text);
    }
    let doc = json!({
        "url": state.url,
        "title": state.title,
        "text": text,
        "tokens": tokens,
        "elements": state.elements,
    });
    serde_json::to_string(&doc)
        .map(|s| s + "\n")
        .map_err(|e| PerceiveError::Other(format!("json: {e}")))
}

/// Loads `args.url` in a fresh context of a fresh local Chromium and
/// returns the page state; the browser is shut down before returning.
pub async fn perceive(args: &PerceiveArgs) -> Result<PageState, PerceiveError> {
    let profiles =
        tempfile::tempdir().map_err(|e| PerceiveError::Other(format!("temp dir: {e}")))?;
    let pool = BrowserPool::launch(BrowserConfig {
        executable: args.chromium.clone(),
        browsers: 1,
        contexts_per_browser: 1,
        profile_root: profiles.path().to_path_buf(),
        viewport: args.viewport,
        // One observation: a pre-warmed spare would be wasted work.
        prewarm: 0,
        // The same guard as the server's: link-local and metadata addresses are refused, and
        // an unreachable site is an error rather than the guard's error page.
        network_guard: Some(GuardSettings {
            block_private: false,
            resolver: Arc::new(SystemResolver),
        }),
        ..BrowserConfig::default()
    })
    .await?;
    let result = async {
        let ctx = pool.new_context().await?;
        let state = async {
            ctx.navigate(&args.url, args.timeout).await?;
            ctx.page_state_with(PerceiveOptions {
                full_page: args.full_page,
                all_elements: args.all_elements,
            })
            .await
        }
        .await;
        ctx.close().await;
        state
    }
    .await;
    pool.shutdown().await;
    Ok(result?)
}

/// Runs the command: what to print on stdout, and the token count line for
/// stderr (text mode only, so stdout stays byte-for-byte the planner input).
pub async fn run(args: &PerceiveArgs) -> Result<(String, Option<String>), PerceiveError> {
    let state = perceive(args).await?;
    let out = render(&state, args.json)?;
    let note = (!args.json).then(|| {
        format!(
            "{} tokens (o200k_base), {} elements, {} iframes",
            count_tokens(&out),
            state.elements.len(),
            state.frames.len()
        )
    });
    Ok((out, note))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wayfarer_browser::{Element, ElementId};

    #[test]
    fn json_text_is_the_prompt_and_tokens_count_it() {
        let state = PageState {
            url: "http://127.0.0.1/".into(),
            title: "T".into(),
            elements: vec![Element::new(ElementId(1), "button", "Go")],
            ..PageState::default()
        };
        let out = render(&state, true).expect("json");
        let v: serde_json::Value = serde_json::from_str(&out).expect("parse");
        assert_eq!(v["text"], state.to_prompt_text());
        assert_eq!(v["tokens"], count_tokens(&state.to_prompt_text()));
        assert_eq!(v["elements"][0]["role"], "button");
        assert_eq!(render(&state, false).expect("text"), state.to_prompt_text());
    }

    #[test]
    fn o200k_counts_known_strings() {
        // "hello world" is two tokens in o200k_base.
        assert_eq!(count_tokens("hello world"), 2);
        assert_eq!(count_tokens(""), 0);
    }

    #[test]
    fn viewport_parses_and_bounds() {
        assert_eq!(parse_viewport("1280x720"), Ok((1280, 720)));
        assert!(parse_viewport("1280").is_err());
        assert!(parse_viewport("5x5").is_err());
    }
}
