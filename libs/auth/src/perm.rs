//! Permissions as types. Each marker type names one [`Action`]; `Granted<perm::SessionsWrite>`
//! in a signature reads as "needs permission to change sessions".

use crate::role::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    OrgRead,
    OrgManage,
    MembersRead,
    MembersManage,
    TokensManage,
    SessionsRead,
    SessionsWrite,
    TasksRead,
    TasksWrite,
    AuditRead,
    UsageRead,
    UsageReadAll,
}

impl Action {
    pub const fn required_scope(self) -> Scope {
        match self {
            Self::OrgRead
            | Self::MembersRead
            | Self::SessionsRead
            | Self::TasksRead
            | Self::UsageRead => Scope::Read,
            Self::SessionsWrite | Self::TasksWrite => Scope::Write,
            Self::OrgManage
            | Self::MembersManage
            | Self::TokensManage
            | Self::AuditRead
            | Self::UsageReadAll => Scope::Admin,
        }
    }

    pub const fn describe(self) -> &'static str {
        match self {
            Self::OrgRead => "reading the organisation",
            Self::OrgManage => "managing the organisation",
            Self::MembersRead => "listing members",
            Self::MembersManage => "managing members and invitations",
            Self::TokensManage => "managing API tokens",
            Self::SessionsRead => "reading sessions",
            Self::SessionsWrite => "creating or changing sessions",
            Self::TasksRead => "reading tasks",
            Self::TasksWrite => "creating or cancelling tasks",
            Self::AuditRead => "reading the audit log",
            Self::UsageRead => "reading your usage",
            Self::UsageReadAll => "reading everyone's usage",
        }
    }
}

/// A compile-time permission.
pub trait Permission: Send + Sync + 'static {
    const ACTION: Action;
}

macro_rules! permissions {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Permission for $name {
            const ACTION: Action = Action::$name;
        }
    )*};
}

permissions!(
    OrgRead,
    OrgManage,
    MembersRead,
    MembersManage,
    TokensManage,
    SessionsRead,
    SessionsWrite,
    TasksRead,
    TasksWrite,
    AuditRead,
    UsageRead,
    UsageReadAll,
);
