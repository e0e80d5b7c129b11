//! Options of the operations: [`CreateOptions`] and ACL presets.

use std::time::Duration;

use proto::CreateMode;
use proto::records::Acl;

/// How [`Client::create`](crate::Client::create) creates a node: mode, ACL and TTL.
///
/// The default is a persistent node open to everyone ([`acl::open`]).
///
/// ```
/// use std::time::Duration;
/// use zk_client::{CreateMode, CreateOptions, acl};
///
/// let lock = CreateOptions::new(CreateMode::EphemeralSequential);
/// let private = CreateOptions::persistent().acl(acl::creator_all());
/// let lease = CreateOptions::new(CreateMode::PersistentWithTtl).ttl(Duration::from_secs(30));
/// assert_eq!(lease.ttl, Some(Duration::from_secs(30)));
/// # let _ = (lock, private);
/// ```
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct CreateOptions {
    /// The create mode. Default persistent.
    pub mode: CreateMode,
    /// The ACL. Default [`acl::open`].
    pub acl: Vec<Acl>,
    /// The TTL of a TTL node (`PersistentWithTtl` modes only; the server needs
    /// `extendedTypesEnabled`).
    pub ttl: Option<Duration>,
}

impl CreateOptions {
    /// Options for `mode`, open ACL, no TTL.
    pub fn new(mode: CreateMode) -> Self {
        Self {
            mode,
            acl: acl::open(),
            ttl: None,
        }
    }

    /// A persistent node.
    pub fn persistent() -> Self {
        Self::new(CreateMode::Persistent)
    }

    /// An ephemeral node.
    pub fn ephemeral() -> Self {
        Self::new(CreateMode::Ephemeral)
    }

    /// A container node.
    pub fn container() -> Self {
        Self::new(CreateMode::Container)
    }

    /// Sets the ACL.
    #[must_use]
    pub fn acl(mut self, acl: Vec<Acl>) -> Self {
        self.acl = acl;
        self
    }

    /// Sets the TTL.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

impl Default for CreateOptions {
    fn default() -> Self {
        Self::persistent()
    }
}

/// ACL presets (ZooKeeper's `ZooDefs.Ids`) and builders for each identity scheme.
///
/// ```
/// use zk_client::{Perms, acl};
/// assert_eq!(acl::open()[0].perms, Perms::ALL);
/// assert_eq!(acl::read_only()[0].id.scheme, "world");
/// assert_eq!(acl::creator_all()[0].id.scheme, "auth");
/// // The id a `digest` session authenticated as `super:superpw` has:
/// assert_eq!(acl::digest_id("super", "superpw").id, "super:g9oN2HttPfn8MMWJZ2r45Np/LIA=");
/// let shared = vec![acl::digest("alice", "secret", Perms::ALL), acl::world(Perms::READ)];
/// # let _ = shared;
/// ```
pub mod acl {
    use base64::Engine as _;
    use proto::Perms;
    use proto::records::{Acl, Id};
    use sha1::{Digest, Sha1};

    /// Everyone may do everything (`OPEN_ACL_UNSAFE`).
    pub fn open() -> Vec<Acl> {
        vec![Acl::open_unsafe()]
    }

    /// Everyone may read (`READ_ACL_UNSAFE`).
    pub fn read_only() -> Vec<Acl> {
        vec![Acl::read_unsafe()]
    }

    /// The creating session's identities may do everything (`CREATOR_ALL_ACL`); the
    /// session must have authenticated.
    pub fn creator_all() -> Vec<Acl> {
        vec![Acl::creator_all()]
    }

    /// `perms` for everyone (`world:anyone`).
    pub fn world(perms: Perms) -> Acl {
        Acl {
            perms,
            id: Id::anyone(),
        }
    }

    /// `perms` for the identities of the creating session (`auth:`).
    pub fn auth(perms: Perms) -> Acl {
        Acl {
            perms,
            id: Id::creator(),
        }
    }

    /// The `digest` id of `user` with `password`: `user:base64(sha1("user:password"))`,
    /// what the server stores for a session that ran `add_auth("digest", "user:password")`.
    pub fn digest_id(user: &str, password: &str) -> Id {
        let hash = Sha1::digest(format!("{user}:{password}").as_bytes());
        let encoded = base64::engine::general_purpose::STANDARD.encode(hash);
        Id {
            scheme: "digest".into(),
            id: format!("{user}:{encoded}"),
        }
    }

    /// `perms` for the digest identity `user` / `password`.
    pub fn digest(user: &str, password: &str, perms: Perms) -> Acl {
        Acl {
            perms,
            id: digest_id(user, password),
        }
    }

    /// `perms` for clients from an IP address or network (`10.0.0.0/8`).
    pub fn ip(address: &str, perms: Perms) -> Acl {
        Acl {
            perms,
            id: Id {
                scheme: "ip".into(),
                id: address.into(),
            },
        }
    }

    /// `perms` for TLS clients whose certificate subject is `distinguished_name`
    /// (`CN=zkclient,O=test`).
    pub fn x509(distinguished_name: &str, perms: Perms) -> Acl {
        Acl {
            perms,
            id: Id {
                scheme: "x509".into(),
                id: distinguished_name.into(),
            },
        }
    }

    /// `perms` for the SASL identity `user`.
    pub fn sasl(user: &str, perms: Perms) -> Acl {
        Acl {
            perms,
            id: Id {
                scheme: "sasl".into(),
                id: user.into(),
            },
        }
    }
}
