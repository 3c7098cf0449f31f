use crate::perm::Action;
use serde::{Deserialize, Serialize};

/// A user's role in one organisation, ordered from most to least powerful.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    sqlx::Type,
    utoipa::ToSchema,
    async_graphql::Enum,
)]
#[sqlx(type_name = "org_role", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }

    /// Higher is more powerful.
    pub const fn rank(self) -> u8 {
        match self {
            Self::Owner => 3,
            Self::Admin => 2,
            Self::Member => 1,
            Self::Viewer => 0,
        }
    }

    /// The role → action table. Written as one match so the whole policy reads at a glance.
    pub const fn allows(self, action: Action) -> bool {
        use Action::*;
        match action {
            // Everyone in the organisation.
            OrgRead | MembersRead | SessionsRead | TasksRead | UsageRead | TokensManage => true,
            // Working with Claude.
            SessionsWrite | TasksWrite => matches!(self, Self::Owner | Self::Admin | Self::Member),
            // Administration.
            MembersManage | AuditRead | UsageReadAll => matches!(self, Self::Owner | Self::Admin),
            OrgManage => matches!(self, Self::Owner),
        }
    }

    /// Which token scopes a user with this role may put on a token.
    pub fn grantable_scopes(self) -> &'static [Scope] {
        match self {
            Self::Owner | Self::Admin => &[Scope::Read, Scope::Write, Scope::Admin],
            Self::Member => &[Scope::Read, Scope::Write],
            Self::Viewer => &[Scope::Read],
        }
    }
}

impl std::str::FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "owner" => Ok(Self::Owner),
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            "viewer" => Ok(Self::Viewer),
            _ => Err(()),
        }
    }
}

/// What an API token may be used for, on top of its owner's role.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    async_graphql::Enum,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read everything the role can read.
    Read,
    /// Create and control sessions and tasks.
    Write,
    /// Manage members, invitations, tokens and the organisation; read the audit log.
    Admin,
}

impl Scope {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}
