//! Finding the line of a key in a configuration file, for messages.
//!
//! figment knows which file a value came from but not its line, so the line is looked
//! up in the file's text: block-style YAML by indentation, TOML by table headers and
//! (dotted) keys. Keys inside one-line inline tables or flow mappings are reported at
//! the line of the table. When a key cannot be found with certainty (sequences, YAML
//! anchors, multi-line flow collections), no line is reported rather than a wrong one.

/// The format of a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Toml,
    Yaml,
}

/// The 1-based line where `path` is set in `text`, when it can be found.
pub(crate) fn line_of<S: AsRef<str>>(format: Format, text: &str, path: &[S]) -> Option<usize> {
    let path: Vec<&str> = path.iter().map(AsRef::as_ref).collect();
    if path.is_empty() {
        return None;
    }
    match format {
        Format::Yaml => yaml_line(text, &path),
        Format::Toml => toml_line(text, &path),
    }
}

fn is_prefix_of(keys: &[String], path: &[&str]) -> bool {
    keys.len() < path.len() && keys.iter().zip(path).all(|(k, p)| k == p)
}

/// Whether `keys` is `path` followed by more keys.
fn starts_with(keys: &[String], path: &[&str]) -> bool {
    keys.len() > path.len() && keys.iter().zip(path).all(|(k, p)| k == p)
}

fn equals(keys: &[String], path: &[&str]) -> bool {
    keys.len() == path.len() && keys.iter().zip(path).all(|(k, p)| k == p)
}

fn yaml_line(text: &str, path: &[&str]) -> Option<usize> {
    // (indentation, key) of the mappings enclosing the current line.
    let mut stack: Vec<(usize, String)> = Vec::new();
    // Lines more indented than this belong to a block scalar (`|`, `>`).
    let mut block_scalar: Option<usize> = None;
    // Lines of a block sequence starting at this indentation are skipped.
    let mut sequence: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        let content = content.trim_end();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(floor) = block_scalar {
            if indent > floor {
                continue;
            }
            block_scalar = None;
        }
        let is_item = content == "-" || content.starts_with("- ");
        if let Some(floor) = sequence {
            if indent > floor || (indent == floor && is_item) {
                continue;
            }
            sequence = None;
        }
        if content.starts_with("---") || content.starts_with("...") {
            stack.clear();
            continue;
        }
        if is_item {
            sequence = Some(indent);
            continue;
        }
        let Some((key, rest)) = yaml_key(content) else {
            continue;
        };
        while stack.last().is_some_and(|(depth, _)| *depth >= indent) {
            stack.pop();
        }
        stack.push((indent, key));
        let keys: Vec<String> = stack.iter().map(|(_, k)| k.clone()).collect();
        let rest = rest.trim_start();
        if equals(&keys, path) || (is_prefix_of(&keys, path) && rest.starts_with('{')) {
            return Some(index + 1);
        }
        if rest.starts_with('|') || rest.starts_with('>') {
            block_scalar = Some(indent);
        }
    }
    None
}

/// Splits `key: rest` (plain, single- or double-quoted key).
fn yaml_key(content: &str) -> Option<(String, &str)> {
    let (key, after) = match content.chars().next()? {
        quote @ ('"' | '\'') => {
            let (key, len) = quoted(content, quote)?;
            (key, &content[len..])
        }
        '?' | '{' | '[' | '&' | '*' | '!' | '|' | '>' | '%' | '@' | '`' => return None,
        _ => {
            let colon = content
                .char_indices()
                .find(|&(i, c)| {
                    c == ':' && matches!(content[i + 1..].chars().next(), None | Some(' ' | '\t'))
                })
                .map(|(i, _)| i)?;
            (content[..colon].trim_end().to_owned(), &content[colon..])
        }
    };
    let after = after.trim_start();
    let rest = after.strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    Some((key, rest))
}

/// A quoted string at the start of `s`: its content and the length of the quoted text.
fn quoted(s: &str, quote: char) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            // YAML's single-quoted strings escape a quote by doubling it.
            if quote == '\'' && chars.peek().map(|&(_, n)| n) == Some('\'') {
                chars.next();
                out.push('\'');
                continue;
            }
            return Some((out, i + c.len_utf8()));
        }
        if c == '\\' && quote == '"' {
            let (_, escaped) = chars.next()?;
            out.push(escaped);
            continue;
        }
        out.push(c);
    }
    None
}

fn toml_line(text: &str, path: &[&str]) -> Option<usize> {
    let mut table: Option<Vec<String>> = Some(Vec::new());
    // A table defined only through its sub-tables or dotted keys: where it first appears.
    let mut implicit: Option<usize> = None;
    let mut multiline: Option<&str> = None;
    let mut array_depth: i32 = 0;
    for (index, line) in text.lines().enumerate() {
        if let Some(close) = multiline {
            if line.contains(close) {
                multiline = None;
            }
            continue;
        }
        let content = line.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if array_depth > 0 {
            array_depth += bracket_balance(content);
            continue;
        }
        if let Some(header) = content.strip_prefix("[[") {
            // Arrays of tables have no string path: nothing in them is located.
            let _ = header;
            table = None;
            continue;
        }
        if let Some(header) = content.strip_prefix('[') {
            table = toml_keys(header)
                .and_then(|(keys, rest)| rest.trim_start().starts_with(']').then_some(keys));
            if let Some(keys) = &table {
                if equals(keys, path) {
                    return Some(index + 1);
                }
                if implicit.is_none() && starts_with(keys, path) {
                    implicit = Some(index + 1);
                }
            }
            continue;
        }
        let Some((keys, rest)) = toml_keys(content) else {
            continue;
        };
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        if let Some(table) = &table {
            let full: Vec<String> = table.iter().cloned().chain(keys).collect();
            if equals(&full, path) || (is_prefix_of(&full, path) && value.starts_with('{')) {
                return Some(index + 1);
            }
            if implicit.is_none() && starts_with(&full, path) {
                implicit = Some(index + 1);
            }
        }
        for close in ["\"\"\"", "'''"] {
            if let Some(after) = value.strip_prefix(close) {
                if !after.contains(close) {
                    multiline = Some(close);
                }
            }
        }
        if value.starts_with('[') {
            array_depth = bracket_balance(value);
        }
    }
    implicit
}

/// Dotted TOML keys at the start of `s` and what follows them.
fn toml_keys(s: &str) -> Option<(Vec<String>, &str)> {
    let mut keys = Vec::new();
    let mut rest = s.trim_start();
    loop {
        let first = rest.chars().next()?;
        let (key, len) = match first {
            '"' | '\'' => quoted(rest, first)?,
            _ => {
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                    .unwrap_or(rest.len());
                if len == 0 {
                    return None;
                }
                (rest[..len].to_owned(), len)
            }
        };
        keys.push(key);
        rest = rest[len..].trim_start();
        match rest.strip_prefix('.') {
            Some(after) => rest = after.trim_start(),
            None => return Some((keys, rest)),
        }
    }
}

/// Opening minus closing brackets outside strings and comments.
fn bracket_balance(s: &str) -> i32 {
    let mut balance = 0;
    let mut in_string: Option<char> = None;
    let mut escaped = false;
    for c in s.chars() {
        match in_string {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    in_string = None;
                }
            }
            None => match c {
                '"' | '\'' => in_string = Some(c),
                '[' => balance += 1,
                ']' => balance -= 1,
                '#' => break,
                _ => {}
            },
        }
    }
    balance
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
# comment
defaults:
  semaphore:
    max_wait: 10s

compartments:
  user-api:
    kind: semaphore
    note: |
      max_concurrent: 1
    max_concurrent: 100
  \"order-api\":
    kind: semaphore
    tags:
      - a
      - max_concurrent: 3
    max_concurrent: 50
  flow: {kind: semaphore, max_concurrent: 5}
";

    #[test]
    fn yaml_keys_are_found_by_indentation() {
        let at = |path: &[&str]| line_of(Format::Yaml, YAML, path);
        assert_eq!(at(&["defaults", "semaphore", "max_wait"]), Some(4));
        assert_eq!(at(&["compartments", "user-api"]), Some(7));
        assert_eq!(
            at(&["compartments", "user-api", "max_concurrent"]),
            Some(11)
        );
        assert_eq!(at(&["compartments", "order-api", "kind"]), Some(13));
        assert_eq!(
            at(&["compartments", "order-api", "max_concurrent"]),
            Some(17)
        );
        assert_eq!(at(&["compartments", "flow", "max_concurrent"]), Some(18));
        assert_eq!(at(&["compartments", "missing"]), None);
        assert_eq!(at(&["max_concurrent"]), None);
    }

    const TOML: &str = r#"
[defaults.semaphore]
max_wait = "10s"

[compartments.user-api]
kind = "semaphore"
note = """
max_concurrent = 1
"""
max_concurrent = 100

[compartments."order-api"]
kind = "semaphore"
list = [
  "max_concurrent = 2",
]
max_concurrent = 50

[compartments]
inline = { kind = "semaphore", max_concurrent = 5 }
dotted.max_concurrent = 6
"#;

    #[test]
    fn toml_keys_are_found_under_their_tables() {
        let at = |path: &[&str]| line_of(Format::Toml, TOML, path);
        assert_eq!(at(&["defaults", "semaphore", "max_wait"]), Some(3));
        assert_eq!(at(&["compartments", "user-api"]), Some(5));
        assert_eq!(
            at(&["compartments", "user-api", "max_concurrent"]),
            Some(10)
        );
        assert_eq!(at(&["compartments", "order-api", "kind"]), Some(13));
        assert_eq!(
            at(&["compartments", "order-api", "max_concurrent"]),
            Some(17)
        );
        assert_eq!(at(&["compartments", "inline", "max_concurrent"]), Some(20));
        assert_eq!(at(&["compartments", "dotted", "max_concurrent"]), Some(21));
        assert_eq!(at(&["compartments", "missing", "kind"]), None);
        assert_eq!(at(&["defaults"]), Some(2), "defined by its sub-table");
        assert_eq!(
            at(&["compartments", "dotted"]),
            Some(21),
            "defined by a dotted key"
        );
    }
}
