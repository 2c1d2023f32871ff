//! The syntax of an `xl` domain configuration file (xl.cfg(5), "SYNTAX"):
//! `KEY = VALUE` settings, one per line or separated by `;`, where a value
//! is a string in double or single quotes, a number, or a list of those in
//! `[ ... ]` (commas between, a trailing comma allowed, lists may span
//! lines); `#` starts a comment to the end of the line. Only the syntax is
//! here; what the keys mean is [`super`]'s.

/// A setting's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    String(String),
    /// A decimal or `0x` hexadecimal number, kept as written.
    Number(u64),
    List(Vec<Value>),
}

impl Value {
    /// What the value is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Number(_) => "a number",
            Value::List(_) => "a list",
        }
    }
}

/// One `KEY = VALUE`, with the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub value: Value,
    pub line: usize,
}

/// Reads every setting of `text` in order; the first syntax error as
/// `line N: what`.
pub fn parse(text: &str) -> Result<Vec<Setting>, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        at: 0,
        line: 1,
    };
    let mut settings = Vec::new();
    loop {
        p.skip_blank(true);
        if p.peek().is_none() {
            return Ok(settings);
        }
        let line = p.line;
        let key = p.key()?;
        p.skip_blank(false);
        if p.next() != Some('=') {
            return Err(format!("line {line}: expected `=` after {key}"));
        }
        p.skip_blank(false);
        let value = p.value()?;
        settings.push(Setting { key, value, line });
        p.skip_blank(false);
        match p.next() {
            None | Some('\n') | Some(';') => {}
            Some('#') => p.skip_comment(),
            Some(c) => return Err(format!("line {}: unexpected {c:?} after a value", p.line)),
        }
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    line: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' {
                return;
            }
            self.next();
        }
    }

    /// Skips spaces and tabs, and with `newlines` also line ends, `;` and
    /// comments.
    fn skip_blank(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' => {}
                '\n' | ';' if newlines => {}
                '#' if newlines => {
                    self.skip_comment();
                    continue;
                }
                _ => return,
            }
            self.next();
        }
    }

    fn key(&mut self) -> Result<String, String> {
        let mut key = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                key.push(c);
                self.next();
            } else {
                break;
            }
        }
        if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
            let found = self.peek().map_or("the end".into(), |c| format!("{c:?}"));
            return Err(format!(
                "line {}: expected a setting name, found {found}",
                self.line
            ));
        }
        Ok(key)
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(q @ ('"' | '\'')) => {
                self.next();
                self.string(q).map(Value::String)
            }
            Some('[') => {
                self.next();
                self.list()
            }
            Some(c) if c.is_ascii_digit() => self.number(),
            Some(c) => Err(format!(
                "line {}: expected a value (\"string\", number or [list]), found {c:?}",
                self.line
            )),
            None => Err(format!("line {}: a value is missing at the end", self.line)),
        }
    }

    /// A string up to the closing `quote`; `\` escapes the next character
    /// (`\n`, `\t` and `\\`, `\"`, `\'`), as libxlu's lexer takes them.
    fn string(&mut self, quote: char) -> Result<String, String> {
        let start = self.line;
        let mut s = String::new();
        loop {
            match self.next() {
                None | Some('\n') => {
                    return Err(format!("line {start}: a string is not closed"));
                }
                Some(c) if c == quote => return Ok(s),
                Some('\\') => match self.next() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(c) if c != '\n' => s.push(c),
                    _ => return Err(format!("line {start}: a string is not closed")),
                },
                Some(c) => s.push(c),
            }
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() {
                text.push(c);
                self.next();
            } else {
                break;
            }
        }
        let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        };
        parsed
            .map(Value::Number)
            .map_err(|_| format!("line {}: {text:?} is not a number", self.line))
    }

    /// The items of a list after its `[`.
    fn list(&mut self) -> Result<Value, String> {
        let start = self.line;
        let mut items = Vec::new();
        loop {
            self.skip_blank(true);
            match self.peek() {
                Some(']') => {
                    self.next();
                    return Ok(Value::List(items));
                }
                None => return Err(format!("line {start}: a list is not closed with `]`")),
                _ => {}
            }
            items.push(self.value()?);
            self.skip_blank(true);
            match self.next() {
                Some(',') => {}
                Some(']') => return Ok(Value::List(items)),
                None => return Err(format!("line {start}: a list is not closed with `]`")),
                Some(c) => {
                    return Err(format!(
                        "line {}: expected `,` or `]` in a list, found {c:?}",
                        self.line
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    #[test]
    fn settings_strings_numbers_lists_and_comments() {
        let text = "# a domain\nname = \"demo\"  # trailing comment\nmemory=512; vcpus = 0x2\n\
                    disk = [ 'a.img,raw,xvda,rw',\n   \"b.iso,,hdc,cdrom\", ]\nextra = 'x\\'y'\n";
        let got = parse(text).unwrap();
        let pairs: Vec<(&str, &Value, usize)> = got
            .iter()
            .map(|s| (s.key.as_str(), &s.value, s.line))
            .collect();
        assert_eq!(
            pairs,
            [
                ("name", &s("demo"), 2),
                ("memory", &Value::Number(512), 3),
                ("vcpus", &Value::Number(2), 3),
                (
                    "disk",
                    &Value::List(vec![s("a.img,raw,xvda,rw"), s("b.iso,,hdc,cdrom")]),
                    4
                ),
                ("extra", &s("x'y"), 6),
            ]
        );
        assert_eq!(parse("").unwrap(), []);
        assert_eq!(parse("x = []").unwrap()[0].value, Value::List(vec![]));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        for (text, want) in [
            ("memory 512", "line 1: expected `=`"),
            ("\n\nname = \"x", "line 3: a string is not closed"),
            ("disk = [ 'a'", "line 1: a list is not closed"),
            ("disk = [ 'a' 'b' ]", "line 1: expected `,` or `]`"),
            ("memory = 12ab", "line 1: \"12ab\" is not a number"),
            ("memory = 99999999999999999999999", "is not a number"),
            ("= 3", "line 1: expected a setting name"),
            ("name = \"a\" \"b\"", "line 1: unexpected"),
            ("name = ", "line 1: a value is missing"),
            ("name = yes", "expected a value"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
