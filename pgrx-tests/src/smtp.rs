//! A local SMTP sink for tests: plaintext SMTP on 127.0.0.1 that accepts mail (optionally
//! only after `AUTH PLAIN`/`LOGIN` with given credentials), records each message, and can
//! refuse the next sessions with a scripted reply (`421` transient, `550` permanent, ...).
//! Small on purpose: it speaks just what an SMTP client (lettre) needs.

use base64::Engine as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A message the sink accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body), dot-unstuffed.
    pub data: String,
    /// The user that authenticated, if any.
    pub user: Option<String>,
}

impl Mail {
    /// The `Subject:` header (lettre may encode non-ASCII; tests use ASCII).
    pub fn subject(&self) -> String {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_string()
    }
}

#[derive(Default)]
struct Shared {
    mails: Vec<Mail>,
    /// Replies to give to `MAIL FROM` in the next sessions, first first.
    refusals: Vec<String>,
    sessions: usize,
}

/// A running sink; it stops when the test process ends.
pub struct SmtpSink {
    port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl SmtpSink {
    /// Starts a sink; with `credentials`, mail is accepted only after AUTH with them.
    pub fn start(credentials: Option<(&str, &str)>) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let creds = credentials.map(|(u, p)| (u.to_string(), p.to_string()));
        let state = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (state, creds) = (state.clone(), creds.clone());
                std::thread::spawn(move || {
                    let _ = session(stream, &state, creds.as_ref());
                });
            }
        });
        SmtpSink { port, shared }
    }

    /// The port it listens on (host 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Messages accepted so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.shared.lock().unwrap().mails.clone()
    }

    /// Sessions opened so far (accepted or refused).
    pub fn sessions(&self) -> usize {
        self.shared.lock().unwrap().sessions
    }

    /// The next `times` sessions are refused at `MAIL FROM` with `reply` (e.g. `"421 busy"`).
    pub fn refuse(&self, reply: &str, times: usize) {
        let mut s = self.shared.lock().unwrap();
        s.refusals
            .extend(std::iter::repeat_n(reply.to_string(), times));
    }
}

fn session(
    stream: TcpStream,
    state: &Mutex<Shared>,
    creds: Option<&(String, String)>,
) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    let mut say = |text: &str| out.write_all(format!("{text}\r\n").as_bytes());
    state.lock().unwrap().sessions += 1;
    say("220 localhost hubsync test sink")?;
    let (mut from, mut to, mut user) = (String::new(), Vec::new(), None::<String>);
    let mut line = String::new();
    let read = |lines: &mut BufReader<TcpStream>, line: &mut String| -> std::io::Result<bool> {
        line.clear();
        Ok(lines.read_line(line)? > 0)
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    while read(&mut lines, &mut line)? {
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            if creds.is_some() {
                say("250-localhost")?;
                say("250 AUTH PLAIN LOGIN")?;
            } else {
                say("250 localhost")?;
            }
        } else if upper.starts_with("AUTH PLAIN") {
            let encoded = match command.split_whitespace().nth(2) {
                Some(e) => e.to_string(),
                None => {
                    say("334 ")?;
                    read(&mut lines, &mut line)?;
                    line.trim().to_string()
                }
            };
            let decoded = b64.decode(encoded).unwrap_or_default();
            let parts: Vec<String> = decoded
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            let given = (parts.get(1).cloned(), parts.get(2).cloned());
            user = check(creds, given, &mut say)?;
        } else if upper.starts_with("AUTH LOGIN") {
            say("334 VXNlcm5hbWU6")?;
            read(&mut lines, &mut line)?;
            let name =
                String::from_utf8_lossy(&b64.decode(line.trim()).unwrap_or_default()).into_owned();
            say("334 UGFzc3dvcmQ6")?;
            read(&mut lines, &mut line)?;
            let pass =
                String::from_utf8_lossy(&b64.decode(line.trim()).unwrap_or_default()).into_owned();
            user = check(creds, (Some(name), Some(pass)), &mut say)?;
        } else if upper.starts_with("MAIL FROM:") {
            let refusal = {
                let mut s = state.lock().unwrap();
                (!s.refusals.is_empty()).then(|| s.refusals.remove(0))
            };
            if let Some(reply) = refusal {
                say(&reply)?;
            } else if creds.is_some() && user.is_none() {
                say("530 5.7.0 Authentication required")?;
            } else {
                from = address(&command[10..]);
                to.clear();
                say("250 OK")?;
            }
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command[8..]));
            say("250 OK")?;
        } else if upper == "DATA" {
            say("354 End data with <CR><LF>.<CR><LF>")?;
            let mut data = String::new();
            while read(&mut lines, &mut line)? {
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            state.lock().unwrap().mails.push(Mail {
                from: from.clone(),
                to: to.clone(),
                data,
                user: user.clone(),
            });
            say("250 OK queued")?;
        } else if upper == "QUIT" {
            say("221 Bye")?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            say("250 OK")?;
        } else {
            say("502 Command not implemented")?;
        }
    }
    Ok(())
}

fn check(
    creds: Option<&(String, String)>,
    given: (Option<String>, Option<String>),
    say: &mut impl FnMut(&str) -> std::io::Result<()>,
) -> std::io::Result<Option<String>> {
    match creds {
        Some((u, p)) if given.0.as_deref() == Some(u) && given.1.as_deref() == Some(p) => {
            say("235 2.7.0 Authentication successful")?;
            Ok(Some(u.clone()))
        }
        _ => {
            say("535 5.7.8 Authentication credentials invalid")?;
            Ok(None)
        }
    }
}

fn address(text: &str) -> String {
    text.trim()
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or_default()
        .to_string()
}
