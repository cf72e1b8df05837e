//! Where the desk may send a browser next: a path on this site, never another site.
//!
//! Redirect targets come from requests (`/login?next=`, a saved queue view's filters).
//! Browsers read `//host`, `/\host` and `/<TAB>/host` as another site, so a target is
//! taken only when it is one `/` followed by neither `/` nor `\`, with no control
//! character or whitespace anywhere, and is still such a path after a URL parser (the
//! WHATWG rules browsers follow) has read it: dot segments fold `/.//host` into `//host`.
//! What is used is the parser's serialisation, not the text that came in.

use url::Url;

/// A path (with query and fragment) on this site, as a URL parser writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPath(String);

/// Why a target is not a `LocalPath`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotLocal {
    /// It holds a control character (CR, LF, TAB, …): never written by the desk's own
    /// pages, so the request was made by hand.
    ControlCharacter,
    /// It leads elsewhere, or is not a path at all.
    Elsewhere,
}

/// The origin targets are resolved against; only its path part is ever used.
const BASE: &str = "http://desk.invalid/";

impl LocalPath {
    pub fn parse(target: &str) -> Result<LocalPath, NotLocal> {
        if target.chars().any(char::is_control) {
            return Err(NotLocal::ControlCharacter);
        }
        if target.chars().any(char::is_whitespace) || !starts_as_local(target) {
            return Err(NotLocal::Elsewhere);
        }
        let base = Url::parse(BASE).expect("the base is a URL");
        let url = base.join(target).map_err(|_| NotLocal::Elsewhere)?;
        if url.origin() != base.origin() {
            return Err(NotLocal::Elsewhere);
        }
        let mut path = url.path().to_string();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        if let Some(fragment) = url.fragment() {
            path.push('#');
            path.push_str(fragment);
        }
        if !starts_as_local(&path) {
            return Err(NotLocal::Elsewhere);
        }
        Ok(LocalPath(path))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The query string, without its `?` (empty when there is none).
    pub fn query(&self) -> &str {
        let before_fragment = self.0.split('#').next().unwrap_or_default();
        before_fragment
            .split_once('?')
            .map_or("", |(_, query)| query)
    }
}

impl std::fmt::Display for LocalPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `/`, then neither `/` nor `\`.
fn starts_as_local(target: &str) -> bool {
    let mut chars = target.chars();
    chars.next() == Some('/') && !matches!(chars.next(), Some('/' | '\\'))
}

#[cfg(test)]
mod tests {
    use super::{LocalPath, NotLocal};

    fn parsed(target: &str) -> Result<String, NotLocal> {
        LocalPath::parse(target).map(|p| p.as_str().to_string())
    }

    #[test]
    fn paths_on_this_site_are_kept() {
        for target in [
            "/",
            "/queue?status=new&team=semantic-types",
            "/tickets/INS-1042#history",
            "/%2F/evil.example",
            "/queue?next=//evil.example",
        ] {
            assert_eq!(parsed(target).as_deref(), Ok(target), "{target}");
        }
        // Written the way the parser writes them.
        assert_eq!(parsed("/a/./b/../c").as_deref(), Ok("/a/c"));
        assert_eq!(parsed("/runbooks/ü").as_deref(), Ok("/runbooks/%C3%BC"));
        assert_eq!(parsed("/a\\b").as_deref(), Ok("/a/b"));
    }

    #[test]
    fn other_sites_are_refused() {
        for target in [
            "",
            "evil.example",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "/\u{2028}/evil.example",
            "/.//evil.example",
            "/a/../..//evil.example",
        ] {
            assert_eq!(parsed(target), Err(NotLocal::Elsewhere), "{target:?}");
        }
    }

    #[test]
    fn control_characters_are_named() {
        for target in [
            "/\t/evil.example",
            "/report\r\nSet-Cookie: x=1",
            "/report\n",
            "/a\u{7f}",
            "//evil\u{0}",
        ] {
            assert_eq!(
                parsed(target),
                Err(NotLocal::ControlCharacter),
                "{target:?}"
            );
        }
    }

    #[test]
    fn the_query_is_its_own_part() {
        let path = LocalPath::parse("/queue?status=new#top").unwrap();
        assert_eq!(path.query(), "status=new");
        assert_eq!(LocalPath::parse("/queue").unwrap().query(), "");
    }
}
