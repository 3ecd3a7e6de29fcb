//! Logical lines to a [`Script`]: header flags, then events with their
//! time column (packetdrill's `parser.y`, for the upstream dialect and the
//! FreeBSD/NPLab one, which share the grammar used here).

use super::lexer::{logical_lines, parse_int, tokenize, Token};
use crate::wire::Ecn;

use super::script::{
    Direction, Event, EventKind, Expr, FlagSet, PacketSpec, Script, SyscallSpec, TcpOptionSpec,
    TimePoint, TimeSpec,
};

/// Why a line could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Script, ParseError> {
    let mut script = Script::default();
    for (line, statement) in logical_lines(text) {
        let fail = |message: String| ParseError { line, message };
        if let Some(flag) = statement.strip_prefix("--") {
            let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
            script
                .flags
                .insert(name.trim().to_string(), value.trim().to_string());
            continue;
        }
        // "+ 0.00" (a space after the sign) is written in some scripts.
        let statement = match statement.strip_prefix("+ ") {
            Some(rest) => format!("+{}", rest.trim_start()),
            None => statement,
        };
        let (time_text, rest) = statement
            .split_once(char::is_whitespace)
            .ok_or_else(|| fail(format!("no event after the time in `{statement}`")))?;
        let time = parse_time(time_text).ok_or_else(|| fail(format!("bad time `{time_text}`")))?;
        let kind = parse_event(rest.trim()).map_err(fail)?;
        script.events.push(Event { line, time, kind });
    }
    Ok(script)
}

/// Seconds as written (`0.1`, `.25`, `2`) to microseconds.
fn parse_seconds(text: &str) -> Option<i64> {
    let seconds: f64 = text.parse().ok()?;
    seconds.is_finite().then(|| (seconds * 1e6).round() as i64)
}

fn parse_point(text: &str) -> Option<TimePoint> {
    match text.strip_prefix('+') {
        Some(rest) => parse_seconds(rest).map(TimePoint::Relative),
        None => parse_seconds(text).map(TimePoint::Absolute),
    }
}

/// The time column: `N`, `+N`, `*`, `N~M`, `N...M`.
pub fn parse_time(text: &str) -> Option<TimeSpec> {
    if text == "*" {
        return Some(TimeSpec::Any);
    }
    if let Some((start, end)) = text.split_once("...") {
        let (start, end) = (parse_point(start)?, parse_point(end)?);
        return Some(TimeSpec::Blocking { start, end });
    }
    if let Some((low, high)) = text.split_once('~') {
        let (low, high) = (parse_point(low)?, parse_point(high)?);
        return Some(TimeSpec::Range { low, high });
    }
    Some(match parse_point(text)? {
        TimePoint::Absolute(at) => TimeSpec::Absolute(at),
        TimePoint::Relative(after) => TimeSpec::Relative(after),
    })
}

fn parse_event(text: &str) -> Result<EventKind, String> {
    if let Some(command) = text.strip_prefix('`') {
        let command = command
            .strip_suffix('`')
            .ok_or("unterminated backtick command")?;
        return Ok(EventKind::Shell(command.trim().to_string()));
    }
    if let Some(code) = text.strip_prefix("%{") {
        let code = code.trim_end().trim_end_matches("}%").trim();
        let state = code.strip_prefix("assert tcpi_state == TCPI_");
        return Ok(match state {
            Some(name)
                if name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') =>
            {
                EventKind::StateAssert(name.to_string())
            }
            _ => EventKind::Unsupported(format!("a python block `{code}`")),
        });
    }
    if let Some(rest) = text.strip_prefix('<') {
        if let Some(icmp) = rest.trim().strip_prefix("icmp ") {
            return super::icmp::parse_icmp(icmp);
        }
        return parse_packet(Direction::Inbound, rest.trim());
    }
    if let Some(rest) = text.strip_prefix('>') {
        return parse_packet(Direction::Outbound, rest.trim());
    }
    parse_syscall(text).map(EventKind::Syscall)
}

/// `FLAGS start:end(len) [ack N] [win N] [urg N] [<options>]`.
fn parse_packet(direction: Direction, text: &str) -> Result<EventKind, String> {
    let (head, options) = match text.find('<') {
        Some(at) => {
            let options = text[at + 1..].trim_end();
            let options = options.strip_suffix('>').ok_or("unterminated <options>")?;
            (&text[..at], Some(options.trim()))
        }
        None => (text, None),
    };
    let (ip_ecn, head) = split_ip_ecn(head);
    let mut words = head.split_whitespace();
    let first = words.next().ok_or("empty packet line")?;
    if first.starts_with('[') || first == "icmp" || first == "udp" {
        return Ok(EventKind::Unsupported(format!("a `{first}` packet line")));
    }
    let flags = parse_flags(first)?;
    let range = words.next().ok_or("no sequence range")?;
    let (start, len) = parse_range(range).ok_or_else(|| format!("bad sequence range `{range}`"))?;
    let mut spec = PacketSpec {
        direction,
        flags,
        start,
        len,
        ack: None,
        window: None,
        urgent: None,
        options: Some(Vec::new()),
        ip_ecn,
    };
    while let Some(word) = words.next() {
        let value = words
            .next()
            .ok_or_else(|| format!("`{word}` without a value"))?;
        let number = parse_int(value).ok_or_else(|| format!("bad number `{value}`"))?;
        match word {
            "ack" => spec.ack = Some(number as u32),
            "win" => spec.window = Some(number as u16),
            "urg" => spec.urgent = Some(number as u16),
            other => return Ok(EventKind::Unsupported(format!("packet field `{other}`"))),
        }
    }
    spec.options = match options {
        Some("...") => None,
        Some(list) => Some(parse_options(list)?),
        None => Some(Vec::new()),
    };
    Ok(EventKind::Packet(spec))
}

/// packetdrill's IP ECN field before the flags (`[noecn]`, `[ect0]`,
/// `[ect1]`, `[ce]`), and the rest of the line. `[ect01]` (either ECT)
/// and anything else in brackets is left for the caller to refuse.
fn split_ip_ecn(head: &str) -> (Option<Ecn>, &str) {
    let codepoints = [
        ("[noecn]", Ecn::NotEct),
        ("[ect0]", Ecn::Ect0),
        ("[ect1]", Ecn::Ect1),
        ("[ce]", Ecn::Ce),
    ];
    let head = head.trim_start();
    for (word, ecn) in codepoints {
        if let Some(rest) = head.strip_prefix(word) {
            return (Some(ecn), rest);
        }
    }
    (None, head)
}

fn parse_flags(text: &str) -> Result<FlagSet, String> {
    let mut flags = FlagSet::default();
    if text == "-" {
        return Ok(flags);
    }
    for c in text.chars() {
        let bit = match c {
            'S' => &mut flags.syn,
            'F' => &mut flags.fin,
            'P' => &mut flags.psh,
            'R' => &mut flags.rst,
            '.' => &mut flags.ack,
            'U' => &mut flags.urg,
            'E' => &mut flags.ece,
            'W' => &mut flags.cwr,
            other => return Err(format!("unknown flag `{other}` in `{text}`")),
        };
        *bit = true;
    }
    Ok(flags)
}

/// `start:end(len)`; `end` must be `start + len`.
fn parse_range(text: &str) -> Option<(u32, u32)> {
    let (start, rest) = text.split_once(':')?;
    let (end, len) = rest.strip_suffix(')')?.split_once('(')?;
    let (start, end, len) = (parse_int(start)?, parse_int(end)?, parse_int(len)?);
    (end - start == len && len >= 0).then_some((start as u32, len as u32))
}

fn parse_options(list: &str) -> Result<Vec<TcpOptionSpec>, String> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let words: Vec<&str> = item.split_whitespace().collect();
        let number = |i: usize| -> Result<i64, String> {
            words
                .get(i)
                .and_then(|w| parse_int(w))
                .ok_or_else(|| format!("bad option `{item}`"))
        };
        out.push(match words[0] {
            "nop" => TcpOptionSpec::Nop,
            "eol" => TcpOptionSpec::Eol,
            "mss" => TcpOptionSpec::Mss(number(1)? as u16),
            "wscale" => TcpOptionSpec::WindowScale(number(1)? as u8),
            "sackOK" => TcpOptionSpec::SackPermitted,
            "sack" => TcpOptionSpec::Sack(parse_sack_blocks(&words[1..], item)?),
            "TS" if words.len() == 5 && words[1] == "val" && words[3] == "ecr" => {
                TcpOptionSpec::Timestamp {
                    val: number(2)? as u32,
                    ecr: number(4)? as u32,
                }
            }
            other => TcpOptionSpec::Other(other.to_string()),
        });
    }
    Ok(out)
}

fn parse_sack_blocks(words: &[&str], item: &str) -> Result<Vec<(u32, u32)>, String> {
    words
        .iter()
        .map(|block| {
            let (left, right) = block.split_once(':')?;
            Some((parse_int(left)? as u32, parse_int(right)? as u32))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("bad SACK blocks in `{item}`"))
}

/// `name(args) = result [ERRNO (text)]`.
fn parse_syscall(text: &str) -> Result<SyscallSpec, String> {
    let open = text
        .find('(')
        .ok_or_else(|| format!("not an event: `{text}`"))?;
    let name = text[..open].trim().to_string();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("not an event: `{text}`"));
    }
    let close = matching_paren(text, open).ok_or("unbalanced parentheses")?;
    let args_tokens = tokenize(&text[open + 1..close]).ok_or("bad arguments")?;
    let args = parse_list(&args_tokens).ok_or("bad arguments")?;
    let after = text[close + 1..].trim();
    let result_text = after.strip_prefix('=').ok_or("no `= result`")?.trim();
    // What follows the result is an errno name and/or a comment in
    // parentheses ("(Operation now in progress)", "(flags O_RDWR)").
    let result_end = result_text.find([' ', '(']).unwrap_or(result_text.len());
    let result_tokens = tokenize(&result_text[..result_end]).ok_or("bad result")?;
    let result = parse_expr(&result_tokens, &mut 0).ok_or("bad result")?;
    let errno = result_text[result_end..]
        .split_whitespace()
        .next()
        .filter(|word| word.starts_with('E'))
        .map(str::to_string);
    Ok(SyscallSpec {
        name,
        args,
        result,
        errno,
    })
}

fn matching_paren(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in text.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Comma-separated expressions, all the tokens.
fn parse_list(tokens: &[Token]) -> Option<Vec<Expr>> {
    let mut at = 0;
    let mut items = Vec::new();
    while at < tokens.len() {
        items.push(parse_expr(tokens, &mut at)?);
        if matches!(tokens.get(at), Some(Token::Punct(','))) {
            at += 1;
        }
    }
    (at == tokens.len()).then_some(items)
}

/// One expression at `*at`: an atom, `[..]`, `{..}`, or `A | B`.
fn parse_expr(tokens: &[Token], at: &mut usize) -> Option<Expr> {
    let first = parse_atom(tokens, at)?;
    let mut alternatives = vec![first];
    while matches!(tokens.get(*at), Some(Token::Punct('|'))) {
        *at += 1;
        alternatives.push(parse_atom(tokens, at)?);
    }
    Some(match alternatives.len() {
        1 => alternatives.pop()?,
        _ => Expr::Or(alternatives),
    })
}

fn parse_atom(tokens: &[Token], at: &mut usize) -> Option<Expr> {
    let token = tokens.get(*at)?.clone();
    *at += 1;
    Some(match token {
        Token::Ellipsis => Expr::Ellipsis,
        Token::Int(n) => Expr::Int(n),
        Token::Str(s) => Expr::Str(s),
        Token::Word(w) => Expr::Symbol(w),
        Token::Punct('[') => Expr::List(parse_group(tokens, at, ']')?),
        Token::Punct('{') => {
            let fields = parse_group(tokens, at, '}')?;
            Expr::Struct(fields.into_iter().map(named_field).collect())
        }
        Token::Punct(_) => return None,
    })
}

/// Items up to the closing bracket; a `name=value` item becomes a one-item
/// list `[Symbol(name), value]` marked by [`named_field`].
fn parse_group(tokens: &[Token], at: &mut usize, close: char) -> Option<Vec<Expr>> {
    let mut items = Vec::new();
    loop {
        match tokens.get(*at)? {
            Token::Punct(c) if *c == close => {
                *at += 1;
                return Some(items);
            }
            Token::Punct(',') => *at += 1,
            Token::Word(name) if tokens.get(*at + 1) == Some(&Token::Punct('=')) => {
                let name = name.clone();
                *at += 2;
                let value = parse_expr(tokens, at)?;
                items.push(Expr::Struct(vec![(Some(name), value)]));
            }
            _ => items.push(parse_expr(tokens, at)?),
        }
    }
}

fn named_field(item: Expr) -> (Option<String>, Expr) {
    match item {
        Expr::Struct(mut fields) if fields.len() == 1 && fields[0].0.is_some() => fields.remove(0),
        other => (None, other),
    }
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
