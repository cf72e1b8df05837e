//! The launch runbooks (`runbooks/*.md`), built into the binary so the desk always serves
//! the runbooks of its own version, and rendered to HTML for `/runbooks`.
//!
//! Rendering is pulldown-cmark's, with two guards instead of a general HTML sanitiser: the
//! input is markdown reviewed in this repository, not user text, so it is enough that raw
//! HTML in it comes out escaped (never as markup) and that links can only be http(s),
//! mailto, in-page or other runbooks. Links between runbooks (`rollback.md#x`) become desk
//! paths (`/runbooks/rollback#x`), and every heading gets an id to link to.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

use crate::domain::category::Category;

/// One runbook file.
#[derive(Debug)]
pub struct Runbook {
    /// The file name without `.md`: the page is `/runbooks/{slug}`.
    pub slug: &'static str,
    pub markdown: &'static str,
}

macro_rules! runbooks {
    ($($slug:literal),* $(,)?) => {
        &[$(Runbook { slug: $slug, markdown: include_str!(concat!("../runbooks/", $slug, ".md")) }),*]
    };
}

/// Every runbook, in the order the index lists them (`README` is the index's text).
pub const RUNBOOKS: &[Runbook] = runbooks!(
    "README",
    "launch-risks",
    "stale-profile",
    "wrong-column-type",
    "failed-report",
    "profiling-failure",
    "escalation-policy",
    "rollback",
    "communication",
    "launch-day-checklist",
    "support-model",
);

impl Runbook {
    pub fn find(slug: &str) -> Option<&'static Runbook> {
        RUNBOOKS.iter().find(|r| r.slug == slug)
    }

    /// The first `# ` heading.
    pub fn title(&self) -> &'static str {
        self.markdown
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .unwrap_or(self.slug)
    }

    /// The runbook as an HTML fragment, rendered once per process (the text is built in).
    pub fn html(&self) -> &'static str {
        static RENDERED: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| RUNBOOKS.iter().map(|r| render(r.markdown)).collect());
        RUNBOOKS
            .iter()
            .position(|r| r.slug == self.slug)
            .map_or("", |i| RENDERED[i].as_str())
    }

    /// Ids of every heading, as the rendered page carries them.
    pub fn anchors(&self) -> Vec<String> {
        let mut anchors = Vec::new();
        let mut heading: Option<String> = None;
        for event in Parser::new_ext(self.markdown, options()) {
            match event {
                Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
                Event::End(TagEnd::Heading(_)) => {
                    anchors.push(slug(&heading.take().unwrap_or_default()))
                }
                Event::Text(t) | Event::Code(t) => {
                    if let Some(h) = heading.as_mut() {
                        h.push_str(&t);
                    }
                }
                _ => {}
            }
        }
        anchors
    }
}

/// The runbook for a ticket of this category.
pub fn for_category(category: Category) -> &'static str {
    match category {
        Category::StaleProfile => "/runbooks/stale-profile",
        Category::WrongColumnType => "/runbooks/wrong-column-type",
        Category::FailedReport => "/runbooks/failed-report",
        Category::ProfilingFailure => "/runbooks/profiling-failure",
        // Unclassified reports: the triage section of the support model.
        Category::Other => "/runbooks/support-model#triage",
    }
}

/// The runbook section for an incident opened by a threshold rule's signal.
pub fn for_signal(signal: &str) -> Option<&'static str> {
    Some(match signal {
        "failure_rate" => "/runbooks/profiling-failure#failure_rate",
        "critical_timeout" => "/runbooks/profiling-failure#critical_timeout",
        "duration_regression" => "/runbooks/profiling-failure#duration_regression",
        "report_burst" => "/runbooks/escalation-policy#report-burst-report_burst",
        _ => return None,
    })
}

/// The runbook to work a ticket by: an incident a threshold rule opened goes by its
/// signal's section, everything else by its category's runbook.
pub fn for_ticket(
    conn: &mut crate::db::DbConnection,
    ticket: &crate::db::models::ticket::Ticket,
) -> diesel::QueryResult<String> {
    if ticket.is_incident
        && let Some(url) =
            crate::db::models::signal_incident::SignalIncident::for_tickets(conn, &[ticket.id])?
                .last()
                .and_then(|s| for_signal(&s.signal))
    {
        return Ok(url.to_string());
    }
    let category = ticket.category;
    Ok(for_category(category).to_string())
}

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// GitHub-style heading ids: lower case, spaces to `-`, other punctuation dropped.
fn slug(text: &str) -> String {
    text.trim()
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() => Some(c.to_ascii_lowercase()),
            ' ' | '-' => Some('-'),
            '_' => Some('_'),
            _ => None,
        })
        .collect()
}

/// Where a link in a runbook may point, rewritten for the desk; `None`: not a link.
fn safe_link(dest: &str) -> Option<String> {
    let lower = dest.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
    {
        return Some(dest.to_string());
    }
    if dest.starts_with('#') {
        return Some(dest.to_string());
    }
    if dest.contains(':') || dest.starts_with("//") {
        return None;
    }
    // `rollback.md#x` → `/runbooks/rollback#x`; other repository paths stay as text.
    let (file, fragment) = dest.split_once('#').unwrap_or((dest, ""));
    let name = file.strip_suffix(".md")?;
    Runbook::find(name)?;
    Some(if fragment.is_empty() {
        format!("/runbooks/{name}")
    } else {
        format!("/runbooks/{name}#{fragment}")
    })
}

fn render(markdown: &str) -> String {
    let mut events: Vec<Event<'_>> = Vec::new();
    // A heading's events are held until its text is known, for its id.
    let mut heading: Option<(usize, String)> = None;
    // The last heading's text: it names the tables under it for screen readers.
    let mut section = String::from("Table");
    // Links that were refused: their closing tag is dropped too.
    let mut refused_links = 0usize;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            // A wide table scrolls in its own box, which the keyboard can reach.
            Event::Start(Tag::Table(alignments)) => {
                let mut open = String::from(
                    "<div class=\"table-scroll\" tabindex=\"0\" role=\"region\" aria-label=\"",
                );
                pulldown_cmark_escape::escape_html(&mut open, &section)
                    .expect("writing to a String cannot fail");
                open.push_str("\">");
                events.push(Event::Html(CowStr::from(open)));
                events.push(Event::Start(Tag::Table(alignments)));
            }
            Event::End(TagEnd::Table) => {
                events.push(Event::End(TagEnd::Table));
                events.push(Event::Html(CowStr::from("</div>")));
            }
            Event::Html(raw) | Event::InlineHtml(raw) => events.push(Event::Text(raw)),
            Event::Start(Tag::Heading {
                level,
                classes,
                attrs,
                ..
            }) => {
                heading = Some((events.len(), String::new()));
                events.push(Event::Start(Tag::Heading {
                    level,
                    id: None,
                    classes,
                    attrs,
                }));
            }
            Event::End(TagEnd::Heading(level)) => {
                if let Some((_, text)) = &heading {
                    section.clone_from(text);
                }
                if let Some((at, text)) = heading.take()
                    && let Event::Start(Tag::Heading {
                        level,
                        classes,
                        attrs,
                        ..
                    }) = events[at].clone()
                {
                    events[at] = Event::Start(Tag::Heading {
                        level,
                        id: Some(CowStr::from(slug(&text))),
                        classes,
                        attrs,
                    });
                }
                events.push(Event::End(TagEnd::Heading(level)));
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => match safe_link(&dest_url) {
                Some(url) => events.push(Event::Start(Tag::Link {
                    link_type,
                    dest_url: CowStr::from(url),
                    title,
                    id,
                })),
                None => refused_links += 1,
            },
            Event::End(TagEnd::Link) if refused_links > 0 => refused_links -= 1,
            Event::Start(Tag::Image { dest_url, .. }) => {
                // No images in runbooks: show where it pointed instead.
                events.push(Event::Text(CowStr::from(format!("[image: {dest_url}]"))));
                refused_links += 1;
            }
            Event::End(TagEnd::Image) => refused_links = refused_links.saturating_sub(1),
            other => {
                if let (Some((_, text)), Event::Text(t) | Event::Code(t)) =
                    (heading.as_mut(), &other)
                {
                    text.push_str(t);
                }
                events.push(other);
            }
        }
    }
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runbook_file_is_built_in_and_every_built_in_has_a_file() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".md").map(str::to_string)
            })
            .collect();
        files.sort();
        let mut built: Vec<&str> = RUNBOOKS.iter().map(|r| r.slug).collect();
        built.sort();
        assert_eq!(
            files, built,
            "add new runbooks to RUNBOOKS in src/runbooks.rs"
        );
    }

    /// The url's runbook exists and has the heading its fragment names.
    fn resolves(url: &str) -> bool {
        let path = url.strip_prefix("/runbooks/").unwrap();
        let (name, fragment) = path.split_once('#').unwrap_or((path, ""));
        Runbook::find(name)
            .is_some_and(|r| fragment.is_empty() || r.anchors().iter().any(|a| a == fragment))
    }

    #[test]
    fn every_category_has_a_runbook() {
        for category in Category::ALL {
            let url = for_category(category);
            assert!(resolves(url), "category {category}: {url} does not resolve");
        }
    }

    #[test]
    fn every_alert_rule_of_the_shipped_config_has_a_runbook_section() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/support-model.toml");
        let model = crate::domain::support_model::SupportModel::from_toml(
            &std::fs::read_to_string(path).unwrap(),
        )
        .unwrap();
        assert!(!model.signals.rules.is_empty());
        for rule in &model.signals.rules {
            let signal = rule.condition.signal();
            let url = for_signal(signal)
                .unwrap_or_else(|| panic!("rule {}: signal {signal} has no runbook", rule.name));
            assert!(resolves(url), "rule {}: {url} does not resolve", rule.name);
        }
    }

    #[test]
    fn rendering_is_safe_and_links_stay_inside() {
        let html = render(
            "# Title `x`\n\n<script>alert(1)</script>\n\nInline <b onclick=\"x\">b</b>.\n\n\
             [next](rollback.md#database) [bad](javascript:alert(1)) [web](https://example.com) \
             [file](../src/main.rs)\n\n![img](https://evil.example/x.png)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains(r#"<h1 id="title-x">"#), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<b onclick"), "{html}");
        assert!(
            html.contains(r#"href="/runbooks/rollback#database""#),
            "{html}"
        );
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains(r#"href="https://example.com""#), "{html}");
        assert!(!html.contains("../src/main.rs\""), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("<table>"), "{html}");
    }

    #[test]
    fn titles_come_from_the_first_heading() {
        assert_eq!(Runbook::find("rollback").unwrap().title(), "Rollback");
        assert!(Runbook::find("../Cargo").is_none());
    }
}
