//! What the loopback SIP peers of the benches share (`udp_responders`, `notify_phones`): their
//! command line (a block of consecutive loopback ports), the 200 OK that copies a request's
//! Via, From, To (tagged), Call-ID and CSeq, and the wait for SIGTERM with stats written.

use std::net::IpAddr;

/// `--bind ADDR --base PORT --count N --stats FILE`.
pub struct Args {
    pub bind: IpAddr,
    pub base: u16,
    pub count: u16,
    pub stats: Option<std::path::PathBuf>,
}

/// Reads the command line; refuses anything but a loopback address and ports past 65535.
pub fn args(default_base: u16) -> Result<Args, String> {
    let mut out = Args {
        bind: IpAddr::from([127, 0, 0, 1]),
        base: default_base,
        count: 5_000,
        stats: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--bind" => out.bind = value.parse().map_err(|e| format!("--bind: {e}"))?,
            "--base" => out.base = value.parse().map_err(|e| format!("--base: {e}"))?,
            "--count" => out.count = value.parse().map_err(|e| format!("--count: {e}"))?,
            "--stats" => out.stats = Some(value.into()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !out.bind.is_loopback() {
        return Err(format!("{} is not a loopback address", out.bind));
    }
    if u32::from(out.base) + u32::from(out.count) > 65_536 {
        return Err("ports run past 65535".into());
    }
    Ok(out)
}

/// The canonical name of a header the 200 copies, long or compact form, or `None`.
fn copied(name: &str) -> Option<&'static str> {
    let name = name.trim();
    [
        ("via", "v", "Via"),
        ("from", "f", "From"),
        ("to", "t", "To"),
        ("call-id", "i", "Call-ID"),
        ("cseq", "", "CSeq"),
    ]
    .into_iter()
    .find(|(full, compact, _)| {
        name.eq_ignore_ascii_case(full)
            || (!compact.is_empty() && name.eq_ignore_ascii_case(compact))
    })
    .map(|(_, _, canonical)| canonical)
}

/// The 200 OK to a `method` request (`Server: server`, `tag` added to a To without one), or
/// `None` when the datagram is no such request or lacks one of the five copied headers.
/// `header` sees every header line (name as sent, trimmed value), copied or not.
pub fn ok_to(
    request: &[u8],
    method: &str,
    server: &str,
    tag: &str,
    mut header: impl FnMut(&str, &str),
) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(request).ok()?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next()?;
    if !start
        .strip_prefix(method)
        .is_some_and(|rest| rest.starts_with(' '))
        || !start.ends_with(" SIP/2.0")
    {
        return None;
    }
    let mut out = String::with_capacity(request.len() + 64);
    out.push_str("SIP/2.0 200 OK\r\n");
    let mut seen = 0u8;
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        header(name.trim(), value);
        let Some(canonical) = copied(name) else {
            continue;
        };
        out.push_str(canonical);
        out.push_str(": ");
        out.push_str(value);
        if canonical == "To" && !value.to_ascii_lowercase().contains(";tag=") {
            out.push_str(";tag=");
            out.push_str(tag);
        }
        out.push_str("\r\n");
        seen |= match canonical {
            "Via" => 1,
            "From" => 2,
            "To" => 4,
            "Call-ID" => 8,
            _ => 16,
        };
    }
    if seen != 31 {
        return None;
    }
    out.push_str("Server: ");
    out.push_str(server);
    out.push_str("\r\nContent-Length: 0\r\n\r\n");
    Some(out.into_bytes())
}

/// Announces the peers on stderr, then writes the stats (`write_stats`, when `--stats` was
/// given) every second and once more on SIGTERM, which ends it; Ctrl-C ends it at once.
pub async fn serve_until_terminated(
    name: &str,
    what: &str,
    args: &Args,
    write_stats: impl Fn(&std::path::Path),
) {
    eprintln!(
        "{name}: {} {what} on {}:{}-{}",
        args.count,
        args.bind,
        args.base,
        u32::from(args.base) + u32::from(args.count) - 1
    );
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal");
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = term.recv() => {
                if let Some(path) = &args.stats {
                    write_stats(path);
                }
                return;
            }
            _ = tokio::signal::ctrl_c() => return,
        }
        if let Some(path) = &args.stats {
            write_stats(path);
        }
    }
}
