//! `getAcl`, `setAcl`, `addauth`, `whoami`, and the `scheme:id:perms` ACL syntax.

use std::io::{self, Write};

use base64::Engine as _;
use serde::Serialize;
use zk_client::{Acl, Id, Perms};

use super::Ctx;
use super::nodes::{Updated, version_mismatch};
use crate::cli::{AddAuthArgs, GetAclArgs, SetAclArgs};
use crate::error::{CliError, Result};
use crate::output::{Output, Render, StatView};

/// The permission letters in zkCli's order, with their bits.
const PERMS: [(char, Perms); 5] = [
    ('c', Perms::CREATE),
    ('d', Perms::DELETE),
    ('r', Perms::READ),
    ('w', Perms::WRITE),
    ('a', Perms::ADMIN),
];

/// `cdrwa` for [`Perms::ALL`].
pub(crate) fn perms_letters(perms: Perms) -> String {
    PERMS
        .iter()
        .filter(|(_, p)| perms.contains(*p))
        .map(|(c, _)| *c)
        .collect()
}

/// One entry as `scheme:id:perms`, the syntax [`parse_acl`] reads.
pub(crate) fn format_acl(acl: &Acl) -> String {
    format!(
        "{}:{}:{}",
        acl.id.scheme,
        acl.id.id,
        perms_letters(acl.perms)
    )
}

/// Parses `scheme:id:perms[,scheme:id:perms...]`. The id is everything between the first
/// and the last colon, so `digest:alice:<hash>:cdrwa` and `ip:10.0.0.0/8:r` work.
///
/// `digest-plain:user:password:perms` is the `digest` entry of that user and password:
/// zk computes the hash. A `digest` id that is not `user:<hash>` (28 base64 characters
/// of a SHA-1) gets a warning on stderr: the server would store the text as the hash,
/// which no password matches, and the node would stay locked.
pub(crate) fn parse_acl(text: &str) -> Result<Vec<Acl>> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(parse_entry)
        .collect::<Result<Vec<_>>>()
        .and_then(|acl| {
            if acl.is_empty() {
                Err(CliError::msg("empty ACL"))
            } else {
                Ok(acl)
            }
        })
}

fn parse_entry(entry: &str) -> Result<Acl> {
    let invalid = |why: &str| {
        CliError::msg(format!(
            "invalid ACL entry {entry:?}: {why} (expected scheme:id:perms, e.g. world:anyone:cdrwa)"
        ))
    };
    let (scheme, rest) = entry.split_once(':').ok_or_else(|| invalid("no id"))?;
    let (id, letters) = rest
        .rsplit_once(':')
        .ok_or_else(|| invalid("no permissions"))?;
    if scheme.is_empty() {
        return Err(invalid("no scheme"));
    }
    let perms = parse_perms(letters).map_err(|why| invalid(&why))?;
    match scheme {
        DIGEST_PLAIN => {
            let (user, password) = id
                .split_once(':')
                .filter(|(user, _)| !user.is_empty())
                .ok_or_else(|| invalid("digest-plain needs user:password"))?;
            return Ok(zk_client::acl::digest(user, password, perms));
        }
        "digest" => {
            if let Some(warning) = digest_warning(entry, id, letters) {
                let _ = writeln!(io::stderr().lock(), "warning: {warning}");
            }
        }
        _ => {}
    }
    Ok(Acl {
        perms,
        id: Id {
            scheme: scheme.to_owned(),
            id: id.to_owned(),
        },
    })
}

/// The scheme that takes a password in plain text and stores its digest.
const DIGEST_PLAIN: &str = "digest-plain";

/// Permission letters (`cdrwa`, any order and case) as [`Perms`].
fn parse_perms(letters: &str) -> std::result::Result<Perms, String> {
    let mut perms = Perms::NONE;
    for letter in letters.chars() {
        let (_, p) = PERMS
            .iter()
            .find(|(c, _)| *c == letter.to_ascii_lowercase())
            .ok_or_else(|| format!("unknown permission {letter:?} (use c, d, r, w, a)"))?;
        perms |= *p;
    }
    Ok(perms)
}

/// Why a `digest` id is not what the server needs, `user:<base64 of a 20-byte SHA-1>`,
/// as a warning naming the `digest-plain` form to use instead; `None` when it is.
fn digest_warning(entry: &str, id: &str, letters: &str) -> Option<String> {
    let (user, hash) = id.split_once(':').unwrap_or((id, ""));
    let decoded = base64::engine::general_purpose::STANDARD.decode(hash);
    if hash.len() == 28 && decoded.is_ok_and(|bytes| bytes.len() == 20) {
        return None;
    }
    Some(format!(
        "{entry}: {hash:?} is not a password digest (28 base64 characters of a SHA-1); \
         the server stores it as given and no password will match it, which locks the \
         node for good. For a password in plain text write \
         digest-plain:{user}:<password>:{letters} and zk hashes it"
    ))
}

/// One ACL entry in JSON.
#[derive(Debug, Serialize)]
struct AclEntry {
    scheme: String,
    id: String,
    perms: String,
}

/// `getAcl`: one entry per line.
#[derive(Debug, Serialize)]
struct AclList {
    path: String,
    acl: Vec<AclEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stat: Option<StatView>,
}

impl Render for AclList {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        for e in &self.acl {
            writeln!(w, "{}:{}:{}", e.scheme, e.id, e.perms)?;
        }
        if let Some(stat) = &self.stat {
            stat.text(w)?;
        }
        Ok(())
    }
}

pub(super) async fn get_acl(ctx: &Ctx<'_>, args: GetAclArgs, out: &mut Output) -> Result<()> {
    let (acl, stat) = ctx.client.get_acl(&args.path).await?;
    out.emit(&AclList {
        path: args.path,
        acl: acl
            .iter()
            .map(|a| AclEntry {
                scheme: a.id.scheme.clone(),
                id: a.id.id.clone(),
                perms: perms_letters(a.perms),
            })
            .collect(),
        stat: args.stat.then(|| StatView::from(&stat)),
    })?;
    Ok(())
}

/// `setAcl -R`: how many nodes were changed.
#[derive(Debug, Serialize)]
struct AclSetRecursively {
    path: String,
    nodes: usize,
}

impl Render for AclSetRecursively {
    fn text(&self, _: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

pub(super) async fn set_acl(ctx: &Ctx<'_>, args: SetAclArgs, out: &mut Output) -> Result<()> {
    let acl = parse_acl(&args.acl)?;
    if args.recursive {
        let mut nodes = vec![args.path.clone()];
        nodes.extend(ctx.client.walk(&args.path).await?);
        // Pipelined; nodes deleted meanwhile are skipped.
        let updates: Vec<_> = nodes
            .iter()
            .map(|p| ctx.client.set_acl(p, &acl, None))
            .collect();
        let mut changed = 0;
        for update in updates {
            match update.await {
                Ok(_) => changed += 1,
                Err(zk_client::Error::NoNode(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        out.emit(&AclSetRecursively {
            path: args.path,
            nodes: changed,
        })?;
        return Ok(());
    }
    let stat = match ctx.client.set_acl(&args.path, &acl, args.version).await {
        Ok(stat) => stat,
        Err(e) => return Err(version_mismatch(ctx, e, &args.path, args.version, true).await),
    };
    Updated::emit(out, args.path, &stat, args.stat)
}

/// `addauth`: nothing to print in text.
#[derive(Debug, Serialize)]
struct AuthAdded {
    scheme: String,
    added: bool,
}

impl Render for AuthAdded {
    fn text(&self, _: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

pub(super) async fn add_auth(ctx: &Ctx<'_>, args: AddAuthArgs, out: &mut Output) -> Result<()> {
    ctx.client
        .add_auth(&args.scheme, args.credentials.as_bytes());
    // The identity is sent in order with requests: a round trip after it tells whether
    // the server accepted it (an unknown scheme fails the session).
    ctx.client.exists("/").await.map_err(|e| match e {
        zk_client::Error::AuthFailed(_) => CliError::msg(format!(
            "addauth {}: the server rejected the credentials; the session is closed",
            args.scheme
        )),
        other => other.into(),
    })?;
    out.emit(&AuthAdded {
        scheme: args.scheme,
        added: true,
    })?;
    Ok(())
}

/// One identity of the session.
#[derive(Debug, Serialize)]
struct Identity {
    scheme: String,
    user: String,
}

/// `whoami`: `scheme: user` per line.
#[derive(Debug, Serialize)]
struct Identities {
    identities: Vec<Identity>,
}

impl Render for Identities {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        for id in &self.identities {
            writeln!(w, "{}: {}", id.scheme, id.user)?;
        }
        Ok(())
    }
}

pub(super) async fn who_am_i(ctx: &Ctx<'_>, out: &mut Output) -> Result<()> {
    let identities = ctx.client.who_am_i().await?;
    out.emit(&Identities {
        identities: identities
            .into_iter()
            .map(|i| Identity {
                scheme: i.auth_scheme,
                user: i.user,
            })
            .collect(),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_syntax_round_trips() {
        let acl = parse_acl("world:anyone:cdrwa, digest:alice:X/y=:rw,ip:10.0.0.0/8:r,auth::a")
            .expect("parses");
        assert_eq!(acl.len(), 4);
        assert_eq!(acl[0].perms, Perms::ALL);
        assert_eq!(acl[1].id.id, "alice:X/y=");
        assert_eq!(acl[1].perms, Perms::READ | Perms::WRITE);
        assert_eq!(acl[3].id.scheme, "auth");
        let printed: Vec<_> = acl.iter().map(format_acl).collect();
        assert_eq!(
            printed,
            [
                "world:anyone:cdrwa",
                "digest:alice:X/y=:rw",
                "ip:10.0.0.0/8:r",
                "auth::a"
            ]
        );
    }

    #[test]
    fn digest_plain_hashes_the_password() {
        let acl = parse_acl("digest-plain:alice:secret:cdrwa").expect("parses");
        assert_eq!(acl, [zk_client::acl::digest("alice", "secret", Perms::ALL)]);
        assert!(acl[0].id.id.starts_with("alice:") && acl[0].id.id.len() == 34);
        // A colon in the password belongs to the password.
        let acl = parse_acl("digest-plain:bob:a:b:r").expect("parses");
        assert_eq!(acl, [zk_client::acl::digest("bob", "a:b", Perms::READ)]);
        assert!(parse_acl("digest-plain:nopassword:r").is_err());
        assert!(parse_acl("digest-plain::pw:r").is_err());
    }

    #[test]
    fn a_digest_id_that_is_not_a_hash_is_warned_about() {
        let warning = digest_warning("digest:alice:secret:cdrwa", "alice:secret", "cdrwa")
            .expect("a warning");
        assert!(
            warning.contains("digest-plain:alice:<password>:cdrwa"),
            "{warning}"
        );
        assert!(!warning.contains('\n'));
        let hashed = zk_client::acl::digest_id("alice", "secret").id;
        assert_eq!(digest_warning("e", &hashed, "r"), None);
        assert!(digest_warning("e", "alice", "r").is_some());
        assert!(digest_warning("e", "alice:AAAAAAAAAAAAAAAAAAAAAAAAAAA", "r").is_some());
    }

    #[test]
    fn bad_acls_say_why() {
        for bad in ["world", "world:anyone:x", ":a:r", ""] {
            let e = parse_acl(bad).expect_err(bad);
            assert!(e.message().is_some_and(|m| !m.contains('\n')));
        }
    }
}
