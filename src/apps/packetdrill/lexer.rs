//! The first pass over a script's text: comments out, statements joined
//! into logical lines, and the small token stream the expression parser
//! reads (packetdrill's `lexer.l`, reduced to what the scripts use).

/// The one symbol defined for `#ifdef` blocks: the FreeBSD suite writes
/// the RFC's expectation under `STANDARD` and FreeBSD's own under
/// `FreeBSD`; we check the standard.
pub const DEFINED_SYMBOL: &str = "STANDARD";

/// The script without `//` and `/* */` comments and without the `#ifdef`
/// blocks of other symbols, as logical lines: a statement whose brackets
/// are still open continues on the next line. Each comes with the 1-based
/// number of the line where it starts.
pub fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    let mut in_block_comment = false;
    // One entry per open #ifdef: whether its lines are kept.
    let mut conditions: Vec<bool> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = strip_comments(raw, &mut in_block_comment);
        let trimmed = line.trim();
        if preprocess(trimmed, &mut conditions) || conditions.contains(&false) {
            continue;
        }
        if trimmed.is_empty() && pending.is_none() {
            continue;
        }
        let (start, mut joined) = pending.take().unwrap_or((index + 1, String::new()));
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(trimmed);
        if open_brackets(&joined) > 0 {
            pending = Some((start, joined));
        } else {
            out.push((start, joined));
        }
    }
    out.extend(pending);
    out
}

/// Follows `#ifdef NAME`, `#ifndef NAME`, `#else`, `#endif`; true when the
/// line was one of them.
fn preprocess(line: &str, conditions: &mut Vec<bool>) -> bool {
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some("#ifdef"), Some(name)) => conditions.push(name == DEFINED_SYMBOL),
        (Some("#ifndef"), Some(name)) => conditions.push(name != DEFINED_SYMBOL),
        (Some("#else"), _) => {
            if let Some(kept) = conditions.last_mut() {
                *kept = !*kept;
            }
        }
        (Some("#endif"), _) => {
            conditions.pop();
        }
        _ => return false,
    }
    true
}

/// Removes comments, carrying "inside /* */" across lines. `//` inside a
/// string or a backtick command is left alone.
fn strip_comments(line: &str, in_block_comment: &mut bool) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if *in_block_comment {
            if c == '*' && chars.peek() == Some(&'/') {
                chars.next();
                *in_block_comment = false;
            }
            continue;
        }
        match (quote, c, chars.peek()) {
            (Some(q), _, _) if c == q => quote = None,
            (Some(_), _, _) => {}
            (None, '"' | '`', _) => quote = Some(c),
            (None, '/', Some('/')) => break,
            (None, '/', Some('*')) => {
                chars.next();
                *in_block_comment = true;
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// How many `(`, `[` and `{` are still open (outside strings).
fn open_brackets(text: &str) -> i32 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '`') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            _ => {}
        }
    }
    depth
}

/// A token of a system call's arguments or result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    Word(String),
    Int(i64),
    Str(String),
    Ellipsis,
    Punct(char),
}

/// Splits `text` into tokens; `None` on a character the language lacks.
pub fn tokenize(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if text[byte_index(&chars, i)..].starts_with("...") {
            tokens.push(Token::Ellipsis);
            i += 3;
        } else if c == '"' {
            let end = (i + 1..chars.len()).find(|&j| chars[j] == '"')?;
            tokens.push(Token::Str(chars[i + 1..end].iter().collect()));
            i = end + 1;
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let end = (i + 1..chars.len())
                .find(|&j| !chars[j].is_ascii_alphanumeric())
                .unwrap_or(chars.len());
            let word: String = chars[i..end].iter().collect();
            tokens.push(Token::Int(parse_int(&word)?));
            i = end;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let end = (i..chars.len())
                .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                .unwrap_or(chars.len());
            tokens.push(Token::Word(chars[i..end].iter().collect()));
            i = end;
        } else if "()[]{},|=".contains(c) {
            tokens.push(Token::Punct(c));
            i += 1;
        } else {
            return None;
        }
    }
    Some(tokens)
}

fn byte_index(chars: &[char], index: usize) -> usize {
    chars[..index].iter().map(|c| c.len_utf8()).sum()
}

/// Decimal, `0x` hex, with an optional minus sign.
pub fn parse_int(word: &str) -> Option<i64> {
    let (negative, digits) = match word.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    let value = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None => digits.parse().ok()?,
    };
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_of_both_kinds_go_and_blank_lines_are_dropped() {
        let text = "// header\n\n+0 close(3) = 0 // done\n/* a\n b */ +0 close(4) = 0\n";
        let lines = logical_lines(text);
        assert_eq!(
            lines,
            vec![
                (3, "+0 close(3) = 0".to_string()),
                (5, "+0 close(4) = 0".to_string())
            ]
        );
    }

    #[test]
    fn an_open_bracket_continues_the_statement_on_the_next_line() {
        let text = "+0 setsockopt(3, SOL_SOCKET, SO_LINGER,\n   {l_onoff=1, l_linger=0}, 8) = 0\n";
        let lines = logical_lines(text);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].0, 1);
        assert!(lines[0].1.ends_with("8) = 0"), "{:?}", lines[0]);
    }

    #[test]
    fn only_the_standard_ifdef_block_is_kept() {
        let text =
            "#ifdef STANDARD\n+0 close(3) = 0\n#endif\n#ifdef FreeBSD\n+0 close(4) = 0\n#endif\n";
        let lines = logical_lines(text);
        assert_eq!(lines, vec![(2, "+0 close(3) = 0".to_string())]);
    }

    #[test]
    fn slashes_inside_a_backtick_command_are_not_a_comment() {
        let lines = logical_lines("0 `../common/defaults.sh`\n");
        assert_eq!(lines[0].1, "0 `../common/defaults.sh`");
    }

    #[test]
    fn tokens_of_a_getsockopt_line() {
        let tokens = tokenize("3, SOL_SOCKET, SO_RCVBUF, [65536], [4]").unwrap();
        assert_eq!(tokens[0], Token::Int(3));
        assert_eq!(tokens[2], Token::Word("SOL_SOCKET".into()));
        assert_eq!(tokens[6], Token::Punct('['));
        assert_eq!(tokens[7], Token::Int(65536));
        assert_eq!(tokenize("0x02").unwrap(), vec![Token::Int(2)]);
        assert_eq!(tokenize("-1").unwrap(), vec![Token::Int(-1)]);
        assert_eq!(tokenize("..., ...").unwrap()[0], Token::Ellipsis);
    }
}
