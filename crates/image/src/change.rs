//! Dockerfile-like `--change` lines of `docker import` (and later `docker commit`): a pure
//! parser into [`Instruction`]s and a pure function applying them to a [`ContainerConfig`].
//!
//! Supported, as Docker allows for import/commit: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK,
//! LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR. Quotes and backslashes are processed like
//! the Dockerfile word parser; `$VAR` expansion is not done (the value is kept literally).

use std::collections::BTreeMap;

use crate::config::{ContainerConfig, Empty, HealthConfig};

/// Why a change line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// The instruction is not one import/commit accepts.
    #[error("{instruction} is not a valid change command")]
    Unknown {
        /// The instruction word as given.
        instruction: String,
        /// The whole line.
        line: String,
    },
    /// The instruction's arguments are malformed.
    #[error("invalid change {line:?}: {reason}")]
    Invalid {
        /// The whole line.
        line: String,
        /// What is wrong.
        reason: String,
    },
}

/// One parsed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Instruction {
    Cmd(Vec<String>),
    Entrypoint(Vec<String>),
    Env(Vec<(String, String)>),
    Expose(Vec<String>),
    Healthcheck(HealthConfig),
    Label(Vec<(String, String)>),
    OnBuild(String),
    StopSignal(String),
    User(String),
    Volume(Vec<String>),
    Workdir(String),
}

/// Parses every line, then applies them in order to `config`. Nothing is changed if a line is
/// invalid.
pub fn apply_changes(config: &mut ContainerConfig, changes: &[String]) -> Result<(), ChangeError> {
    let parsed: Vec<Instruction> =
        changes.iter().filter(|l| !l.trim().is_empty()).map(|l| parse(l)).collect::<Result<_, _>>()?;
    apply(config, &parsed);
    Ok(())
}

/// Applies parsed instructions like the Dockerfile dispatcher does.
pub(crate) fn apply(config: &mut ContainerConfig, instructions: &[Instruction]) {
    let mut cmd_set = false;
    for i in instructions {
        match i {
            Instruction::Cmd(c) => {
                config.cmd = Some(c.clone());
                cmd_set = true;
            }
            Instruction::Entrypoint(e) => {
                config.entrypoint = Some(e.clone());
                // A new entrypoint drops an inherited CMD, unless CMD was given in these changes.
                if !cmd_set {
                    config.cmd = None;
                }
            }
            Instruction::Env(pairs) => {
                let env = config.env.get_or_insert_with(Vec::new);
                for (k, v) in pairs {
                    let entry = format!("{k}={v}");
                    match env.iter_mut().find(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n) == k) {
                        Some(existing) => *existing = entry,
                        None => env.push(entry),
                    }
                }
            }
            Instruction::Expose(ports) => {
                let set = config.exposed_ports.get_or_insert_with(BTreeMap::new);
                set.extend(ports.iter().map(|p| (p.clone(), Empty {})));
            }
            Instruction::Healthcheck(h) => config.healthcheck = Some(h.clone()),
            Instruction::Label(pairs) => {
                config.labels.get_or_insert_with(BTreeMap::new).extend(pairs.iter().cloned());
            }
            Instruction::OnBuild(t) => config.on_build.get_or_insert_with(Vec::new).push(t.clone()),
            Instruction::StopSignal(s) => config.stop_signal = Some(s.clone()),
            Instruction::User(u) => config.user = Some(u.clone()),
            Instruction::Volume(v) => {
                config.volumes.get_or_insert_with(BTreeMap::new).extend(v.iter().map(|p| (p.clone(), Empty {})));
            }
            Instruction::Workdir(w) => {
                let base = config.working_dir.as_deref().unwrap_or("/");
                config.working_dir = Some(resolve_workdir(base, w));
            }
        }
    }
}

/// Parses one change line.
pub(crate) fn parse(line: &str) -> Result<Instruction, ChangeError> {
    let trimmed = line.trim();
    let (word, args) = trimmed.split_once(char::is_whitespace).map_or((trimmed, ""), |(w, a)| (w, a.trim()));
    let invalid = |reason: &str| ChangeError::Invalid { line: line.to_owned(), reason: reason.to_owned() };
    let need_args = || {
        if args.is_empty() {
            Err(invalid(&format!("{} requires at least one argument", word.to_uppercase())))
        } else {
            Ok(())
        }
    };
    match word.to_ascii_uppercase().as_str() {
        "CMD" => {
            need_args()?;
            Ok(Instruction::Cmd(command(args)))
        }
        "ENTRYPOINT" => {
            need_args()?;
            Ok(Instruction::Entrypoint(command(args)))
        }
        "ENV" => {
            need_args()?;
            Ok(Instruction::Env(name_values(args, "ENV").map_err(|r| invalid(&r))?))
        }
        "LABEL" => {
            need_args()?;
            Ok(Instruction::Label(name_values(args, "LABEL").map_err(|r| invalid(&r))?))
        }
        "EXPOSE" => {
            need_args()?;
            let mut ports = Vec::new();
            for w in words(args).map_err(|r| invalid(&r))? {
                ports.extend(expose(&w).map_err(|r| invalid(&r))?);
            }
            Ok(Instruction::Expose(ports))
        }
        "VOLUME" => {
            need_args()?;
            let vols = json_array(args).map_or_else(|| words(args).map_err(|r| invalid(&r)), Ok)?;
            if vols.is_empty() || vols.iter().any(|v| v.trim().is_empty()) {
                return Err(invalid("VOLUME specified can not be an empty string"));
            }
            Ok(Instruction::Volume(vols))
        }
        "WORKDIR" => {
            need_args()?;
            Ok(Instruction::Workdir(unquote(args).map_err(|r| invalid(&r))?))
        }
        "USER" => {
            need_args()?;
            Ok(Instruction::User(unquote(args).map_err(|r| invalid(&r))?))
        }
        "STOPSIGNAL" => {
            need_args()?;
            let sig = unquote(args).map_err(|r| invalid(&r))?;
            if !valid_signal(&sig) {
                return Err(invalid(&format!("invalid signal: {sig}")));
            }
            Ok(Instruction::StopSignal(sig))
        }
        "ONBUILD" => {
            need_args()?;
            let (w, rest) = args.split_once(char::is_whitespace).map_or((args, ""), |(w, r)| (w, r.trim()));
            let w = w.to_ascii_uppercase();
            if matches!(w.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
                return Err(invalid(&format!("{w} isn't allowed as an ONBUILD trigger")));
            }
            Ok(Instruction::OnBuild(if rest.is_empty() { w } else { format!("{w} {rest}") }))
        }
        "HEALTHCHECK" => {
            need_args()?;
            healthcheck(args).map(Instruction::Healthcheck).map_err(|r| invalid(&r))
        }
        _ => Err(ChangeError::Unknown { instruction: word.to_owned(), line: line.to_owned() }),
    }
}

/// Exec form (a JSON array of strings) or shell form (`/bin/sh -c "…"`).
fn command(args: &str) -> Vec<String> {
    json_array(args).unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into(), args.to_owned()])
}

fn json_array(args: &str) -> Option<Vec<String>> {
    if !args.starts_with('[') {
        return None;
    }
    serde_json::from_str(args).ok()
}

/// Splits on unquoted whitespace, keeping quotes (Docker's `parseWords`).
fn raw_words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (q, '\\') if q != Some('\'') => {
                cur.push('\\');
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// Removes quotes and backslash escapes from one word.
fn unquote(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '\\') => out.extend(chars.next()),
            (Some('"'), '\\') => match chars.next() {
                Some(n @ ('"' | '\\' | '$')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            (_, c) => out.push(c),
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    Ok(out)
}

fn words(s: &str) -> Result<Vec<String>, String> {
    raw_words(s)?.iter().map(|w| unquote(w)).collect()
}

/// `k=v k2="v 2"`, or the legacy `k v…` form (one pair, the value is the rest of the line).
fn name_values(args: &str, what: &str) -> Result<Vec<(String, String)>, String> {
    let raw = raw_words(args)?;
    let first_has_eq = raw.first().is_some_and(|w| w.contains('='));
    if !first_has_eq {
        let (k, v) = args.split_once(char::is_whitespace).ok_or_else(|| format!("{what} must have two arguments"))?;
        let key = unquote(k)?;
        if key.is_empty() {
            return Err(format!("{what} names can not be blank"));
        }
        return Ok(vec![(key, unquote(v.trim())?)]);
    }
    let mut out = Vec::new();
    for w in raw {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| format!("Syntax error - can't find = in {w:?}. Must be of the form: name=value"))?;
        let key = unquote(k)?;
        if key.is_empty() {
            return Err(format!("{what} names can not be blank"));
        }
        out.push((key, unquote(v)?));
    }
    Ok(out)
}

/// `80` → `80/tcp`; `53/udp`; `8000-8002` → three ports.
fn expose(spec: &str) -> Result<Vec<String>, String> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let port = |s: &str| s.parse::<u16>().map_err(|_| format!("invalid containerPort: {s}"));
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(ports)?, port(ports)?),
    };
    if hi < lo {
        return Err(format!("invalid port range: {ports}"));
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

fn valid_signal(s: &str) -> bool {
    if let Ok(n) = s.parse::<u32>() {
        return (1..=64).contains(&n);
    }
    let name = s.strip_prefix("SIG").unwrap_or(s);
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'+' || b == b'-')
}

/// Docker's WORKDIR: relative paths are joined to the current one; the result is clean and absolute.
fn resolve_workdir(current: &str, requested: &str) -> String {
    let joined = if requested.starts_with('/') { requested.to_owned() } else { format!("{current}/{requested}") };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn healthcheck(args: &str) -> Result<HealthConfig, String> {
    if args.eq_ignore_ascii_case("NONE") {
        return Ok(HealthConfig { test: vec!["NONE".into()], ..Default::default() });
    }
    let mut h = HealthConfig::default();
    let mut rest = args;
    while let Some(flag) = rest.strip_prefix("--") {
        let (f, r) = flag.split_once(char::is_whitespace).unwrap_or((flag, ""));
        rest = r.trim_start();
        let (name, value) = f.split_once('=').ok_or_else(|| format!("missing value for --{f}"))?;
        match name {
            "interval" => h.interval = duration(value)?,
            "timeout" => h.timeout = duration(value)?,
            "start-period" => h.start_period = duration(value)?,
            "start-interval" => h.start_interval = duration(value)?,
            "retries" => h.retries = value.parse().map_err(|_| format!("invalid --retries: {value}"))?,
            other => return Err(format!("unknown flag: --{other}")),
        }
    }
    let (word, cmd) = rest.split_once(char::is_whitespace).ok_or("HEALTHCHECK requires a CMD")?;
    if !word.eq_ignore_ascii_case("CMD") {
        return Err(format!("unknown type {word:?} in HEALTHCHECK (try CMD)"));
    }
    let cmd = cmd.trim();
    h.test = match json_array(cmd) {
        Some(exec) => std::iter::once("CMD".to_owned()).chain(exec).collect(),
        None => vec!["CMD-SHELL".into(), cmd.to_owned()],
    };
    Ok(h)
}

/// A Go duration (`1m30s`, `500ms`) in nanoseconds.
fn duration(s: &str) -> Result<i64, String> {
    let bad = || format!("invalid duration: {s}");
    if s == "0" {
        return Ok(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    if total > i64::MAX as f64 {
        return Err(bad());
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(lines: &[&str]) -> ContainerConfig {
        let mut c = ContainerConfig::default();
        apply_changes(&mut c, &lines.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        c
    }

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cmd_and_entrypoint_forms() {
        assert_eq!(cfg(&[r#"CMD ["/bin/echo", "hi"]"#]).cmd, Some(v(&["/bin/echo", "hi"])));
        assert_eq!(cfg(&["CMD echo hi && ls"]).cmd, Some(v(&["/bin/sh", "-c", "echo hi && ls"])));
        assert_eq!(cfg(&["cmd [not json"]).cmd, Some(v(&["/bin/sh", "-c", "[not json"])));
        let c = cfg(&["ENTRYPOINT /init"]);
        assert_eq!(c.entrypoint, Some(v(&["/bin/sh", "-c", "/init"])));
        let mut base = ContainerConfig { cmd: Some(v(&["sh"])), ..Default::default() };
        apply_changes(&mut base, &[r#"ENTRYPOINT ["/e"]"#.into()]).unwrap();
        assert_eq!(base.cmd, None, "an entrypoint resets the inherited cmd");
        let c = cfg(&[r#"CMD ["a"]"#, r#"ENTRYPOINT ["/e"]"#]);
        assert_eq!((c.cmd, c.entrypoint), (Some(v(&["a"])), Some(v(&["/e"]))));
    }

    #[test]
    fn env_forms() {
        let c = cfg(&["ENV a=b c=d", "ENV legacy some value", r#"ENV q="x y" e=\"z"#, "ENV a=override"]);
        assert_eq!(c.env, Some(v(&["a=override", "c=d", "legacy=some value", "q=x y", "e=\"z"])));
        assert!(matches!(parse("ENV onlykey"), Err(ChangeError::Invalid { .. })));
        assert!(matches!(parse("ENV =x"), Err(ChangeError::Invalid { .. })));
        assert!(matches!(parse("ENV a=b c"), Err(ChangeError::Invalid { .. })));
    }

    #[test]
    fn labels_expose_volume() {
        let c = cfg(&[
            r#"LABEL k=v "k 2"="v 2" 'x'=y"#,
            "EXPOSE 80 53/udp 8000-8001/TCP",
            r#"VOLUME ["/a"]"#,
            "VOLUME /b /c",
        ]);
        let labels = c.labels.unwrap();
        assert_eq!(labels.get("k 2").map(String::as_str), Some("v 2"));
        assert_eq!(labels.get("x").map(String::as_str), Some("y"));
        assert_eq!(
            c.exposed_ports.unwrap().keys().cloned().collect::<Vec<_>>(),
            v(&["53/udp", "80/tcp", "8000/tcp", "8001/tcp"])
        );
        assert_eq!(c.volumes.unwrap().keys().cloned().collect::<Vec<_>>(), v(&["/a", "/b", "/c"]));
        assert!(parse("EXPOSE 70000").is_err());
        assert!(parse("EXPOSE 80/icmp").is_err());
        assert!(parse(r#"VOLUME [""]"#).is_err());
    }

    #[test]
    fn workdir_user_stopsignal_onbuild() {
        let c =
            cfg(&["WORKDIR /app", "WORKDIR sub/../x", "USER 1000:1000", "STOPSIGNAL SIGTERM", "ONBUILD run echo hi"]);
        assert_eq!(c.working_dir.as_deref(), Some("/app/x"));
        assert_eq!(c.user.as_deref(), Some("1000:1000"));
        assert_eq!(c.stop_signal.as_deref(), Some("SIGTERM"));
        assert_eq!(c.on_build, Some(v(&["RUN echo hi"])));
        assert_eq!(cfg(&["WORKDIR rel"]).working_dir.as_deref(), Some("/rel"));
        assert!(parse("STOPSIGNAL sig term").is_err());
        assert!(parse("STOPSIGNAL 9").is_ok());
    }

    #[test]
    fn healthchecks() {
        let c = cfg(&["HEALTHCHECK --interval=1m30s --retries=3 CMD curl -f http://localhost/"]);
        let h = c.healthcheck.unwrap();
        assert_eq!(h.test, v(&["CMD-SHELL", "curl -f http://localhost/"]));
        assert_eq!((h.interval, h.retries), (90_000_000_000, 3));
        let h = cfg(&[r#"HEALTHCHECK --timeout=500ms CMD ["true"]"#]).healthcheck.unwrap();
        assert_eq!((h.test, h.timeout), (v(&["CMD", "true"]), 500_000_000));
        assert_eq!(cfg(&["HEALTHCHECK NONE"]).healthcheck.unwrap().test, v(&["NONE"]));
        assert!(parse("HEALTHCHECK --interval=abc CMD x").is_err());
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("FOO bar").unwrap_err();
        assert_eq!(err.to_string(), "FOO is not a valid change command");
        assert_eq!(
            parse("RUN x").unwrap_err(),
            ChangeError::Unknown { instruction: "RUN".into(), line: "RUN x".into() }
        );
        let err = parse("CMD").unwrap_err();
        assert_eq!(err.to_string(), r#"invalid change "CMD": CMD requires at least one argument"#);
        let mut c = ContainerConfig::default();
        assert!(apply_changes(&mut c, &["USER x".into(), "BAD".into()]).is_err());
        assert_eq!(c, ContainerConfig::default(), "nothing applied when a line is bad");
    }
}
