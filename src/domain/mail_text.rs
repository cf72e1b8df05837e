//! The new text of an email reply: what the sender wrote, without the history their mail
//! client quoted under it or their signature. Mail clients mark these by convention, not
//! by any standard a parser could read, so this follows the conventions of the clients
//! analysts use (Gmail, Outlook, Apple Mail, Thunderbird), as helpdesks do.

/// Where quoted history or a signature starts, judged line by line; everything from
/// there on is cut, as are `>` lines interleaved with the sender's answers.
pub fn new_text(body: &str) -> String {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = body.lines().collect();
    let end = history_start(&lines).unwrap_or(lines.len());
    let kept: Vec<&str> = lines[..end]
        .iter()
        .copied()
        .filter(|line| !line.trim_start().starts_with('>'))
        .collect();
    tidy(&kept)
}

/// The first line of quoted history or a signature, if any.
fn history_start(lines: &[&str]) -> Option<usize> {
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        // RFC 3676's signature separator ("-- "); clients that trim trailing spaces send "--".
        if line.trim_end_matches('\r') == "-- " || trimmed == "--" {
            return Some(i);
        }
        if is_mobile_signature(trimmed) {
            return Some(i);
        }
        if trimmed.eq_ignore_ascii_case("-----Original Message-----")
            || trimmed.starts_with("-----Original Message")
        {
            return Some(i);
        }
        if let Some(n) = attribution(lines, i) {
            return Some(i.saturating_sub(n));
        }
        if outlook_header(lines, i) {
            // Outlook draws a rule of underscores above its header block.
            let rule = i > 0 && is_rule(lines[i - 1]);
            return Some(if rule { i - 1 } else { i });
        }
    }
    None
}

/// "On Tue, 8 Dec 2026 at 09:28, Ana <ana@example.com> wrote:", possibly wrapped over two
/// or three lines, in the languages analysts' clients most often use. Returns how many
/// lines above `i` belong to it (none: it starts at `i`).
fn attribution(lines: &[&str], i: usize) -> Option<usize> {
    const OPENINGS: [&str; 5] = ["On ", "Am ", "Le ", "El ", "Op "];
    const CLOSINGS: [&str; 6] = [
        "wrote:",
        "schrieb:",
        "a écrit :",
        "a écrit:",
        "escribió:",
        "geschreven:",
    ];
    let start = lines[i].trim_start();
    if !OPENINGS.iter().any(|o| start.starts_with(o)) {
        return None;
    }
    let mut joined = String::new();
    for line in lines.iter().skip(i).take(3) {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        if CLOSINGS.iter().any(|c| joined.ends_with(c)) {
            return Some(0);
        }
    }
    None
}

/// Outlook's quoted header: "From: …" followed within a few lines by "Sent: …" or
/// "Date: …" (and usually "To:" and "Subject:").
fn outlook_header(lines: &[&str], i: usize) -> bool {
    let field = |line: &str, names: &[&str]| {
        let line = line.trim().trim_start_matches('*');
        names.iter().any(|name| {
            line.len() > name.len()
                && line.is_char_boundary(name.len())
                && line[..name.len()].eq_ignore_ascii_case(name)
        })
    };
    field(lines[i], &["From:", "Von:", "De :", "De:"])
        && lines
            .iter()
            .skip(i + 1)
            .take(4)
            .any(|l| field(l, &["Sent:", "Date:", "Gesendet:", "Envoyé :", "Enviado:"]))
}

fn is_rule(line: &str) -> bool {
    let line = line.trim();
    line.len() >= 10 && line.chars().all(|c| c == '_' || c == '-')
}

fn is_mobile_signature(line: &str) -> bool {
    const SIGNATURES: [&str; 4] = [
        "Sent from my iPhone",
        "Sent from my iPad",
        "Sent from my Android",
        "Get Outlook for ",
    ];
    SIGNATURES.iter().any(|s| line.starts_with(s))
}

/// Trailing spaces off each line, blank lines off both ends, runs of blank lines folded
/// to one.
fn tidy(lines: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for line in lines {
        let line = line.trim_end();
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_attribution_and_quote_are_cut() {
        let body = "The row count is right now, thanks.\r\n\r\nOn Tue, 8 Dec 2026 at 09:28, inspect-desk <desk@inspect.example> wrote:\r\n> Your report INS-1042 was resolved.\r\n>\r\n> Regards\r\n";
        assert_eq!(new_text(body), "The row count is right now, thanks.");
    }

    #[test]
    fn a_wrapped_attribution_is_cut_whole() {
        let body = "Still stale.\n\nOn Tue, Dec 8, 2026 at 9:28 AM inspect-desk <\ndesk@inspect.example> wrote:\n\n> old\n";
        assert_eq!(new_text(body), "Still stale.");
    }

    #[test]
    fn outlook_header_block_and_its_rule_are_cut() {
        let body = "Here is the query.\n\nselect count(*) from orders;\n\n________________________________\nFrom: inspect-desk <desk@inspect.example>\nSent: Tuesday, December 8, 2026 9:28 AM\nTo: Ana <ana@example.com>\nSubject: [INS-1042] New reply\n\nWhich query did you run?\n";
        assert_eq!(
            new_text(body),
            "Here is the query.\n\nselect count(*) from orders;"
        );
    }

    #[test]
    fn signatures_are_cut() {
        assert_eq!(new_text("Thanks!\n\n-- \nAna Lima\nData team\n"), "Thanks!");
        assert_eq!(new_text("Thanks!\n\nSent from my iPhone\n"), "Thanks!");
    }

    #[test]
    fn interleaved_answers_stay_and_quotes_go() {
        let body = "> Which warehouse?\nSnowflake.\n> Which table?\nsales.orders\n";
        assert_eq!(new_text(body), "Snowflake.\nsales.orders");
    }

    #[test]
    fn a_sentence_starting_with_on_is_not_an_attribution() {
        let body = "On Monday the profile was fresh.\nOn Tuesday it was not.\n";
        assert_eq!(new_text(body), body.trim_end());
    }

    #[test]
    fn a_from_line_alone_is_kept() {
        let body = "From: the warehouse team, as far as I know.\nIt is stale.";
        assert_eq!(new_text(body), body);
    }
}
