//! Matching a console against an ordered list of regular expressions, as
//! output arrives.

use regex::Regex;

/// Ordered expectations over a growing text.
pub struct Expectations {
    patterns: Vec<Regex>,
    /// How many have matched.
    matched: usize,
    /// Where in the text the next search starts (after the previous match).
    position: usize,
}

impl Expectations {
    /// Expectations that must match in this order.
    pub fn new(patterns: Vec<Regex>) -> Self {
        Self {
            patterns,
            matched: 0,
            position: 0,
        }
    }

    /// Matches as many further patterns as `text` (all output so far) allows.
    pub fn advance(&mut self, text: &str) {
        while let Some(p) = self.patterns.get(self.matched) {
            match p.find(text.get(self.position..).unwrap_or("")) {
                Some(m) => {
                    self.position += m.end();
                    self.matched += 1;
                }
                None => break,
            }
        }
    }

    /// Like [`Expectations::advance`], but a pattern may also match anywhere on
    /// the current `screen` (the mirrored text screen, which is redrawn rather
    /// than appended to).
    pub fn advance_with_screen(&mut self, text: &str, screen: &str) {
        loop {
            self.advance(text);
            match self.patterns.get(self.matched) {
                Some(p) if p.is_match(screen) => self.matched += 1,
                _ => break,
            }
        }
    }

    /// True when every pattern has matched (and there was at least one).
    pub fn all_met(&self) -> bool {
        !self.patterns.is_empty() && self.matched == self.patterns.len()
    }

    /// True when there are patterns to match.
    pub fn any(&self) -> bool {
        !self.patterns.is_empty()
    }

    /// The first pattern still waiting.
    pub fn pending(&self) -> Option<&str> {
        self.patterns.get(self.matched).map(|r| r.as_str())
    }

    /// Number matched so far.
    pub fn matched(&self) -> usize {
        self.matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(p: &[&str]) -> Expectations {
        Expectations::new(p.iter().map(|s| Regex::new(s).unwrap()).collect())
    }

    #[test]
    fn matches_in_order_only() {
        let mut e = exp(&["world", "hello"]);
        e.advance("hello world");
        assert_eq!(e.matched(), 1);
        assert!(!e.all_met());
        e.advance("hello world\nhello again");
        assert!(e.all_met());
    }

    #[test]
    fn a_pattern_cannot_reuse_the_text_of_the_previous_match() {
        let mut e = exp(&["ab", "b"]);
        e.advance("ab");
        assert_eq!(e.matched(), 1);
        assert_eq!(e.pending(), Some("b"));
    }

    #[test]
    fn a_pattern_may_match_the_screen_instead_of_the_console() {
        let mut e = exp(&["booting", r"A:\\>", "later"]);
        e.advance_with_screen("booting...", "FreeDOS\nA:\\>");
        assert_eq!(e.matched(), 2);
        e.advance_with_screen("booting... later", "");
        assert!(e.all_met());
    }

    #[test]
    fn no_patterns_is_never_met() {
        let mut e = exp(&[]);
        e.advance("anything");
        assert!(!e.all_met());
        assert!(!e.any());
    }
}
